"""Portable boosted trees: plain arrays that score without the library that trained them,
and exact reasons against a "no signal" reference conversation.

A :class:`TreeEnsemble` is read from LightGBM's public model dump
(``Booster.dump_model()``), checked to reproduce LightGBM's own raw scores, and
stored as JSON: loading runs no code. Scoring finds each tree's exit leaf in compiled
code (numba, :mod:`riskscore.model.exit_leaves`), one row in a few microseconds;
:func:`walk`, the plain walk from each root, is the reference it is tested against.

**Reasons** are exact baseline Shapley values against a "no signal" reference
conversation (:mod:`riskscore.model.shapley`).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numba
import numpy as np
import numpy.typing as npt

from riskscore._checks import is_int, unknown_keys_problem
from riskscore._jit_cache import jit_cache_on_disk
from riskscore.exceptions import ModelIntegrityError
from riskscore.io.threads import executor_for
from riskscore.model.exit_leaves import (
    MISSING_NAN,
    MISSING_NONE,
    MISSING_ZERO,
    ZERO_THRESHOLD,
    ExitLeaves,
    exit_leaves,
    margin,
    scratch_size,
)
from riskscore.model.shapley import MAX_DEPTH, baseline_shapley, reference_path, shapley_weights

__all__ = [
    "MISSING_NAN",
    "MISSING_NONE",
    "MISSING_ZERO",
    "ZERO_THRESHOLD",
    "TreeEnsemble",
    "walk",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]

#: LightGBM's ``missing_type`` names.
_MISSING_CODES: Final = {"None": MISSING_NONE, "Zero": MISSING_ZERO, "NaN": MISSING_NAN}
#: Most leaf slots accepted (trees x the widest tree's leaves, rounded up to 64): 32 MiB of
#: floats. The default model has 150 x 64; LightGBM's default 31 leaves allow 65,536 trees.
MAX_LEAF_SLOTS: Final = 1 << 22
#: Largest margin the trees may reach (the sum over trees of each tree's largest leaf, in
#: size): fitted leaves are a few units (the default model's margins stay within 39), and
#: leaves that can sum past it are corruption; far larger ones overflow to infinity.
MAX_MARGIN: Final = 1e6
#: Batch scoring: rows per part on the worker threads, and the events a row stands for when
#: deciding whether a table is large enough for threads (``riskscore.io.threads``).
_ROWS_PER_PART: Final = 10_000
_EVENTS_PER_ROW: Final = 40
#: The same for reasons: one row's exact Shapley values cost about as much as scoring
#: twenty rows (60 us against 2.7 us a row on one thread, default model of 63-leaf trees,
#: rows at risk 0.01 or more; ``benchmarks/results/stages_1m_reasons_walk.json``).
_REASON_ROWS_PER_PART: Final = 200
_EVENTS_PER_REASON_ROW: Final = 2_500


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def walk(row: FloatArray, nodes: IntArray, values: FloatArray, roots: IntArray) -> float:
    """Sum of the trees' outputs for one row (the reference; scoring uses
    :func:`riskscore.model.exit_leaves.margin`, equal bit for bit), on the packed layout of
    :attr:`TreeEnsemble.nodes` and ``values``: ``nodes[i] = (feature, right child, 2 * missing +
    default_left)``, ``values[i] = (threshold, leaf value)``; a left child always follows
    its parent. ``feature`` indexes ``row``."""
    total = 0.0
    for root in roots:
        node = root
        while True:
            j = nodes[node, 0]
            if j < 0:
                break
            x = row[j]
            flags = nodes[node, 2]
            missing = flags >> 1
            if x != x:
                if missing == MISSING_NAN:
                    node = node + 1 if flags & 1 else nodes[node, 1]
                    continue
                x = 0.0
            if missing == MISSING_ZERO and -ZERO_THRESHOLD <= x <= ZERO_THRESHOLD:
                node = node + 1 if flags & 1 else nodes[node, 1]
                continue
            node = node + 1 if x <= values[node, 0] else nodes[node, 1]
        total += values[node, 1]
    return total


@numba.njit(cache=jit_cache_on_disk(), nogil=True, parallel=False)
def _margins(
    rows: FloatArray,
    ints: npt.NDArray[np.int64],
    masks: npt.NDArray[np.uint64],
    floats: FloatArray,
    out: FloatArray,
) -> None:
    vec = np.empty(scratch_size(ints), dtype=np.uint64)
    for i in range(rows.shape[0]):
        out[i] = margin(rows[i], ints, masks, floats, vec)


@functools.cache
def _shapley_weights() -> FloatArray:
    """The Shapley weights of paths up to :data:`MAX_DEPTH`, computed once: 4,225 ``lgamma``
    sums cost 0.15 ms, more than the reasons of one conversation (the online scorer
    explains each alert on its own)."""
    return shapley_weights(MAX_DEPTH)


def _in_parts(
    rows: FloatArray,
    out: npt.NDArray[Any],
    rows_per_part: int,
    events_per_row: int,
    kernel: Callable[..., None],
    *arrays: Any,
) -> None:
    """``kernel(rows[a:b], *arrays, out[a:b])`` over parts of the rows. The kernels release
    the GIL: large tables are split over the worker threads (``riskscore.io.threads``)."""
    n = rows.shape[0]
    if n <= rows_per_part:  # one part (one row online): no executor to set up
        kernel(rows, *arrays, out)
        return
    with executor_for(n * events_per_row) as pool:
        bounds = np.linspace(0, n, num=max(1, min(8, n // rows_per_part)) + 1, dtype=int)
        parts = [
            pool.submit(kernel, rows[a:b], *arrays, out[a:b]) for a, b in itertools.pairwise(bounds)
        ]
        for part in parts:
            part.result()


def _is_preorder_forest(
    feature: IntArray, left: IntArray, right: IntArray, roots: IntArray
) -> bool:
    """Whether the nodes are trees stored one after the other, each in preorder: visiting
    each tree from its root, left subtree first, meets nodes ``0, 1, 2, ...`` in order and
    every node once (so no node has two parents and no walk can loop)."""
    n = len(feature)
    expected = 0
    for root in roots.tolist():
        stack = [root]
        while stack:
            node = stack.pop()
            if node != expected or not 0 <= node < n:
                return False
            expected += 1
            if feature[node] >= 0:
                stack.append(int(right[node]))
                stack.append(int(left[node]))
    return expected == n


@dataclass(frozen=True, slots=True, eq=False)
class TreeEnsemble:
    """Boosted regression trees on named features, as flat node arrays.

    Attributes
    ----------
    feature_names : tuple of str
        Features the trees read, in the order of ``values``' columns.
    feature, left, right : array of shape (n_nodes,)
        Split feature (-1 at a leaf) and children of each node, in preorder: a left child
        immediately follows its parent, a right child comes after the left subtree.
    threshold : array of shape (n_nodes,)
        ``x <= threshold`` goes left; finite at every node (0 at leaves, where it is not read).
    default_left, missing : array of shape (n_nodes,)
        How the node treats a missing value (LightGBM's ``default_left`` and
        ``missing_type``: 0 none, 1 zero, 2 NaN).
    leaf_value : array of shape (n_nodes,)
        Output of each leaf (0 at split nodes).
    roots : array of shape (n_trees,)
        First node of each tree.
    reference : array of shape (n_features,)
        The "no signal" conversation that reasons are measured against.
    """

    feature_names: tuple[str, ...]
    feature: IntArray
    threshold: FloatArray
    left: IntArray
    right: IntArray
    default_left: npt.NDArray[np.bool_]
    missing: npt.NDArray[np.int8]
    leaf_value: FloatArray
    roots: IntArray
    reference: FloatArray
    nodes: IntArray = field(init=False, repr=False)
    values: FloatArray = field(init=False, repr=False)
    leaves: ExitLeaves = field(init=False, repr=False)
    #: The child the reference goes to at each split (-1 at a leaf), for the reasons.
    reference_next: IntArray = field(init=False, repr=False)
    #: :meth:`packed`'s arrays by (columns, n_cols): each online scorer of a model packs
    #: the same ones, and packing walks every split in Python (about 40 ms for 150 trees
    #: of 63 leaves).
    _packed: dict[tuple[bytes, int], ExitLeaves] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.feature)
        n_features = len(self.feature_names)
        if n_features == 0:
            raise ModelIntegrityError("the trees read no feature")
        first: dict[str, int] = {}
        for i, name in enumerate(self.feature_names):
            if first.setdefault(name, i) != i:
                raise ModelIntegrityError(
                    f"the trees' feature name {name!r:.80} is given twice: "
                    f"feature_names[{first[name]}] and [{i}]"
                )
        for name in ("threshold", "left", "right", "default_left", "missing", "leaf_value"):
            if getattr(self, name).shape != (n,):
                raise ModelIntegrityError(f"tree array {name!r} must have {n} nodes")
        if self.roots.ndim != 1 or len(self.roots) == 0:
            raise ModelIntegrityError("roots must be a flat list of at least one node index")
        if self.reference.shape != (n_features,) or np.any(np.isinf(self.reference)):
            raise ModelIntegrityError(f"reference must hold {n_features} finite values or NaN")
        split = self.feature >= 0
        if (
            np.any(self.feature >= n_features)
            or np.any(self.feature < -1)
            or np.any((self.missing < 0) | (self.missing > 2))
            or not _is_preorder_forest(self.feature, self.left, self.right, self.roots)
        ):
            raise ModelIntegrityError(
                "tree arrays do not describe trees (bad feature or node indices: each tree must "
                "be stored in preorder, its nodes one after the other)"
            )
        # A leaf's threshold is never read, but it is saved: a non-finite one would load and
        # then fail save_model (JSON has no NaN) and change parameters_sha256 for nothing.
        for name, bad in (
            ("threshold", ~np.isfinite(self.threshold)),
            ("leaf_value", ~np.isfinite(self.leaf_value)),
        ):
            if bad.any():
                node = int(np.argmax(bad))
                raise ModelIntegrityError(
                    f"tree parameter {name!r}[{node}] must be a finite number, "
                    f"got {float(getattr(self, name)[node])}"
                )
        size = np.where(split, 0.0, np.abs(self.leaf_value))
        largest = np.maximum.reduceat(size, self.roots)  # each below MAX_MARGIN: no overflow
        if largest.max() >= MAX_MARGIN or float(largest.sum()) >= MAX_MARGIN:
            node = int(np.argmax(size))
            raise ModelIntegrityError(
                f"tree leaf values can sum to more than the {MAX_MARGIN:g} accepted (each tree's "
                f"largest leaf in size, added up; fitted leaves are a few units), the largest "
                f"being 'leaf_value'[{node}] = {float(self.leaf_value[node])}"
            )
        if self.depth() > MAX_DEPTH:
            raise ModelIntegrityError(f"a tree is deeper than {MAX_DEPTH} levels")
        # The exit-leaf table holds (trees x leaf slots of the widest tree) floats: refused
        # before it is built when a few kB of nodes would ask for gigabytes.
        leaves = np.add.reduceat((self.feature < 0).astype(np.int64), self.roots)
        slots = 64 * -(-int(leaves.max()) // 64)
        if self.n_trees * slots > MAX_LEAF_SLOTS:
            raise ModelIntegrityError(
                f"{self.n_trees} trees of up to {int(leaves.max())} leaves need "
                f"{self.n_trees} x {slots} leaf slots, more than the {MAX_LEAF_SLOTS} accepted"
            )
        # The walk's layout: one row of ints and one of floats per node (fewer cache lines).
        flags = 2 * self.missing.astype(np.int32) + self.default_left.astype(np.int32)
        object.__setattr__(
            self, "nodes", np.ascontiguousarray(np.stack([self.feature, self.right, flags], 1))
        )
        object.__setattr__(
            self,
            "values",
            np.ascontiguousarray(np.stack([self.threshold, self.leaf_value], 1)),
        )
        object.__setattr__(self, "leaves", self._exit_leaves(self.feature, n_features))
        object.__setattr__(self, "_packed", {})
        object.__setattr__(
            self,
            "reference_next",
            reference_path(self.reference, self.nodes, self.values),
        )

    def _exit_leaves(self, feature: IntArray, n_cols: int) -> ExitLeaves:
        return exit_leaves(feature, self.right, self.nodes[:, 2], self.values, self.roots, n_cols)

    @property
    def n_trees(self) -> int:
        """Number of trees."""
        return len(self.roots)

    def margin_bounds(self) -> tuple[float, float]:
        """The lowest and the highest margin a row can get: each tree's smallest (largest)
        leaf value, added up (bounds: not every combination of leaves is reached)."""
        leaf = self.feature < 0
        low = np.minimum.reduceat(np.where(leaf, self.leaf_value, np.inf), self.roots)
        high = np.maximum.reduceat(np.where(leaf, self.leaf_value, -np.inf), self.roots)
        return float(low.sum()), float(high.sum())

    def depth(self) -> int:
        """Depth of the deepest tree (a single leaf has depth 0)."""
        depth = np.zeros(len(self.feature), dtype=np.int64)
        for node in range(len(self.feature)):  # parents come before children
            if self.feature[node] >= 0:
                depth[self.left[node]] = depth[self.right[node]] = depth[node] + 1
        return int(depth.max()) if len(depth) else 0

    def margins(self, values: FloatArray, leaves: ExitLeaves | None = None) -> FloatArray:
        """Sum of the trees' outputs for each row of ``values`` (n, n_features); with
        ``leaves`` from :meth:`packed`, rows of the columns those were packed for."""
        rows = np.ascontiguousarray(values, dtype=np.float64)
        out = np.empty(rows.shape[0])
        _in_parts(rows, out, _ROWS_PER_PART, _EVENTS_PER_ROW, _margins, *(leaves or self.leaves))
        return out

    def packed(self, columns: npt.NDArray[np.int64], n_cols: int) -> ExitLeaves:
        """The arrays of :func:`riskscore.model.exit_leaves.margin` for rows of ``n_cols``
        columns, each split reading column ``columns[feature]`` (the online scorer scores
        the full feature row). Packed once per ``columns`` and ``n_cols``: the arrays are
        shared, so a caller copies before writing into them."""
        key = (np.asarray(columns, dtype=np.int64).tobytes(), int(n_cols))
        leaves = self._packed.get(key)
        if leaves is None:
            split = self.feature >= 0
            feature = self.feature.copy()
            feature[split] = columns[feature[split]]
            leaves = self._packed[key] = self._exit_leaves(feature, n_cols)
        return leaves

    def contributions(self, values: FloatArray) -> FloatArray:
        """Each feature's exact Shapley contribution to ``margin(row) - margin(reference)``,
        array of shape (n, n_features)."""
        rows = np.ascontiguousarray(values, dtype=np.float64)
        out = np.zeros(rows.shape)
        _in_parts(
            rows, out, _REASON_ROWS_PER_PART, _EVENTS_PER_REASON_ROW, baseline_shapley,
            self.reference_next, self.feature, self.threshold, self.left, self.right,
            self.default_left, self.missing, self.leaf_value, self.roots,
            _shapley_weights(),
        )  # fmt: skip
        return out

    # ------------------------------------------------------------ conversion

    @classmethod
    def from_lightgbm_dump(
        cls, dump: Mapping[str, Any], feature_names: Sequence[str], reference: FloatArray
    ) -> TreeEnsemble:
        """Flatten LightGBM's ``Booster.dump_model()`` (numeric splits only)."""
        nodes: list[tuple[int, float, int, int, bool, int, float]] = []
        roots = []

        def add(node: Mapping[str, Any]) -> int:
            index = len(nodes)
            if "leaf_value" in node or "split_feature" not in node:
                nodes.append((-1, 0.0, -1, -1, False, 0, float(node.get("leaf_value", 0.0))))
                return index
            if node.get("decision_type") != "<=":
                raise ModelIntegrityError(
                    f"unsupported split {node.get('decision_type')!r}: only numeric '<=' splits"
                )
            nodes.append((0, 0.0, 0, 0, False, 0, 0.0))
            left = add(node["left_child"])
            right = add(node["right_child"])
            nodes[index] = (
                int(node["split_feature"]),
                float(node["threshold"]),
                left,
                right,
                bool(node["default_left"]),
                _MISSING_CODES[str(node["missing_type"])],
                0.0,
            )
            return index

        for tree in dump["tree_info"]:
            roots.append(add(tree["tree_structure"]))
        columns = list(zip(*nodes, strict=True))
        return cls(
            feature_names=tuple(feature_names),
            feature=np.asarray(columns[0], dtype=np.int32),
            threshold=np.asarray(columns[1], dtype=np.float64),
            left=np.asarray(columns[2], dtype=np.int32),
            right=np.asarray(columns[3], dtype=np.int32),
            default_left=np.asarray(columns[4], dtype=bool),
            missing=np.asarray(columns[5], dtype=np.int8),
            leaf_value=np.asarray(columns[6], dtype=np.float64),
            roots=np.asarray(roots, dtype=np.int32),
            reference=np.asarray(reference, dtype=np.float64),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready arrays (floats round-trip exactly; NaN references as None)."""
        return {
            "feature_names": list(self.feature_names),
            "reference": [None if math.isnan(v) else float(v) for v in self.reference],
            "roots": self.roots.tolist(),
            "feature": self.feature.tolist(),
            "threshold": [float(v) for v in self.threshold],
            "left": self.left.tolist(),
            "right": self.right.tolist(),
            "default_left": [bool(v) for v in self.default_left],
            "missing": self.missing.tolist(),
            "leaf_value": [float(v) for v in self.leaf_value],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TreeEnsemble:
        """Arrays from :meth:`to_dict`, checked (:class:`ModelIntegrityError` if malformed).

        Each element must be of its array's JSON type: an integer (not a bool, not 0.9) for
        node indices, features and missing types, a bool for ``default_left``, a number for
        thresholds and leaf values (and ``null``, a missing value, in the reference), a
        string for feature names. Nothing is converted: ``"false"`` is not read as true.
        """
        problem = unknown_keys_problem(data, _TREE_KEYS) if isinstance(data, Mapping) else None
        if problem:
            raise ModelIntegrityError(f"tree parameters: {problem}")
        try:
            return cls(
                feature_names=tuple(_elements(data, "feature_names", "str")),
                feature=np.asarray(_elements(data, "feature", "int"), dtype=np.int32),
                threshold=np.asarray(_elements(data, "threshold", "number"), dtype=np.float64),
                left=np.asarray(_elements(data, "left", "int"), dtype=np.int32),
                right=np.asarray(_elements(data, "right", "int"), dtype=np.int32),
                default_left=np.asarray(_elements(data, "default_left", "bool"), dtype=bool),
                missing=np.asarray(_elements(data, "missing", "int"), dtype=np.int8),
                leaf_value=np.asarray(_elements(data, "leaf_value", "number"), dtype=np.float64),
                roots=np.asarray(_elements(data, "roots", "int"), dtype=np.int32),
                reference=np.asarray(
                    [np.nan if v is None else v for v in _elements(data, "reference", "nullable")],
                    dtype=np.float64,
                ),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ModelIntegrityError(f"tree parameters are malformed: {exc}") from exc


#: The keys of :meth:`TreeEnsemble.to_dict`.
_TREE_KEYS: Final = (
    "feature_names", "reference", "roots", "feature", "threshold", "left", "right",
    "default_left", "missing", "leaf_value",
)  # fmt: skip


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: What each kind of tree array holds: the test of an element, and its name in errors.
_KINDS: Final[dict[str, tuple[Callable[[object], bool], str]]] = {
    "int": (is_int, "an integer"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "str": (lambda v: isinstance(v, str), "a string"),
    "number": (_is_number, "a number"),
    "nullable": (lambda v: v is None or _is_number(v), "a number or null"),
}


#: The exact types (never a subclass: ``bool`` is not an ``int`` here) that pass each kind's
#: test at once, as parsed JSON holds them; anything else is tested element by element.
_PLAIN_TYPES: Final[dict[str, frozenset[type]]] = {
    "int": frozenset({int}),
    "bool": frozenset({bool}),
    "str": frozenset({str}),
    "number": frozenset({int, float}),
    "nullable": frozenset({int, float, type(None)}),
}


def _elements(data: Mapping[str, Any], key: str, kind: str) -> list[Any]:
    """``data[key]`` as a JSON list whose every element is of ``kind`` (a key of
    :data:`_KINDS`; an integer is never a bool), or :class:`ModelIntegrityError` naming the
    key, the position and the value."""
    items = data[key]
    if not isinstance(items, list):
        raise ModelIntegrityError(
            f"tree parameter {key!r} must be a JSON list, got {type(items).__name__}"
        )
    if set(map(type, items)) <= _PLAIN_TYPES[kind]:  # what JSON gives: one C-speed pass
        return items
    good, expected = _KINDS[kind]
    for i, value in enumerate(items):
        if not good(value):
            raise ModelIntegrityError(
                f"tree parameter {key!r}[{i}] must be {expected}, got {value!r:.80}"
            )
    return items
