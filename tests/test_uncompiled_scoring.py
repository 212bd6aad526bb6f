"""Scoring runs uncompiled too (``NUMBA_DISABLE_JIT=1``), to the same bits.

The compiled functions' plain-Python source is the reference the tests compare with
(issue 14); the feature kernel's is checked in tests/test_conformance.py. This checks the
rest of a score, batch and online: the exit-leaf margin (``riskscore.model.exit_leaves``),
the calibration and the online scorer's bounds, which once reached for ``.py_func`` (absent
without compilation) and a de Bruijn product numpy warns about in plain Python.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import riskscore as rs
from riskscore.synthetic import generate

#: Run in a child process with NUMBA_DISABLE_JIT=1 (from tests/, importing this module).
_SCRIPT = """
import json, warnings
warnings.simplefilter("error")
import numba
from test_uncompiled_scoring import scored
print(json.dumps({"jit_off": bool(numba.config.DISABLE_JIT), **scored()}))
"""


def scored() -> dict[str, list[str]]:
    """Batch and online risks of a seeded stream (online: after each event), as hex."""
    data = generate(8, prevalence=0.25, seed=5)
    model = rs.load_model()
    batch = model.predict_proba(rs.extract_features(data.messages))
    scorer = rs.OnlineScorer(model, rs.AlertPolicy.default())
    online = []
    for event in data.messages.iter_events():
        scorer.update_one(event)
        online.append(scorer.score_of(event["conversation_id"]))
    return {
        "batch": [float(x).hex() for x in batch],
        "online": [float(x).hex() for x in online],
    }


def test_batch_and_online_scores_run_uncompiled_to_the_same_bits() -> None:
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "RISKSCORE_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parent,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    uncompiled = json.loads(done.stdout)
    assert uncompiled.pop("jit_off") is True
    compiled = scored()
    assert len(compiled["online"]) > 100
    assert uncompiled == compiled
