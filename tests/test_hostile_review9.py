"""Ninth hostile-input review: what an attacker who controls account ids, conversation ids
and (through a policy file) band names gets into a moderator's report or a regulator's
export, and group rooms at scale. A band name or id comes out as data: never as Markdown
or mathtext markup, never as a formula, unchanged when read back."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _regulatory import KEY, T0

import riskscore as rs
from riskscore.cli import main
from riskscore.io.markdown import markdown_text
from riskscore.moderation import ReviewQueue
from riskscore.moderation.transparency_render import render_markdown
from riskscore.policy import Alert, AlertPolicy, Tier
from riskscore.regulatory import export_all

#: Printable band names (a policy file's own labels) that Markdown or mathtext would run.
MARKUP_BANDS = [
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "`a|b` *b* _i_ ~~s~~",
    "&lt;b&gt; &amp;",
    r"$\frac$ \ back",
]
_MARKUP = set("\\`*_[]<>&~$")


def shown_as_text(cell: str) -> str:
    """The text a CommonMark renderer shows for ``cell``, asserting that no character of
    it starts markup (every markup character is backslash-escaped)."""
    out, chars = [], iter(cell.replace("\\|", "|"))
    for char in chars:
        if char == "\\":
            char = next(chars)
            assert char in _MARKUP | {"|"}, cell
        else:
            assert char not in _MARKUP, (char, cell)
        out.append(char)
    return "".join(out)


def test_markdown_text_escapes_markup_and_nothing_else() -> None:
    for band in MARKUP_BANDS:
        assert shown_as_text(markdown_text(band)) == band
    assert markdown_text("13-15 (pilot) 0.5 18+ #1 n/a") == "13-15 (pilot) 0.5 18+ #1 n/a"


def _queue_of_bands(path: Path, bands: list[str]) -> Path:
    with ReviewQueue(path, simulation=True) as queue:
        for n, band in enumerate(bands):
            queue.add_alert(Alert(f"c{n}", f"a{n}", f"k{n}", 12.0, band, 0.9, Tier.URGENT),
                            at=T0 + n)  # fmt: skip
        for n in range(len(bands)):
            shown = queue.case(f"a{n}", now=T0 + 100)
            assert shown is not None
            queue.decide(f"a{n}", "escalated", moderator="m1", at=T0 + 100, token=shown.token)
    return path


def test_band_names_are_text_in_the_transparency_report_and_its_charts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "$\frac$" stopped the charts with a mathtext ParseSyntaxException (the report command
    # failed, nothing written); the other names came out of report.md as an image, a
    # javascript: link, code, emphasis and HTML entities.
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", KEY.decode())
    db = _queue_of_bands(tmp_path / "q.sqlite", MARKUP_BANDS)
    out = tmp_path / "report"
    assert main(["report", "--db", str(db), "--out", str(out)]) == 0
    assert {"volume.png", "report.md", "report.html"} <= {p.name for p in out.iterdir()}
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert set(data["by_age_band"]) == set(MARKUP_BANDS)  # JSON keeps them as given
    rows = [line for line in render_markdown(data, []).splitlines() if line.startswith("| ")]
    shown = {shown_as_text(line.split(" | ")[0][2:]) for line in rows}
    assert set(MARKUP_BANDS) <= shown


def test_band_names_are_text_in_the_evaluation_report() -> None:
    data = rs.synthetic.generate(60, prevalence=0.2, seed=3)
    report = rs.evaluate(rs.load_model(), data.messages, data.labels, n_bootstrap=0,
                         replay_events=0)  # fmt: skip
    slices = tuple(
        dataclasses.replace(s, value=band)
        for s, band in zip(report.slices, MARKUP_BANDS, strict=False)
    )
    markdown = dataclasses.replace(report, slices=slices).to_markdown()
    for s in slices:
        row = next(line for line in markdown.splitlines() if line.startswith(f"| {s.by} | "))
        assert shown_as_text(row[len(f"| {s.by} | ") :].split(" | ")[0]) == s.value
        markdown = markdown.replace(row, "", 1)


def test_band_names_are_text_in_the_qualitative_draft(tmp_path: Path) -> None:
    doc: dict[str, Any] = AlertPolicy.default().to_mapping()
    for band, name in zip(doc["bands"], MARKUP_BANDS, strict=False):
        band["name"] = name
    policy = AlertPolicy.from_mapping(doc)
    # an item in one of the policy's own bands (an export refuses to quote a policy that
    # has no band of its items)
    db = _queue_of_bands(tmp_path / "q.sqlite", [policy.bands[0].name])
    with ReviewQueue(db) as queue:
        export_all(queue, tmp_path / "x", key=KEY, policy=policy)
    draft = (tmp_path / "x" / "eu-2024-2835" / "qualitative_draft.md").read_text("utf-8")
    paragraph = next(line for line in draft.splitlines() if "review at" in line)
    text = shown_as_text(paragraph)
    for band in policy.bands:
        assert f"{band.name}: review at" in text
    # the CSV of the same fields keeps the names as they are
    qualitative = (tmp_path / "x" / "eu-2024-2835" / "11_qualitative.csv").read_text("utf-8")
    assert all(band.name in qualitative for band in policy.bands if '"' not in band.name)


# ---------------------------------------------------------------- group rooms at scale

EV0 = 1_714_521_600


def _fan_out(n_members: int, n_messages: int) -> list[dict[str, Any]]:
    """An adult's messages to a room of ``n_members`` children, each fanned out to every
    member, without ``room_size``: nothing marks them as a broadcast."""
    return [
        {
            "conversation_id": "room",
            "timestamp": EV0 + 60 * m,
            "sender_id": "adult",
            "recipient_id": f"kid{k}",
            "channel": "group",
            "sender_age": 35.0,
            "recipient_age": 13.0,
        }
        for m in range(n_messages)
        for k in range(n_members)
    ]


class _CountingIndex(dict[object, None]):
    """An adult's index of conversations that counts the entries walked (iterating it,
    or copying it into a list)."""

    walked = 0

    def __iter__(self) -> Iterator[object]:
        for key in super().__iter__():
            _CountingIndex.walked += 1
            yield key


def test_a_sender_reaching_thousands_walks_its_conversations_linearly_online() -> None:
    # Each new child the adult reached walked all its other conversations to skip their
    # re-scoring one by one: 6,000 members took 6.7 s, 4 times 3,000 (quadratic). Counted,
    # not timed: the entries of the adult's index walked grow with the events, not with
    # their square.
    for n in (1_000, 4_000):
        scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
        events = _fan_out(n, 2)
        scorer.update_many(events[:2])  # the room opened: its pairs are the adult's
        index = _CountingIndex(scorer._adult_convs["adult"])
        scorer._adult_convs["adult"] = index
        _CountingIndex.walked = 0
        scorer.update_many(events[2:])
        assert scorer._adult_convs["adult"] is index  # counted all along
        assert scorer.n_events == len(events)
        # every other conversation of the adult kept its risk: counted, not walked
        assert scorer.n_rescored + scorer.n_rescore_skipped >= (n - 1) * n // 2
        assert _CountingIndex.walked <= 2 * len(events), (n, _CountingIndex.walked)


def test_a_room_above_the_limit_is_counted_in_batch_online_and_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = _fan_out(3_000, 2)
    for e in events:
        e["room_size"] = 3_001
    events.append({**events[0], "recipient_id": "kid-x", "room_size": 3, "timestamp": EV0 + 999})
    msgs = rs.read_messages({k: [e[k] for e in events] for k in events[0]})
    assert (len(msgs), msgs.groups.n_broadcast) == (1, 6_000)
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    scorer.update_many(events)
    assert (scorer.n_events, scorer.n_broadcast) == (1, 6_000)
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    assert main(["score", str(path), "--out", str(tmp_path / "out")]) == 0
    assert "6,000 events to rooms above max_room_members set aside" in capsys.readouterr().out


# ------------------------------------------------- ids that display as something else

HIDDEN = [
    "adm\u202enim",  # right-to-left override: shown as "admmin" reversed
    "a\u2066b",  # left-to-right isolate
    "acct\u200b7",  # zero-width space: looks like "acct7"
    "acct\u00ad7",  # soft hyphen: invisible
    "line\u2028break",  # line separator
    "\ufeffacct",  # byte order mark inside a value
]


@pytest.mark.parametrize("account", HIDDEN)
def test_ids_with_invisible_or_reordering_characters_are_refused_batch_and_online(
    account: str,
) -> None:
    """Before: only C0 and C1 controls were refused, so an id could look like another one
    (``acct\\u200b7`` and ``acct7``) or show reversed in the review queue."""
    events = {
        "conversation_id": [1],
        "timestamp": [1_700_000_000],
        "sender_id": [account],
        "recipient_id": ["b"],
        "channel": ["direct"],
    }
    with pytest.raises(rs.SchemaError, match="holds a control character") as batch:
        rs.read_messages(events)
    assert (batch.value.column, batch.value.row) == ("sender_id", 0)
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    with pytest.raises(rs.SchemaError, match="holds a control character"):
        scorer.update_one({k: v[0] for k, v in events.items()})


def test_ids_with_accents_and_no_break_spaces_are_kept() -> None:
    events = {
        "conversation_id": ["caf\u00e9", "caf\u00e9"],
        "timestamp": [1_700_000_000, 1_700_000_060],
        "sender_id": ["jos\u00e9\u00a01", "\u5f20\u4e09"],
        "recipient_id": ["\u5f20\u4e09", "jos\u00e9\u00a01"],
        "channel": ["direct", "direct"],
    }
    assert sorted(rs.read_messages(events).accounts.tolist()) == [
        "jos\u00e9\u00a01",
        "\u5f20\u4e09",
    ]


@pytest.mark.parametrize("platform", ["[x](javascript:alert(1))", "<img src=x onerror=alert(1)>"])
def test_the_platform_name_is_text_in_the_markdown_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    """Before: the operator's --platform went into report.md's heading as it was, so a name
    with Markdown or HTML came out as a link or an image (the JSON keeps it as given)."""
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", KEY.decode())
    db = _queue_of_bands(tmp_path / "q.sqlite", ["13-15"])
    out = tmp_path / "report"
    argv = ["report", "--db", str(db), "--out", str(out), "--platform", platform, "--no-charts"]
    assert main(argv) == 0
    heading = (out / "report.md").read_text(encoding="utf-8").splitlines()[0]
    assert heading.startswith("# Child-safety transparency report: ")
    assert shown_as_text(heading.split(": ", 1)[1]) == platform
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["platform"] == platform
