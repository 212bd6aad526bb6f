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
- Sign-in attempts are limited per client address in a sliding window (beyond it the
  console answers 429 until the window has passed) and per account name with a backoff
  that doubles up to a cap (an outsider who knows a name cannot keep its moderator out
  for longer than the cap; see :class:`RateLimiter`). An attempt is
  counted when it starts (:meth:`RateLimiter.acquire`), before its password is checked,
  so requests sent at once cannot all pass the check while the first is being hashed.
"""

from __future__ import annotations

import ipaddress
import math
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
    "DEVICE_COOKIE",
    "DEVICE_MAX_AGE_S",
    "SESSION_COOKIE",
    "RateLimiter",
    "Signer",
    "client_network",
    "from_own_site",
    "header_name",
]

SESSION_COOKIE = "riskscore_session"
CSRF_COOKIE = "riskscore_csrf"
CSRF_FIELD = "csrf_token"
#: The cookie of a browser that signed in as an account before (a signed name and id).
DEVICE_COOKIE = "riskscore_device"
#: How long a browser counts as one that signed in before (seconds): 30 days.
DEVICE_MAX_AGE_S = 30 * 86_400


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


def header_name(value: str) -> str | None:
    """The account name in the single sign-on header, read as UTF-8, as proxies send names
    and as accounts are kept: HTTP hands the header's bytes over as Latin-1, which read
    ``josé`` as ``josÃ©``, another account's possible name. None for a value that is not
    UTF-8: it names no account, never one guessed by another reading.

    Examples
    --------
    >>> header_name("josé".encode().decode("latin-1")), header_name("\xff")
    ('josé', None)
    """
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None


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
        self._device = URLSafeTimedSerializer(key, salt="riskscore-console-device")

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

    def device_cookie(self, name: str) -> str:
        """The signed cookie of a browser where ``name`` signed in: a new device id."""
        return str(self._device.dumps({"u": name, "d": self.new_nonce()}))

    def device_of(self, cookie: str | None, name: str) -> str | None:
        """The device id in a valid device cookie of ``name`` (younger than
        :data:`DEVICE_MAX_AGE_S`), else None.

        A browser where the account signed in before counts its failed sign-ins under its
        own id, apart from the name's: an outsider who knows the name and fails with it
        does not delay its moderator on their own browser (the OWASP "device cookie").
        """
        if not cookie:
            return None
        try:
            data = self._device.loads(cookie, max_age=DEVICE_MAX_AGE_S)
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("u") != name:
            return None
        device = data.get("d")
        return device if isinstance(device, str) else None

    def csrf_token(self, nonce: str, owner: str = "") -> str:
        """The form token for the CSRF cookie ``nonce`` in the session of ``owner``
        (:func:`form_owner`; ``""`` before sign-in)."""
        return str(self._csrf.dumps([nonce, owner]))

    def csrf_ok(self, token: object, nonce: str | None, owner: str = "") -> bool:
        """Whether a form's token was issued for this cookie in this session and has not
        expired: a token of another session (an outsider's, whose cookie a sibling site
        planted in a moderator's browser) does not pass."""
        if not isinstance(token, str) or not nonce:
            return False
        try:
            value = self._csrf.loads(token, max_age=int(self.max_age_s))
        except BadSignature:
            return False
        if not (isinstance(value, list) and len(value) == 2):
            return False
        # As bytes: compare_digest refuses text that is not ASCII (a cookie is the
        # client's, read as Latin-1), with a TypeError.
        pairs = zip(value, (nonce, owner), strict=True)
        same = [
            isinstance(a, str) and secrets.compare_digest(a.encode(), b.encode()) for a, b in pairs
        ]
        return all(same)


@dataclass
class RateLimiter:
    """Failed sign-ins per key within ``window_s`` seconds: ``attempts`` of them, then
    either a hard limit until the window has passed, or (with ``backoff_max_s``) a wait
    after each further failure that doubles from ``backoff_s`` up to ``backoff_max_s``.

    The hard limit suits a client address: it slows one client's guessing of every name.
    The backoff suits an account name, which anyone may type: a lockout until the window
    has passed would let whoever knows a moderator's name keep them out for good, five
    failures every window; the backoff slows guessing (at most one guess per
    ``backoff_max_s`` once it is reached) and keeps the moderator out no longer than that.

    The table holds at most ``max_keys`` keys (bounded memory under a flood of names). A
    full table makes room by dropping the keys whose failures have expired, then the
    least-penalised keys that are not limited (fewest failures, oldest first); a limited key
    is never dropped (a client rotating keys could otherwise reset its own limit), and a
    new key is refused while every key held is limited (a sweep that falls short waits a
    second before the next, so that a flood does not pay for one per attempt).

    Examples
    --------
    >>> limiter = RateLimiter(attempts=2, window_s=60)
    >>> limiter.fail("ip:1", now=0); limiter.fail("ip:1", now=1)
    >>> limiter.allowed("ip:1", now=2), limiter.allowed("ip:1", now=61.5)
    (False, True)
    >>> names = RateLimiter(attempts=2, window_s=60, backoff_s=1, backoff_max_s=4)
    >>> for t in (0, 1, 2, 4): names.fail("name:a", now=t)
    >>> names.wait_s("name:a", now=5), names.allowed("name:a", now=8)
    (3.0, True)
    """

    attempts: int = 5
    window_s: float = 900.0
    backoff_s: float = 1.0
    backoff_max_s: float | None = None
    max_keys: int = 100_000
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _next_sweep: float = -math.inf

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def wait_s(self, key: str, now: float | None = None) -> float:
        """Seconds until ``key`` may try again (0.0: now)."""
        now = time.monotonic() if now is None else now
        q = self._recent(key, now)
        beyond = len(q) - self.attempts
        if beyond < 0:
            return 0.0
        if self.backoff_max_s is None:  # until enough failures leave the window
            return max(0.0, q[beyond] + self.window_s - now)
        delay = min(self.backoff_s * 2.0 ** min(beyond, 64), self.backoff_max_s)
        return max(0.0, q[-1] + delay - now)

    def allowed(self, key: str, now: float | None = None) -> bool:
        """Whether ``key`` may try again now."""
        return self.wait_s(key, now) == 0.0

    def acquire(self, keys: Sequence[str], now: float | None = None) -> float | None:
        """Start an attempt of every key: count it as a failure now, if each key may try.

        Counted before the attempt is checked, so that attempts made at once (while the
        first one's password is being hashed) cannot all pass :meth:`allowed`. After a
        success, :meth:`forget` the attempt (or :meth:`reset` the key).

        Returns
        -------
        float or None
            The attempt's time, for :meth:`forget`; None (nothing counted) when a key
            has no attempt left, or is new to a table full of limited keys.

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
        new = sum(key not in self._failures for key in set(keys))
        if new and not self._make_room(new, now):
            return None
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)
        return now

    def forget(self, key: str, at: float) -> None:
        """Forget the attempt of ``key`` started at ``at`` (:meth:`acquire`): it succeeded."""
        q = self._failures.get(key)
        if q is not None and at in q:
            q.remove(at)

    def fail(self, key: str, now: float | None = None) -> None:
        """Record a failed attempt of ``key`` (not recorded when ``key`` is new and the
        table is full of limited keys)."""
        now = time.monotonic() if now is None else now
        self._recent(key, now)
        if key in self._failures or self._make_room(1, now):
            self._failures.setdefault(key, deque()).append(now)

    def reset(self, key: str) -> None:
        """Forget the failures of ``key`` (after a successful sign-in)."""
        self._failures.pop(key, None)

    def _make_room(self, new: int, now: float) -> bool:
        """Whether ``new`` keys fit, after dropping what may be dropped when they do not:
        expired keys, then unlimited keys, fewest failures and oldest first, down to 90 %
        of ``max_keys`` (so that a flood pays for a sweep once in many attempts)."""
        if len(self._failures) + new <= self.max_keys:
            return True
        if now < self._next_sweep:  # the last sweep fell short: not one per attempt
            return False
        for key in list(self._failures):
            self._recent(key, now)  # drops the key when its failures have all expired
        target = min(self.max_keys - new, self.max_keys * 9 // 10)
        if len(self._failures) > target:
            free = sorted(
                (len(q), q[-1], k) for k, q in self._failures.items() if len(q) < self.attempts
            )
            for _, _, key in free[: len(self._failures) - target]:
                del self._failures[key]
        if len(self._failures) > target:  # mostly limited keys: sweep again in a second
            self._next_sweep = now + 1.0
        return len(self._failures) + new <= self.max_keys
