"""What one ``riskscore serve`` process is configured with."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from argon2 import PasswordHasher

from riskscore._checks import check_seconds, check_whole
from riskscore.io.raw import show
from riskscore.moderation.cases import check_platform
from riskscore.online import OnlineScorer
from riskscore.policy import AlertPolicy

__all__ = [
    "DEFAULT_BODY_TIMEOUT_S",
    "Part",
    "ServeConfig",
    "check_api_token",
    "check_header_name",
]

#: Seconds a client has to send a whole request body once its headers are in; past
#: that the request is answered 408 and the connection closed. A client that declares a
#: large body and trickles it a byte at a time would otherwise hold its connection and
#: buffer forever. 60 s takes the 16 MiB default limit at 280 KB/s.
DEFAULT_BODY_TIMEOUT_S = 60.0


def check_api_token(token: str, *, source: str = "api_token") -> str:
    """An API token a client can send as it is set: visible ASCII characters (letters,
    digits and punctuation), no white space.

    HTTP strips white space from a header's ends, and hands the service a header's bytes
    as Latin-1: a token of other characters matches only when a client sends them in
    Latin-1, never as set (in UTF-8), so every request would be refused 401.

    Raises
    ------
    ValueError
        Naming ``source`` and the kind of character, never the token.

    Examples
    --------
    >>> check_api_token("k3y-of.synthetic_tests~+/=")
    'k3y-of.synthetic_tests~+/='
    """
    bad = next((c for c in token if not "!" <= c <= "~"), None)
    if bad is not None or not token:
        kind = "is empty" if bad is None else f"holds the character U+{ord(bad):04X}"
        raise ValueError(
            f"{source} {kind}: an API token must be visible ASCII characters (letters, digits, "
            "punctuation; no spaces), as clients send it in 'Authorization: Bearer TOKEN'; "
            'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    return token


#: An HTTP field name (RFC 9110, section 5.1: a token).
_FIELD_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def check_header_name(name: str, *, source: str = "trusted_header") -> str:
    """A request header name as HTTP writes it: a token of letters, digits and
    ``!#$%&'*+-.^_`|~``. A name with a space, a colon or other characters, or an empty
    one, is in no request: with it as the single sign-on header no one could sign in.

    Raises
    ------
    ValueError
        Naming ``source`` and the name.

    Examples
    --------
    >>> check_header_name("X-Remote-User")
    'X-Remote-User'
    >>> check_header_name("X Remote User")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: trusted_header is not an HTTP header name, got 'X Remote User': ...
    """
    if _FIELD_NAME.fullmatch(name) is None:
        raise ValueError(
            f"{source} is not an HTTP header name, got {show(name)}: letters, digits and "
            "!#$%&'*+-.^_`|~, no spaces or colon (such as X-Remote-User); no request "
            "carries such a header, so no one could sign in"
        )
    return name


class Part(StrEnum):
    """Which routes a process serves."""

    ALL = "all"  # the scoring API and the console
    API = "api"  # /v1/*, /healthz, /metrics
    CONSOLE = "console"  # /console/*, /healthz (no scorer)


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """Settings of one service process (see ``riskscore serve --help`` for each).

    Attributes
    ----------
    db : Path
        The review queue's SQLite file (also holds the console's accounts).
    scorer : callable
        Makes the scorer at start-up: restored from ``checkpoint`` when that file
        exists, else new.
    policy : AlertPolicy
        The alert policy (age bands for user reports, tiers).
    checkpoint : Path or None
        Where the scorer's state is saved on a schedule and at shutdown.
    timeline : Path or None
        The events' metadata for the case page's plots (None: not kept).
    session_key : bytes
        Signs session cookies and CSRF tokens (32+ bytes).
    password_hasher : argon2.PasswordHasher or None
        For the dummy hash checked when a name has no account (default parameters
        when None); stored hashes are checked with their own parameters.
    max_body_bytes : int
        Largest request body (larger: 413).
    body_timeout_s : float
        Seconds to receive a whole request body (slower: 408), see
        :data:`DEFAULT_BODY_TIMEOUT_S`.
    signin_attempts, signin_window_s : int, float
        Failed sign-ins per client address (and per account name, before its backoff)
        within the window (seconds).
    signin_backoff_max_s : float
        Longest wait an account name's backoff imposes after a failed sign-in (seconds):
        the longest an outsider who knows the name can keep its moderator out.
    """

    db: Path
    scorer: Callable[[], OnlineScorer]
    policy: AlertPolicy
    session_key: bytes
    checkpoint: Path | None = None
    timeline: Path | None = None
    part: Part = Part.ALL
    checkpoint_every_s: float = 60.0
    max_batch_ids: int = 10_000
    max_body_bytes: int = 16 * 1024 * 1024
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S
    api_token: str | None = None
    trusted_header: str | None = None
    secure_cookies: bool = True
    session_max_age_s: float = 8 * 3600.0
    signin_attempts: int = 5
    signin_window_s: float = 900.0
    signin_backoff_max_s: float = 60.0
    report_key: bytes | None = None
    platform: str = ""
    password_hasher: PasswordHasher | None = None

    def __post_init__(self) -> None:
        """Each limit by the library's rules, for every caller (``riskscore serve``'s
        options apply the same ones first, naming the option)."""
        for name in ("checkpoint_every_s", "signin_window_s", "signin_backoff_max_s"):  # inf: never
            check_seconds(name, getattr(self, name), positive=True)
        for name in ("body_timeout_s", "session_max_age_s"):  # a deadline and a max-age
            if not math.isfinite(check_seconds(name, getattr(self, name), positive=True)):
                raise ValueError(f"{name} must be a finite number of seconds > 0, got inf")
        check_whole("max_batch_ids", self.max_batch_ids, 0)
        check_whole("max_body_bytes", self.max_body_bytes, 1)
        check_whole("signin_attempts", self.signin_attempts, 1)
        if self.api_token is not None:
            check_api_token(self.api_token)
        if self.trusted_header is not None:
            check_header_name(self.trusted_header)
        check_platform(self.platform)  # at start, not at the first report or export
