"""Research audit 40: the research workflow (notebooks, evaluation, synthetic worlds) as a
researcher reproducing a study would use it.

Each test failed on the code before its fix."""

from __future__ import annotations

import json
import math
import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest
from matplotlib.lines import STEP_LOOKUP_MAP
from sklearn.metrics import average_precision_score

import riskscore as rs
import riskscore.evaluation.metrics as em
from riskscore.evaluation import Curves
from riskscore.evaluation.plots import (
    plot_alert_latency,
    plot_calibration,
    plot_precision_recall,
    plot_score_histograms,
)
from riskscore.io.schema import CHANNEL_NAMES
from riskscore.synthetic import Labels

#: matplotlib's step functions by drawstyle: the points a stepped line passes through.
STEP_FUNCS = STEP_LOOKUP_MAP
ROOT = Path(__file__).resolve().parents[1]


def _code(notebook: str) -> str:
    cells = json.loads((ROOT / "notebooks" / notebook).read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_quickstart_notebook_splits_with_the_library() -> None:
    """Was: ``notebooks/01_quickstart.ipynb``, which the README says walks through the same
    steps, built its training labels by hand (an unused ``train_ids``, a ``Labels`` rebuilt
    from a mask over its private dataclass fields) instead of calling ``split_dataset``, and
    measured with scikit-learn instead of ``rs.evaluate``."""
    code = _code("01_quickstart.ipynb")
    assert "split_dataset(" in code
    assert "rs.evaluate(" in code
    for by_hand in ("train_ids", "__dataclass_fields__", "rs.synthetic.Labels(", "np.isin("):
        assert by_hand not in code, by_hand


@pytest.fixture(scope="module")
def no_public() -> tuple[rs.MessageTable, Labels]:
    """A labelled sample none of whose conversations stays on the public surface."""
    data = rs.synthetic.generate(600, prevalence=0.05, seed=40)
    features = rs.extract_features(data.messages)
    keep = np.flatnonzero(features.column("max_channel") != CHANNEL_NAMES.index("public"))
    assert len(keep) < len(features)  # the sample had public conversations to remove
    labels = Labels.from_arrow(data.labels.to_arrow().take(pa.array(keep)))
    return data.messages.take_conversations(keep), labels


def test_a_slice_with_no_conversation_is_listed_not_dropped(
    no_public: tuple[rs.MessageTable, Labels],
) -> None:
    """Was: ``rs.evaluate`` left out of ``report.slices`` (and of ``report.md``) any slice
    value with no conversation, e.g. ``max_channel = public`` in a sample that has none,
    with nothing to say it had been looked for; a study comparing tables across samples saw
    rows come and go. It is listed with 0 conversations and undefined (NaN) metrics."""
    messages, labels = no_public
    report = rs.evaluate(rs.load_model(), messages, labels, n_bootstrap=0, replay_events=0)
    public = [s for s in report.slices if s.by == "max_channel" and s.value == "public"]
    assert len(public) == 1
    s = public[0]
    assert (s.n_conversations, s.n_grooming) == (0, 0)
    assert all(math.isnan(v) for v in (s.pr_auc, s.recall, s.precision, s.alerts_per_million))
    assert [s.value for s in report.slices if s.by == "max_channel"] == list(CHANNEL_NAMES)
    row = next(line for line in report.to_markdown().splitlines() if "| public |" in line)
    assert "nan" not in row.lower()
    json.dumps(report.to_dict(), allow_nan=False)


def test_precision_recall_plot_steps_as_average_precision_sums() -> None:
    """Was: the precision-recall curve was drawn with ``steps-post`` over recall in
    increasing order, so each precision was held from its recall to the next one; average
    precision (the PR-AUC in the plot's title) holds it from the previous recall up to its
    own. The area under the drawn curve differed from the title's number."""
    rng = np.random.default_rng(40)
    y = rng.random(150) < 0.2
    risk = np.round(rng.random(150) * 0.6 + 0.3 * y, 2)  # ties, as scores have
    recall, precision = em.pr_curve(y, risk, max_points=10_000)  # every threshold kept
    curves = Curves(
        pr_recall=tuple(recall),
        pr_precision=tuple(precision),
        calibration_mean_risk=(),
        calibration_observed=(),
        calibration_count=(),
        histogram_edges=(),
        histogram_benign=(),
        histogram_grooming=(),
    )
    report = SimpleNamespace(
        curves=curves,
        operating_points=(),
        prevalence=float(y.mean()),
        pr_auc=0.0,
        pr_auc_ci=(0.0, 0.0),
    )
    line = plot_precision_recall(report).axes[0].lines[0]  # type: ignore[arg-type]
    x, h = STEP_FUNCS[line.get_drawstyle()](*line.get_data())
    area = float(np.sum(np.diff(x, prepend=0.0) * h))
    assert area == pytest.approx(average_precision_score(y, risk), abs=1e-12)


def test_every_report_plot_labels_its_axes_with_units(
    no_public: tuple[rs.MessageTable, Labels],
) -> None:
    """Was: the score histogram's x axis read only "risk", on a log scale, without saying
    that the risk is a calibrated probability or that the axis is logarithmic."""
    messages, labels = no_public
    report = rs.evaluate(rs.load_model(), messages, labels, n_bootstrap=0)
    for make in (plot_precision_recall, plot_calibration, plot_alert_latency):
        ax = make(report).axes[0]
        assert ax.get_xlabel(), make.__name__
        assert ax.get_ylabel(), make.__name__
    ax = plot_score_histograms(report).axes[0]
    assert ax.get_xscale() == "log"
    assert "probability" in ax.get_xlabel()
    assert "log scale" in ax.get_xlabel()
    assert ax.get_ylabel()


def test_the_latency_plot_tells_a_replay_without_alerted_onsets_from_none() -> None:
    """Was: "no early-detection replay" also when the replay ran and no alerted grooming
    conversation had an onset (nothing to plot, but a replay there was)."""
    ran = SimpleNamespace(early_detection=SimpleNamespace(latency_messages=()))
    none = SimpleNamespace(early_detection=None)
    texts = [
        [t.get_text() for t in plot_alert_latency(r).axes[0].texts]  # type: ignore[arg-type]
        for r in (ran, none)
    ]
    assert texts == [["no alerted grooming onset"], ["no early-detection replay"]]


def test_single_feature_table_quotes_the_results_file() -> None:
    """Was: docs/synthetic.md quoted a run of ``benchmarks/single_feature_auc.py`` over 34
    features; the command as documented now measures 39 (the pair, clock and group features
    added since) and three night-share rows and two rules had moved, so the table was not
    what the command prints. Every row of the results file is quoted, with its count."""
    results = json.loads(
        (ROOT / "benchmarks" / "results" / "single_feature_auc.json").read_text(encoding="utf-8")
    )
    doc = (ROOT / "docs" / "synthetic.md").read_text(encoding="utf-8")
    rows = results["single_feature"]
    for row in rows:
        numbers = ("auc", "separation", "drawn_worlds_median_separation")
        cells = " | ".join(f"{row[k]:.3f}" for k in (*numbers, "drawn_worlds_max_separation"))
        assert f"| `{row['feature']}` | {cells} |" in doc, row["feature"]
    for rule in results["rules"]:
        cells = (
            f"{rule['recall']:.3f} | {rule['false_positive_rate']:.3f} | {rule['precision']:.3f}"
        )
        assert f" | {cells} |" in doc, rule["rule"]
    assert f"For each of the {len(rows)} features" in doc
    assert f"logistic regression on all {len(rows)} features" in doc.lower()
    assert f"ROC AUC of\n{results['logistic_regression_cv_auc']:.3f}" in doc


def test_robustness_benchmark_help_says_what_it_writes_where(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``benchmarks/robustness.py --help`` listed ``--out OUT`` with no word on what is
    written there, its default (``benchmarks/results``, the files the README and the model
    card quote) or that ``--quick`` writes ``robustness_quick.*`` beside them."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    bench = runpy.run_path(str(ROOT / "benchmarks" / "robustness.py"), run_name="robustness40")
    with pytest.raises(SystemExit):
        bench["main"](["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "robustness.json" in text
    assert "robustness_quick" in text
    assert "benchmarks/results" in text
