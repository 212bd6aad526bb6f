"""riskscore's errors found in Spark tasks, handed to the driver as data (private; no
pyspark import).

A task that raises fails the job, and the driver gets Spark's ``PythonException`` (or a
``Py4JJavaError`` around it) with the task's traceback in its text, not the
:class:`~riskscore.SchemaError` that :func:`riskscore.read_messages` raises in memory.
So a stage that reads events catches a :class:`~riskscore.RiskscoreError` of a block,
yields it as one row (:data:`~riskscore.integrations._spark_columns.ERROR`: its class
name, message and attributes, as JSON) and goes on with the other blocks; the driver
collects these rows and raises, with :func:`raised`, what the whole input raises in
memory: the same type, the first bad row in input order, the bad rows of every block
counted. A refused value travels as the error holds it: text that may be message
content is a :class:`~riskscore.io.raw.NotShown` (its length only), never the text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, Final

from riskscore import exceptions
from riskscore.exceptions import RiskscoreError, SchemaError
from riskscore.io.problems import bad_row_count, renumbered
from riskscore.io.raw import NotShown, as_python_value

__all__ = ["error_json", "error_payload", "raised"]

#: What a Spark user can do with the bad rows an error counts (in place of
#: :data:`~riskscore.io.problems.QUARANTINE_HINT`: Spark has no ``errors='quarantine'``).
SPARK_HINT: Final = (
    "Spark has no errors='quarantine': filter them out of the events DataFrame before "
    "scoring it (docs/spark.md)"
)


def _encoded(value: object) -> list[Any]:
    """An attribute as JSON, tagged: a plain value, a :class:`NotShown` (its length), or
    the text of anything else."""
    value = as_python_value(value)
    if isinstance(value, NotShown):
        return ["not_shown", [value.n_chars, value.unit]]
    if value is None or isinstance(value, (bool, int, float, str)):
        return ["value", value]
    return ["text", str(value)]


def _decoded(tagged: list[Any]) -> object:
    tag, value = tagged
    return NotShown(int(value[0]), str(value[1])) if tag == "not_shown" else value


def error_payload(error: RiskscoreError) -> dict[str, Any]:
    """``error`` as data: its class name, its message and its attributes (for a
    :class:`~riskscore.SchemaError`, column, row, value and line)."""
    return {
        "type": type(error).__name__,
        "message": str(error),
        "attributes": {name: _encoded(value) for name, value in vars(error).items()},
    }


def error_json(error: RiskscoreError) -> str:
    """:func:`error_payload` as JSON text, the value of the ``ERROR`` column."""
    return json.dumps(error_payload(error))


def _restored(payload: dict[str, Any]) -> RiskscoreError:
    """The error of :func:`error_payload`: a class of :mod:`riskscore.exceptions` only."""
    name = payload["type"]
    cls = getattr(exceptions, name, None) if name in exceptions.__all__ else None
    if not (isinstance(cls, type) and issubclass(cls, RiskscoreError)):
        raise ValueError(f"a Spark task reported {name!r}, which is not a riskscore error")
    error = cls.__new__(cls, payload["message"])
    error.args = (payload["message"],)
    error.__dict__.update({k: _decoded(v) for k, v in payload["attributes"].items()})
    return error


def raised(payloads: Iterable[str], position: Callable[[int], int] | None = None) -> RiskscoreError:
    """The error the whole input raises, given the errors of its refused blocks (JSON of
    :func:`error_payload`, at least one).

    Errors that name a row (the validator's, each the first bad row of its block) come
    first, as the validator runs before any other check: the one of the least row,
    renumbered by ``position`` (a row as the task named it, to its 0-based position in
    the input; the same when None) and counting the bad rows of every block, with
    :data:`SPARK_HINT` for them. Otherwise the least message, so that a job raises the
    same error whichever task ran first.
    """
    errors = [_restored(json.loads(text)) for text in payloads]
    located = [e for e in errors if isinstance(e, SchemaError) and e.row is not None]
    if not located:
        return min(errors, key=str)
    first = min(located, key=lambda e: int(e.row or 0))
    row = int(first.row or 0)
    return renumbered(
        first,
        row=row if position is None else position(row),
        bad_rows=sum(bad_row_count(e) for e in located),
        hint=SPARK_HINT,
    )
