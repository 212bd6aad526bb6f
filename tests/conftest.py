"""What the whole test run shares: one Spark session, the order tests are sent in, and
the fixtures several test files use (the conformance streams, a trained and saved bundle).

``make test`` runs ``pytest -n 2 --dist loadfile --no-loadscope-reorder``: two worker
processes, each sent one test file at a time (a module's fixtures are computed once), in
the order of this collection.

- **Spark.** The files in :data:`SPARK_FILES` count as one file: one worker runs all of
  them, on one JVM and one session (the ``spark_session`` fixture). A test of another file
  that asks for the session is refused at collection (it would start a second JVM).
- **Order.** The slowest files are sent first (:data:`SLOWEST_FIRST`), so that the two
  workers finish together instead of one running a long file alone at the end.

- **Hypothesis.** Property tests draw the same examples on every run (profile
  ``deterministic``: ``derandomize``, no example database, no deadline on a shared 2-core
  machine), so that ``make test`` passes or fails the same way on every clone.
  ``HYPOTHESIS_PROFILE=explore`` draws 1,000 examples at random in each test that does
  not set its own number, for a search for new failures (``print_blob`` tells how to
  replay one).

(xdist's ``--dist loadgroup`` would group single tests, but with pytest 9.2 it does not:
xdist 3.8 tags a test's group on ``item._nodeid``, which pytest no longer reads.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, database=None, deadline=None)
settings.register_profile(
    "explore", max_examples=1_000, database=None, deadline=None, print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

#: Helper modules that hold assertions of the test files they were split from: pytest
#: rewrites their asserts as it does a test file's (so a failure shows the values). Before
#: any import of them.
pytest.register_assert_rewrite(
    "bundle_helpers",
    "cli_helpers",
    "conformance_cases",
    "conformance_helpers",
    "conformance_refusals",
    "conformance_streams",
    "features_helpers",
    "io_helpers",
    "io_hostile_helpers",
    "model_helpers",
    "online_helpers",
    "out_of_core_helpers",
    "synapse_helpers",
    "synthetic_helpers",
)

from bundle_helpers import small_model, trained_model
from conformance_cases import N_HUB_STREAMS, N_STREAMS
from conformance_streams import (
    Stream,
    draw_streams,
    event_streams,
)
from features_helpers import UncompiledKernel
from pyspark.sql import SparkSession
from spark_helpers import JAVA_MISSING, java, shared_session
from xdist.scheduler import LoadFileScheduling

import riskscore as rs
from riskscore.model import RiskModel, save_model

#: The files whose tests run on the shared Spark session: sent to one worker as one unit.
SPARK_FILES: Final = (
    "tests/test_conformance_spark.py",
    "tests/test_hostile_hr68d.py",
    "tests/test_spark.py",
    "tests/test_spark_errors.py",
    "tests/test_spark_review.py",
)
SPARK_UNIT: Final = "spark"

#: Units that take longest (``pytest --durations``, summed per file; a doctest module and a
#: notebook are units too), slowest first; the others follow in collection order, which
#: ends with the doctests and the notebooks. Sent first, they overlap with each other and
#: the many short files fill in around them; the run ends on short units only (with the
#: quickstart notebook and warm_up's doctest collected last, one worker ran their 13 s
#: alone at the end).
SLOWEST_FIRST: Final = (
    SPARK_UNIT,
    "tests/test_readme.py",
    "tests/test_conformance.py",
    "tests/test_stream.py",
    "tests/test_packaging.py",
    "tests/test_online.py",
    "tests/test_online_accounts.py",
    "tests/test_learning.py",
    "notebooks/02_evaluation.ipynb",
    "tests/test_online_hardening.py",
    "tests/test_synapse_homeserver.py",
    "tests/test_synapse_module.py",
    "tests/test_synapse.py",
    "tests/test_model.py",
    "tests/test_model_training.py",
    "tests/test_checkpoint_lock.py",
    "notebooks/03_moderation.ipynb",
    "tests/test_cli.py",
    "tests/test_out_of_core.py",
    "tests/test_shadow.py",
    "tests/test_synthetic.py",
    "tests/test_synthetic_worlds.py",
    "tests/test_synthetic_parameters.py",
    "tests/test_queue.py",
    "tests/test_bundle.py",
    "tests/test_bundle_fuzz.py",
    "tests/test_io_hostile_online.py",
    "tests/test_io_hostile.py",
    "notebooks/01_quickstart.ipynb",
    "tests/test_serve_process.py",
    "tests/test_hostile_review12.py",
    "tests/test_evaluation.py",
    "tests/test_out_of_core_hostile.py",
    "tests/test_serve_api.py",
    "tests/test_serve_browser.py",
    "tests/test_features_kernel.py",
    "tests/test_features_table.py",
    "tests/test_jit_cache.py",
    "tests/test_regulatory_export.py",
    "tests/test_transparency.py",
    "tests/test_hostile_review12_outputs.py",
    "tests/test_checkpoint.py",
    "tests/test_alert_json.py",
    "riskscore/warmup.py",
    "riskscore/model/training.py",
    "riskscore/evaluation/plots.py",
    "riskscore/evaluation/evaluator.py",
)


def unit_of(nodeid: str) -> str:
    """The unit of work a test is sent in: its file, or ``spark`` for :data:`SPARK_FILES`."""
    file = nodeid.split("::", 1)[0]
    return SPARK_UNIT if file in SPARK_FILES else file


class SparkFilesTogether(LoadFileScheduling):
    """``--dist loadfile``, with the files of :data:`SPARK_FILES` one unit."""

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadFileScheduling | None:
    if config.getvalue("dist") != "loadfile":
        return None
    return SparkFilesTogether(config, log)


@pytest.fixture(scope="session")
def spark_session() -> Iterator[SparkSession]:
    """The local session every Spark test of this process shares (skipped without Java);
    a test file sets its SQL settings with ``spark_helpers.runtime_conf``."""
    if java() is None:
        pytest.skip(JAVA_MISSING)
    session = shared_session()
    yield session
    session.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {unit: i for i, unit in enumerate(SLOWEST_FIRST)}
    for item in items:
        on_spark = "spark_session" in getattr(item, "fixturenames", ())
        if on_spark and unit_of(item.nodeid) != SPARK_UNIT:
            raise pytest.UsageError(
                f"{item.nodeid} uses the shared Spark session: add its file to "
                "SPARK_FILES in tests/conftest.py (one worker runs them all on one JVM)"
            )
    items.sort(key=lambda item: rank.get(unit_of(item.nodeid), len(rank)))  # stable


# ------------------------------------------------- the conformance suite's streams
# (tests/test_conformance.py and tests/test_conformance_spark.py draw the same ones)


@pytest.fixture(scope="module")
def uncompiled() -> Iterator[UncompiledKernel]:
    """A worker process running the event kernel's Python source without numba."""
    worker = UncompiledKernel()
    assert worker.jit_off, "the reference worker must run the kernel without numba"
    yield worker
    worker.close()


@pytest.fixture(scope="module")
def streams() -> tuple[Stream, ...]:
    return draw_streams(event_streams(), N_STREAMS)


@pytest.fixture(scope="module")
def hub_streams() -> tuple[Stream, ...]:
    return draw_streams(event_streams(hub=True), N_HUB_STREAMS)


# ------------------------------------------------- the model bundle's fixtures
# (tests/test_bundle.py, test_bundle_fuzz.py and test_bundle_shipped.py share them; each
# file computes them once, as its own module-scoped fixtures did)


@pytest.fixture(scope="module")
def trained() -> tuple[RiskModel, rs.FeatureTable]:
    return trained_model()


@pytest.fixture(scope="module")
def saved(
    tmp_path_factory: pytest.TempPathFactory, trained: tuple[RiskModel, rs.FeatureTable]
) -> Path:
    return save_model(trained[0], tmp_path_factory.mktemp("saved") / "bundle")


@pytest.fixture(scope="module")
def small_saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved bundle of a model of 45 stumps: the same parameter fields as a trained one
    (a test checks), in a thirtieth of the bytes, for the tests that edit every field."""
    return save_model(small_model(), tmp_path_factory.mktemp("small") / "b")
