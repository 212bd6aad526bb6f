"""What the tests of the command line share."""

from __future__ import annotations

import pytest


def _one_line_error(capsys: pytest.CaptureFixture[str], command: str) -> str:
    """The one line a command wrote to stderr on an error (exit 2), never a traceback."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"riskscore {command}: error: ")
    assert "Traceback" not in err
    return err
