"""``riskscore export`` on a synthetic month: counts match decisions, no content, no raw ids."""

from __future__ import annotations

import csv
import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from _regulatory import KEY

from riskscore.cli import main
from riskscore.moderation import ReviewQueue
from riskscore.moderation.simulation import SimulatedMonth, simulate_month
from riskscore.moderation.transparency import SYNTHETIC_DEMO_KEY, transparency_report
from riskscore.regulatory import ExportFilter, export_all
from riskscore.regulatory import export as export_module
from riskscore.regulatory._dsa_schema import FIELDS
from riskscore.regulatory.ncmec import write_drafts

# a word of a field name (snake_case, camelCase or spaced) that names message content
CONTENT_LIKE = re.compile(r"(?:^|[_\s])(text|body|content|message|msg|caption)(?:$|[_\sA-Z])", re.I)
# the schemas' own names: the DSA statement fields and the 2024/2835 template's column
SCHEMA_NAMES = {name for name in FIELDS if CONTENT_LIKE.search(name)}
SCHEMA_NAMES.add("Category of illegal content")


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> SimulatedMonth:
    path = tmp_path_factory.mktemp("month") / "queue.sqlite"
    return simulate_month(path, n_conversations=2000, prevalence=0.03, days=10, seed=5)


@pytest.fixture(scope="module")
def exported(
    month: SimulatedMonth, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("export")
    with ReviewQueue(month.queue_path) as q:
        result = export_all(q, out, key=KEY, platform="synthetic platform", min_cell=0)
    return result, out


def test_counts_equal_decisions(
    month: SimulatedMonth, exported: tuple[dict[str, Any], Path]
) -> None:
    result, out = exported
    with ReviewQueue(month.queue_path) as q:
        items = q.items()
        report = transparency_report(q, month.period, key=KEY, min_cell=0)  # exact: arithmetic
    decisions = {(repr(i.adult_id), i.decided_at, i.status) for i in items if i.decided_at}
    restricting = {d for d in decisions if d[2] in ("actioned", "escalated")}
    escalated = {d for d in decisions if d[2] == "escalated"}
    assert len(restricting) > 0
    assert len(escalated) > 0
    lines = (out / "dsa-statements" / "statements_of_reasons.jsonl").read_text().splitlines()
    assert result["statements"] == len(lines) == len(restricting)
    with (out / "dsa-statements" / "statements_of_reasons.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == len(restricting)
    assert (
        result["ncmec_drafts"] == len(list((out / "ncmec-drafts").glob("*.json"))) == len(escalated)
    )
    own = 0
    for name in ("05_own_initiative_illegal.csv", "06_own_initiative_TC.csv"):
        with (out / "eu-2024-2835" / name).open() as fh:
            own += int(list(csv.reader(fh))[-1][3])
    from_notices = sum(json.loads(line)["source_type"] != "SOURCE_VOLUNTARY" for line in lines)
    assert own + from_notices == len(restricting)
    assert result["precision"] == report.data["automated_detection"]["precision"]


def _names(path: Path) -> set[str]:
    if path.suffix == ".json":
        names: set[str] = set()

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                names.update(value)
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        walk(json.loads(path.read_text()))
        return names
    if path.suffix == ".jsonl":
        return {k for line in path.read_text().splitlines() for k in json.loads(line)}
    if path.suffix == ".csv":
        with path.open() as fh:
            return set(next(csv.reader(fh)))
    return set()


def test_ncmec_drafts_are_readable_by_their_owner_only(
    exported: tuple[dict[str, Any], Path],
) -> None:
    # they name children's and reported adults' accounts (raw ids), as the queue does
    result, out = exported
    drafts = out / "ncmec-drafts"
    assert result["ncmec_drafts"] > 0
    assert stat.S_IMODE(drafts.stat().st_mode) & 0o077 == 0
    for path in drafts.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_a_draft_already_there_is_replaced_by_an_owner_only_file(tmp_path: Path) -> None:
    draft = {"case": {"queue_item_ids": [7]}}
    (tmp_path / "ncmec-draft-000007.json").write_text("old")
    (tmp_path / "ncmec-draft-000007.json").chmod(0o644)
    write_drafts([draft], tmp_path)
    path = tmp_path / "ncmec-draft-000007.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == draft


def test_no_message_content_and_only_pseudonyms(
    month: SimulatedMonth, exported: tuple[dict[str, Any], Path]
) -> None:
    result, out = exported
    files = [out / name for name in result["files"]]
    assert files
    for path in files:
        assert path.is_file()
        offending = {n for n in _names(path) if CONTENT_LIKE.search(n)} - SCHEMA_NAMES
        assert not offending, f"{path.name}: {offending}"
    with ReviewQueue(month.queue_path) as q:
        items = q.items()
    raw_ids = {str(i) for item in items for i in (item.adult_id, item.child_id)}
    raw_ids |= {str(item.conversation_id) for item in items}
    raw_ids = {i for i in raw_ids if len(i) >= 5}  # ids, not small counts
    assert raw_ids
    for path in files:
        if "ncmec-drafts" in str(path):
            continue  # NCMEC drafts carry the platform's identifiers by design
        tokens = set(re.findall(r"\w+", path.read_text()))
        assert not tokens & raw_ids, path.name
    puids = [
        json.loads(line)["puid"]
        for line in (out / "dsa-statements" / "statements_of_reasons.jsonl")
        .read_text()
        .splitlines()
    ]
    assert all(re.fullmatch(r"p_[0-9a-f]{16}", p) for p in puids)


def test_cli_export(
    month: SimulatedMonth,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", SYNTHETIC_DEMO_KEY)
    args = ["export", "--db", str(month.queue_path), "--out", str(tmp_path / "x")]
    assert main([*args, "--from", "2026-01-01", "--to", "2026-01-05", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["statements"] >= 0
    assert "dsa-statements/statements_of_reasons.jsonl" in result["files"]
    # nothing is overwritten
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("riskscore export: error: ")
    assert "exists" in err
    assert len(err.strip().splitlines()) == 1
    # a missing queue is not created
    missing = tmp_path / "none.sqlite"
    assert main(["export", "--db", str(missing), "--out", str(tmp_path / "y")]) == 2
    assert "no review queue" in capsys.readouterr().err
    assert not missing.exists()
    monkeypatch.delenv("RISKSCORE_REPORT_KEY")
    assert main(["export", "--db", str(month.queue_path), "--out", str(tmp_path / "z")]) == 2
    assert "RISKSCORE_REPORT_KEY" in capsys.readouterr().err


def test_cli_export_refuses_an_unknown_band(
    month: SimulatedMonth,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", SYNTHETIC_DEMO_KEY)
    out = tmp_path / "x"
    args = ["export", "--db", str(month.queue_path), "--out", str(out)]
    assert main([*args, "--band", "13-15", "--band", "nonsense"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "band filter 'nonsense' is not an age band of the policy or the queue" in err
    assert "the bands are 'under 13', '13-15', '16-17', '18+', 'unknown'" in err
    assert not out.exists()
    assert main([*args, "--band", "13-15", "--json"]) == 0


def test_cli_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["export", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "riskscore export --db queue.sqlite --out" in out
    assert "--from" in out
    # was: "directory for the exports", while an --out holding an earlier export is refused
    # and the README said every command replaces what an earlier run wrote
    assert "without an earlier export's folders (drafts are never replaced)" in " ".join(
        out.split()
    )


def test_filter_by_decision(month: SimulatedMonth, tmp_path: Path) -> None:
    with ReviewQueue(month.queue_path) as q:
        result = export_all(
            q, tmp_path, key=KEY, export_filter=ExportFilter(outcomes=("escalated",))
        )
    assert result["statements"] == result["ncmec_drafts"] == result["escalated_decisions"]


def test_an_export_that_fails_part_way_leaves_nothing_and_can_be_rerun(
    month: SimulatedMonth, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The drafts are written last: a failure there left the statements and templates in
    # place, and the rerun was refused because they existed.
    def disk_full(*args: object, **kwargs: object) -> dict[str, Path]:
        raise OSError(28, "No space left on device")

    with ReviewQueue(month.queue_path) as q:
        with monkeypatch.context() as patched:
            patched.setattr(export_module, "write_drafts", disk_full)
            with pytest.raises(OSError, match="No space left"):
                export_all(q, tmp_path, key=KEY)
        assert list(tmp_path.iterdir()) == []
        result = export_all(q, tmp_path, key=KEY)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dsa-statements", "eu-2024-2835", "ncmec-drafts"
    ]  # fmt: skip
    assert all((tmp_path / name).is_file() for name in result["files"])
