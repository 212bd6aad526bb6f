"""Checking that a label file belongs to the messages it is evaluated with (private)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import SchemaError
from riskscore.features import FeatureTable
from riskscore.io.messages import MessageTable
from riskscore.model import align_labels
from riskscore.synthetic.labels import onset_indexes

_REQUIRED = ("conversation_id", "is_grooming", "onset_index", "adult_id")


@dataclass(frozen=True, slots=True, eq=False)
class AlignedLabels:
    """Ground truth in the order of the feature table."""

    is_grooming: npt.NDArray[np.bool_]
    onset_index: npt.NDArray[np.int64]
    adult_id: npt.NDArray[Any]


def _example(values: npt.NDArray[Any]) -> str:
    return repr(values[0].item() if hasattr(values[0], "item") else values[0])


def check_and_align(labels: Any, features: FeatureTable, messages: MessageTable) -> AlignedLabels:
    """Labels aligned with ``features``, or a SchemaError saying how they do not match.

    Refused: missing attributes, duplicate, missing or extra conversation ids,
    an ``adult_id`` that is not a participant of its conversation, and onsets
    outside their conversation (or set on a benign one).
    """
    lacking = [name for name in _REQUIRED if not hasattr(labels, name)]
    if lacking:
        raise SchemaError(
            f"labels lack {lacking}: evaluation needs {list(_REQUIRED)} per conversation, as in "
            "labels.parquet written by `riskscore generate` (riskscore.synthetic.Labels)"
        )
    label_ids = np.asarray(labels.conversation_id)
    unique, counts = np.unique(label_ids, return_counts=True)
    if len(unique) != len(label_ids):
        dup = unique[counts > 1]
        raise SchemaError(
            f"labels do not match the messages: conversation {_example(dup)} is labelled "
            f"{int(counts[counts > 1][0])} times ({len(dup)} conversation ids appear more "
            "than once). Give one label per conversation.",
            column="conversation_id",
            value=dup[0],
        )
    numeric = {np.dtype(label_ids.dtype).kind in "iu", features.conversation_id.dtype.kind in "iu"}
    if len(numeric) > 1:
        raise SchemaError(
            f"labels do not match the messages: label conversation ids are {label_ids.dtype}, "
            f"the messages' are {features.conversation_id.dtype}. Read both with the same types.",
            column="conversation_id",
        )
    extra = label_ids[~np.isin(label_ids, features.conversation_id)]
    missing = features.conversation_id[~np.isin(features.conversation_id, label_ids)]
    if len(extra) or len(missing):
        example = (
            f"conversation {_example(missing)} has no label"
            if len(missing)
            else f"conversation {_example(extra)} is labelled but has no events"
        )
        raise SchemaError(
            f"labels do not match the messages: {example} ({len(missing)} conversations "
            f"without a label, {len(extra)} labels without events; {len(label_ids)} labels "
            f"for {len(features)} conversations). Pass the labels.parquet generated with "
            "these events.",
            column="conversation_id",
            value=(missing if len(missing) else extra)[0],
        )
    truth = align_labels(features, labels)
    order = np.argsort(label_ids, kind="stable")
    pos = order[np.searchsorted(label_ids[order], features.conversation_id)]
    onset = onset_indexes(labels.onset_index)[pos]
    adult = np.asarray(labels.adult_id)[pos]
    participant = (adult == features.adult_id) | (adult == features.child_id)
    if not np.all(participant):
        bad = np.flatnonzero(~participant)
        raise SchemaError(
            f"labels do not match the messages: conversation "
            f"{_example(features.conversation_id[bad])} is labelled with adult "
            f"{_example(adult[bad])}, who takes no part in it ({len(bad)} conversations "
            "affected). The labels probably belong to other events (another seed or file).",
            column="adult_id",
            value=adult[bad[0]],
        )
    n_events = messages.segment_ends - messages.segment_starts
    bad_onset = np.where(truth, (onset < 0) | (onset >= n_events), onset != -1)
    if np.any(bad_onset):
        bad = np.flatnonzero(bad_onset)
        raise SchemaError(
            f"labels do not match the messages: conversation "
            f"{_example(features.conversation_id[bad])} has onset_index {int(onset[bad[0]])} "
            f"but {int(n_events[bad[0]])} events (is_grooming={bool(truth[bad[0]])}; "
            f"{len(bad)} conversations affected). A grooming onset must index an event of its "
            "conversation and a benign conversation's onset must be -1.",
            column="onset_index",
            value=int(onset[bad[0]]),
        )
    return AlignedLabels(is_grooming=truth, onset_index=onset, adult_id=adult)
