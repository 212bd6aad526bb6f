"""Conversation states on disk between the two passes of out-of-core scoring (private).

Each chunk's :class:`~riskscore.features.states.ConversationStates` is written to one
Arrow IPC file in the job's temporary directory while the chunk is read, and read back
once the tallies of every chunk are merged: the events are read and validated once, and
what waits for the second pass is 44 floats and three ids per conversation instead of
the chunk's events. Arrow IPC holds integer and text ids as they are (no pickle) and the
states as float64 without conversion, so the features are the same floats.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from riskscore.features.slots import N_STATE
from riskscore.features.states import ConversationStates

__all__ = ["read_states", "write_states"]

_IDS = ("conversation_id", "initiator_id", "responder_id")


def _column(values: npt.NDArray[Any]) -> pa.Array:
    return pa.array(values, type=pa.large_string() if values.dtype == object else None)


def write_states(path: Path, states: ConversationStates) -> None:
    """Write ``states`` to the Arrow IPC file ``path``.

    Raises
    ------
    OSError
        The file cannot be written (a full disk), naming it and what to do.
    """
    flat = pa.array(np.ascontiguousarray(states.states).reshape(-1))
    table = pa.table(
        {
            **{name: _column(getattr(states, name)) for name in _IDS},
            "adult_is_initiator": pa.array(states.adult_is_initiator),
            "state": pa.FixedSizeListArray.from_arrays(flat, N_STATE),
        }
    )
    try:
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    except OSError as exc:  # a full disk: say which file and where else to put them
        raise OSError(
            exc.errno,
            f"cannot write the temporary conversation states of out-of-core scoring "
            f"({exc.strerror or exc}); they take about as much room as the events file: "
            "point TMPDIR (or workdir=) at a directory with more",
            str(path),
        ) from exc


def read_states(path: Path) -> ConversationStates:
    """The states :func:`write_states` wrote to ``path``.

    Raises
    ------
    OSError
        The file is no longer what :func:`write_states` wrote (cut short or damaged on the
        disk while the job ran, or replaced), naming it: the job stops, its outputs left
        as they were, rather than score what it holds.
    """
    try:
        with pa.OSFile(str(path), "rb") as source:
            table = pa.ipc.open_file(source).read_all()
        names = table.schema.names
        state: Any = table.schema.field("state").type if "state" in names else pa.null()
        if names != [*_IDS, "adult_is_initiator", "state"] or not (
            pa.types.is_fixed_size_list(state) and state.list_size == N_STATE
        ):
            raise ValueError(f"the columns {table.schema} are not those written")
        ids = {n: np.asarray(table.column(n).to_numpy(zero_copy_only=False)) for n in _IDS}
        flat = table.column("state").combine_chunks().flatten().to_numpy()
        return ConversationStates(
            **ids,
            adult_is_initiator=np.asarray(
                table.column("adult_is_initiator").to_numpy(zero_copy_only=False), dtype=np.bool_
            ),
            states=np.asarray(flat, dtype=np.float64).reshape(-1, N_STATE),
        )
    except (pa.ArrowException, ValueError, TypeError, KeyError) as exc:
        raise OSError(
            errno.EIO,
            "cannot read back the temporary conversation states of out-of-core scoring "
            f"({exc}): the file was cut short, damaged or replaced while the job ran (a disk "
            "fault, or another process in its temporary directory); nothing was written: run "
            "the job again",
            str(path),
        ) from None
