"""A console account as the service knows it: its name, role and session generation, read
back from the queue file's ``moderators`` table (:mod:`riskscore.serve.accounts`) as
riskscore writes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from riskscore.io.raw import show
from riskscore.moderation.cases import QueueError
from riskscore.moderation.queue_rows import CHANGED_OUTSIDE

__all__ = ["Moderator", "Role"]


class Role(StrEnum):
    """What a console account may do."""

    MODERATOR = "moderator"
    LEAD = "lead"


_ROLES = frozenset(r.value for r in Role)


@dataclass(frozen=True, slots=True)
class Moderator:
    """A signed-in console user.

    Attributes
    ----------
    name : str
    role : Role
    session : int
        The account's session generation: a session cookie signed with another one
        (before the account was last changed, removed or signed out) is void.
    """

    name: str
    role: Role
    session: int = field(default=0, repr=False)

    @property
    def is_lead(self) -> bool:
        """Whether the account may assign cases and read the audit log."""
        return self.role is Role.LEAD

    @classmethod
    def stored(cls, name: str, role: object, session: object) -> Moderator:
        """The account of a ``moderators`` row, its role and session generation checked as
        riskscore writes them: a :class:`QueueError` naming the account, the column and
        the value for any other (a session of ``'x'`` was a bare error on every page, one
        of ``0.5`` read as generation 0).

        Examples
        --------
        >>> Moderator.stored("mod-1", "lead", 3).is_lead
        True
        >>> Moderator.stored("mod-1", "admin", 3)
        Traceback (most recent call last):
        ...
        riskscore.moderation.cases.QueueError: moderator account 'mod-1': column 'role' is \
'admin', expected moderator or lead (the file was changed outside riskscore)
        """
        for column, value, ok, expected in (
            ("role", role, role in _ROLES, "moderator or lead"),
            ("session", session, type(session) is int and session >= 0, "an int >= 0"),
        ):
            if not ok:
                raise QueueError(
                    f"moderator account {show(name)}: column {column!r} is {show(value)}, "
                    f"expected {expected} ({CHANGED_OUTSIDE})"
                )
        assert isinstance(session, int)
        return cls(name, Role(str(role)), session)
