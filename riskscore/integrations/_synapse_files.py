"""The files the Synapse module writes, checked at start-up against each other, its own state
and the files it reads (private)."""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from riskscore.integrations._synapse_errors import SynapseConfigError
from riskscore.moderation.cases import QueueError
from riskscore.moderation.queue_db import check_is_queue

__all__ = ["CHECKPOINT_NAME", "ROOMS_NAME", "check_files"]

#: The module's own files in ``state_dir``: the scorer checkpoint and the room facts.
CHECKPOINT_NAME: Final = "scorer.checkpoint"
ROOMS_NAME: Final = "rooms.sqlite3"

#: The files the module writes, by their setting and its path in the config block.
_FILES: Final = (
    ("jsonl", ("alerts", "jsonl")),
    ("review_queue", ("alerts", "review_queue")),
    ("events_log", ("events_log",)),
    ("shadow_jsonl", ("shadow", "jsonl")),
)


def check_files(kwargs: Mapping[str, Any], inputs: Mapping[Path, str]) -> None:
    """Refuse, at start-up, a file setting that names a directory, a file another setting
    names too (the alerts and the events in one file, which no reader tells apart), a file
    the module reads (``inputs``: the ages, the policy, a model bundle's directory, by the
    setting that names it), or a review queue that is another database: each would fail
    every alert, mix two records, or break what the module reads at its next start (or, in
    the module's own state files, corrupt them)."""
    state = kwargs["state_dir"]
    seen = {
        Path(os.path.realpath(state / name)): f"the module's {name} in state_dir"
        for name in (CHECKPOINT_NAME, ROOMS_NAME)
    }
    seen[Path(os.path.realpath(state))] = "state_dir"  # a directory once the module starts
    read = {Path(os.path.realpath(p)): what for p, what in inputs.items()}
    for key, path in _FILES:
        file = kwargs.get(key)
        if file is None:
            continue
        if file.is_dir():
            raise SynapseConfigError(f"{str(file)!r} is a directory: give a file", path)
        real = Path(os.path.realpath(file))
        for where, what in read.items():
            if real == where or where in real.parents:
                raise SynapseConfigError(
                    f"{str(file)!r} is {what}, which the module reads: give a file of its own",
                    path,
                )
        label = seen.setdefault(real, ".".join(path))
        if label != ".".join(path):
            raise SynapseConfigError(f"{str(file)!r} is also {label}: give each its own file", path)
        if key == "review_queue":
            try:
                check_is_queue(file)
            except QueueError as exc:
                raise SynapseConfigError(str(exc), path) from None


#: The state directories of this process's modules (by real path), while they live.
_STATE_DIRS: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


def claim_state_dir(state_dir: Path, module: Any) -> str | None:
    """Claim ``state_dir`` for ``module``, or why not: another live module of this process
    (one not stopped: its ``_stopped`` is False) uses it. The checkpoint lock counts one
    process's claims as one owner, so two ``modules:`` entries naming one directory both
    started, shared the room facts file (one mapped an accepted invite, the other then saw
    none) and replaced each other's checkpoint."""
    key = os.path.realpath(state_dir)
    other = _STATE_DIRS.get(key)
    if other is not None and not getattr(other, "_stopped", True):  # True: its start failed
        return (
            f"riskscore: state_dir {str(state_dir)!r} is used by another riskscore module of "
            "this homeserver: give each modules entry its own state_dir"
        )
    _STATE_DIRS[key] = module
    return None
