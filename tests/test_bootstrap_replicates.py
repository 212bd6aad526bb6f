"""Too few bootstrap replicates for a percentile interval are refused, not reported.

Was: ``riskscore evaluate --bootstrap 1`` wrote a "95 % interval" that was one replicate's
value twice, and ``compare --bootstrap 1`` likewise; each tail of a percentile interval
needs a replicate of its own (2 / (1 - confidence): 40 at 95 %).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.evaluation.compare import compare_models
from riskscore.evaluation.metrics import check_replicates


@pytest.fixture(scope="module")
def data() -> rs.synthetic.SyntheticData:
    return rs.synthetic.generate(60, prevalence=0.2, seed=7)


@pytest.mark.parametrize(
    ("n", "confidence", "least"), [(1, 0.95, 40), (39, 0.95, 40), (199, 0.99, 200), (9, 0.8, 10)]
)
def test_fewer_replicates_than_the_tails_need_are_refused(
    n: int, confidence: float, least: int
) -> None:
    with pytest.raises(ValueError, match=f"n_bootstrap={n} is too few .* at least {least} "):
        check_replicates(n, confidence)
    check_replicates(least, confidence)
    check_replicates(0, confidence)  # no intervals at all


def test_evaluate_and_compare_refuse_before_any_work(data: rs.synthetic.SyntheticData) -> None:
    model = rs.load_model()
    with pytest.raises(ValueError, match="n_bootstrap=5 is too few for a 95% interval"):
        rs.evaluate(model, data.messages, data.labels, n_bootstrap=5)
    with pytest.raises(ValueError, match=r"n_bootstrap=99 is too few for a 99% interval"):
        rs.evaluate(model, data.messages, data.labels, n_bootstrap=99, confidence=0.99)
    features = rs.extract_features(data.messages)
    with pytest.raises(ValueError, match=r"n_bootstrap=1 is too few .* at least 40$"):
        compare_models(model, model, features, policy=rs.AlertPolicy.default(), n_bootstrap=1)


def test_the_commands_name_their_option(
    data: rs.synthetic.SyntheticData, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data.write(tmp_path / "data")
    argv = ["evaluate", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "ev")]
    assert main([*argv, "--no-plots", "--bootstrap", "1"]) == 2
    assert "--bootstrap=1 is too few for a 95% interval" in capsys.readouterr().err
    assert not (tmp_path / "ev").exists()
    with pytest.raises(SystemExit) as stop:  # an argparse type: refused while parsing
        main(["compare", "default", "default", "--data", str(tmp_path / "data"),
              "--bootstrap", "39"])  # fmt: skip
    assert stop.value.code == 2
    assert "'39' is not a whole number from 40 to 10000" in capsys.readouterr().err
