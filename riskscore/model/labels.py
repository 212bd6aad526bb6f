"""Ground truth in the order of a feature table: what training and evaluation need of labels."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from riskscore._words import plural
from riskscore.exceptions import SchemaError
from riskscore.features import FeatureTable
from riskscore.io.ids import DecimalIds, as_text, integer_ids
from riskscore.io.raw import as_python_value
from riskscore.io.schema import PAIR_ID_SEPARATOR
from riskscore.synthetic.labels import boolean_labels, labels_of, read_label_ids

__all__ = ["ConversationLabels", "align_labels", "label_positions", "same_kind_label_ids"]

IntArray = npt.NDArray[np.int64]


@runtime_checkable
class ConversationLabels(Protocol):
    """What training needs of labels: ids and the ground truth per conversation."""

    @property
    def conversation_id(self) -> npt.NDArray[Any]: ...

    @property
    def is_grooming(self) -> npt.NDArray[np.bool_]: ...


def align_labels(
    features: FeatureTable, labels: ConversationLabels | npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """Ground truth in the order of ``features``; every conversation needs exactly one label.

    ``labels`` is either an object with ``conversation_id`` and ``is_grooming``
    arrays, a table of them (:func:`~riskscore.synthetic.labels.labels_of`), or a boolean
    array already in the order of ``features``.
    """
    labels = labels_of(labels)
    if not isinstance(labels, ConversationLabels):
        truth_in_order = np.asarray(labels)
        if truth_in_order.shape != (len(features),) or truth_in_order.dtype != bool:
            raise SchemaError(
                f"labels as an array must be boolean of shape ({len(features)},), one per "
                f"conversation; got dtype {truth_in_order.dtype} and shape {truth_in_order.shape}"
            )
        return truth_in_order
    truth = boolean_labels(labels.is_grooming)
    if np.shape(labels.conversation_id) != truth.shape:
        raise SchemaError("labels: conversation_id and is_grooming differ in length")
    return truth[label_positions(labels.conversation_id, features.conversation_id)]


def label_positions(label_ids: npt.ArrayLike, conversation_id: npt.NDArray[Any]) -> IntArray:
    """The row of each conversation's label: one label per conversation, and none other.

    Parameters
    ----------
    label_ids : array-like of shape (n_labels,)
        The labels' conversation ids, in the labels' row order.
    conversation_id : array of shape (n_conversations,)
        The conversations to label (of a feature or score table).

    Returns
    -------
    array of int64, shape (n_conversations,)
        For each conversation, its row in ``label_ids``.

    Raises
    ------
    SchemaError
        The labels' ids are of another kind than the conversations' (integers beside
        text: 500 and "500" are two ids, :func:`same_kind_label_ids`), a conversation is
        labelled twice (naming it and the row of its second label), a conversation has no
        label or a label has no conversation (naming the first).

    Examples
    --------
    >>> import numpy as np
    >>> label_positions(np.array([7, 3, 5]), np.array([3, 5, 7])).tolist()
    [1, 2, 0]
    """
    ids, conversations = same_kind_label_ids(label_ids, conversation_id, "conversation_id")
    order = np.argsort(ids, kind="stable")
    repeated = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if len(repeated):
        row = int(order[repeated[0] + 1])
        times = int((ids == ids[row]).sum())
        raise SchemaError(
            f"labels do not match the messages: conversation {_shown(ids[row])} is labelled "
            f"{times} times (row {row} of the labels; "
            f"{plural(len(np.unique(ids[order][repeated])), 'conversation id')} labelled more "
            "than once). Give one label per conversation.",
            column="conversation_id",
            row=row,
            value=as_python_value(ids[row]),
        )
    extra = ids[~np.isin(ids, conversations)]
    missing = conversations[~np.isin(conversations, ids)]
    if len(extra) or len(missing):
        example = (
            f"conversation {_shown(missing[0])} has no label"
            if len(missing)
            else f"conversation {_shown(extra[0])} is labelled but has no events"
        )
        room = _labelled_room(extra, missing)
        raise SchemaError(
            f"labels do not match the messages: {room or example} "
            f"({plural(len(missing), 'conversation')} without a label, "
            f"{plural(len(extra), 'label')} without events; {plural(len(ids), 'label')} "
            f"for {plural(len(conversations), 'conversation')})."
            + (" Pass the labels.parquet generated with these events." if room is None else ""),
            column="conversation_id",
            value=as_python_value((missing if len(missing) else extra)[0]),
        )
    return order[np.searchsorted(ids[order], conversations)].astype(np.int64)


def _labelled_room(extra: npt.NDArray[Any], missing: npt.NDArray[Any]) -> str | None:
    """Why a label without events may be so: its id is a group room's, whose events were
    read as the room's pair conversations (``room|a|b``, :mod:`riskscore.io.groups`), which
    lack labels; None when no such room is labelled."""
    pairs: dict[str, list[str]] = {}
    for cid in map(str, missing):
        if cid.count(PAIR_ID_SEPARATOR) >= 2:  # the room: all before the two accounts
            pairs.setdefault(cid.rsplit(PAIR_ID_SEPARATOR, 2)[0], []).append(cid)
    room = next((r for r in extra if str(r) in pairs), None) if pairs else None
    if room is None:
        return None
    of_room = pairs[str(room)]
    shown = ", ".join(repr(cid) for cid in of_room[:3]) + ", ..." * (len(of_room) > 3)
    return (
        f"conversation {_shown(room)} is a group room, read as the pair conversations of "
        f"the accounts that exchanged events in it ({shown}): label each pair by its id, "
        "not the room"
    )


def same_kind_label_ids(
    label_ids: npt.ArrayLike,
    ids: npt.NDArray[Any],
    column: str,
    *,
    integers: bool | None = None,
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Labels' ids and the events' ids of column ``column`` in one form, to be compared.

    The labels' ids are read by the rule of a labels file's ids
    (:func:`~riskscore.synthetic.labels.read_label_ids`, the events' id rule) whatever holds
    them: ``7.0`` in a pandas DataFrame is the id ``7``, as in ``labels.parquet``. Integers
    stay integers; beside integers held as decimal text (ids beyond int64,
    :class:`~riskscore.io.ids.DecimalIds`) both are that text. ``integers`` says whether
    ``ids`` are integers as given (default: :func:`~riskscore.io.ids.integer_ids`; account
    ids tell it by :attr:`riskscore.MessageTable.decimal_ids`).

    Raises
    ------
    SchemaError
        An id the rule refuses (naming column, row and value), or integer ids on one side
        and text ids on the other: 500 and "500" are two ids, as in the events
        (:func:`~riskscore.io.ids.same_id_kind`).

    Examples
    --------
    >>> import numpy as np
    >>> [a.tolist() for a in same_kind_label_ids([7.0, 3.0], np.array([3, 7]), "conversation_id")]
    [[7, 3], [3, 7]]
    """
    given = np.asanyarray(label_ids)  # an ndarray subclass (DecimalIds) kept as it is
    if not (isinstance(given, DecimalIds) or given.dtype.kind in "iuU"):  # not read yet
        given = read_label_ids(column, given)
    theirs = integer_ids(ids) if integers is None else integers
    mine = integer_ids(given)
    if len(given) and len(ids) and mine != theirs:
        raise SchemaError(
            f"labels do not match the messages: label {column.removesuffix('_id')} ids are "
            f'{_kind(given, mine)}, the messages\' are {_kind(ids, theirs)} (500 and "500" '
            f"are two ids). {_read_as_text(column, ids, mine)}",
            column=column,
            row=0,
            value=as_python_value(given[0]),
        )
    if given.dtype.kind in "iu" and ids.dtype.kind in "iu":
        return np.asarray(given), np.asarray(ids)
    return as_text(given), as_text(ids)


def _read_as_text(column: str, ids: npt.NDArray[Any], labels_integers: bool) -> str:
    """How to make the two kinds of ids one: integer labels beside events whose group
    rooms made every conversation id text (a pair id, ``room|a|b``, is text) are given as
    text; otherwise both are read with the same types."""
    rooms = column == "conversation_id" and labels_integers and ids.dtype.kind in "OU"
    if rooms and any(PAIR_ID_SEPARATOR in str(cid) for cid in ids):
        return (
            "The events hold group rooms, read as pair conversations whose ids (room|a|b) are "
            "text, so every conversation id of these events is read as text: give the labels' "
            'ids as text ("500"), a room\'s pairs by their pair ids.'
        )
    return "Read both with the same types."


def _kind(ids: npt.NDArray[Any], integers: bool) -> str:
    if integers:
        return "integers"
    return "text" if ids.dtype.kind in "OU" else str(ids.dtype)


def _shown(value: Any) -> str:
    return repr(as_python_value(value))
