"""The policy's one error type: :class:`PolicyFileError`, naming the key that is wrong.

Raised by every reader of a policy (a TOML file, the Synapse module's
``policy:`` block, any mapping given to :meth:`AlertPolicy.from_mapping`), so a
mistake gives the same message wherever the policy was written.
"""

from __future__ import annotations

from riskscore.exceptions import RiskscoreError

__all__ = [
    "PolicyFileError",
]


def key_of(path: tuple[str | int, ...]) -> str:
    """A key path as written in messages: ``("bands", 0, "review")`` -> ``bands[0].review``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class PolicyFileError(RiskscoreError, ValueError):
    """An alert policy that cannot be used, with the key to blame and how to fix it.

    Parameters
    ----------
    reason : str
        What was expected, what was found and how to fix it.
    path : tuple of str and int, optional
        Where in the policy the problem is, e.g. ``("bands", 0, "review")``.
    source : str, optional
        The file (or configuration block) the policy came from.

    Attributes
    ----------
    reason : str
        The message without its source and key.
    path : tuple of str and int
        The key path (empty when the policy as a whole is at fault).
    key : str or None
        ``path`` as written in messages, e.g. ``bands[0].review``.
    source : str
        As given.

    Examples
    --------
    >>> from riskscore import PolicyFileError
    >>> err = PolicyFileError("missing", path=("bands", 0, "review"), source="mine.toml")
    >>> str(err)
    "mine.toml: key 'bands[0].review': missing"
    >>> err.key, err.reason
    ('bands[0].review', 'missing')
    """

    def __init__(self, reason: str, *, path: tuple[str | int, ...] = (), source: str = "") -> None:
        self.reason = reason
        self.path = path
        self.key = key_of(path) if path else None
        self.source = source
        where = f"{source}: " if source else ""
        at = f"key {self.key!r}: " if self.key else ""
        super().__init__(f"{where}{at}{reason}")
