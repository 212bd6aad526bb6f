"""The error raised for a vignette file that cannot be read (names the file and the key)."""

from __future__ import annotations

from riskscore.exceptions import RiskscoreError

__all__ = ["VignetteFileError"]


class VignetteFileError(RiskscoreError, ValueError):
    """A vignette file that cannot be read.

    Attributes
    ----------
    source : str
        The file's name.
    key : str or None
        The offending entry, e.g. ``"conversations[0].phases[1].shares"``.
    """

    def __init__(self, message: str, *, source: str, key: str | None = None) -> None:
        at = f" key {key!r}:" if key else ""
        super().__init__(f"{source}:{at} {message}")
        self.source = source
        self.key = key
