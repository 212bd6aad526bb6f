"""The sorted events of a table as the event kernel reads them, and the kernel run over
parts of whole conversations on worker threads (private): what batch extraction
(:mod:`riskscore.features.batch`) and the conversation states of out-of-core scoring
(:mod:`riskscore.features.states`) both hand the compiled loops."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from riskscore._read_only import read_only
from riskscore.io.chunks import conversation_parts
from riskscore.io.messages import MessageTable
from riskscore.io.threads import executor_for

__all__ = ["PART_EVENTS", "kernel_events", "run_parts"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
#: Per event, in the compiled loops' order: sent by the initiator, timestamp, sender and
#: recipient age, channel, event type, recipient time zone offset, room size.
EventColumns = tuple[
    npt.NDArray[np.bool_],
    IntArray,
    FloatArray,
    FloatArray,
    npt.NDArray[np.uint8],
    npt.NDArray[np.uint8],
    npt.NDArray[np.int16],
    npt.NDArray[np.int32],
]

#: Events per part of a large table (whole conversations; one compiled call each).
PART_EVENTS = 250_000


@dataclass(frozen=True, slots=True, eq=False)
class KernelEvents:
    """The arguments of the compiled loops (:func:`~riskscore.features.kernel.run_states`,
    :func:`~riskscore.features.kernel.run_conversations`) that come from the events.

    Attributes
    ----------
    starts : int64 array of shape (n_conversations,)
        Index of each conversation's first event.
    initiator, responder : int64 arrays of shape (n_conversations,)
        Account codes of each conversation's first sender and first recipient.
    columns : EventColumns
        Per event, in the loops' order (:data:`EventColumns`).
    """

    starts: IntArray
    initiator: IntArray
    responder: IntArray
    columns: EventColumns


def kernel_events(msgs: MessageTable) -> KernelEvents:
    """The events of ``msgs`` (validated, sorted by conversation then time) as the
    compiled loops read them."""
    starts = msgs.segment_starts.astype(np.int64)
    initiator = msgs.sender_code[starts]
    responder = msgs.recipient_code[starts]
    from_initiator = msgs.sender_code == np.repeat(initiator, np.diff(starts, append=len(msgs)))
    # Read-only whatever the table's arrays are: one compiled signature (riskscore._read_only).
    columns: EventColumns = (
        read_only(from_initiator),
        read_only(msgs.timestamp),
        read_only(msgs.sender_age),
        read_only(msgs.recipient_age),
        read_only(msgs.channel),
        read_only(msgs.event),
        read_only(msgs.recipient_tz_offset_min),
        read_only(msgs.room_size),
    )
    return KernelEvents(read_only(starts), read_only(initiator), read_only(responder), columns)


def run_parts(msgs: MessageTable, run: Callable[[int, int], object]) -> None:
    """``run(first, stop)`` over consecutive ranges of whole conversations of about
    :data:`PART_EVENTS` events, on worker threads for a large table (the compiled loops
    release the GIL, and parts write disjoint rows of their outputs)."""
    with executor_for(len(msgs)) as pool:
        for part in [pool.submit(run, *bounds) for bounds in conversation_parts(msgs, PART_EVENTS)]:
            part.result()
