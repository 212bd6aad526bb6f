"""What a policy is asked to decide on, checked: risks (probabilities in [0, 1]) and ages
(years, NaN when unknown), given as numbers. A risk of NaN, 1.5 or ``"0.99"`` is a caller's
mistake upstream; read as it came it would raise no alert, or the wrong one, silently."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.io.raw import show

__all__ = ["checked_decision_inputs", "checked_one_input"]

FloatArray = npt.NDArray[np.float64]

#: What each input is, for its error message.
_WHAT = {
    "risk": "a calibrated probability in [0, 1]",
    "child_age": "an age in years, NaN when unknown",
    "adult_age": "an age in years, NaN when unknown",
}


def _number_array(values: npt.ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values)
    if array.dtype.kind not in "fiu":  # text, bools, objects: never read as numbers
        raise TypeError(f"{name} must be numbers ({_WHAT[name]}), got {array.dtype} values")
    return array.astype(np.float64, copy=False)


def checked_decision_inputs(
    risk: npt.ArrayLike, child_age: npt.ArrayLike, adult_age: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``risk``, ``child_age`` and ``adult_age`` as float arrays of one shape, each a
    number: a risk in [0, 1], an age at least 0 or NaN. Raises ``TypeError`` (values that
    are not numbers) or ``ValueError`` naming the first bad value and its position.

    Examples
    --------
    >>> checked_decision_inputs([0.5], [12.0], [float("nan")])[2].tolist()
    [nan]
    >>> checked_decision_inputs([0.5, 1.5], [12, 13], [30, 31])
    Traceback (most recent call last):
    ValueError: risk at position 1 is 1.5: expected a calibrated probability in [0, 1]
    """
    r = _number_array(risk, "risk")
    c = _number_array(child_age, "child_age")
    a = _number_array(adult_age, "adult_age")
    if not r.shape == c.shape == a.shape:
        raise ValueError(
            f"risk, child_age and adult_age must have one shape, got {r.shape}, "
            f"{c.shape} and {a.shape}"
        )
    for name, values in (("risk", r), ("child_age", c), ("adult_age", a)):
        _refuse_outside(name, values)
    return r, c, a


def _refuse_outside(name: str, values: FloatArray) -> None:
    """Raise ``ValueError`` naming the first of ``values`` outside what ``name`` holds: a
    risk outside [0, 1] (NaN too), an age below 0 or infinite."""
    if name == "risk":
        bad = ~((values >= 0.0) & (values <= 1.0))
    else:
        bad = (values < 0.0) | np.isinf(values)
    if bad.any():
        at = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(
            f"{name} at position {at} is {show(values.ravel()[at])}: expected {_WHAT[name]}"
        )


def checked_one_input(value: Any, name: str) -> float:
    """One ``risk``, ``child_age`` or ``adult_age`` as a float, by the rule of
    :func:`checked_decision_inputs` (``None`` for an age is unknown)."""
    if value is None and name != "risk":
        return math.nan
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real | np.number):
        raise TypeError(f"{name} must be a number ({_WHAT[name]}), got {show(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float: no risk, no age
        raise ValueError(f"{name} at position 0 is {show(value)}: expected {_WHAT[name]}") from None
    _refuse_outside(name, np.array([number]))
    return number
