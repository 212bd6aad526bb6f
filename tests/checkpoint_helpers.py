"""What tests of hand-edited online checkpoints share: :func:`reseal`, the checksums of a
checkpoint written again after its rows were changed with plain SQL, as someone who edits
the file on purpose would (the checksums guard against damage, not intent), so that the
checks behind them are reached."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import riskscore.online.checkpoint as checkpoint_file


def reseal(path: Path) -> None:
    """Write the ``checksums`` meta entry of the checkpoint at ``path`` for its rows as
    they are now stored (the digests of :mod:`riskscore.online.checkpoint`)."""
    with closing(sqlite3.connect(path)) as con, con:
        meta = {str(k): str(v) for k, v in con.execute("SELECT key, value FROM meta")}
        sums = {"meta": checkpoint_file._meta_checksum(meta)}
        for table in ("conversations", "accounts"):
            digest = checkpoint_file._Digest()
            for key, state in con.execute(f"SELECT id, state FROM {table} ORDER BY pos"):
                digest.add(key, state)
            sums[table] = digest.restart()
        con.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('checksums', ?)",
            (json.dumps(sums, separators=(",", ":")),),
        )
