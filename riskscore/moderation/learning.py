"""Learning from moderators' decisions: labels from the review queue, a candidate model
measured against the current one in the same run.

Labels. A conversation with an item decided ``actioned`` or ``escalated`` is positive; one
whose items were all ``dismissed`` is negative; one with an open item and no positive
decision is left out. Every other conversation of the events (no alert, no user report)
is *presumed negative*.

Selection bias. Only conversations the current model alerted or a user reported get a
decision, so a grooming conversation that neither caught is labelled negative, and a model
trained on these labels inherits the current model's blind spots. riskscore counters it in
two ways and states the rest: user reports label conversations the model did not select,
and they are kept as labels of their own; and the current model is compared with the
candidate on the same adult-grouped folds, so a candidate that only learned to agree with
the current model's selection gains nothing. What remains is stated in the result and the
new bundle: the recall of either model on conversations nobody flagged is unknown.

Few labels. With fewer than :data:`MIN_RETRAIN_POSITIVES` positive conversations the
trees are kept and only the calibration is refitted (Platt scaling on the current model's
margins), which needs far fewer labels than trees do.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import SchemaError
from riskscore.features import FeatureTable, extract_features
from riskscore.io import MessageTable
from riskscore.io.given_ids import given_conversation_ids
from riskscore.io.pair_ids import conversation_aliases
from riskscore.io.shown_ids import shown_id
from riskscore.model import Platt, RiskModel
from riskscore.model.bundle import MANIFEST, sha256_of
from riskscore.model.drift import reference_profile
from riskscore.model.labels import same_kind_label_ids
from riskscore.model.training import adult_folds, fit_risk_model
from riskscore.moderation.cases import Outcome
from riskscore.moderation.queue import ReviewQueue

__all__ = [
    "MIN_RETRAIN_POSITIVES",
    "DecisionLabels",
    "LearningResult",
    "labels_from_queue",
    "learn_from_decisions",
]

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

#: Positive conversations below which only the calibration is refitted.
MIN_RETRAIN_POSITIVES: Final = 200
_POSITIVE: Final = frozenset({Outcome.ACTIONED.value, Outcome.ESCALATED.value})
_NEGATIVE: Final = frozenset({Outcome.DISMISSED.value})
#: Metadata that describes the trees, kept by a recalibrated model (which keeps them).
_TREE_METADATA: Final = ("estimator", "inputs", "unconstrained_inputs", "tree_params", "input_caps")
_CALIBRATION: Final = {
    "recalibrated": "Platt scaling of the base model's margins (its trees kept), refitted "
    "in sample on every labelled conversation of the queue's period",
    "retrained": "Platt scaling on out-of-fold margins (folds grouped by adult account) of "
    "trees fitted on the queue's labels",
}
SELECTION_BIAS: Final = (
    "labels exist only for conversations the current model alerted or a user reported; "
    "every other conversation is presumed negative, so grooming that neither caught is "
    "labelled benign and the recall of either model on it is unknown"
)


@dataclass(frozen=True, slots=True)
class DecisionLabels:
    """Conversation labels from a review queue's decisions.

    Attributes
    ----------
    positive, negative : frozenset
        Conversation ids decided actioned/escalated, and dismissed only.
    excluded : frozenset
        Conversations with an open item and no positive decision.
    from_reports : frozenset
        Labelled conversations whose items include a user report (outside the model's
        own selection).
    aliases : mapping
        Each labelled conversation's other ids, by its items' two accounts
        (:func:`~riskscore.io.pair_ids.conversation_aliases`): a room's id while it held
        two accounts, then its pair's; see :meth:`on`.
    accounts : mapping
        Each labelled conversation's accounts as its items name them (as text), checked
        against the events by :meth:`check_accounts`.
    positive_before : frozenset
        Conversations decided actioned or escalated only before ``since``
        (:func:`labels_from_queue`) whose later items would have labelled them: never
        negative, and left out.
    """

    positive: frozenset[Any]
    negative: frozenset[Any]
    excluded: frozenset[Any]
    from_reports: frozenset[Any]
    aliases: Mapping[Any, frozenset[Any]] = field(default_factory=dict, hash=False)
    accounts: Mapping[Any, frozenset[str]] = field(default_factory=dict, hash=False)
    positive_before: frozenset[Any] = frozenset()

    def on(self, conversations: Collection[Any]) -> DecisionLabels:
        """The labels with each id that is none of ``conversations`` (ids as the queue
        files them, :func:`~riskscore.io.given_ids.given_conversation_ids`) under its alias
        that is one: a case the online scorer filed under a room's id while the room held
        two accounts labels the pair batch scoring names by its pair id; an integer id
        labels its decimal text (as an alerts file of ``riskscore score`` holds it where
        the ids are text) when only that is one of ``conversations``. Two ids of one
        conversation are labelled as one, by the rule of :func:`labels_from_queue`
        (positive when either is, else excluded when either is open).

        Examples
        --------
        >>> labels = DecisionLabels(frozenset({9}), frozenset(), frozenset(), frozenset(),
        ...                         {9: frozenset({"9|a|b"})})
        >>> labels.on(["9|a|b", "6"]).positive
        frozenset({'9|a|b'})
        >>> DecisionLabels(frozenset({6}), frozenset(), frozenset(), frozenset()).on(
        ...     ["9|a|b", "6"]).positive
        frozenset({'6'})
        """
        known = set(conversations)

        def to(c: Any) -> Any:
            return c if c in known else next((a for a in self._aliases(c) if a in known), c)

        def moved(ids: frozenset[Any]) -> frozenset[Any]:
            return frozenset(to(c) for c in ids)

        positive = moved(self.positive)
        before = moved(self.positive_before) - positive
        excluded = moved(self.excluded) - positive - before
        negative = moved(self.negative) - positive - excluded - before
        from_reports = moved(self.from_reports) & (positive | negative)
        accounts: dict[Any, frozenset[str]] = {}
        for c, names in self.accounts.items():
            at = to(c)
            accounts[at] = accounts.get(at, frozenset()) | names
        return DecisionLabels(
            positive, negative, excluded, from_reports, self.aliases, accounts, before
        )

    def check_accounts(
        self,
        conversation_ids: Collection[Any],
        adult_ids: Collection[Any],
        child_ids: Collection[Any],
        source: str = "events",
    ) -> None:
        """Refuse events whose conversations are not those the decisions were made on:
        a labelled conversation (by its id as the queue files it, after :meth:`on`) whose
        items name an account that takes no part in it there (``adult_ids`` and
        ``child_ids``: its two accounts, per id of ``conversation_ids``). Ids such as
        0, 1, 2 ... recur in every data set; matched by id alone, another period's or
        another platform's events took the decisions as their labels, in silence.
        ``source`` names what the ids come from in the message ("events", or the scores
        and alerts files of a run compared).

        Raises
        ------
        SchemaError
            Naming how many conversations differ and up to three of them.
        """
        differ = []
        for c, a, b in zip(conversation_ids, adult_ids, child_ids, strict=True):
            named = self.accounts.get(c)
            if named is not None and not named <= {str(a), str(b)}:
                differ.append((c, sorted(named), sorted({str(a), str(b)})))
        if differ:
            c, queued, events = differ[0]
            raise SchemaError(
                f"{len(differ)} decided conversation(s) are between other accounts in the "
                f"{source} than in the review queue (e.g. conversation {shown_id(c)}: "
                f"{' and '.join(queued)} in the queue, {' and '.join(events)} in the "
                f"{source}): these are not of the events the decisions were made on; pass "
                f"the {source} of the period and platform the queue covers"
            )

    def _aliases(self, conversation: Any) -> list[Any]:
        aliases = sorted(self.aliases.get(conversation, ()), key=repr)  # one order, every run
        if type(conversation) is int:
            # its decimal text, as batch scoring writes an integer id where the ids are text
            # (a group room's pair ids, an id beyond int64): an alerts file of `score`
            aliases.append(str(conversation))
        return aliases

    def counts(self) -> dict[str, int]:
        """Sizes of each set."""
        return {
            "positive": len(self.positive),
            "negative": len(self.negative),
            "excluded_open": len(self.excluded),
            "excluded_positive_before_since": len(self.positive_before),
            "from_user_reports": len(self.from_reports),
        }


def labels_from_queue(queue: ReviewQueue, *, since: int | None = None) -> DecisionLabels:
    """Per-conversation labels from the items of ``queue`` (see the module docstring).

    Parameters
    ----------
    queue : ReviewQueue
        The decisions.
    since : int, optional
        Epoch seconds: only decisions made at or after it count (items decided before
        are left out; open items are excluded as always). Default: every decision. A
        conversation decided actioned or escalated before it is never a negative: when
        its items since hold no positive decision, it is left out
        (:attr:`DecisionLabels.positive_before`).
    """
    status: dict[Any, set[str]] = {}
    reported: set[Any] = set()
    aliases: dict[Any, set[Any]] = {}
    accounts: dict[Any, set[str]] = {}
    earlier: set[Any] = set()  # decided positive before since
    for item in queue.items():
        if item.conversation_id is None:
            continue
        # every decided conversation is known by all its ids and accounts, those decided
        # positive before ``since`` too: they are left out of training under any of them
        others = conversation_aliases(item.conversation_id, item.adult_id, item.child_id)
        aliases.setdefault(item.conversation_id, set()).update(others)
        accounts.setdefault(item.conversation_id, set()).update(
            str(a) for a in (item.adult_id, item.child_id) if a is not None
        )
        if since is not None and item.decided_at is not None and item.decided_at < since:
            if item.status in _POSITIVE:
                earlier.add(item.conversation_id)
            continue
        status.setdefault(item.conversation_id, set()).add(item.status)
        if item.kind != "alert":
            reported.add(item.conversation_id)
    positive = {c for c, s in status.items() if s & _POSITIVE}
    # positive before ``since`` and not since: never a negative, whether or not anything
    # about it was decided since (else training would take it as a presumed negative)
    before = earlier - positive
    negative = {c for c, s in status.items() if s and s <= _NEGATIVE} - before
    excluded = set(status) - positive - negative - before
    return DecisionLabels(
        frozenset(positive),
        frozenset(negative),
        frozenset(excluded),
        frozenset(reported & (positive | negative)),
        {c: frozenset(a) for c, a in aliases.items()},
        {c: frozenset(a) for c, a in accounts.items()},
        frozenset(before),
    )


@dataclass(frozen=True, slots=True)
class LearningResult:
    """A candidate model and how it compares with the current one.

    Attributes
    ----------
    model : RiskModel
        The candidate, fitted on every labelled conversation; its metadata records
        where its labels came from.
    method : str
        ``"retrained"`` or ``"recalibrated"``.
    comparison : dict
        Out-of-fold metrics (adult-grouped folds) of the candidate and the current model
        on the same conversations: PR-AUC, ROC-AUC, Brier score.
    labels : dict
        Label counts and provenance.
    """

    model: RiskModel
    method: str
    comparison: dict[str, Any]
    labels: dict[str, Any]


def _metrics(y: BoolArray, risk: FloatArray) -> dict[str, float]:
    # Imported when comparing, not at every command's start-up (about a second).
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    return {
        "pr_auc": float(average_precision_score(y, risk)),
        "roc_auc": float(roc_auc_score(y, risk)),
        "brier": float(brier_score_loss(y, risk)),
    }


def _fit(
    current: RiskModel,
    features: FeatureTable,
    y: BoolArray,
    groups: npt.NDArray[Any],
    retrain: bool,
    seed: int,
) -> RiskModel:
    if retrain:
        return fit_risk_model(features, y, groups=groups, seed=seed, inputs=current.feature_names)
    margin = current.trees.margins(current.inputs(features))
    kept = {k: v for k, v in current.metadata.items() if k in _TREE_METADATA}
    return RiskModel(current.trees, Platt.fit(margin, y), metadata=kept)


def _base_model(current: RiskModel, bundle: str | Path | None, retrained: bool) -> dict[str, Any]:
    """What identifies the model learnt from; a recalibrated model (its trees) also keeps
    the base model's training summary and metrics, measured on the base model."""
    base: dict[str, Any] = {"parameters_sha256": current.parameters_sha256()}
    if bundle is not None:
        manifest = Path(bundle) / MANIFEST
        base["bundle"] = str(bundle)
        base["manifest_sha256"] = sha256_of(manifest)
        libraries = json.loads(manifest.read_text(encoding="utf-8")).get("libraries") or {}
        base["riskscore_version"] = libraries.get("riskscore")
    if not retrained:
        base["training"] = current.metadata.get("training", {})
        if "metrics" in current.metadata:  # measured on the base model, not on this one
            base["metrics"] = current.metadata["metrics"]
    return base


def learn_from_decisions(
    events: MessageTable,
    queue: ReviewQueue | str | Path,
    current: RiskModel,
    *,
    seed: int = 0,
    n_splits: int = 5,
    min_retrain_positives: int = MIN_RETRAIN_POSITIVES,
    events_file: str | Path | None = None,
    current_bundle: str | Path | None = None,
) -> LearningResult:
    """Train (or recalibrate) a candidate on moderators' decisions and compare it with
    ``current`` on the same adult-grouped folds.

    Parameters
    ----------
    events : MessageTable
        Every event of the period the queue covers (per-account features count all of
        an adult's conversations).
    queue : ReviewQueue or path
        The decisions.
    current : RiskModel
        The model in production; its inputs are the candidate's.
    seed : int, default 0
        Folds and trees.
    n_splits : int, default 5
        Adult-grouped folds of the comparison.
    min_retrain_positives : int, default MIN_RETRAIN_POSITIVES
        Below this many positive conversations, recalibrate instead of retraining.
    events_file : path, optional
        The file ``events`` were read from: recorded with its sha256, as the queue is,
        so that ``riskscore evaluate`` warns when it measures the model on them
        (:func:`~riskscore.evaluation.in_sample.in_sample_warning`).
    current_bundle : path, optional
        The bundle ``current`` was loaded from: recorded with its manifest's sha256 under
        the metadata's ``training.base_model``.

    Returns
    -------
    LearningResult
        The candidate's metadata says what it is: ``training`` holds the method, the
        calibration and the prevalence it is calibrated at, the labels' counts and
        provenance, the out-of-fold ``comparison`` and the ``base_model`` (its
        parameters' sha256; when recalibrated, also its training summary and metrics,
        which were measured on it, not on the candidate).
    """
    source = None
    if not isinstance(queue, ReviewQueue):
        source = Path(queue)
        with ReviewQueue(source) as opened:
            labels = labels_from_queue(opened)
    else:
        labels = labels_from_queue(queue)
    features = extract_features(events)
    # as the queue files them: the integer 6, never the "6" of a column with an id beyond int64
    ids = given_conversation_ids(features.conversation_id)
    known = set(ids)
    labels = labels.on(known)  # a room's case under its pair's id
    unknown = (labels.positive | labels.negative) - known
    if unknown:
        kinds = {isinstance(c, str) for c in unknown}
        try:  # ids all of another kind than the events' (text beside integers), as labels'
            if len(kinds) == 1:
                same_kind_label_ids(sorted(unknown), features.conversation_id, "conversation_id")
        except SchemaError as exc:
            raise SchemaError(
                f"{source or 'the review queue'}: {len(unknown)} decided conversation(s) are "
                f"not in the events, as {exc}",
                column="conversation_id",
            ) from None
        example = ", ".join(sorted(map(shown_id, unknown))[:3])  # 7 and "7" apart
        raise SchemaError(
            f"{len(unknown)} decided conversation(s) are not in the events (e.g. {example}); "
            "pass the events of the whole period the queue covers"
        )
    labels.check_accounts(ids, features.adult_id.tolist(), features.child_id.tolist())
    left_out = labels.excluded | labels.positive_before
    keep = np.array([c not in left_out for c in ids])
    y = np.array([c in labels.positive for c in ids])[keep]
    table = features.take(np.flatnonzero(keep))
    n_pos = int(y.sum())
    if n_pos < 2 * n_splits or len(y) - n_pos < 2 * n_splits:
        raise SchemaError(
            f"{n_pos} positive and {len(y) - n_pos} negative conversations: too few "
            f"decisions to learn from (at least {2 * n_splits} of each)"
        )
    retrain = n_pos >= min_retrain_positives
    _, groups = np.unique(table.adult_id, return_inverse=True)
    candidate_risk = np.empty(len(y))
    for train, test in adult_folds(table.adult_id, y, n_splits, seed):
        fold = _fit(current, table.take(train), y[train], groups[train], retrain, seed)
        candidate_risk[test] = fold.predict_proba(table.take(test))
    current_risk = current.predict_proba(table)
    model = _fit(current, table, y, groups, retrain, seed)
    method = "retrained" if retrain else "recalibrated"
    provenance = {
        "source": "review queue decisions",
        "queue": str(source) if source else None,
        "queue_sha256": sha256_of(source) if source else None,
        "events": None if events_file is None else str(events_file),
        "events_sha256": None if events_file is None else sha256_of(Path(events_file)),
        **labels.counts(),
        "presumed_negative": int(len(y) - len(labels.positive) - len(labels.negative)),
        "method": method,
        "min_retrain_positives": min_retrain_positives,
        "selection_bias": SELECTION_BIAS,
    }
    comparison = {
        "folds": n_splits,
        "grouped_by": "adult account",
        "conversations": len(y),
        "positives": n_pos,
        "candidate": _metrics(y, candidate_risk),
        "current": _metrics(y, current_risk),
        "note": "the current model chose which conversations were decided, so its figures "
        "here are optimistic; compare the two, not either with the model card",
    }
    metadata = dict(model.metadata)
    metadata.pop("metrics", None)
    metadata["training"] = {
        "n_conversations": len(y),
        "n_grooming": n_pos,
        "prevalence": n_pos / len(y),
        "calibrated_prevalence": model.calibration.prevalence,
        "calibration": _CALIBRATION[method],
        "seed": seed,
        "labels": provenance,
        "comparison": comparison,
        "base_model": _base_model(current, current_bundle, retrain),
    }
    inputs = model.inputs(table)
    metadata["reference_distributions"] = reference_profile(
        inputs, model.feature_names, model.predict_proba(inputs)
    )
    model = RiskModel(model.trees, model.calibration, metadata=metadata)
    return LearningResult(model, method, comparison, provenance)
