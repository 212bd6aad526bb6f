"""riskscore.online.risk: the per-event compiled call without numba's dispatch, and the
deferral bound of ``OnlineModel.stays_below`` against its formula."""

from __future__ import annotations

import math
import random

import numba
import numpy as np
import pytest

import riskscore as rs
from riskscore.features.kernel import new_state
from riskscore.features.slots import N_ACCOUNT_SLOTS
from riskscore.model.calibration import platt_risk
from riskscore.online.risk import OnlineModel, _step, _sure_bounds

jit_on = pytest.mark.skipif(numba.config.DISABLE_JIT, reason="NUMBA_DISABLE_JIT=1")


def _formula(online: OnlineModel, risk: float, slack: float, limit: float) -> bool:
    """``stays_below`` as the formula alone (what it computed before its bounds)."""
    if not 0.0 < risk < 1.0:
        return False
    odds = 1.0 / risk - 1.0
    z = math.log(odds)
    z -= online.slope * slack + 1e-6 + 1e-9 * abs(z) + 1e-15 / odds
    return bool(platt_risk.py_func(1.0, 0.0, z) < limit)


@jit_on
def test_step_is_called_without_dispatch_and_equals_the_dispatcher() -> None:
    online = OnlineModel(rs.load_model())
    assert not isinstance(online.step, numba.core.dispatcher.Dispatcher)
    results = []
    for step in (online.step, _step):
        state, sender, recipient = new_state(), np.zeros(N_ACCOUNT_SLOTS), np.zeros(N_ACCOUNT_SLOTS)
        pair = np.full(2, math.inf)
        for ts in (1_700_000_000, 1_700_000_600):
            arrays = (online.array, state, sender, recipient, pair)
            results.append(step(*arrays, 7, 1, ts, 35.0, 12.0, 2, 0, math.nan, 0))
    assert results[:2] == results[2:]


@pytest.mark.parametrize("limit", [0.3, 0.05, 0.5, 0.99, 1e-5])
def test_sure_bounds_enclose_the_crossing(limit: float) -> None:
    below, above = _sure_bounds(limit)
    assert below < above
    assert platt_risk.py_func(1.0, 0.0, below) >= limit > platt_risk.py_func(1.0, 0.0, above)
    assert above - below < 1e-6


@pytest.mark.parametrize("limit", [0.0, 1.0, math.nan])
def test_sure_bounds_leave_a_limit_outside_0_1_to_the_formula(limit: float) -> None:
    assert _sure_bounds(limit) == (-math.inf, math.inf)


def test_stays_below_equals_its_formula_near_and_far_from_the_limit() -> None:
    online = OnlineModel(rs.load_model())
    rng = random.Random(14)
    for limit in (0.3, 0.05, 0.5):
        for _ in range(20_000):
            near = rng.random() < 0.5
            risk = limit * (1.0 + rng.gauss(0.0, 1e-7)) if near else rng.random()
            slack = rng.expovariate(100.0) if rng.random() < 0.7 else 0.0
            assert online.stays_below(risk, slack, limit) == _formula(online, risk, slack, limit)
