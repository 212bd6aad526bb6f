"""The console's query parameters (:mod:`riskscore.serve.params`): a bad value is refused
with status 400 and a message naming the parameter and its value."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi.testclient import TestClient
from serve_helpers import add_account, config, sign_in

import riskscore as rs
from riskscore.serve import create_app


def test_report_period_from_after_to_is_refused_naming_both(tmp_path: Path) -> None:
    """Was: ``/console/report?from=2026-02-01&to=2026-01-31`` answered 200, the refusal of
    the reversed period only a message inside the page, where other bad console parameters
    are refused with 400. Now 400, naming both parameters and their values, no report made
    (none logged as read); one day (``from`` = ``to``) is a period."""
    cfg = config(tmp_path, rs.load_model(), report_key=b"0f3c9a7e-platform-secret-b81d44e2")
    add_account(cfg.db)
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        r = client.get("/console/report", params={"from": "2026-02-01", "to": "2026-01-31"})
        assert r.status_code == 400
        page = html.unescape(r.text)
        assert "query parameter 'from' ('2026-02-01') is after 'to' ('2026-01-31')" in page
        assert 'id="report"' not in r.text
        one_day = client.get("/console/report", params={"from": "2026-01-31", "to": "2026-01-31"})
        assert one_day.status_code == 200
        assert 'id="report"' in one_day.text


def test_report_period_with_one_day_only_is_refused_naming_the_missing_one(
    tmp_path: Path,
) -> None:
    """Was: ``/console/report?from=2026-01-01`` answered 200 with "Give both dates as
    YYYY-MM-DD." inside the page, and ``?to=2026-01-31`` answered 200 with no word at all,
    where the other bad periods are refused with 400. Now 400 naming the missing parameter
    (both when both are given empty), no report made; the blank form stays 200."""
    cfg = config(tmp_path, rs.load_model(), report_key=b"0f3c9a7e-platform-secret-b81d44e2")
    add_account(cfg.db)
    cases = [
        ({"from": "2026-01-01"}, "query parameter 'to' is missing"),
        ({"to": "2026-01-31"}, "query parameter 'from' is missing"),
        ({"from": "2026-01-01", "to": ""}, "query parameter 'to' is missing"),
        ({"from": "", "to": ""}, "query parameters 'from' and 'to' are missing"),
    ]
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        for params, expected in cases:
            r = client.get("/console/report", params=params)
            assert r.status_code == 400, params
            page = html.unescape(r.text)
            assert f"{expected}: a period needs both 'from' and 'to'" in page, params
            assert "Give both dates" not in page
            assert 'id="report"' not in r.text
        blank = client.get("/console/report")
        assert blank.status_code == 200
        assert 'role="alert">' not in blank.text
