"""Hostile times (review hr67b): ISO text that has the shape of an instant and an offset in
use but is no date and time on the calendar, the console's night shading of a child whose
UTC offset changes mid-conversation (a daylight-saving switch), a UTC offset written in
hours and minutes (+0300) where the column counts minutes, and a time given on the command
line or to the console read by a rule of its own."""

from __future__ import annotations

import io
import json
import math
import re
import sys
from pathlib import Path

import pytest
from io_helpers import EVENING_MESSAGE

import riskscore as rs
from riskscore.cli import main
from riskscore.features.constants import SHARE_PRIOR_EVENTS
from riskscore.io.given_times import parse_time
from riskscore.serve.plot import timeline_svg
from riskscore.serve.timeline import TimelineEvent

_EVENT = EVENING_MESSAGE
_CALENDAR = "is not a date and time on the calendar"


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-29T21:30:00+01:00",  # February 29 of a common year
        "2024-04-31T10:00:00+05:45",  # April has 30 days
        "2024-05-01T24:00:00-05:00",  # hour 24
        "2016-12-31T23:59:60+00:00",  # a leap second
        "2016-12-31T23:59:60Z",
        "2024-13-01T00:00:00+14:00",  # month 13
    ],
)
def test_text_off_the_calendar_is_not_blamed_on_its_offset(text: str) -> None:
    # before: "has a UTC offset that no clock uses" for a +01:00 (in use), and a bare
    # "is not a timestamp" for Z; now the field out of range is named, in batch and online
    with pytest.raises(rs.SchemaError, match=rf"row 0: '{re.escape(text)}' {_CALENDAR}") as batch:
        rs.read_messages({k: [v] for k, v in {**_EVENT, "timestamp": text}.items()})
    assert "UTC offset that no clock uses" not in str(batch.value)
    scorer = rs.OnlineScorer(rs.load_model(), max_future_s=math.inf)
    with pytest.raises(rs.SchemaError, match=rf"event 7: '{re.escape(text)}' {_CALENDAR}"):
        scorer.update_one({**_EVENT, "timestamp": text}, row=7)
    assert scorer.n_events == 0


def test_an_offset_out_of_use_is_still_named_as_such() -> None:
    text = "2024-05-01T21:30:00+14:30"
    with pytest.raises(rs.SchemaError, match="has a UTC offset that no clock uses"):
        rs.read_messages({k: [v] for k, v in {**_EVENT, "timestamp": text}.items()})


# A child in Central Europe across the switch to summer time (2024-03-31 01:00 UTC):
# +60 before it, +120 after. The adult writes at hh:30 UTC, the child answers at hh:45.
_SWITCH = 1_711_846_800  # 2024-03-31T01:00:00Z
_HOURS = range(-30, 30)


def _dst_events() -> list[TimelineEvent]:
    events = []
    for h in _HOURS:
        at = _SWITCH + h * 3600
        offset = 60 if at < _SWITCH else 120
        events.append(TimelineEvent(at + 1800, "a", 2, 0, offset))
        events.append(TimelineEvent(at + 2700, "k", 2, 0, 0))  # the adult's offset: UTC
    return events


def _child_night_count(events: list[TimelineEvent]) -> float:
    """The child's night count of the features: child_night_share times its denominator."""
    table = rs.read_messages(
        {
            "conversation_id": ["c1"] * len(events),
            "timestamp": [e.timestamp for e in events],
            "sender_id": [e.sender_id for e in events],
            "recipient_id": ["k" if e.sender_id == "a" else "a" for e in events],
            "sender_age": [40 if e.sender_id == "a" else 12 for e in events],
            "recipient_age": [12 if e.sender_id == "a" else 40 for e in events],
            "channel": ["direct"] * len(events),
            "recipient_tz_offset_min": [e.tz_offset_min for e in events],
        },
        max_future_s=math.inf,
    )
    row = rs.extract_features(table).to_pandas().iloc[0]
    known = row["child_tz_known_share"] * len(events)
    return float(row["child_night_share"] * (known + SHARE_PRIOR_EVENTS))


def test_night_shading_follows_the_childs_clock_of_each_event() -> None:
    # before: every night was shaded on the latest offset (+120), so the child's 21:30 and
    # 21:45 before the switch (20:30 and 20:45 UTC) sat in a shaded night the features did
    # not count, and its 05:30 and 05:45 (04:30, 04:45 UTC) outside one they counted
    events = _dst_events()
    plot = timeline_svg(events, "a", "conversation 1 of 1")
    shaded = sum(any(a <= e.timestamp <= b for a, b in plot.nights) for e in events)
    assert shaded == pytest.approx(_child_night_count(events))
    assert "child's UTC offset +60 min, then +120 min from 2024-03-31 01:30 UTC" in plot.summary


def test_no_night_is_shaded_before_the_childs_clock_is_known() -> None:
    # before: the latest offset shaded the whole span, also before any offset was known,
    # where the features count no night
    events = [TimelineEvent(e.timestamp, e.sender_id, 2, 0, None) for e in _dst_events()]
    events[40] = TimelineEvent(events[40].timestamp, "a", 2, 0, 120)
    plot = timeline_svg(events, "a", "conversation 1 of 1")
    assert plot.nights
    assert min(a for a, _ in plot.nights) >= events[40].timestamp
    shaded = sum(any(a <= e.timestamp <= b for a, b in plot.nights) for e in events)
    assert shaded == pytest.approx(_child_night_count(events))
    assert "(unknown before: no night shaded)" in plot.summary


# UTC offsets written in hours and minutes, which the minutes column read as numbers:
# +0300 (Moscow) as 300 (UTC+5), -0330 (Newfoundland) as -330, +0630 (Myanmar) as 630.
_CLOCK_TEXT = "is a UTC offset in hours and minutes"


def test_a_csv_offset_in_hours_and_minutes_is_refused_not_read_as_minutes(
    tmp_path: Path,
) -> None:
    # before: read silently as 300, -330 and 630 minutes, hours off the child's clock
    path = tmp_path / "events.csv"
    lines = ["conversation_id,timestamp,sender_id,recipient_id,channel,recipient_tz_offset_min"]
    for i, offset in enumerate(["+0300", "-0330", "60", "+0630", "", "+03:00"]):
        lines.append(f"c{i},{1_714_595_400 + i},a,k,direct,{offset}")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(rs.SchemaError, match=rf"row 0 \(line 2\): '\+0300' {_CLOCK_TEXT}"):
        rs.read_messages(path)
    kept = rs.read_messages(path, errors="quarantine")
    assert sorted(kept.conversations.tolist()) == ["c2", "c4"]
    assert kept.quarantined.row.tolist() == [0, 1, 3, 5]
    assert set(kept.quarantined.reason) == {kept.quarantined.reason[0]}
    assert kept.quarantined.reason[0].startswith(_CLOCK_TEXT)


@pytest.mark.parametrize("offset", ["+0300", "-0330", " +0630 ", "0300"])
def test_an_offset_in_hours_and_minutes_is_refused_online_as_in_batch(offset: str) -> None:
    # before: the scorer applied +0300 as 300 minutes (UTC+5), as batch did
    event = {**_EVENT, "recipient_tz_offset_min": offset}
    scorer = rs.OnlineScorer(rs.load_model(), max_future_s=math.inf)
    with pytest.raises(rs.SchemaError, match=rf"event 2: '{re.escape(offset)}' {_CLOCK_TEXT}"):
        scorer.update_one(event, row=2)
    assert scorer.n_events == 0
    with pytest.raises(rs.SchemaError, match=rf"row 0: '{re.escape(offset)}' {_CLOCK_TEXT}"):
        rs.read_messages({k: [v] for k, v in event.items()})
    # minutes as text stay minutes
    assert rs.read_messages(
        {**{k: [v] for k, v in event.items()}, "recipient_tz_offset_min": ["+300"]}
    ).recipient_tz_offset_min.tolist() == [300]


def test_stream_echoes_the_calendar_reason_whole(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # before the reason was shortened, the echo cut it at 300 characters, before its remedy
    event = {**_EVENT, "timestamp": "2023-02-29T21:31:00+01:00", "conversation_id": "c" * 40}
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(event) + "\n"))
    assert main(["stream", "--time-source", "events"]) == 0
    err = capsys.readouterr().err
    assert _CALENDAR in err
    assert "or epoch seconds" in err
    assert "characters)" not in err


# A time given on the command line or to the console is read by the events' rule of text
# times: before, Python's own ISO reading took offsets no clock uses (+23:59) and forms the
# events refuse (week dates), and refused epoch seconds the events accept (1.7e9).
@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("2026-01-01T00:00:00+23:59", "has a UTC offset that no clock uses"),
        ("2026-01-01T00:00:00+05:45:30", "is neither epoch seconds, YYYY-MM-DD nor ISO 8601"),
        ("2026-W01-1T00:00Z", "is neither epoch seconds, YYYY-MM-DD nor ISO 8601"),
        ("2016-12-31T23:59:60Z", _CALENDAR),
        ("2026-01-01T12:00", "is a date and time without a UTC offset"),
        (" 2026-01-01", "is neither epoch seconds, YYYY-MM-DD nor ISO 8601"),
    ],
)
def test_a_given_time_follows_the_events_rule_of_text_times(given: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(repr(given))} {re.escape(reason)}"):
        parse_time(given)


def test_a_given_time_reads_epoch_seconds_as_the_events_do() -> None:
    assert parse_time("1.7e9") == 1_700_000_000
    assert parse_time("1767225600.9") == 1_767_225_600
    assert parse_time("2026-01-01T05:45:00+05:45") == 1_767_225_600
    assert parse_time("2026-01-01") == 1_767_225_600
    with pytest.raises(ValueError, match="is out of range"):
        parse_time("1e400")


def test_the_cli_refuses_a_time_whose_offset_no_clock_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: --from 2026-01-01T00:00:00+23:00 was read as 2025-12-31T01:00Z
    argv = ["export", "--db", str(tmp_path / "q.sqlite"), "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--from", "2026-01-01T00:00:00+23:00"])
    assert exit_info.value.code == 2
    assert "has a UTC offset that no clock uses" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_epoch_microseconds_are_told_how_to_become_seconds() -> None:
    # before: "if the clock counts milliseconds, divide by 1000" alone; microseconds divided
    # by 1000 are milliseconds, refused again with the same words
    micros = {**_EVENT, "timestamp": 1_714_595_400_000_000}
    with pytest.raises(rs.SchemaError, match="microseconds by 1e6"):
        rs.read_messages({k: [v] for k, v in micros.items()})
    scorer = rs.OnlineScorer(rs.load_model())
    with pytest.raises(rs.SchemaError, match="microseconds by 1e6"):
        scorer.update_one(micros)
