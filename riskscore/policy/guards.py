"""Guards: pairs of known ages whose tier a policy caps, whatever the risk.

Risk alone cannot tell grooming from look-alikes the model has not learnt to
separate. Two guards, each decided from the *declared* ages of both
participants and only when both are known:

* **adult pairs**: two known adults (both 18 or older) never alert; the harm in
  scope is to children (``adult_pairs_alert = false``, the default; set it to
  ``true`` to let adult pairs alert at the ``18+`` band's thresholds).
* **minor peers**: two known minors (both under 18) at most
  ``minor_peer_max_gap_years`` apart (default 3) are never urgent; they can
  still get a review alert at the child's band thresholds.

An unknown age never triggers a guard: a conversation whose child's age is
unknown uses the policy's ``unknown`` band, one whose adult's age is unknown its
``unknown_adult`` band (the child's band in a policy without one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from riskscore._checks import is_int
from riskscore.io.raw import show
from riskscore.io.schema import MINOR_AGE

__all__ = ["ADULT_AGE", "Guards"]

#: Age at which a participant counts as an adult for the guards (years).
ADULT_AGE = MINOR_AGE


@dataclass(frozen=True, slots=True)
class Guards:
    """Caps on the tier of conversations between known adults or near-age known minors.

    Parameters
    ----------
    adult_pairs_alert : bool, default False
        Whether a conversation between two known adults (both ages known and
        at least 18) may alert. False (the default): it never does.
    minor_peer_max_gap_years : float, default 3.0
        Two known minors (both ages known and under 18) whose ages differ by at
        most this many years get at most a review alert, never an urgent one.
        0 caps same-age pairs only.

    Examples
    --------
    >>> Guards()
    Guards(adult_pairs_alert=False, minor_peer_max_gap_years=3.0)
    >>> Guards(minor_peer_max_gap_years=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: minor_peer_max_gap_years must be a finite number >= 0 (years), got -1.0
    """

    adult_pairs_alert: bool = False
    minor_peer_max_gap_years: float = 3.0

    def __post_init__(self) -> None:
        # numpy's bool and numbers as the values they hold, as a policy mapping reads them
        adult = self.adult_pairs_alert
        adult = bool(adult) if isinstance(adult, np.bool_) else adult
        if not isinstance(adult, bool):
            raise TypeError(f"adult_pairs_alert must be true or false, got {show(adult)}")
        gap = self.minor_peer_max_gap_years
        try:
            number = float(gap) if is_int(gap) or isinstance(gap, (float, np.floating)) else None
        except OverflowError:  # an integer beyond any float
            number = None
        if number is None or not (math.isfinite(number) and number >= 0.0):
            raise ValueError(
                f"minor_peer_max_gap_years must be a finite number >= 0 (years), got {show(gap)}"
            )
        object.__setattr__(self, "adult_pairs_alert", adult)
        object.__setattr__(self, "minor_peer_max_gap_years", number)

    def describe(self) -> str:
        """The guards in words, as ``riskscore policy check`` and the 2024/2835 qualitative
        draft state them.

        Examples
        --------
        >>> Guards().describe()
        'two known adults never alert; two known minors at most 3 years apart are never urgent'
        >>> Guards(adult_pairs_alert=True, minor_peer_max_gap_years=1.0).describe()
        'two known adults may alert; two known minors at most 1 year apart are never urgent'
        >>> Guards(minor_peer_max_gap_years=2.99).describe()  # as applied: never rounded
        'two known adults never alert; two known minors at most 2.99 years apart are never urgent'
        """
        adults = "may alert" if self.adult_pairs_alert else "never alert"
        years = self.minor_peer_max_gap_years
        exact = f"{years:g}" if float(f"{years:g}") == years else repr(years)  # never rounded
        gap = f"{exact} {'year' if years == 1 else 'years'}"
        return f"two known adults {adults}; two known minors at most {gap} apart are never urgent"
