"""Defects fixed on branch hr69b (hostile review of the Synapse module on a real
homeserver, where nothing may block Twisted's reactor thread): a checkpoint that failed at
shutdown escaped to Twisted's log as a traceback and stopped the shutdown's last steps.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from synapse_helpers import _run
from test_hostile_hr68h import _chat, _sinks


def _checkpoint_made_unwritable(tmp_path: Path) -> Path:
    """The scorer checkpoint's place taken by a directory (as a full disk or a state_dir
    made read-only fails the write)."""
    path = tmp_path / "s" / "scorer.checkpoint"
    path.unlink(missing_ok=True)
    path.mkdir()
    return path


def test_a_final_checkpoint_that_fails_is_one_line_and_the_shutdown_ends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: ``IsADirectoryError`` (a full disk alike) raised out of ``_before_shutdown``:
    Twisted logged a traceback, and the room state file was not closed nor the
    shutdown's counts logged. Now one line names the file and what is lost."""
    module, _, _ = _sinks(tmp_path)
    _chat(module)
    path = _checkpoint_made_unwritable(tmp_path)
    with caplog.at_level(logging.INFO, logger="riskscore.integrations.synapse"):
        module._before_shutdown()
    (line,) = [r for r in caplog.records if "failed" in r.getMessage()]
    assert line.getMessage().startswith(f"riskscore: checkpoint to {path} failed: {path} is a")
    assert "since the last checkpoint is lost (the server is stopping)" in line.getMessage()
    assert not any(r.exc_info for r in caplog.records)
    assert any("stopped after 14 room events" in r.getMessage() for r in caplog.records)


def test_a_periodic_checkpoint_that_fails_is_one_line_and_tried_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: a traceback in the log at every checkpoint interval (``logger.exception``)
    while the disk stayed full; now one line, as ``riskscore serve`` logs it."""
    module, _, _ = _sinks(tmp_path)
    _chat(module)
    module._process(100)
    path = _checkpoint_made_unwritable(tmp_path)
    with caplog.at_level(logging.ERROR, logger="riskscore.integrations.synapse"):
        _run(module._checkpoint_in_thread())
    (line,) = caplog.records
    assert line.getMessage().startswith(f"riskscore: checkpoint to {path} failed: ")
    assert line.getMessage().endswith("; tried again in 60 s")
    assert not line.exc_info
    assert module._dirty
