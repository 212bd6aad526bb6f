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

__all__ = ["MAX_DEPTH", "baseline_shapley", "shapley_weights"]

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
def baseline_shapley(
    rows: FloatArray,
    reference: FloatArray,
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
    """Exact Shapley values of each row of ``rows`` against the reference, summed over
    trees, into the same row of ``out``: one compiled call for many rows (a Python loop
    over rows paid the arrays' unboxing once a row)."""
    n_features = rows.shape[1]
    member = np.zeros(n_features, dtype=np.int8)  # 0 free, 1 from x, 2 from reference
    path = np.full(MAX_DEPTH + 1, -1, dtype=np.int64)
    stack_node = np.empty(2 * MAX_DEPTH + 2, dtype=np.int64)
    stack_depth = np.empty(2 * MAX_DEPTH + 2, dtype=np.int64)
    stack_feature = np.empty(2 * MAX_DEPTH + 2, dtype=np.int64)
    stack_side = np.empty(2 * MAX_DEPTH + 2, dtype=np.int8)
    for i in range(rows.shape[0]):
        x = rows[i]
        out[i, :] = 0.0
        for root in roots:
            top = 0
            stack_node[0] = root
            stack_depth[0] = 0
            stack_feature[0] = -1
            stack_side[0] = 0
            depth = 0
            n_x = 0
            n_r = 0
            while top >= 0:
                node = stack_node[top]
                d = stack_depth[top]
                f = stack_feature[top]
                side = stack_side[top]
                top -= 1
                # Unwind the path to this frame's depth.
                while depth > d:
                    depth -= 1
                    g = path[depth]
                    if g >= 0:
                        if member[g] == 1:
                            n_x -= 1
                        else:
                            n_r -= 1
                        member[g] = 0
                        path[depth] = -1
                path[d] = f
                if f >= 0:
                    member[f] = side
                    if side == 1:
                        n_x += 1
                    else:
                        n_r += 1
                depth = d + 1
                j = feature[node]
                if j < 0:
                    v = leaf_value[node]
                    if n_x + n_r > 0 and v != 0.0:
                        for k in range(depth):
                            g = path[k]
                            if g < 0:
                                continue
                            if member[g] == 1:
                                out[i, g] += v * weights[n_x - 1, n_r]
                            else:
                                out[i, g] -= v * weights[n_x, n_r - 1]
                    continue
                to_x = (
                    left[node]
                    if goes_left(x[j], threshold[node], default_left[node], missing[node])
                    else right[node]
                )
                to_r = (
                    left[node]
                    if goes_left(reference[j], threshold[node], default_left[node], missing[node])
                    else right[node]
                )
                if member[j] == 1 or (member[j] == 0 and to_x == to_r):
                    top += 1
                    stack_node[top] = to_x
                    stack_depth[top] = depth
                    stack_feature[top] = -1
                    stack_side[top] = 0
                elif member[j] == 2:
                    top += 1
                    stack_node[top] = to_r
                    stack_depth[top] = depth
                    stack_feature[top] = -1
                    stack_side[top] = 0
                else:
                    top += 1
                    stack_node[top] = to_x
                    stack_depth[top] = depth
                    stack_feature[top] = j
                    stack_side[top] = 1
                    top += 1
                    stack_node[top] = to_r
                    stack_depth[top] = depth
                    stack_feature[top] = j
                    stack_side[top] = 2
            # Clear what the last leaf left on the path.
            while depth > 0:
                depth -= 1
                g = path[depth]
                if g >= 0:
                    member[g] = 0
                    path[depth] = -1
