"""Exact reasons of the boosted trees (:mod:`riskscore.model.trees`), compiled.

**Reasons.** Each feature's contribution is its exact Shapley value for the game
"features taken from this conversation, the others from the reference": the
contributions add up to ``margin(x) - margin(reference)``, and with monotone
constraints a risk-raising feature can never get a negative one. The reference is
the conversation that shows no signal (no known age, no night, no media, public
channel, balanced messages; :attr:`riskscore.FeatureSpec.reference`), never a
training average. For a tree the game is computed path by path: a leaf reached when
the features in ``X`` come from the conversation and those in ``R`` from the
reference (``|X| = p``, ``|R| = q``) gives each feature of ``X``
``value * (p - 1)! q! / (p + q)!`` and each of ``R`` ``-value * p! (q - 1)! / (p + q)!``
(Sundararajan & Najmi 2020, "baseline Shapley").
"""

from __future__ import annotations

import math
from typing import Final

import numba
import numpy as np
import numpy.typing as npt

from riskscore._jit_cache import jit_cache_on_disk
from riskscore.model.exit_leaves import goes_left

__all__ = ["MAX_DEPTH", "baseline_shapley", "reference_path", "shapley_weights"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]

#: Deepest tree accepted (the reasons' path stack is this deep).
MAX_DEPTH: Final = 64


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def shapley_weights(n: int) -> FloatArray:
    """``w[p, q] = p! q! / (p + q + 1)!``: the share of one player's Shapley value."""
    w = np.zeros((n + 1, n + 1))
    for p in range(n + 1):
        for q in range(n + 1 - p):
            w[p, q] = math.exp(math.lgamma(p + 1) + math.lgamma(q + 1) - math.lgamma(p + q + 2))
    return w


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def reference_path(reference: FloatArray, nodes: IntArray, values: FloatArray) -> IntArray:
    """The child the reference goes to at each split (-1 at a leaf), on the packed layout of
    :attr:`riskscore.model.trees.TreeEnsemble.nodes` and ``values``: the reference is the
    same for every row, so :func:`baseline_shapley` reads its way instead of deciding it."""
    out = np.full(nodes.shape[0], -1, dtype=np.int32)
    for node in range(nodes.shape[0]):
        j = nodes[node, 0]
        if j >= 0:
            flags = nodes[node, 2]
            left = goes_left(reference[j], values[node, 0], (flags & 1) == 1, flags >> 1)
            out[node] = node + 1 if left else nodes[node, 1]  # a left child follows its parent
    return out


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def baseline_shapley(
    rows: FloatArray,
    reference_next: IntArray,
    feature: IntArray,
    threshold: FloatArray,
    left: IntArray,
    right: IntArray,
    default_left: npt.NDArray[np.bool_],
    missing: npt.NDArray[np.int8],
    leaf_value: FloatArray,
    roots: IntArray,
    weights: FloatArray,
    out: FloatArray,
) -> None:
    """Exact Shapley values of each row of ``rows`` against the reference (whose way at
    each split is ``reference_next``, :func:`reference_path`), summed over trees, into the
    same row of ``out``: one compiled call for many rows (a Python loop over rows paid the
    arrays' unboxing once a row).

    Each tree is walked depth first over the paths that a mix of the row and the reference
    can take: where the two go the same way, or the split's feature is already taken from
    one of them, the walk goes on in place; where they part on a feature not yet taken, the
    row's side waits on a stack while the reference's side is walked first. The features
    taken so far are kept in the order they were taken (``taken``), so a leaf pays for
    them only, not for every level of its path.
    """
    n_features = rows.shape[1]
    member = np.zeros(n_features, dtype=np.int8)  # 0 free, 1 from x, 2 from reference
    taken = np.empty(MAX_DEPTH + 1, dtype=np.int64)  # features of member != 0, in order
    stack_node = np.empty(MAX_DEPTH + 1, dtype=np.int64)
    stack_taken = np.empty(MAX_DEPTH + 1, dtype=np.int64)  # len(taken) below the frame
    stack_feature = np.empty(MAX_DEPTH + 1, dtype=np.int64)
    for i in range(rows.shape[0]):
        x = rows[i]
        contrib = out[i]
        contrib[:] = 0.0
        for root in roots:
            top = 0
            stack_node[0] = root
            stack_taken[0] = 0
            stack_feature[0] = -1
            n_taken = 0
            n_x = 0
            while top >= 0:
                node = stack_node[top]
                keep = stack_taken[top]
                f = stack_feature[top]
                top -= 1
                # Give back what the walk took below this frame's fork, then take the
                # frame's own feature from the row.
                while n_taken > keep:
                    n_taken -= 1
                    g = taken[n_taken]
                    if member[g] == 1:
                        n_x -= 1
                    member[g] = 0
                if f >= 0:
                    member[f] = 1
                    taken[n_taken] = f
                    n_taken += 1
                    n_x += 1
                while True:
                    j = feature[node]
                    if j < 0:
                        v = leaf_value[node]
                        if n_taken > 0 and v != 0.0:
                            n_r = n_taken - n_x
                            to_x_share = v * weights[n_x - 1, n_r] if n_x > 0 else 0.0
                            to_r_share = v * weights[n_x, n_r - 1] if n_r > 0 else 0.0
                            for k in range(n_taken):
                                g = taken[k]
                                contrib[g] += to_x_share if member[g] == 1 else -to_r_share
                        break
                    to_r = reference_next[node]
                    m = member[j]
                    if m == 2:
                        node = to_r
                        continue
                    to_x = (
                        left[node]
                        if goes_left(x[j], threshold[node], default_left[node], missing[node])
                        else right[node]
                    )
                    if m == 1 or to_x == to_r:
                        node = to_x
                        continue
                    # The two part on a free feature: the row's side waits, the
                    # reference's side is walked now with the feature taken from it.
                    top += 1
                    stack_node[top] = to_x
                    stack_taken[top] = n_taken
                    stack_feature[top] = j
                    member[j] = 2
                    taken[n_taken] = j
                    n_taken += 1
                    node = to_r
            while n_taken > 0:  # clear what the last leaf left taken
                n_taken -= 1
                member[taken[n_taken]] = 0
