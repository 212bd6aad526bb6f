"""Ground truth in the order of a feature table: what training and evaluation need of labels."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import SchemaError
from riskscore.features import FeatureTable
from riskscore.synthetic.labels import boolean_labels

__all__ = ["ConversationLabels", "align_labels"]


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
    arrays, or a boolean array already in the order of ``features``.
    """
    if not isinstance(labels, ConversationLabels):
        truth_in_order = np.asarray(labels)
        if truth_in_order.shape != (len(features),) or truth_in_order.dtype != bool:
            raise SchemaError(
                f"labels as an array must be boolean of shape ({len(features)},), one per "
                f"conversation; got dtype {truth_in_order.dtype} and shape {truth_in_order.shape}"
            )
        return truth_in_order
    label_ids = np.asarray(labels.conversation_id)
    truth = boolean_labels(labels.is_grooming)
    if label_ids.shape != truth.shape:
        raise SchemaError("labels: conversation_id and is_grooming differ in length")
    if len(np.unique(label_ids)) != len(label_ids):
        raise SchemaError("labels: a conversation_id appears more than once")
    try:
        order = np.argsort(label_ids)
        pos = np.searchsorted(label_ids[order], features.conversation_id)
        pos = np.clip(pos, 0, max(len(label_ids) - 1, 0))
        found = label_ids[order][pos] == features.conversation_id
    except TypeError as exc:
        raise SchemaError(
            "labels: conversation ids are of another type than the messages' ids"
        ) from exc
    if not np.all(found):
        missing = features.conversation_id[~found][0]
        raise SchemaError(
            f"labels do not match the messages: conversation {missing!r} has no label "
            f"({int((~found).sum())} conversations unlabelled)"
        )
    if len(label_ids) != len(features):
        raise SchemaError(
            f"labels do not match the messages: {len(label_ids)} labels for "
            f"{len(features)} conversations"
        )
    return truth[order][pos]
