"""Evaluation of a risk model on labelled conversations: ranking, operating points,
calibration, early detection, slices, with bootstrap intervals.

Evaluate on conversations whose adult accounts the model never saw in training
(:func:`riskscore.evaluation.splits.split_by_adult`): per-sender features describe an adult
across all their conversations and would otherwise leak.

Choices, stated once:

- **Bootstrap by adult.** Conversations of one adult are not independent (the same
  per-sender features, one groomer's campaign), so intervals resample adult accounts
  (``labels.adult_id``) with replacement, not conversations. Percentile intervals. The
  same account is the adult of the train/test split, of the replay's sampling and of the
  report's counts (:func:`~riskscore.evaluation.labels.adult_accounts`). Grooming
  conversations of fewer than ten adults get no intervals, headline or slice
  (:func:`~riskscore.evaluation.slices.interval_replicates`).
- **Operating points** are the policy's review and urgent thresholds per child age band.
  An alert at the review tier or above counts as a positive decision. At adult level
  (PAN 2012 style), an adult is flagged if any of their conversations alerts, and is a
  true groomer if any of their conversations is grooming.
- **Calibration**: Brier score and expected calibration error over equal-width bins.
- **Early detection** replays conversations event by event through
  :class:`~riskscore.OnlineScorer` (``idle_expiry_s=inf``, so online features equal
  batch prefix features). A grooming conversation is detected when any event raises
  an alert; its latency is ``first alerting event index - onset_index`` in events and
  the time between those two events in hours; conversations never alerted are left
  out of the latency figures (not censored). An alert before the onset counts as
  latency 0 and is also counted in ``n_alerted_before_onset``. Latency-weighted F1
  (Sadeque, Xu & Bethard, 2018) is ``F1 x median over detected conversations of
  (1 - penalty(k))`` with ``k = latency + 1`` events observed since the onset and
  ``penalty(k) = -1 + 2 / (1 + exp(-p (k - 1)))``. The default ``p = ln(3) / 10`` makes
  the penalty 0.5 for an alert ten events after the onset. Large sets are sampled by
  adult for the replay (see ``EarlyDetection.sampled``).
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

import riskscore.evaluation.metrics as em
from riskscore._checks import check_open_share, check_seed, check_whole, is_real
from riskscore.evaluation.labels import (
    adult_accounts,
    check_and_align,
    scored_label,
)
from riskscore.evaluation.replay import latency_penalty, replay
from riskscore.evaluation.report import EvaluationReport
from riskscore.evaluation.results import Curves, EarlyDetection, Interval, OperatingPoint
from riskscore.evaluation.slices import (
    interval_replicates,
    slice_metrics,
    slice_replicates,
    slices_of,
)
from riskscore.evaluation.splits import split_by_adult
from riskscore.exceptions import SchemaError
from riskscore.features import FeatureTable, extract_features
from riskscore.io import read_messages
from riskscore.io.messages import MessageTable
from riskscore.model import RiskModel
from riskscore.model.labels import label_positions
from riskscore.policy import AlertPolicy, policy_or_default
from riskscore.synthetic.labels import labels_of

__all__ = ["DEFAULT_LATENCY_P", "evaluate", "split_dataset"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Latency penalty steepness: penalty 0.5 for an alert 10 messages after the onset.
DEFAULT_LATENCY_P = math.log(3.0) / 10.0


# --------------------------------------------------------------------------- splits


def split_dataset(
    messages: object, labels: Any, *, test_fraction: float = 0.25, seed: int = 0
) -> tuple[tuple[MessageTable, Any], tuple[MessageTable, Any]]:
    """Split labelled events into training and test sets with no labelled adult on both sides.

    Parameters
    ----------
    messages : MessageTable or anything :func:`riskscore.read_messages` reads
        All events.
    labels : riskscore.synthetic.Labels, or a table of them
        Their labels (a dataclass whose per-conversation arrays are all subset); an Arrow
        table (``labels.parquet`` as read), record batch, polars DataFrame or dict of
        columns is read as :meth:`riskscore.synthetic.Labels.from_arrow` reads one, as
        :func:`evaluate` reads it; a pandas DataFrame of those columns comes back as two
        DataFrames (rows in its order, the index numbered from 0).
    test_fraction : float, default 0.25
        Share of adults held out, as :func:`~riskscore.evaluation.splits.split_by_adult`
        draws it: ``test_fraction * n_adults`` adults, rounded, neither side empty. The
        adults are the labels' ``adult_id``, the accounts :func:`evaluate` resamples
        (:func:`~riskscore.evaluation.labels.adult_accounts`).
    seed : int, default 0
        Seed of the split (same seed, same split).

    Returns
    -------
    (train_messages, train_labels), (test_messages, test_labels)

    Examples
    --------
    >>> import riskscore as rs
    >>> from riskscore.evaluation import split_dataset
    >>> data = rs.synthetic.generate(300, prevalence=0.05, seed=0)
    >>> (train, train_labels), (test, test_labels) = split_dataset(data.messages, data.labels)
    >>> train.n_conversations + test.n_conversations, len(train_labels) + len(test_labels)
    (300, 300)
    >>> len(set(train_labels.adult_id) & set(test_labels.adult_id))
    0
    """
    check_open_share("test_fraction", test_fraction)
    check_seed(seed)
    labels = labels_of(labels)  # a table of labels read as evaluate reads it
    # is_dataclass() below narrows ``labels`` for mypy; this untyped view reads its fields.
    truth_source: Any = labels
    msgs = read_messages(messages)
    features = extract_features(msgs)
    table = hasattr(labels, "iloc")  # a pandas DataFrame, as evaluate reads one
    if not table and (not is_dataclass(labels) or isinstance(labels, type)):
        raise TypeError(
            "labels must be a dataclass such as synthetic.Labels, a table of them or a pandas "
            f"DataFrame, got {type(labels)}"
        )
    # split on the labels' adults, the accounts evaluate resamples (adult_accounts)
    adults = adult_accounts(features, check_and_align(labels, features, msgs))
    train_idx, test_idx = split_by_adult(adults, test_fraction=test_fraction, seed=seed)
    # The label row of each conversation, its id matched as evaluation matches it: the raw
    # ids compared with np.isin matched no label of ids beyond int64 (uint64 labels beside
    # the events' decimal text), and both sides came back with no label at all.
    label_row = label_positions(truth_source.conversation_id, features.conversation_id)
    n = len(truth_source.conversation_id)

    def subset(codes: npt.NDArray[np.int64]) -> tuple[MessageTable, Any]:
        keep = np.sort(label_row[codes])  # the labels' own order
        if table:  # its rows, in the DataFrame's order, numbered from 0 again
            return msgs.take_conversations(codes), truth_source.iloc[keep].reset_index(drop=True)
        arrays = {
            # asanyarray: ids beyond int64 stay DecimalIds, the kind the events' ids are
            f.name: np.asanyarray(getattr(truth_source, f.name))[keep]
            for f in fields(truth_source)
            if np.ndim(getattr(truth_source, f.name)) == 1
            and len(getattr(truth_source, f.name)) == n
        }
        return msgs.take_conversations(codes), replace(truth_source, **arrays)

    return subset(train_idx), subset(test_idx)


# --------------------------------------------------------------------------- evaluate


def _check_parameters(
    seed: int,
    n_bootstrap: int,
    confidence: float,
    replay_events: int,
    latency_p: float,
    n_bins: int,
    label: str | None,
) -> None:
    """Refuse a parameter of :func:`evaluate` out of its range, before any work."""
    check_seed(seed)
    check_whole("n_bootstrap", n_bootstrap, 0, em.MAX_BOOTSTRAP)
    check_open_share("confidence", confidence)
    em.check_replicates(n_bootstrap, confidence)
    check_whole("replay_events", replay_events, 0)
    if not is_real(latency_p) or latency_p <= 0:
        raise ValueError(f"latency_p must be a positive finite number, got {latency_p!r}")
    check_whole("n_bins", n_bins, 1, em.MAX_BINS)
    scored_label(label, has_truth=True)  # a misspelt label fails before the work


def _operating_points(
    alerted_at: dict[str, BoolArray],
    values: dict[str, FloatArray],
    confidence: float,
    n_bootstrap: int,
) -> tuple[OperatingPoint, ...]:
    """Each tier's operating point: its alerts, and the decision metrics of its replicates
    (per conversation with intervals, per adult)."""

    def split(key: str) -> tuple[float, Interval]:
        return em.estimate(values[key], confidence, n_bootstrap)

    points = []
    for tier_name, alerted in alerted_at.items():
        precision, precision_ci = split(f"{tier_name}.precision")
        recall, recall_ci = split(f"{tier_name}.recall")
        f05, f05_ci = split(f"{tier_name}.f")
        adult_f05, adult_f05_ci = split(f"{tier_name}.adult_f")
        points.append(
            OperatingPoint(
                tier=tier_name,
                n_alerts=int(alerted.sum()),
                alerts_per_million=1e6 * float(alerted.mean()),
                precision=precision,
                precision_ci=precision_ci,
                recall=recall,
                recall_ci=recall_ci,
                f05=f05,
                f05_ci=f05_ci,
                adult_precision=float(values[f"{tier_name}.adult_precision"][0]),
                adult_recall=float(values[f"{tier_name}.adult_recall"][0]),
                adult_f05=adult_f05,
                adult_f05_ci=adult_f05_ci,
            )
        )
    return tuple(points)


def evaluate(
    model: RiskModel,
    messages: object,
    labels: Any,
    *,
    policy: AlertPolicy | None = None,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    replay_events: int = 300_000,
    latency_p: float = DEFAULT_LATENCY_P,
    n_bins: int = 10,
    label: str | None = None,
) -> EvaluationReport:
    """Measure a model on labelled conversations held out from its training.

    Parameters
    ----------
    model : RiskModel
        The model to evaluate (e.g. :func:`riskscore.load_model`).
    messages : MessageTable or anything :func:`riskscore.read_messages` reads
        Events of the evaluation conversations.
    labels : riskscore.synthetic.Labels or alike, or a table of them
        ``conversation_id``, ``is_grooming``, ``onset_index`` and ``adult_id``, one row per
        conversation of ``messages`` (e.g. read from ``labels.parquet``), and optionally the
        ground truth ``is_grooming_true``; an Arrow table or a polars DataFrame is read as
        :meth:`riskscore.synthetic.Labels.from_arrow` reads one.
    policy : AlertPolicy, optional
        Thresholds of the operating points; :meth:`AlertPolicy.default` when omitted.
    n_bootstrap : int, default 200
        Bootstrap replicates for the intervals (resampling adults); 0 for none, else at
        least 2 / (1 - ``confidence``), so that each tail holds one (40 at 0.95). Grooming
        conversations of fewer than
        :data:`~riskscore.evaluation.slices.MIN_GROOMING_FOR_INTERVAL` adults get none
        either (the point estimates alone).
    confidence : float, default 0.95
        Coverage of the intervals.
    seed : int, default 0
        Seed of the bootstrap and of the replay sampling.
    replay_events : int, default 300_000
        Event budget of the early-detection replay (about 30 microseconds each);
        above it, adults are sampled. 0 switches the replay off.
    latency_p : float, default ln(3) / 10
        Steepness of the latency penalty of latency-weighted F1.
    n_bins : int, default 10
        Equal-width bins for the expected calibration error.
    label : {None, "is_grooming_true", "is_grooming"}, default None
        The label to score against. None: the ground truth ``is_grooming_true`` when the
        labels carry it (the generator's :class:`riskscore.synthetic.Labels` do; labels read
        from a file without the column do not, ``truth_given``), else the observed
        ``is_grooming``.
        ``"is_grooming"`` measures against the observed, possibly noisy, label. The report
        names it (``label``) and counts the observed labels that differ from the truth
        (``n_label_differs``).

    Returns
    -------
    EvaluationReport

    Raises
    ------
    SchemaError
        The labels do not match the messages (missing, extra or duplicate conversation
        ids, an adult who is not a participant, an onset outside its conversation), or
        ``label="is_grooming_true"`` and they carry no truth.
    ValueError
        A parameter out of its range, or ``label`` not one of the above.

    Examples
    --------
    >>> import riskscore as rs
    >>> data = rs.synthetic.generate(1_500, prevalence=0.05, seed=1)
    >>> report = rs.evaluate(rs.load_model(), data.messages, data.labels, n_bootstrap=40)
    >>> 0.0 < report.pr_auc <= 1.0 and report.pr_auc_ci[0] <= report.pr_auc_ci[1]
    True
    >>> report.early_detection is not None and report.early_detection.latency_weighted_f1 >= 0
    True
    >>> report.label
    'is_grooming_true'
    """
    _check_parameters(seed, n_bootstrap, confidence, replay_events, latency_p, n_bins, label)
    policy = policy_or_default(policy)
    msgs = read_messages(messages)
    features = extract_features(msgs)
    truth = check_and_align(labels, features, msgs, label)
    y = truth.is_grooming
    if not y.any() or y.all():
        raise SchemaError(
            f"evaluation needs grooming and benign conversations; got {int(y.sum()):,} grooming "
            f"of {len(y):,} by {truth.label}. Give labels of both kinds (synthetic data: "
            "generate more conversations or raise the prevalence)."
        )
    risk = model.predict_proba(features)
    child_age = features.column("child_age")
    tiers = policy.tiers(risk, child_age, features.column("adult_age"))

    adults = adult_accounts(features, truth)  # one unit: bootstrap, replay, counts
    adult_code, n_adults = em.cluster_codes(adults)
    adult_truth = em.group_any(adult_code, y, n_adults)
    alerted_at = {name: tiers >= tier for name, tier in (("review", 1), ("urgent", 2))}
    adult_alerted = {k: em.group_any(adult_code, v, n_adults) for k, v in alerted_at.items()}

    slices = slices_of(features, policy)

    def metrics(conv_w: FloatArray, adult_w: FloatArray) -> dict[str, FloatArray]:
        out = {
            **em.ranking_metrics(y, risk, conv_w, min_precision=0.9),
            **em.calibration_metrics(y, risk, conv_w, n_bins=n_bins),
            **slice_replicates(slices, y, risk, alerted_at["review"], conv_w),
        }
        for name, alerted in alerted_at.items():
            conv = em.decision_metrics(y, alerted, conv_w, beta=0.5)
            adult = em.decision_metrics(adult_truth, adult_alerted[name], adult_w, beta=0.5)
            out.update({f"{name}.{k}": v for k, v in conv.items()})
            out.update({f"{name}.adult_{k}": v for k, v in adult.items()})
        return out

    # grooming of too few adults: point estimates alone, as a slice's (interval_replicates)
    shown = interval_replicates(int(adult_truth.sum()), n_bootstrap)
    values = em.replicate_metrics(adult_code, n_adults, shown, seed, metrics)
    early = None
    if replay_events > 0:
        early = _early_detection(
            model,
            policy,
            msgs,
            features,
            y,
            truth.onset_index,
            replay_events,
            seed,
            latency_p,
            adults=adults,
        )
    return EvaluationReport(
        n_conversations=len(y),
        n_grooming=int(y.sum()),
        n_adults=n_adults,
        n_grooming_adults=int(adult_truth.sum()),
        prevalence=float(y.mean()),
        label=truth.label,
        n_label_differs=truth.n_label_differs,
        **em.headline_fields(values, confidence, shown),
        threshold_at_precision_90=float(values["threshold_at_precision"][0]),
        operating_points=_operating_points(alerted_at, values, confidence, shown),
        early_detection=early,
        slices=slice_metrics(
            slices, values, y, alerted_at["review"], adult_code, confidence, shown
        ),
        curves=_curves(y, risk, n_bins),
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        seed=seed,
        n_bins=n_bins,
        model=str(model.metadata.get("estimator", repr(model))),
    )


def _curves(y: BoolArray, risk: FloatArray, n_bins: int) -> Curves:
    recall, precision = em.pr_curve(y, risk)
    mean_risk, observed, count = em.calibration_table(y, risk, n_bins=n_bins)
    edges = np.logspace(-5, 0, 26)
    clipped = np.clip(risk, edges[0], edges[-1])
    benign, _ = np.histogram(clipped[~y], bins=edges)
    grooming, _ = np.histogram(clipped[y], bins=edges)
    return Curves(
        pr_recall=tuple(float(v) for v in recall),
        pr_precision=tuple(float(v) for v in precision),
        calibration_mean_risk=tuple(float(v) for v in mean_risk),
        calibration_observed=tuple(float(v) for v in observed),
        calibration_count=tuple(int(v) for v in count),
        histogram_edges=tuple(float(v) for v in edges),
        histogram_benign=tuple(int(v) for v in benign),
        histogram_grooming=tuple(int(v) for v in grooming),
    )


def _early_detection(
    model: RiskModel,
    policy: AlertPolicy,
    msgs: MessageTable,
    features: FeatureTable,
    y: BoolArray,
    onset_index: npt.NDArray[np.int64],
    budget: int,
    seed: int,
    latency_p: float,
    *,
    adults: npt.NDArray[Any] | None = None,
) -> EarlyDetection:
    result = replay(model, policy, msgs, features, y, budget=budget, seed=seed, adults=adults)
    pos = result.position
    yy = y[pos]
    alerted = result.first_alert_index >= 0
    w = result.weight[None, :]
    decision = em.decision_metrics(yy, alerted, w, beta=1.0)
    detected = alerted & yy
    # latency from the onset, where there is one: none (-1) for a benign conversation that
    # label noise labelled grooming
    timed = detected & (onset_index[pos] >= 0)
    first = result.first_alert_index[timed]
    onset = onset_index[pos][timed]
    onset_ts = msgs.timestamp[msgs.segment_starts[pos[timed]] + onset]
    latency = np.maximum(first - onset, 0)
    hours = np.maximum(result.first_alert_timestamp[timed] - onset_ts, 0) / 3600.0
    f1 = float(decision["f"][0])
    if len(latency):
        speed = float(np.median(1.0 - latency_penalty(latency + 1.0, latency_p)))
        med_m, p90_m = (float(v) for v in np.percentile(latency, [50, 90]))
        med_h, p90_h = (float(v) for v in np.percentile(hours, [50, 90]))
    else:
        speed = med_m = p90_m = med_h = p90_h = math.nan
    return EarlyDetection(
        latency_p=latency_p,
        precision=float(decision["precision"][0]),
        recall=float(decision["recall"][0]),
        f1=f1,
        speed=speed,
        # nothing detected: F1 itself (0 with grooming or alerts); detected conversations
        # without an onset have no latency to weigh F1 by: undefined, not 0
        latency_weighted_f1=f1 * speed if len(latency) else f1 if not detected.any() else math.nan,
        n_grooming=int(yy.sum()),
        n_detected=int(detected.sum()),
        n_alerted_before_onset=int(np.sum(first < onset)),
        median_latency_messages=med_m,
        p90_latency_messages=p90_m,
        median_latency_hours=med_h,
        p90_latency_hours=p90_h,
        sampled=bool(result.grooming_adult_rate < 1.0 or result.other_adult_rate < 1.0),
        grooming_adult_rate=result.grooming_adult_rate,
        other_adult_rate=result.other_adult_rate,
        n_replayed_conversations=result.n_conversations,
        n_replayed_events=result.n_events,
        latency_messages=tuple(int(v) for v in latency),
        latency_hours=tuple(float(v) for v in hours),
    )
