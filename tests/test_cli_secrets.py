"""The command line reads every secret from the environment by one rule
(:func:`riskscore.keys.secret_from_environment`) and names a key in its errors by one
rule (:func:`riskscore.keys.key_source`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskscore.cli import main
from riskscore.cli.serve import _report_key


def test_add_moderator_refuses_an_empty_password_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``--password-env`` read the variable by hand, so one set but empty (a secret
    that did not reach the process) was taken as the password itself ("the password has 0
    characters"), not refused as every other secret is."""
    monkeypatch.setenv("RISKSCORE_TEST_PASSWORD", "")
    db = tmp_path / "queue.sqlite"
    argv = ["serve", "--db", str(db), "--add-moderator", "m1"]
    assert main([*argv, "--password-env", "RISKSCORE_TEST_PASSWORD"]) == 2
    assert "RISKSCORE_TEST_PASSWORD is set but empty" in capsys.readouterr().err


def test_serve_names_the_report_key_as_report_and_export_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: ``RISKSCORE_REPORT_KEY has 5 bytes`` under ``riskscore serve``, ``the key in the
    environment variable RISKSCORE_REPORT_KEY has 5 bytes`` under report and export."""
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", "short")
    with pytest.raises(ValueError, match=r"^the key in the environment variable RISKSCORE_REP"):
        _report_key(tmp_path / "queue.sqlite")
