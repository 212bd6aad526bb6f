"""Sessions, CSRF tokens and sign-in rate limiting for the console.

- A session is a cookie holding the moderator's name and the account's session generation,
  signed and dated by ``itsdangerous`` (``HttpOnly``, ``SameSite=Strict``, ``Secure`` unless
  switched off for plain-HTTP development); the account, its role and its generation are
  read again on every request, so a removed or changed account's sessions, and a
  signed-out one's, end at once.
- CSRF: every page with a form sets a random ``riskscore_csrf`` cookie (``HttpOnly``,
  ``SameSite=Strict``) and puts a signed copy of it in each form; a POST is refused unless
  the form's token verifies under the key and matches the cookie. One mechanism for every
  form, the sign-in form included.
- Sign-in attempts are limited per account name and per client address in a sliding
  window; beyond it the console answers 429 until the window has passed. An attempt is
  counted when it starts (:meth:`RateLimiter.acquire`), before its password is checked,
  so requests sent at once cannot all pass the check while the first is being hashed.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeTimedSerializer

from riskscore.keys import check_key

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "SESSION_COOKIE",
    "RateLimiter",
    "Signer",
    "client_network",
    "from_own_site",
]

SESSION_COOKIE = "riskscore_session"
CSRF_COOKIE = "riskscore_csrf"
CSRF_FIELD = "csrf_token"


def from_own_site(sec_fetch_site: str | None) -> bool:
    """Whether a request came from the console's own pages (or was typed, or
    bookmarked), by the browser's ``Sec-Fetch-Site``: ``same-origin`` or ``none``, or
    absent (a client that is not a browser, which another site cannot drive).

    A case page opened from another site records no review in the moderator's name (with
    a trusted header, sent by the proxy whoever made the browser ask, a link could do
    that; the access log lists the view all the same), and a form posted from another
    site is refused: a sibling site may set the CSRF cookie.

    Examples
    --------
    >>> from_own_site("same-origin"), from_own_site(None), from_own_site("same-site")
    (True, True, False)
    """
    return (sec_fetch_site or "none") in ("same-origin", "none")


def client_network(host: str | None) -> str:
    """The client the sign-in limit counts: an IPv4 address, or an IPv6 /64 network (a
    client holds all 2^64 addresses of its network and may send from a new one each
    time); an IPv4 address mapped into IPv6 counts as itself.

    Examples
    --------
    >>> client_network("2001:db8::7"), client_network("::ffff:192.0.2.1")
    ('2001:db8::/64', '192.0.2.1')
    """
    if host is None:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a name (a test client, a Unix socket's peer)
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class Signer:
    """Signs and checks session cookies and CSRF tokens with one secret key.

    Parameters
    ----------
    key : bytes
        A key :func:`riskscore.keys.check_key` accepts; every process behind one console
        shares it.
    max_age_s : float
        Lifetime of a session (seconds); CSRF tokens live as long.

    Examples
    --------
    >>> signer = Signer(b"k" * 16 + b"0123456789abcdef", max_age_s=3600)
    >>> signer.session_of(signer.session_cookie("mod-1", 3))
    ('mod-1', 3)
    >>> nonce = Signer.new_nonce()
    >>> signer.csrf_ok(signer.csrf_token(nonce), nonce), signer.csrf_ok("forged", nonce)
    (True, False)
    """

    def __init__(self, key: bytes, *, max_age_s: float) -> None:
        key = check_key(key, source="the session key")
        self.max_age_s = max_age_s
        self._session = URLSafeTimedSerializer(key, salt="riskscore-console-session")
        self._csrf = URLSafeTimedSerializer(key, salt="riskscore-console-csrf")

    @staticmethod
    def new_nonce() -> str:
        """A random value for the CSRF cookie."""
        return secrets.token_urlsafe(32)

    def session_cookie(self, name: str, generation: int) -> str:
        """The signed cookie value of a session of ``name`` in its account's session
        ``generation`` (:attr:`~riskscore.serve.accounts.Moderator.session`)."""
        return str(self._session.dumps({"u": name, "g": generation}))

    def session_of(self, cookie: str | None) -> tuple[str, int] | None:
        """The name and session generation in a valid, unexpired session cookie, else None."""
        if not cookie:
            return None
        try:
            data = self._session.loads(cookie, max_age=int(self.max_age_s))
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        name, generation = data.get("u"), data.get("g")
        if not isinstance(name, str) or type(generation) is not int:
            return None
        return name, generation

    def csrf_token(self, nonce: str) -> str:
        """The form token for the CSRF cookie ``nonce``."""
        return str(self._csrf.dumps(nonce))

    def csrf_ok(self, token: object, nonce: str | None) -> bool:
        """Whether a form's token was issued for this cookie and has not expired."""
        if not isinstance(token, str) or not nonce:
            return False
        try:
            value = self._csrf.loads(token, max_age=int(self.max_age_s))
        except BadSignature:
            return False
        # As bytes: compare_digest refuses text that is not ASCII (a cookie is the
        # client's, read as Latin-1), with a TypeError.
        return isinstance(value, str) and secrets.compare_digest(value.encode(), nonce.encode())


@dataclass
class RateLimiter:
    """At most ``attempts`` failures per key within ``window_s`` seconds.

    Examples
    --------
    >>> limiter = RateLimiter(attempts=2, window_s=60)
    >>> limiter.fail("ip:1", now=0); limiter.fail("ip:1", now=1)
    >>> limiter.allowed("ip:1", now=2), limiter.allowed("ip:1", now=61.5)
    (False, True)
    """

    attempts: int = 5
    window_s: float = 900.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def allowed(self, key: str, now: float | None = None) -> bool:
        """Whether ``key`` may try again now."""
        now = time.monotonic() if now is None else now
        q = self._recent(key, now)
        if not q:
            self._failures.pop(key, None)
        return len(q) < self.attempts

    def acquire(self, keys: Sequence[str], now: float | None = None) -> float | None:
        """Start an attempt of every key: count it as a failure now, if each key may try.

        Counted before the attempt is checked, so that attempts made at once (while the
        first one's password is being hashed) cannot all pass :meth:`allowed`. After a
        success, :meth:`forget` the attempt (or :meth:`reset` the key).

        Returns
        -------
        float or None
            The attempt's time, for :meth:`forget`; None (nothing counted) when a key
            has no attempt left.

        Examples
        --------
        >>> limiter = RateLimiter(attempts=1, window_s=60)
        >>> at = limiter.acquire(["ip:1"], now=0)
        >>> limiter.acquire(["ip:1"], now=1) is None
        True
        >>> limiter.forget("ip:1", at); limiter.acquire(["ip:1"], now=2)
        2
        """
        now = time.monotonic() if now is None else now
        if not all(self.allowed(key, now) for key in keys):
            return None
        for key in keys:
            self.fail(key, now)
        return now

    def forget(self, key: str, at: float) -> None:
        """Forget the attempt of ``key`` started at ``at`` (:meth:`acquire`): it succeeded."""
        q = self._failures.get(key)
        if q is not None and at in q:
            q.remove(at)

    def fail(self, key: str, now: float | None = None) -> None:
        """Record a failed attempt of ``key``."""
        now = time.monotonic() if now is None else now
        self._recent(key, now).append(now)
        if len(self._failures) > 100_000:  # bounded memory under a flood of names
            self._failures.pop(next(iter(self._failures)))

    def reset(self, key: str) -> None:
        """Forget the failures of ``key`` (after a successful sign-in)."""
        self._failures.pop(key, None)
