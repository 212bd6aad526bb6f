"""What a policy would do on a labelled data set: alert volume and precision per age band.

Used by ``riskscore policy check``: the scores are computed once and the
thresholds swept cheaply, so a platform can choose thresholds with numbers
(how many conversations moderators would read, and how many of those are
grooming) rather than by feel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.evaluation.metrics import decision_metrics
from riskscore.exceptions import SchemaError
from riskscore.model.labels import label_positions
from riskscore.model.scores import ScoreTable
from riskscore.policy import AlertPolicy
from riskscore.policy.volume import Traffic, conversation_tiers
from riskscore.synthetic.labels import boolean_labels, read_label_ids

__all__ = ["BandCheck", "PolicyCheck", "SweepRow", "check_policy"]

IntArray = npt.NDArray[np.int64]

DEFAULT_GRID = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.50, 0.60, 0.70, 0.80, 0.90)


@dataclass(frozen=True, slots=True)
class BandCheck:
    """The policy's own thresholds applied to one age band."""

    band: str
    review: float
    urgent: float
    n_conversations: int
    n_grooming: int
    guarded: int  # conversations a guard caps (two known adults, or two close known minors)
    alerts: int
    urgent_alerts: int
    true_alerts: int
    precision: float  # NaN when the band raises no alert
    recall: float  # NaN when the band has no grooming conversation
    # the band's alerts per 10,000 conversations of the whole sample (its share of the
    # moderators' workload; the bands' figures add up to the total), not of the band
    alerts_per_10k: float


@dataclass(frozen=True, slots=True)
class SweepRow:
    """One candidate review threshold for one band (the policy's guards still apply)."""

    band: str
    threshold: float
    alerts: int
    precision: float
    recall: float
    alerts_per_10k: float  # per 10,000 conversations of the whole sample, as BandCheck's


@dataclass(frozen=True, slots=True)
class PolicyCheck:
    """Result of :func:`check_policy`: per-band figures and a threshold-versus-workload sweep."""

    bands: tuple[BandCheck, ...]
    sweep: tuple[SweepRow, ...]
    n_conversations: int
    n_grooming: int
    online: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN as None)."""

        def clean(row: object) -> dict[str, Any]:
            out = {}
            for name in row.__slots__:  # type: ignore[attr-defined]
                v = getattr(row, name)
                out[name] = None if isinstance(v, float) and np.isnan(v) else v
            return out

        return {
            "n_conversations": self.n_conversations,
            "n_grooming": self.n_grooming,
            "online": self.online,
            "bands": [clean(b) for b in self.bands],
            "sweep": [clean(s) for s in self.sweep],
        }


def check_policy(
    policy: AlertPolicy,
    scores: ScoreTable,
    conversation_id: npt.ArrayLike,
    is_grooming: npt.ArrayLike,
    *,
    grid: tuple[float, ...] = DEFAULT_GRID,
    online: tuple[Traffic, Sequence[object]] | None = None,
) -> PolicyCheck:
    """Alert volume, precision and recall per age band, at the policy's thresholds and a grid.

    Parameters
    ----------
    policy : AlertPolicy
        The policy to check.
    scores : ScoreTable
        Scores of the labelled conversations.
    conversation_id, is_grooming : array-like of shape (n_labels,)
        Ground truth: one label per scored conversation, and none other
        (:func:`riskscore.model.labels.label_positions`).
    grid : tuple of float
        Review thresholds to sweep in every band; conversations the policy's
        guards keep from alerting (two known adults) stay out of the sweep.
    online : (Traffic, ids), optional
        The states the conversations of ``scores`` reached online, as
        :func:`riskscore.evaluation.online_states.online_peaks` gives them: alerts are then
        counted as an online scorer raises them. A conversation alerts at the highest
        tier any of its rows reaches, in the band of the first of its rows (in the order
        its pairs of ages were first scored) that reaches that tier; one that never
        alerts is in the band of its final state (``scores``). In the sweep a
        conversation is in every band it was scored in, and is hit in a band when its
        peak risk in that band reaches the threshold (exact: the tier depends only on the
        risk and the two ages, and each row is the peak for its ages).

    Examples
    --------
    >>> import riskscore as rs
    >>> data = rs.synthetic.generate(400, prevalence=0.05, seed=1)
    >>> scores = rs.load_model().score(data.messages)
    >>> check = check_policy(rs.AlertPolicy.default(), scores,
    ...                      data.labels.conversation_id, data.labels.is_grooming)
    >>> sum(b.n_conversations for b in check.bands) == len(scores)
    True
    """
    truth = boolean_labels(is_grooming)
    if np.shape(conversation_id) != truth.shape:
        raise SchemaError(
            f"conversation_id has {np.shape(conversation_id)} entries but is_grooming has "
            f"{truth.shape}"
        )
    y = truth[label_positions(conversation_id, scores.conversation_id)]
    tiers, band_idx = policy.decide_many(scores.risk, scores.child_age, scores.adult_age)
    cap = policy.allowed_tiers(scores.child_age, scores.adult_age)
    n = len(scores)
    checks: list[BandCheck] = []
    sweep: list[SweepRow] = []
    if online is not None:
        peaks, position = _online_rows(online, scores.conversation_id)
        rows = _Rows.of(policy, peaks)
        _online_tiers(rows, position, tiers, band_idx, cap)
    for b, band in enumerate(policy.all_bands):
        mask = band_idx == b
        truth = y[mask]
        alerted = tiers[mask] > 0
        precision, recall = _precision_recall(truth, alerted)
        checks.append(
            BandCheck(
                band=band.name,
                review=band.review,
                urgent=band.urgent,
                n_conversations=int(mask.sum()),
                n_grooming=int(truth.sum()),
                guarded=int((cap[mask] < 2).sum()),
                alerts=int(alerted.sum()),
                urgent_alerts=int((tiers[mask] == 2).sum()),
                true_alerts=int((alerted & truth).sum()),
                precision=precision,
                recall=recall,
                alerts_per_10k=1e4 * float(alerted.sum()) / max(n, 1),
            )
        )
        if online is None:
            hits = [(scores.risk[mask] >= t) & (cap[mask] > 0) for t in grid]
        else:
            truth, hits = _online_sweep(rows, b, y[position], grid)
        for t, hit in zip(grid, hits, strict=True):
            precision, recall = _precision_recall(truth, hit)
            sweep.append(
                SweepRow(
                    band=band.name,
                    threshold=float(t),
                    alerts=int(hit.sum()),
                    precision=precision,
                    recall=recall,
                    alerts_per_10k=1e4 * float(hit.sum()) / max(n, 1),
                )
            )
    return PolicyCheck(tuple(checks), tuple(sweep), n, int(y.sum()), online is not None)


def _online_rows(
    online: tuple[Traffic, Sequence[object]], conversation_id: npt.NDArray[Any]
) -> tuple[Traffic, IntArray]:
    """The online rows, and the row in ``conversation_id`` (the scores) of each
    conversation code: the same conversations, each once."""
    peaks, ids = online
    if peaks.conversation is None:
        raise ValueError("online: the Traffic must group its rows by conversation")
    given = np.empty(len(ids), dtype=object)
    given[:] = list(ids)
    if len(given) and all(isinstance(i, (int, np.integer)) for i in ids):
        # integers as the scores hold them: int64, or beyond int64 their decimal text
        # (DecimalIds), by the events' id rule; a cast to int64 overflowed on those
        given = read_label_ids("conversation_id", given)
    try:
        position = label_positions(conversation_id, given)
    except SchemaError as exc:
        raise SchemaError(
            f"online: the conversations replayed are not those scored ({exc})"
        ) from exc
    return peaks, position


@dataclass(frozen=True, slots=True)
class _Rows:
    """The online rows decided by the policy: conversation code, risk, tier, band index
    and cap (the tier at risk 1) of each."""

    code: IntArray
    risk: npt.NDArray[np.float64]
    tier: IntArray
    band: IntArray
    cap: IntArray

    @classmethod
    def of(cls, policy: AlertPolicy, peaks: Traffic) -> _Rows:
        code = np.asarray(peaks.conversation, dtype=np.int64)
        tier, band = policy.decide_many(peaks.risk, peaks.child_age, peaks.adult_age)
        cap = policy.allowed_tiers(peaks.child_age, peaks.adult_age)
        return cls(code, np.asarray(peaks.risk, dtype=np.float64), tier, band, cap)


def _online_tiers(
    rows: _Rows,
    position: IntArray,
    tiers: IntArray,
    band_idx: IntArray,
    cap: IntArray,
) -> None:
    """Overwrite, in place, each scored conversation's tier with the highest its online
    rows reach, and its band and cap with those of the first row reaching that tier;
    a conversation no row alerts keeps its final state's band and cap."""
    code = rows.code
    best = np.zeros(len(position), dtype=np.int64)
    codes, highest = conversation_tiers(rows.tier, code)
    best[codes] = highest
    at_best = np.flatnonzero((rows.tier == best[code]) & (rows.tier > 0))
    alerted, first = np.unique(code[at_best], return_index=True)  # rows: in recorded order
    row = at_best[first]
    target = position[alerted]
    tiers[position] = 0
    tiers[target] = best[alerted]
    band_idx[target] = rows.band[row]
    cap[target] = rows.cap[row]


def _online_sweep(
    rows: _Rows, b: int, y: npt.NDArray[np.bool_], grid: tuple[float, ...]
) -> tuple[npt.NDArray[np.bool_], list[npt.NDArray[np.bool_]]]:
    """Band ``b``'s conversations online (those with a row in it), their truth, and for
    each threshold which of them a row of the band reaches (guards applied)."""
    in_band = rows.band == b
    members = np.unique(rows.code[in_band])
    local = np.searchsorted(members, rows.code[in_band])
    risk, allowed = rows.risk[in_band], rows.cap[in_band] > 0
    hits = []
    for t in grid:
        hit = np.zeros(len(members), dtype=bool)
        hit[local[(risk >= t) & allowed]] = True
        hits.append(hit)
    return y[members], hits


def _precision_recall(
    truth: npt.NDArray[np.bool_], alerted: npt.NDArray[np.bool_]
) -> tuple[float, float]:
    """Unweighted precision and recall, NaN-when-undefined as in the evaluation report."""
    m = decision_metrics(truth, alerted, np.ones((1, len(truth))))
    return float(m["precision"][0]), float(m["recall"][0])
