"""The error of the Synapse module's configuration (private)."""

from __future__ import annotations

__all__ = ["SynapseConfigError"]


class SynapseConfigError(ValueError):
    """A configuration value that is missing or wrong.

    Parameters
    ----------
    msg : str
        What was expected, what was found and how to fix it.
    path : tuple of str
        Where in the module's ``config:`` block the problem is.
    """

    def __init__(self, msg: str, path: tuple[str, ...]) -> None:
        super().__init__(f"{'.'.join(path)}: {msg}" if path else msg)
        self.msg = msg
        self.path = path
