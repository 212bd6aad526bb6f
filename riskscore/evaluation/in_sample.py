"""Whether the events a model is measured on are those it was fitted on.

A bundle records the sha256 of the events file it was fitted or recalibrated on
(``training.events_sha256`` of ``riskscore train --data``; ``training.labels.events_sha256``
of ``riskscore train --from-queue``). Measured on the same file, its metrics are in-sample:
optimistic, and no evidence of how it does on new conversations. ``riskscore evaluate``
says so (:func:`in_sample_warning`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from riskscore.model.bundle import sha256_of

__all__ = ["in_sample_warning"]


def fitted_on(metadata: Mapping[str, Any]) -> frozenset[str]:
    """The sha256 of every events file a model's metadata says it was fitted on.

    Examples
    --------
    >>> sorted(fitted_on({"training": {"labels": {"events_sha256": "ab"}}}))
    ['ab']
    >>> fitted_on({})
    frozenset()
    """
    training = metadata.get("training")
    if not isinstance(training, Mapping):
        return frozenset()
    labels = training.get("labels")
    found = [training.get("events_sha256")]
    found.append(labels.get("events_sha256") if isinstance(labels, Mapping) else None)
    return frozenset(d for d in found if isinstance(d, str))


def in_sample_warning(metadata: Mapping[str, Any], events: str | Path) -> str | None:
    """A warning when ``events`` (a file) is the events file the model was fitted or
    recalibrated on (by sha256, whatever its path), else None. A model that records no
    events file costs nothing: ``events`` is then not read."""
    digests = fitted_on(metadata)
    if not digests or sha256_of(Path(events)) not in digests:
        return None
    return (
        f"{events} is the events file this model was fitted or recalibrated on (same "
        "sha256): these metrics are in-sample and optimistic; evaluate on events of "
        "another period or of adults it was not fitted on"
    )
