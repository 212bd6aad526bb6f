"""riskscore.batch.accounts: where the account features file may be written."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from riskscore.batch.accounts import account_features_file


def test_an_output_that_is_a_loop_of_links_is_an_error_of_the_system(tmp_path: Path) -> None:
    """Was: the check that the output is not inside the events directory followed links
    with :meth:`Path.resolve` itself, so a loop of links was Python 3.11's RuntimeError (a
    traceback) instead of the ELOOP error naming the path that
    :func:`riskscore.io.files.real_path` gives every other path check."""
    events = tmp_path / "events"
    events.mkdir()
    loop = events / "loop.parquet"
    loop.symlink_to(loop)
    with pytest.raises(OSError, match=r"loop\.parquet") as info:
        account_features_file(events, loop)
    assert info.value.errno == errno.ELOOP
