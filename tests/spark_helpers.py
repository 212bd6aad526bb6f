"""The local Spark session the tests share, and what each test file sets on it.

Starting a JVM and its Python workers costs about a minute on two busy cores, so a test
process starts one session (the ``spark_session`` fixture of tests/conftest.py) and every
Spark test of that process uses it: tests/test_spark.py, tests/test_spark_errors.py and
the Spark backend of tests/test_conformance.py. A file sets its own SQL settings for its tests with
:func:`runtime_conf`, which puts the previous values back afterwards.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from pyspark.sql import SparkSession

from riskscore.integrations._spark_errors import SPARK_HINT
from riskscore.integrations.spark import local_session
from riskscore.io.problems import QUARANTINE_HINT

JAVA_MISSING: Final = (
    "the Spark tests need a Java 17+ runtime, and none was found (no `java` on PATH and no "
    "JAVA_HOME): install one, e.g. `apt-get install -y openjdk-17-jre-headless`, then run "
    "`make test` (or `.venv/bin/pytest tests/test_spark.py`) again"
)

#: Settings fixed when the JVM starts (the same for every test file). The tests' jobs are
#: small and many: the JVM's first-tier compiler only and a serial collector keep it from
#: spending a core on optimising code it runs a few times (the Spark files ran 28 % faster,
#: 63 -> 45 s for nine conformance jobs, and the other test worker keeps its core). Nor
#: does it verify the bytecode of the classes it loads from Spark's jars (release jars of
#: the installed pyspark, not code under test): 4-5 of the ~35 CPU seconds a session and
#: its first six jobs take.
STARTUP_CONF: Final = {
    "spark.driver.memory": "1g",
    "spark.driver.extraJavaOptions": (
        "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC "
        "-XX:+UnlockDiagnosticVMOptions -XX:-BytecodeVerificationRemote"
    ),
}


def java() -> str | None:
    """The ``java`` a local session would run (``JAVA_HOME`` first), or None."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def shared_session() -> SparkSession:
    """A ``local[2]`` session with :data:`STARTUP_CONF` (the running one if any)."""
    return local_session(2, STARTUP_CONF)


@contextmanager
def runtime_conf(session: SparkSession, conf: Mapping[str, str]) -> Iterator[SparkSession]:
    """``session`` with the SQL settings ``conf``; the previous values are back on exit.

    Raises ``ValueError`` for a setting that only takes effect when the JVM starts (it
    belongs in :data:`STARTUP_CONF`).
    """
    fixed = [key for key in conf if not session.conf.isModifiable(key)]
    if fixed:
        raise ValueError(f"{fixed} cannot change in a running session: use STARTUP_CONF")
    previous = {key: session.conf.get(key, None) for key in conf}
    for key, value in conf.items():
        session.conf.set(key, value)
    try:
        yield session
    finally:
        for key, value in previous.items():
            if value is None:
                session.conf.unset(key)
            else:
                session.conf.set(key, value)


def as_on_spark(error: BaseException) -> str:
    """The message of ``error``, raised on one machine, as Spark raises it: the same but
    for its hint on the other bad rows (Spark has no ``errors='quarantine'``)."""
    return str(error).replace(QUARANTINE_HINT, SPARK_HINT)
