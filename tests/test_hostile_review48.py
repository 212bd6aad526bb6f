"""Hostile review 48: the moderation queue, its exports and the service against old queue
files, overlapping reports, repeated age rows and a client's own X-Forwarded-For.

Each test failed on the code before its fix; a guard says it passed before, and a test of a
new option says so."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from riskscore.batch import write_alerts
from riskscore.cli.entrypoint import build_parser, main
from riskscore.cli.report import published_periods
from riskscore.cli.serve import uvicorn_config
from riskscore.integrations._synapse_ages import make_age_source
from riskscore.integrations._synapse_config import AgeSourceConfig, SynapseConfigError
from riskscore.model.scores import Reason
from riskscore.moderation import ReviewQueue
from riskscore.moderation.transparency import transparency_report
from riskscore.policy import Alert, Tier
from riskscore.regulatory import (
    DecidedCase,
    cybertipline_drafts,
    decided_cases,
    statements_of_reasons,
)

T0 = 1_767_225_600  # 2026-01-01
KEY = "hostile-review-48-synthetic-key-0123456789abcdef"


# ------------------------- 4. the CyberTipline victim's band: the youngest recorded


def test_a_victims_band_is_the_youngest_recorded_not_the_last(tmp_path: Path) -> None:
    """Was: a draft's ``victim[].additionalInfo`` took each child's age band from the
    case's last item of that child (a dict filled in item order): a child alerted at 12
    (under 13, urgent) and again after a birthday at 13 was reported as "declared age
    band: 13-15", while ``case.youngest_declared_age`` said 12. Now the band of the
    child's youngest declared age, and the other bands recorded are named."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_alert(Alert(1, "adult", "c1", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
        q.add_alert(Alert(2, "adult", "c1", 13.0, "13-15", 0.5, Tier.REVIEW), at=T0 + 50)
        q.add_alert(Alert(3, "adult", "c2", 15.0, "13-15", 0.5, Tier.REVIEW), at=T0 + 60)
        q.decide("adult", "escalated", moderator="m", item_ids=[1, 2, 3], at=T0 + 90)
        [draft] = cybertipline_drafts(decided_cases(q.items()))
    victims = {v["espIdentifier"]: v["additionalInfo"] for v in draft["report"]["victim"]}
    assert victims["c1"] == (
        "declared age band: under 13 (youngest declared age: 12 years, also recorded: 13-15)"
    )
    assert victims["c2"] == "declared age band: 13-15 (youngest declared age: 15 years)"
    assert draft["case"]["youngest_declared_age"] == 12.0


# -------------------------------- 6. the Synapse age table: one row per account


def _age_table(path: Path, rows: list[tuple[object, ...]]) -> AgeSourceConfig:
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("CREATE TABLE declared_ages (user_id TEXT, age REAL, tz_offset_min INTEGER)")
        con.executemany("INSERT INTO declared_ages VALUES (?, ?, ?)", rows)
    return AgeSourceConfig(kind="sqlite", path=path, table="declared_ages")


def test_an_age_table_with_two_rows_for_one_account_is_refused(tmp_path: Path) -> None:
    """Was: the SQLite age source read ``fetchone()`` of ``WHERE user_id = ?``: with two
    rows for one account (a re-declared age appended, a sync run twice) whichever row
    SQLite returned first was the age scored, 12 or 19 at the database's whim, where the
    CSV source refuses a user listed twice. Now refused at start and at a lookup (a row
    added later), naming the account and both rows."""
    config = _age_table(
        tmp_path / "ages.sqlite",
        [("@kid:example.org", 12.0, 60), ("@adult:example.org", 35.0, 0),
         ("@kid:example.org", 19.0, 60)],
    )  # fmt: skip
    with pytest.raises(SynapseConfigError, match=r"'@kid:example.org' twice.*rows 1 and 3"):
        make_age_source(config)
    clean = _age_table(tmp_path / "ok.sqlite", [("@kid:example.org", 12.0, 60)])
    ages = make_age_source(clean)
    assert ages.get("@kid:example.org") == (12.0, 60, None)
    with closing(sqlite3.connect(tmp_path / "ok.sqlite")) as con, con:
        con.execute("INSERT INTO declared_ages VALUES ('@kid:example.org', 19.0, 60)")
    with pytest.raises(SynapseConfigError, match=r"'@kid:example.org' twice.*rows 1 and 2"):
        ages.get("@kid:example.org")


def test_an_age_table_value_that_is_no_number_is_named(tmp_path: Path) -> None:
    """Was: an age stored as text ('twelve') in the SQLite table raised Python's own
    ``could not convert string to float: 'twelve'`` at the first message of that user,
    naming neither the table nor the account."""
    ages = make_age_source(_age_table(tmp_path / "a.sqlite", [("@kid:example.org", "twelve", 0)]))
    with pytest.raises(SynapseConfigError, match=r"row 1 .*'@kid:example.org'.*'twelve'"):
        ages.get("@kid:example.org")


# ---------------------------- 5. the service trusts X-Forwarded-For only from named proxies


def _client_seen(argv: list[str], peer: str, forwarded: str) -> str:
    """The client address the application sees for a request from ``peer`` that says
    ``X-Forwarded-For: forwarded``, under uvicorn as ``riskscore serve argv`` sets it up."""
    seen: list[str] = []

    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        seen.append(scope["client"][0])

    args = build_parser().parse_args(["serve", "--db", "q.sqlite", *argv])
    config = uvicorn_config(app, args)
    config.load()
    scope = {
        "type": "http", "client": (peer, 50_000), "server": ("127.0.0.1", 8001),
        "headers": [(b"x-forwarded-for", forwarded.encode())], "scheme": "http",
    }  # fmt: skip
    asyncio.run(config.loaded_app(scope, None, None))
    return seen[0]


def test_x_forwarded_for_is_trusted_only_from_a_named_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Was: ``riskscore serve`` left uvicorn's defaults, which take the client address
    from ``X-Forwarded-For`` on any request from 127.0.0.1 (or from whatever the
    ``FORWARDED_ALLOW_IPS`` variable of the environment says): a local process, or a
    proxy that passes the header on, chose the address the sign-in rate limit counts
    per, so every attempt could come from a new address. Now no proxy is trusted unless
    named (``--trusted-proxy``), and the environment variable is not read."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    assert _client_seen([], "127.0.0.1", "203.0.113.9") == "127.0.0.1"
    named = ["--trusted-proxy", "127.0.0.1"]
    assert _client_seen(named, "127.0.0.1", "203.0.113.9") == "203.0.113.9"
    assert _client_seen(named, "198.51.100.4", "203.0.113.9") == "198.51.100.4"
    net = ["--trusted-proxy", "10.0.0.0/8"]
    assert _client_seen(net, "10.1.2.3", "203.0.113.9") == "203.0.113.9"


def test_a_trusted_proxy_that_is_no_address_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """The new ``--trusted-proxy`` takes an IP address or network, never a host name."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--db", "q", "--trusted-proxy", "proxy.local"])
    assert "--trusted-proxy" in capsys.readouterr().err


# ---------------------- 2. the alert record carries the reason text the queue shows


def test_the_alert_record_carries_the_reason_text_the_queue_shows(tmp_path: Path) -> None:
    """Was: an alert record's reasons held ``feature``, the raw ``value`` (0.004),
    ``contribution`` and ``description``, not the worded value a moderator reads: a
    consumer of ``alerts.jsonl``, a ``riskscore stream`` line or the service's response
    wrote its own value (``0 %``, a share that reads as an absence) where the review queue,
    its console and the exports show ``under 1 %``. Each reason now carries ``text``, the
    one wording (:func:`riskscore.model.scores.reason_texts`), in every writer."""
    reason = Reason.of("child_night_share", 0.004, 1.4)
    alert = Alert(7, "a", "c", 12.0, "under 13", 0.8, Tier.URGENT, reasons=(reason,))
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_alert(alert, at=T0)
        [item] = q.items()
    [record] = alert.to_dict()["reasons"]
    assert record["text"] == item.reasons[0] == str(reason)
    assert "at least 0.4 %" in record["text"]  # never 0 %: a share that reads as none
    path = write_alerts([alert], tmp_path / "alerts.jsonl")
    assert path.read_text(encoding="utf-8") == alert.to_json() + "\n"
    parquet = write_alerts([alert], tmp_path / "alerts.parquet")
    assert pq.read_table(parquet).column("reasons")[0].as_py()[0]["text"] == str(reason)


# --------------- 1. reasons a queue stored in the earlier wording reach the exports


#: ``str(Reason.of("child_night_share", 0.62, 1.4))`` and of ``adult_sent_request`` as
#: riskscore wrote them into a queue before review 38 reworded reasons (commit f5ffb82).
EARLIER = (
    "contact at night in the child's local time: 62 % (+1.40); risk assessment: contact "
    "when the child is less likely to be supervised",
    "the older participant sent a contact request: yes (+0.50); a new contact with no "
    "mutual history: a stranger approaching a child",
)


def _decided_with_reasons(path: Path, reasons: tuple[str, ...]) -> list[DecidedCase]:
    """A decided alert whose stored reasons are ``reasons``, as a queue kept them."""
    with ReviewQueue(path, simulation=True) as q:
        q.add_alert(Alert(1, "adult", "c1", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
        q.decide("adult", "escalated", moderator="m", item_ids=[1], at=T0 + 60)
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("DROP TRIGGER items_audited")  # an earlier riskscore wrote the row
        con.execute("UPDATE items SET reasons = ?", (json.dumps(list(reasons)),))
    with ReviewQueue(path) as q:
        return decided_cases(q.items())


def test_reasons_stored_in_the_earlier_wording_are_exported_marked(tmp_path: Path) -> None:
    """Was: ``DecidedCase.indicators`` quoted only reasons in the current wording, so an
    alert a queue had stored before the rewording reached the DSA statement with no
    indicator line and the CyberTipline draft with "Indicators ...: none recorded.", as
    if the model had given no reason. Now a stored text in exactly the earlier wording (a
    registered feature's earlier description and why, a value as the earlier
    ``format_value`` wrote it) is exported in the current description and why, with its
    value as recorded and marked so; any other text is still never quoted."""
    cases = _decided_with_reasons(tmp_path / "q.sqlite", (*EARLIER, "he wrote: 62 % (+1.40)"))
    assert cases[0].indicators == (
        "share of contact at night in the child's local time: 62 % (+1.40), as recorded in "
        "riskscore's earlier wording. Why it can matter: risk assessment: contact when the "
        "child is less likely to be supervised",
        "the older participant sent a contact request: yes (+0.50), as recorded in "
        "riskscore's earlier wording. Why it can matter: victim selection: an account not "
        "yet among the child's contacts asked to be added",
    )
    [statement] = statements_of_reasons(cases, key=KEY)
    [draft] = cybertipline_drafts(cases)
    assert "share of contact at night" in statement["decision_facts"]
    info = draft["report"]["personOrUserReported"]["additionalInfo"]
    assert "none recorded" not in info
    assert "he wrote" not in info


@pytest.mark.parametrize(
    "text",
    [
        # the earlier description with a value no earlier format_value wrote
        "contact at night in the child's local time: he said (+1.40); risk assessment: "
        "contact when the child is less likely to be supervised",
        # the earlier head and value with another why
        "contact at night in the child's local time: 62 % (+1.40); sent: send me a photo",
        # the current description with the earlier separator
        "share of contact at night in the child's local time: 62 % (+1.40); risk "
        "assessment: contact when the child is less likely to be supervised",
    ],
)
def test_text_that_only_resembles_the_earlier_wording_is_never_exported(
    tmp_path: Path, text: str
) -> None:
    """Guard (passed before): only the earlier wording exactly is re-worded."""
    assert _decided_with_reasons(tmp_path / "q.sqlite", (text,))[0].indicators == ()


# --------------------------- 3. reports of overlapping periods are refused


DAY = 86_400


def _thirty_one_alerts(path: Path) -> ReviewQueue:
    """30 alerts (13-15) in ten days, one (under 13, urgent) on the eleventh."""
    q = ReviewQueue(path, simulation=True)
    for k in range(30):
        q.add_alert(Alert(k, f"a{k}", f"c{k}", 14.0, "13-15", 0.5, Tier.REVIEW), at=T0 + k * 3600)
    q.add_alert(Alert(99, "a99", "c99", 11.0, "under 13", 0.9, Tier.URGENT), at=T0 + 10 * DAY + 60)
    return q


def test_a_report_overlapping_a_published_one_is_refused(tmp_path: Path) -> None:
    """Was: nothing stopped a report of ``[Jan 1, Jan 12)`` after one of ``[Jan 1, Jan 11)``
    (``riskscore report`` without ``--start``/``--end`` runs from the first item to now, so
    two runs overlap): their alerts raised, 30 and 31 (headline totals, never withheld),
    and the first's "urgent 0" told a reader that one alert, urgent, of a child under 13,
    came on Jan 11, a count of 1 that the second report withheld. Now the periods of the
    reports already published are given and an overlapping one (or the same) is refused."""
    with _thirty_one_alerts(tmp_path / "q.sqlite") as q:
        first = transparency_report(q, (T0, T0 + 10 * DAY), key=KEY)
        with pytest.raises(ValueError, match=r"overlaps a published report's.*disjoint"):
            transparency_report(q, (T0, T0 + 11 * DAY), key=KEY, published=[(T0, T0 + 10 * DAY)])
        with pytest.raises(ValueError, match="overlaps"):  # the same period again
            transparency_report(q, (T0, T0 + 10 * DAY), key=KEY, published=[(T0, T0 + 10 * DAY)])
        next_one = transparency_report(
            q, (T0 + 10 * DAY, T0 + 20 * DAY), key=KEY, published=[(T0, T0 + 10 * DAY)]
        )
    assert first.alerts_raised == 30
    assert next_one.data["period"]["start_epoch"] == T0 + 10 * DAY


def test_riskscore_report_reads_the_published_periods(tmp_path: Path) -> None:
    """``riskscore report --published REPORT_JSON`` refuses an overlapping period in one
    line; a file that is no report is named."""
    _thirty_one_alerts(tmp_path / "q.sqlite").close()
    env = {"RISKSCORE_REPORT_KEY": KEY}
    base = ["report", "--db", str(tmp_path / "q.sqlite"), "--no-charts", "--start", str(T0)]
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        assert main([*base, "--end", str(T0 + 10 * DAY), "--out", str(tmp_path / "jan")]) == 0
        published = ["--published", str(tmp_path / "jan" / "report.json")]
        later = ["--end", str(T0 + 11 * DAY), "--out", str(tmp_path / "later")]
        assert main([*base, *later, *published]) != 0
        no_report = ["--published", str(tmp_path / "q.sqlite")]
        assert main([*base, *later, *no_report]) != 0


def test_a_published_report_with_a_period_that_is_no_epoch_is_named(tmp_path: Path) -> None:
    """The new ``--published`` names the file whose period is not whole epoch seconds."""
    bad = tmp_path / "report.json"
    bad.write_text(json.dumps({"period": {"start_epoch": 1.5, "end_epoch": 2}}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"--published '.*report.json' is not"):
        published_periods([bad])
