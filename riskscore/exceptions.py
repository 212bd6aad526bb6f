"""Exceptions raised by riskscore.

Every error a user can cause derives from :class:`RiskscoreError`, so a backend
can catch one type. Messages say what was expected, what was found (column,
row, value) and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from riskscore._words import plural

__all__ = [
    "CheckpointError",
    "ConfigurationError",
    "MissingExtraError",
    "ModelIntegrityError",
    "NotFittedError",
    "RiskscoreError",
    "SchemaError",
    "hold_alerts",
    "one_line",
]


class RiskscoreError(Exception):
    """Base class of every error riskscore raises on purpose."""


class SchemaError(RiskscoreError, ValueError):
    """Input events do not follow the message schema (v1).

    Attributes
    ----------
    column : str or None
        The offending column, when one is to blame.
    row : int or None
        0-based position of the offending row in the input as given.
    value : object
        The offending value, as found.
    line : int or None
        1-based line of the offending row in a CSV (the header is line 1) or JSON lines
        file; None for other inputs.
    bad_rows : int or None
        How many rows of the input break the schema (this one and the others the message
        counts), when the validator counted them; None otherwise.
    alerts : tuple of riskscore.policy.Alert
        Raised by :meth:`riskscore.OnlineScorer.update_many`: the alerts of the events it
        applied before the refused one (they stay applied, and their conversations count
        as alerted); empty otherwise. (``update_many`` sets the same attribute on any
        other exception raised while it runs.)
    """

    def __init__(
        self,
        message: str,
        *,
        column: str | None = None,
        row: int | None = None,
        value: object = None,
        line: int | None = None,
        bad_rows: int | None = None,
    ) -> None:
        super().__init__(message)
        self.column = column
        self.row = row
        self.value = value
        self.line = line
        self.bad_rows = bad_rows
        # Alerts (riskscore.policy.Alert), typed loosely: the exceptions sit below every
        # subpackage, and naming the policy's class here would tie them in a circle.
        self.alerts: tuple[Any, ...] = ()


class ConfigurationError(RiskscoreError, ValueError):
    """A setting riskscore reads from the environment (``RISKSCORE_NUM_THREADS``) has a value
    it cannot use; the message names the variable and the value. Raised wherever the
    setting is first read, never taken for an error of the input being read then."""


class ModelIntegrityError(RiskscoreError):
    """A model bundle failed verification (missing file, hash mismatch, bad manifest)."""


class NotFittedError(RiskscoreError, AttributeError):
    """A model was used before it was trained or loaded."""


class CheckpointError(RiskscoreError):
    """An online checkpoint cannot be restored: not a checkpoint, another version, a
    corrupted file (``PRAGMA integrity_check`` fails) or rows of the wrong shape."""


class MissingExtraError(RiskscoreError, ImportError):
    """What was asked for needs an optional extra that is not installed.

    The message names the extra to install (``pip install 'riskscore-metadata[serve]'``).
    An :class:`ImportError` too, so ``except ImportError`` around an import still catches it.

    Attributes
    ----------
    extra : str
        The extra of ``riskscore-metadata`` to install (``"plots"``, ``"serve"``, ...).
    """

    def __init__(self, message: str, *, extra: str, name: str | None = None) -> None:
        super().__init__(message, name=name)
        self.extra = extra


def one_line(text: str, limit: int = 300) -> str:
    """An error message on one line, cut at ``limit`` characters (the length said).

    For messages echoed per input line or per event (``riskscore stream``, the API).

    Examples
    --------
    >>> one_line("bad\\nvalue", limit=5)
    'bad v... (9 characters)'
    """
    text = text.replace("\n", " ")
    if len(text) > limit:
        return text[:limit] + f"... ({len(text)} characters)"
    return text


def hold_alerts(exc: BaseException, alerts: Sequence[Any]) -> None:
    """Give ``exc``, raised part way through a run of events, the alerts raised before it
    as ``alerts`` (:attr:`SchemaError.alerts`; another exception, the caller's own such as
    an ``OSError`` from its source of events, gets the attribute and a note saying so).

    Examples
    --------
    >>> exc = OSError("the broker went away")
    >>> hold_alerts(exc, ["alert"])
    >>> exc.alerts, exc.__notes__
    (('alert',), ["riskscore: the events before this stay applied; the 1 alert they raised \
is in this exception's 'alerts' attribute (never raised again)"])
    """
    exc.alerts = tuple(alerts)  # type: ignore[attr-defined]
    if not isinstance(exc, SchemaError):
        exc.add_note(
            f"riskscore: the events before this stay applied; the {plural(len(alerts), 'alert')} "
            f"they raised {'is' if len(alerts) == 1 else 'are'} in this exception's 'alerts' "
            "attribute (never raised again)"
        )
