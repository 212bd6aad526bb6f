"""What a feature is: :class:`FeatureSpec`, the record the feature registry holds per
feature (name, unit, meaning, look-alikes, direction, "no signal" reference)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FeatureSpec"]


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """What one feature means and how it is read.

    Attributes
    ----------
    name : str
        Column name in the feature table.
    unit : str
        Unit of the value.
    family : str
        Group in ``docs/features.md`` (age, contact, escalation, night, exclusivity,
        media and safety, account, group).
    description : str
        Short phrase naming what is present, shown to moderators in reasons.
    definition : str
        Exact definition (``docs/features.md``).
    why : str
        Why it can signal risk (grooming stage it traces).
    look_alikes : str
        Benign situations with the same value.
    direction : int
        +1: higher values can only raise risk in a constrained model; -1: only lower
        it; 0: no fixed direction (ages: their meaning depends on the other age).
    reference : float
        The value that means "no signal"; reasons are measured against it. NaN for an
        unknown age.
    nullable : bool
        Whether the value can be NaN (an unknown age).
    log_scale : bool
        Whether linear models see ``log1p`` of the value (heavy-tailed counts).
    constrained : bool
        Whether the shipped model must follow ``direction`` everywhere. False where what
        the value means depends on context the other inputs carry (who the participants
        are, whether their ages are known): the model may then learn the effect both
        ways, and a reason still names the feature only when its value is on the risk
        side of ``reference``.
    """

    name: str
    unit: str
    family: str
    description: str
    definition: str
    why: str
    look_alikes: str
    direction: int
    reference: float
    nullable: bool = False
    log_scale: bool = False
    constrained: bool = True
