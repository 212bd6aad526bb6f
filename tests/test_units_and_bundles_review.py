"""Review of stop 49's changes (reason units, the bundle rule of outputs). Each test
failed before its fix."""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import shutil
import sqlite3
from pathlib import Path

import pytest

from riskscore.cli._paths import check_not_in_bundle
from riskscore.cli.entrypoint import _output_in_given_bundle, build_parser, main
from riskscore.features.registry import FEATURES
from riskscore.model.bundle import DIR_VARIABLE, MANIFEST, shipped_model_dir
from riskscore.model.scores import Reason, format_value, is_reason_text
from riskscore.moderation import ReviewQueue, intake
from riskscore.moderation.earlier_reasons import exported_reason, shown_reason
from riskscore.policy import Alert, Tier
from riskscore.serve.params import query_period

#: A count read as one with a plural word after it: "1 times", "1 minors", "1 links ...".
_ONE_AND_A_PLURAL = re.compile(r"(?:^|\s)1 [a-z]+s\b")


@pytest.mark.parametrize("value", [0.0, 1.0, 1.5, 2.0])
@pytest.mark.parametrize("spec", FEATURES, ids=lambda s: s.name)
def test_no_reason_value_reads_one_with_a_plural(spec: object, value: float) -> None:
    """Was: ``the recent contact rate as a multiple of the long-run rate: 1 times``."""
    name, unit = spec.name, spec.unit  # type: ignore[attr-defined]
    text = format_value(unit, value)
    assert not _ONE_AND_A_PLURAL.search(text), f"{name} at {value}: {text!r}"
    assert is_reason_text(str(Reason.of(name, value, 0.5))), (name, value)


def test_a_multiple_of_one_reads_as_the_same_rate() -> None:
    text = str(Reason.of("escalation_ratio", 1.0, 0.3)).split(". ")[0]
    description = "the recent contact rate as a multiple of the long-run rate"
    assert text == f"{description}: the same rate (slightly raises risk, +0.30)"
    stored = str(Reason.of("escalation_ratio", 1.0, 0.3)).replace("the same rate", "1 times")
    assert is_reason_text(stored)  # as a queue stored it before this review


# ------------------------------------------------- the bundle rule of outputs


def _copied_bundle(tmp_path: Path) -> Path:
    mine = tmp_path / "models" / "mine"
    shutil.copytree(shipped_model_dir(), mine)
    return mine


@pytest.mark.parametrize("out", ["mine/cmp", "mine", "link/cmp", "../models/./mine/cmp"])
def test_compare_refuses_an_out_in_a_bundle_it_compares(
    tmp_path: Path, out: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``compare mine default --data d --out mine/cmp`` wrote compare.json into the
    bundle ``mine`` (its bundles are positional ``named_bundle``s, which the one rule of
    outputs did not list)."""
    mine = _copied_bundle(tmp_path)
    monkeypatch.chdir(mine.parent)
    (mine.parent / "link").symlink_to(mine, target_is_directory=True)
    assert main(["compare", "mine", "default", "--data", "nodata", "--out", out]) == 2
    err = capsys.readouterr().err
    assert f"--out {Path(out)} is" in err, err
    assert "the model bundle model_a names" in err, err
    assert sorted(p.name for p in mine.iterdir()) == sorted(
        p.name for p in shipped_model_dir().iterdir() if p.is_file()
    )


def test_compare_beside_a_bundle_is_not_refused_by_the_bundle_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An --out that holds the bundle (its parent) writes beside it, not into it."""
    mine = _copied_bundle(tmp_path)
    argv = ["compare", str(mine), "default", "--data", str(tmp_path / "no"), "--out"]
    main([*argv, str(mine.parent)])
    assert "model bundle" not in capsys.readouterr().err
    assert (mine / MANIFEST).is_file()


_ROOT = Path(__file__).resolve().parents[1]


def _make_commands(target: str, demo: Path) -> list[list[str]]:
    """The riskscore command lines of a Makefile target, as argv after ``riskscore``."""
    text = (_ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    recipe = text.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    subs = {"$(DEMO_DIR)": str(demo), "$(DEMO_KEY)": "k", "$(BIN)/python -m riskscore.cli": "RS"}
    commands = []
    for line in recipe:
        for name, value in {**subs, "$(BIN)/riskscore": "RS"}.items():
            line = line.replace(name, value)
        words = shlex.split(line)
        if "RS" in words:
            commands.append(words[words.index("RS") + 1 :])
    return commands


@pytest.mark.parametrize("target", ["model", "report"])
def test_the_makefile_command_lines_pass_the_bundle_rule(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A guard, not a fix: `make model` writes the shipped bundle with its escape, and
    `make report` scores beside the bundle it trains; neither is refused by the rule."""
    monkeypatch.delenv(DIR_VARIABLE, raising=False)
    monkeypatch.chdir(_ROOT)
    demo = tmp_path / "demo"
    shutil.copytree(shipped_model_dir(), demo / "from-decisions")  # as the train step leaves it
    commands = _make_commands(target, demo)
    assert len(commands) == {"model": 1, "report": 7}[target], commands
    for argv in commands:
        args = build_parser().parse_args(argv)
        assert _output_in_given_bundle(args) is None, argv
        if argv[0] == "train":
            replace = args.replace_shipped_model
            check_not_in_bundle(args.out, option="--out", replace_shipped=replace)


@pytest.mark.parametrize("db", ["mine/q.sqlite", "shipped"])
def test_a_synthetic_month_writes_no_queue_into_a_bundle(
    tmp_path: Path, db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``report --synthetic-month --model mine --db mine/q.sqlite`` simulated a month
    into a queue in the bundle (``--db`` is read as a plain path; the month writes it)."""
    mine = _copied_bundle(tmp_path)
    monkeypatch.chdir(mine.parent)
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", "riskscore-synthetic-demo-key-NOT-A-SECRET-v1")
    db = str(shipped_model_dir() / "q.sqlite") if db == "shipped" else db
    argv = ["report", "--synthetic-month", "--conversations", "200", "--model", "mine"]
    assert main([*argv, "--db", db, "--out", "rep", "--no-charts"]) == 2
    assert f"--db {db} is inside the model bundle" in capsys.readouterr().err
    assert not Path(db).exists()
    assert not Path("rep").exists()


# ------------------------------------------------- reasons a queue stored before the units

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


def _before_units(feature: str, value: str) -> str:
    reason = Reason.of(feature, 1.0, 1.0)
    return f"{reason.description}: {value} (+1.00). Why it can matter: {reason.why}"


def test_a_queue_holding_reasons_in_the_words_before_units_shows_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A guard, not a fix: a queue written before the units (a bare multiple, fan-out in
    accounts, a delay without "of contact") lists, shows and exports its reasons as stored."""
    stored = [
        _before_units("escalation_ratio", "3.2"),
        _before_units("adult_private_minor_fanout", "1 account"),
        _before_units("adult_flagged_per_minor", "0.5"),
        _before_units("secure_move_speed", "after 27 minutes"),
        _before_units("adult_external_events", "2 events"),
    ]
    db = tmp_path / "q.sqlite"
    alert = Alert(
        7, "a", "k", 12.0, "under 13", 0.9, Tier.URGENT, adult_age=34.0, timestamp=T0,
        first_event_at=T0 - 3600, last_event_at=T0 - 60,
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:  # as the riskscore before the units wrote
        patch.setattr(intake, "reason_texts", lambda reasons: tuple(stored))
        with ReviewQueue(db) as queue:
            queue.add_alert(alert, at=T0)
    with contextlib.closing(sqlite3.connect(db)) as connection:
        (column,) = connection.execute("SELECT reasons FROM items").fetchone()
    assert json.loads(column) == stored
    assert main(["queue", "--db", str(db), "--now", str(T0 + 60), "--top", "1"]) == 0
    out = capsys.readouterr().out
    for text in stored:
        assert f"     - {text}\n" in out
        assert exported_reason(text) == text
        assert shown_reason(text) == text


# ------------------------------------------------- the console's period


@pytest.mark.parametrize("text", ["2026-02-30", "2026-W01-1", "2026-13-01"])
def test_the_console_refuses_a_day_not_in_the_calendar_in_its_own_terms(text: str) -> None:
    """Was: ``query parameter 'to': '2026-02-30' is neither epoch seconds, YYYY-MM-DD nor
    ISO 8601``, offering forms the console refuses (``from=1767225600`` is 400)."""
    expected = f"query parameter 'to' must be a day YYYY-MM-DD (UTC), got {text!r}"
    with pytest.raises(ValueError, match=re.escape(expected) + "$"):
        query_period({"from": "2026-01-01", "to": text})
