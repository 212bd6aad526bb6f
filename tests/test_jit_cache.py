"""numba's cache of riskscore's compiled functions is cleared when a source changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import riskscore
from riskscore import warmup
from riskscore._jit_cache import COMPILED_SUBPACKAGES, STAMP_NAME, clear_stale_jit_caches

PACKAGE = Path(riskscore.__file__).resolve().parent


def _package(tmp_path: Path) -> Path:
    package = tmp_path / "pkg"
    for name in COMPILED_SUBPACKAGES:
        (package / name / "__pycache__").mkdir(parents=True)
        (package / name / "code.py").write_text("x = 1\n")
    return package


def _cache(package: Path, name: str = "features") -> Path:
    cached = package / name / "__pycache__" / "code.f-1.py311.nbi"
    cached.write_bytes(b"index")
    return cached


def test_caches_from_unknown_sources_are_deleted_then_kept(tmp_path: Path) -> None:
    package = _package(tmp_path)
    stale = _cache(package)
    assert clear_stale_jit_caches(package) == 1  # no record of their sources: stale
    assert not stale.exists()
    assert (package / "__pycache__" / STAMP_NAME).is_file()
    fresh = _cache(package)
    assert clear_stale_jit_caches(package) == 0
    assert fresh.exists()


def test_an_edit_in_another_module_clears_every_cache(tmp_path: Path) -> None:
    package = _package(tmp_path)
    clear_stale_jit_caches(package)
    caller = _cache(package, "features")
    tree_walk = _cache(package, "model")
    # The callee changes in another subpackage: the caller's cache is stale too.
    (package / "online" / "code.py").write_text("x = 2  # edited\n")
    assert clear_stale_jit_caches(package) == 2
    assert not caller.exists()
    assert not tree_walk.exists()


def test_a_touched_file_counts_as_changed(tmp_path: Path) -> None:
    package = _package(tmp_path)
    clear_stale_jit_caches(package)
    cached = _cache(package, "io")
    source = package / "io" / "code.py"
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert clear_stale_jit_caches(package) == 1
    assert not cached.exists()


def test_a_missing_package_is_not_an_error(tmp_path: Path) -> None:
    assert clear_stale_jit_caches(tmp_path / "absent") == 0


def test_every_compiled_module_is_in_a_fingerprinted_subpackage() -> None:
    compiled = {
        path.relative_to(PACKAGE).parts[0]
        for path in PACKAGE.rglob("*.py")
        if "numba.njit" in path.read_text(encoding="utf-8")
    }
    assert compiled <= set(COMPILED_SUBPACKAGES), compiled - set(COMPILED_SUBPACKAGES)


def test_nothing_compiled_runs_on_import() -> None:
    # The caches are checked at the end of ``import riskscore``: nothing may load one before.
    code = (
        "import sys, riskscore\n"
        "from numba.core.registry import CPUDispatcher\n"
        "print(sorted(f'{n}.{a}' for n, m in list(sys.modules.items())"
        " if n.startswith('riskscore') for a, o in vars(m).items()"
        " if isinstance(o, CPUDispatcher) and o.signatures))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_after_warm_up_the_batch_online_and_out_of_core_paths_compile_nothing_more(
    tmp_path: Path,
) -> None:
    # Another table than the warm-up's (text ids, a DataFrame, a Parquet file read in
    # chunks, JSON lines, a request body's deep element): every kernel those paths run
    # must already be in the cache warm_up left.
    code = f"""
import numba.core.event as ev
import riskscore as rs
from riskscore.batch.out_of_core import score_parquet
from riskscore.warmup import warm_up
with ev.install_recorder("numba:compile") as warming:  # compiles only if the cache is cold
    warm_up()
with ev.install_recorder("numba:compile") as compiled:
    data = rs.synthetic.generate(40, prevalence=0.3, seed=5)
    frame = data.messages.to_pandas()
    frame["sender_id"] = "u" + frame["sender_id"].astype(str)
    frame["recipient_id"] = "u" + frame["recipient_id"].astype(str)
    msgs = rs.read_messages(frame)
    model = rs.load_model()
    rs.AlertPolicy.default().alerts(model.score(msgs, reasons_above=0.0))
    data.write({str(tmp_path)!r})
    score_parquet({str(tmp_path / "events.parquet")!r}, {str(tmp_path / "out")!r}, chunk_rows=500)
    scorer = rs.OnlineScorer(model, time_source="events")
    scorer.update_many(msgs.iter_events())
    rs.write_messages(msgs, {str(tmp_path / "events.jsonl")!r})
    rs.read_messages({str(tmp_path / "events.jsonl")!r})
    from riskscore.io.json_nesting import nested_value_end
    nested_value_end("[" * 70 + "]" * 70, 0)
def name(f):
    return f"{{f.__module__}}.{{f.__qualname__}}"
functions = (e.data["dispatcher"].py_func for _, e in compiled.buffer)
print(sorted({{name(f) for f in functions if f.__module__.startswith("riskscore")}}))
import gc
from numba.core import types
from numba.core.registry import CPUDispatcher
# Signatures a compiled caller made (a callee compiled inside another's compilation): a
# function called from two compiled callers with other types has two by design.
nested, depth = set(), 0
for _, e in warming.buffer:
    if e.is_start:
        if depth:
            nested.add((id(e.data["dispatcher"]), tuple(e.data["args"])))
        depth += 1
    else:
        depth -= 1
def writable(signature):  # a signature with every array writable
    return tuple(t.copy(readonly=False) if isinstance(t, types.Array) else t for t in signature)
def twice(d):  # called from Python with read-only and with writable arrays
    called = [s for s in d.signatures if (id(d), tuple(s)) not in nested]
    return len({{writable(s) for s in called}}) < len(called)
print(sorted(name(d.py_func) for d in gc.get_objects() if isinstance(d, CPUDispatcher)
             and d.py_func.__module__.startswith("riskscore") and twice(d)))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    after_warm_up, several_signatures = out.stdout.splitlines()
    assert after_warm_up == "[]", f"compiled after warm_up: {after_warm_up}"
    # Read-only and writable inputs are two signatures, each compiled: riskscore._read_only.
    assert several_signatures == "[]", f"compiled for read-only and writable: {several_signatures}"


def test_warm_up_without_a_temporary_directory_warms_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Was (packaging review): with no usable temporary directory (a read-only machine),
    ``riskscore warmup`` failed on the files it scores, where it promises to say that
    nothing is cached. It warms the rest; out of core (which needs one) and JSON lines
    compile on first use."""

    def no_temp() -> str:
        raise FileNotFoundError("No usable temporary directory found")

    monkeypatch.setattr(warmup.tempfile, "tempdir", None)  # tempfile's own cached choice
    monkeypatch.setattr(warmup.tempfile, "_get_default_tempdir", no_temp)
    assert warmup._warm_batch() > 0
