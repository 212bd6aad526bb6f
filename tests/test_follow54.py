"""Defects fixed by follow54: each test failed before its fix."""

from __future__ import annotations

import importlib
import os
import sqlite3
import time
from pathlib import Path

import numba.core.config
import pytest
from test_optional import _forget, _hide

import riskscore._jit_cache as jit_cache
from riskscore._jit_cache import UNUSED_JIT_CACHE_S, prune_jit_caches
from riskscore._units import DAY_S
from riskscore.cli import main
from riskscore.exceptions import MissingExtraError
from riskscore.moderation import ReviewQueue
from riskscore.moderation.transparency import SYNTHETIC_DEMO_KEY
from riskscore.online.checkpoint import Snapshot
from riskscore.policy import Alert, Tier
from riskscore.regulatory import ExportFilter, decided_cases, statements_of_reasons
from riskscore.regulatory.dsa import StatementError

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z

# ---------------------------------------------------------------- Synapse without its extra


@pytest.mark.parametrize(
    ("module", "hidden"),
    [
        ("riskscore.integrations._synapse_sinks", "synapse"),
        ("riskscore.integrations._synapse_harness", "signedjson"),
    ],
)
def test_synapse_modules_without_the_extra_name_it(
    monkeypatch: pytest.MonkeyPatch, module: str, hidden: str
) -> None:
    """Was: ``import riskscore.integrations._synapse_sinks`` without Synapse raised a bare
    ``ModuleNotFoundError: No module named 'synapse.module_api'``, and the test homeserver
    of ``_synapse_harness`` one for ``signedjson`` when it wrote its signing key."""
    _hide(monkeypatch, hidden)
    _forget(monkeypatch, module)
    with pytest.raises(MissingExtraError, match=r"riskscore-metadata\[synapse\]") as info:
        importlib.import_module(module)
    assert info.value.extra == "synapse"
    assert hidden in str(info.value)


# ---------------------------------------------------------------- a decision after 2038


#: 2040-01-01T00:00:00Z: a simulated time past the DSA Transparency Database's last day.
T2040 = 2_208_988_800


def _queue_with_a_2040_decision(path: Path) -> Path:
    """Adult "a" actioned in 2026 (queue item 1), adult "b" actioned in 2040 (item 2)."""
    with ReviewQueue(path, simulation=True) as q:
        q.add_alert(Alert(1, "a", "c", 12.0, "under 13", 0.8, Tier.URGENT), at=T0)
        q.decide("a", "actioned", moderator="m", item_ids=[1], at=T0 + 60)
        q.add_alert(Alert(2, "b", "d", 12.0, "under 13", 0.8, Tier.URGENT), at=T2040)
        q.decide("b", "actioned", moderator="m", item_ids=[2], at=T2040 + 60)
    return path


def test_a_decision_after_2038_is_refused_naming_its_queue_item(tmp_path: Path) -> None:
    """Was: ``statement 1 (puid p_...): field 'application_date' is 2040-01-01, not between
    2020-01-01 and 2038-01-01``: the position among the statements and a pseudonym, neither
    of which leads to the decision in the queue, and no way out. The DSA Transparency
    Database's ``StatementStoreRequest`` takes no day after 2038-01-01, so the refusal
    stays; it now names the decision's queue item, the field and the day, and the period
    filter that leaves the decision out."""
    with ReviewQueue(_queue_with_a_2040_decision(tmp_path / "q.sqlite")) as q:
        cases = decided_cases(q.items())
    with pytest.raises(StatementError) as info:
        statements_of_reasons(cases, key=SYNTHETIC_DEMO_KEY)
    message = str(info.value)
    assert "'application_date' is 2040-01-01, not between 2020-01-01 and 2038-01-01" in message
    assert "queue item 2" in message
    assert "2040-01-01T00:01:00+00:00" in message  # the decision's time
    assert "--to" in message
    assert (info.value.column, info.value.row, info.value.value) == (
        "application_date",
        1,
        "2040-01-01",
    )
    # the decision left out by the period the message names: the export is written
    kept = decided_cases(cases[0].items, ExportFilter(end=T2040))
    assert len(statements_of_reasons(kept, key=SYNTHETIC_DEMO_KEY)) == 1


def test_the_export_command_refuses_a_decision_after_2038_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _queue_with_a_2040_decision(tmp_path / "q.sqlite")
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", str(SYNTHETIC_DEMO_KEY))
    out = tmp_path / "out"
    assert main(["export", "--db", str(db), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "queue item 2" in err
    assert "2040-01-01" in err
    assert not out.exists()  # nothing written
    assert main(["export", "--db", str(db), "--out", str(out), "--to", "2038-01-01"]) == 0


# ---------------------------------------------------------------- --chunk-rows and CSV


@pytest.mark.parametrize(
    ("name", "line", "fmt"),
    [
        ("events.csv", "conversation_id,timestamp,sender_id,recipient_id,channel\n", "CSV"),
        ("events.jsonl", '{"conversation_id": "c", "timestamp": 1767225600}\n', "JSON lines"),
        ("events.ndjson", '{"conversation_id": "c", "timestamp": 1767225600}\n', "JSON lines"),
    ],
)
@pytest.mark.parametrize("command", ["score", "policy tune"])
def test_chunk_rows_on_a_text_file_says_its_format_and_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, line: str, fmt: str,
    command: str,
) -> None:  # fmt: skip
    """Was: ``--chunk-rows streams Parquet files only, got 'events.csv'``: neither the
    format read nor what to do. The out-of-core chunker reads Parquet (its metadata,
    row groups and a sortedness scan); CSV and JSON lines are read whole by their own
    readers (every CSV cell as text), so the refusal stays and now says the way out."""
    events = tmp_path / name
    events.write_text(line, encoding="utf-8")
    out = ["--out", str(tmp_path / "out")] if command == "score" else []
    assert main([*command.split(), str(events), *out, "--chunk-rows", "10"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert f"--chunk-rows streams Parquet files only; {name!r} is a {fmt} file" in err
    assert "leave out --chunk-rows" in err
    assert "write_messages" in err


def test_chunk_rows_does_not_hide_an_unknown_suffix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An events file of no known suffix is refused for that, as without --chunk-rows."""
    events = tmp_path / "events.txt"
    events.write_text("conversation_id\n", encoding="utf-8")
    assert main(["score", str(events), "--out", str(tmp_path / "o"), "--chunk-rows", "9"]) == 2
    assert "cannot tell the format of 'events.txt'" in capsys.readouterr().err


# ---------------------------------------------------------------- one closing context manager


@pytest.mark.parametrize("cls", [ReviewQueue, Snapshot])
def test_closing_context_managers_share_one_definition(cls: type) -> None:
    """Was: ``ReviewQueue`` and the checkpoint's ``Snapshot`` each wrote ``__enter__``
    (returning the object, typed as the class, not ``Self``) and ``__exit__`` (calling
    ``close``) again; both now take them from ``riskscore._closing.ClosesOnExit``."""
    assert cls.__enter__.__qualname__ == "ClosesOnExit.__enter__"
    assert cls.__exit__.__qualname__ == "ClosesOnExit.__exit__"


def test_a_queue_in_a_with_block_is_itself_and_closed_after(tmp_path: Path) -> None:
    class Queue(ReviewQueue):
        pass

    with Queue(tmp_path / "q.sqlite") as q:
        assert type(q) is Queue
        assert len(q) == 0
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        len(q)


# ---------------------------------------------------------------- numba caches of other versions


#: Days since the last use of a directory left unused for long enough to prune.
OLD = UNUSED_JIT_CACHE_S / DAY_S + 30


def _aged(path: Path, days: float) -> Path:
    then = time.time() - days * DAY_S
    os.utime(path, (then, then), follow_symlinks=False)
    return path


def test_cache_dirs_of_other_versions_unused_for_long_are_pruned(tmp_path: Path) -> None:
    """Was: a read-only installation caches in ``~/.cache/numba/riskscore-<fingerprint>``,
    a new directory for each version (each change of the sources), and the earlier
    versions' directories were never deleted. Now those unused for long are, and only
    those: riskscore's names, this user's, never through a link."""
    user_cache = tmp_path / "numba"
    chosen = _aged(_cache_dir(user_cache / "riskscore-aaaaaaaaaaaaaaaa"), OLD + 30)
    old = _aged(_cache_dir(user_cache / "riskscore-bbbbbbbbbbbbbbbb"), OLD)
    in_use = _aged(_cache_dir(user_cache / "riskscore-cccccccccccccccc"), 2)  # another image
    elsewhere = _aged(_cache_dir(tmp_path / "elsewhere"), OLD)
    link = user_cache / "riskscore-dddddddddddddddd"
    link.symlink_to(elsewhere, target_is_directory=True)
    _aged(link, OLD)
    others = [
        _aged(_cache_dir(user_cache / name), OLD)
        for name in ("riskscore-numba-1000", "riskscore-BBBBBBBBBBBBBBBB", "mylib_0123")
    ]
    not_a_dir = user_cache / "riskscore-eeeeeeeeeeeeeeee"
    not_a_dir.write_text("")
    _aged(not_a_dir, OLD)

    assert prune_jit_caches(chosen) == ["riskscore-bbbbbbbbbbbbbbbb"]
    assert not old.exists()
    assert time.time() - chosen.stat().st_mtime < DAY_S  # marked used
    for kept in (chosen, in_use, elsewhere, link, not_a_dir, *others):
        assert kept.exists(), kept
    assert (elsewhere / "features_0" / "code.nbi").is_file()  # not through the link
    assert prune_jit_caches(chosen) == []


def test_placing_the_cache_prunes_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_cache = tmp_path / "numba"
    chosen = _cache_dir(user_cache / "riskscore-aaaaaaaaaaaaaaaa")
    old = _aged(_cache_dir(user_cache / "riskscore-bbbbbbbbbbbbbbbb"), OLD)
    monkeypatch.setattr(numba.core.config, "CACHE_DIR", "")  # restored after the test
    monkeypatch.setattr(jit_cache, "jit_cache_dir", lambda: chosen)
    monkeypatch.setattr(jit_cache, "seed_jit_cache", lambda _chosen: 0)
    assert jit_cache.place_jit_cache() == chosen
    assert not old.exists()


def _cache_dir(path: Path) -> Path:
    (path / "features_0").mkdir(parents=True)
    (path / "features_0" / "code.nbi").write_bytes(b"index")
    return path
