"""The arithmetic a seed's draws and the calibrated risk go through is the C library's, on
every CPU: NumPy's ``np.exp`` and ``**`` differ from it in the last bit for about 5 % of
values on AVX-512 machines (the conformance suite's online risk failed there at 2.2e-16),
so a seed would draw other events there, and batch risks would differ from online ones."""

from __future__ import annotations

import math

import numpy as np

from riskscore.model import Platt
from riskscore.synthetic.portable import exp, power


def _values(n: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return rng.normal(size=n) * 4.0, rng.uniform(0.2, 3.0, size=n)


def test_exp_and_power_are_the_c_librarys() -> None:
    x, w = _values()
    assert exp(x).tolist() == [math.exp(v) for v in x.tolist()]
    base = np.abs(x) / 10.0
    want = [math.pow(b, e) for b, e in zip(base.tolist(), (1.0 / w).tolist(), strict=True)]
    assert power(base, 1.0 / w).tolist() == want


def test_batch_risk_is_the_one_formula_online_takes() -> None:
    platt = Platt(a=-0.9, b=3.1, prevalence=0.01)
    margin, _ = _values()
    assert platt.risk(margin).tolist() == [platt.risk_one(m) for m in margin.tolist()]
    assert platt.risk(margin.reshape(100, -1)).shape == (100, 200)
