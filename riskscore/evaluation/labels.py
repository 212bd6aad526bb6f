"""Checking that a label file belongs to the messages it is evaluated with (private)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore._words import plural
from riskscore.exceptions import SchemaError
from riskscore.features import FeatureTable
from riskscore.io.messages import MessageTable
from riskscore.model import align_labels
from riskscore.model.labels import label_positions, same_kind_label_ids
from riskscore.synthetic.labels import boolean_labels, labels_of, onset_indexes

_REQUIRED = ("conversation_id", "is_grooming", "onset_index", "adult_id")
#: The label columns an evaluation may score against: the ground truth, and the observed
#: label (equal to it unless label noise flipped some, docs/synthetic.md).
LABEL_COLUMNS = ("is_grooming_true", "is_grooming")


@dataclass(frozen=True, slots=True, eq=False)
class AlignedLabels:
    """Ground truth in the order of the feature table.

    ``is_grooming`` holds the values of the column named by ``label``; ``adult_id`` the
    labels' adult of each conversation, as the events spell that participant's id (use
    :func:`adult_accounts`); ``n_label_differs`` counts the conversations whose observed
    label differs from the truth (0 when the labels carry no truth).
    """

    is_grooming: npt.NDArray[np.bool_]
    onset_index: npt.NDArray[np.int64]
    adult_id: npt.NDArray[Any]
    label: str
    n_label_differs: int


def _example(values: npt.NDArray[Any]) -> str:
    return repr(values[0].item() if hasattr(values[0], "item") else values[0])


def scored_label(label: str | None, has_truth: bool) -> str:
    """The column an evaluation scores against: ``label``, or by default (None) the truth
    ``is_grooming_true`` when the labels carry it and the observed ``is_grooming`` when not.

    Raises
    ------
    ValueError
        ``label`` is not None nor one of :data:`LABEL_COLUMNS`.
    SchemaError
        ``label`` is ``"is_grooming_true"`` and the labels carry no truth.
    """
    if label is not None and label not in LABEL_COLUMNS:
        raise ValueError(
            f"label must be one of {', '.join(map(repr, LABEL_COLUMNS))} or None (the truth "
            f"when the labels carry it), got {label!r}"
        )
    if label == LABEL_COLUMNS[0] and not has_truth:
        raise SchemaError(
            "labels lack is_grooming_true, the label asked to score against; score against "
            "the observed label is_grooming (label='is_grooming', or the default)",
            column=LABEL_COLUMNS[0],
        )
    return label or LABEL_COLUMNS[0 if has_truth else 1]


def has_truth(labels: Any) -> bool:
    """Whether ``labels`` carry a ground truth ``is_grooming_true`` that was given, not
    copied from ``is_grooming`` (:attr:`riskscore.synthetic.Labels.truth_given`)."""
    given = getattr(labels, "is_grooming_true", None) is not None
    return given and bool(getattr(labels, "truth_given", True))


def check_and_align(
    labels: Any, features: FeatureTable, messages: MessageTable, label: str | None = None
) -> AlignedLabels:
    """Labels aligned with ``features``, or a SchemaError saying how they do not match.

    Refused: missing attributes, duplicate, missing or extra conversation ids,
    an ``adult_id`` that is not a participant of its conversation, and onsets
    outside their conversation (or set on a benign one). ``label``: the column to
    score against (:func:`scored_label`).
    """
    labels = labels_of(labels)  # a table of labels read as the labels file is
    noisy = has_truth(labels)
    column = scored_label(label, noisy)
    lacking = [name for name in _REQUIRED if not hasattr(labels, name)]
    if lacking:
        raise SchemaError(
            f"labels lack {lacking}: evaluation needs {list(_REQUIRED)} per conversation, as in "
            "labels.parquet written by `riskscore generate` (riskscore.synthetic.Labels)"
        )
    pos = label_positions(labels.conversation_id, features.conversation_id)
    observed = align_labels(features, labels)
    onset = onset_indexes(labels.onset_index)[pos]
    given = np.asanyarray(labels.adult_id)  # DecimalIds kept as they are
    # account ids are integers held as decimal text where one is beyond int64
    integers = features.adult_id.dtype.kind in "iu" or messages.decimal_ids
    # read in the labels' own order, so that an id refused is named by its row of the
    # labels (in the features' order, a pandas DataFrame's bad id was named by another row)
    label_adult, adults = same_kind_label_ids(
        given, features.adult_id, "adult_id", integers=integers
    )
    _, children = same_kind_label_ids(given, features.child_id, "adult_id", integers=integers)
    adult = label_adult[pos]
    is_older = adult == adults
    participant = is_older | (adult == children)
    if not np.all(participant):
        bad = np.flatnonzero(~participant)
        raise SchemaError(
            f"labels do not match the messages: conversation "
            f"{_example(features.conversation_id[bad])} is labelled with adult "
            f"{_example(adult[bad])}, who takes no part in it ({plural(len(bad), 'conversation')} "
            "affected). The labels probably belong to other events (another seed or file).",
            column="adult_id",
            value=adult[bad[0]],
        )
    n_events = messages.segment_ends - messages.segment_starts
    # an onset is the truth's: -1 for a truly benign conversation, even one label noise
    # labelled grooming (docs/synthetic.md), so it is checked against the truth when given
    truth = "is_grooming_true" if noisy else "is_grooming"
    grooming = boolean_labels(labels.is_grooming_true, truth)[pos] if noisy else observed
    bad_onset = np.where(grooming, (onset < 0) | (onset >= n_events), onset != -1)
    if np.any(bad_onset):
        bad = np.flatnonzero(bad_onset)
        raise SchemaError(
            f"labels do not match the messages: conversation "
            f"{_example(features.conversation_id[bad])} has onset_index {int(onset[bad[0]])} "
            f"but {int(n_events[bad[0]])} events ({truth}={bool(grooming[bad[0]])}; "
            f"{plural(len(bad), 'conversation')} affected). A grooming onset must index an "
            "event of its conversation and a benign conversation's onset must be -1.",
            column="onset_index",
            value=int(onset[bad[0]]),
        )
    # the labels' adult as the events spell it (both id columns come from one accounts array)
    adult_account = features.adult_id.copy()
    adult_account[~is_older] = features.child_id[~is_older]
    return AlignedLabels(
        is_grooming=grooming if column == LABEL_COLUMNS[0] else observed,
        onset_index=onset,
        adult_id=adult_account,
        label=column,
        n_label_differs=int(np.count_nonzero(observed != grooming)),
    )


def adult_accounts(features: FeatureTable, labels: AlignedLabels | None) -> npt.NDArray[Any]:
    """The adult account of each conversation of ``features``: the one unit that evaluation
    resamples (the bootstrap of ``evaluate`` and ``compare``), splits on (``split_dataset``,
    ``train --data``), samples for the early-detection replay, and counts in its reports.

    With labels, the labels' ``adult_id``: the ground truth names the groomer, who may not
    be the older participant by declared age (an adult declaring a child's age, two adults,
    two teenagers). Without labels, the feature table's adult: the older participant by
    declared age (:attr:`riskscore.FeatureTable.adult_id`).

    Parameters
    ----------
    features : FeatureTable
        The conversations.
    labels : AlignedLabels or None
        Their labels as :func:`check_and_align` aligned them, or None.

    Returns
    -------
    array of shape (n_conversations,)
        Account ids as the events spell them.
    """
    return features.adult_id if labels is None else labels.adult_id
