"""Officials' sessions: a signed, expiring cookie, and a limit on failed log-ins.

The session is a cookie (`COOKIE`) holding the user name and a random session id,
signed with itsdangerous (HMAC-SHA1 over a key derived from `session_secret`) and
timestamped: it is refused after `MAX_AGE` seconds, when its signature does not match,
when it was logged out (`revoke`), or when its user is no longer configured. It is set
by the log-in route (app/login_routes.py) as HttpOnly, SameSite=Strict, and Secure
when the request came over TLS, so page refreshes and new tabs keep the session while
scripts and other sites cannot read or send it.

The key: `[officials] session_secret` in Streamlit's secrets (at least 32 characters;
`satudata hash-password` prints one); without it a random key is made per
server process, so a restart logs everyone out.

`AttemptLimiter`: failed log-ins are counted per user name and per client address,
server-wide (not per browser tab): after `MAX_FAILURES` in `WINDOW_SECONDS` the name or
address is refused, without checking the password, until the oldest failure leaves
the window. Every failure and every refusal is logged (server log, internal).

Standard library and itsdangerous only; Streamlit is imported inside the functions
that need it.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import auth

COOKIE = "satudata_session"
MAX_AGE = 8 * 3600                  # a working day
SECRET_KEY = "session_secret"       # under [officials] in secrets.toml
MIN_SECRET_LENGTH = 32
MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
MAX_TRACKED = 10_000                # names and addresses kept before stale ones are swept
_SALT = "satudata-officials-session"
log = logging.getLogger(__name__)

_PROCESS_SECRET = secrets.token_urlsafe(32)
_WARNED: list[bool] = []
_revoked: dict[str, float] = {}     # session id -> when its token expires anyway
_revoked_lock = threading.Lock()


def configured_secret() -> str | None:
    """`[officials] session_secret` from Streamlit's secrets when long enough."""
    import streamlit as st

    try:
        value = st.secrets[auth.SECRETS_SECTION][SECRET_KEY]
    except (KeyError, FileNotFoundError, AttributeError, TypeError):
        return None
    if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
        if not _WARNED:                 # once per process, not on every request
            _WARNED.append(True)
            log.warning("officials' sessions: [officials] %s is shorter than %d characters "
                        "and is ignored; sessions end when the server restarts",
                        SECRET_KEY, MIN_SECRET_LENGTH)
        return None
    return value


def signer(salt: str, secret: str | None = None) -> URLSafeTimedSerializer:
    """Signed, timestamped tokens with the session key (`secret`, else the configured
    one, else this process's); `salt` keeps each kind of token apart."""
    return URLSafeTimedSerializer(secret or configured_secret() or _PROCESS_SECRET, salt=salt)


def _serializer(secret: str | None = None) -> URLSafeTimedSerializer:
    return signer(_SALT, secret)


def issue(user: str, *, secret: str | None = None) -> str:
    """A new signed session token for `user`."""
    return _serializer(secret).dumps({"u": user, "s": secrets.token_urlsafe(16)})


def _payload(token: str | None, secret: str | None = None,
             now: Callable[[], float] = time.time) -> dict | None:
    if not token or not isinstance(token, str) or len(token) > 4096:
        return None
    try:
        data, signed_at = _serializer(secret).loads(token, max_age=MAX_AGE,
                                                    return_timestamp=True)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), str) \
            or not isinstance(data.get("s"), str):
        return None
    if signed_at.timestamp() > now() + 60:      # signed in the future: clock or forgery
        return None
    with _revoked_lock:
        if data["s"] in _revoked:
            return None
    return data


def user_of(token: str | None, users: Mapping[str, str], *,
            secret: str | None = None) -> str | None:
    """The user a session token belongs to, or None: unsigned, expired, logged out, or
    a user no longer configured (removing a user ends their sessions)."""
    data = _payload(token, secret)
    return data["u"] if data and data["u"] in users else None


def revoke(token: str | None, *, secret: str | None = None) -> None:
    """End a session (log-out): its token is refused from now on, even if replayed."""
    data = _payload(token, secret)
    if data is None:
        return
    now = time.time()
    with _revoked_lock:
        for sid in [s for s, until in _revoked.items() if until < now]:
            del _revoked[sid]             # expired tokens are refused anyway
        _revoked[data["s"]] = now + MAX_AGE


def request_cookies() -> Mapping[str, str]:
    """The cookies the browser sent when it opened this Streamlit session."""
    import streamlit as st

    try:
        return st.context.cookies
    except Exception:  # no script run context
        return {}


def current_user(users: Mapping[str, str]) -> str | None:
    """The logged-in official of this Streamlit session (from its session cookie)."""
    return user_of(request_cookies().get(COOKIE), users)


class AttemptLimiter:
    """Failed log-ins per user name and per client address in a sliding window."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(user: str, address: str) -> tuple[str, str]:
        return f"user:{user.strip().casefold()}", f"address:{address}"

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times

    def _wait(self, user: str, address: str, now: float) -> int:
        waits = [times[0] + self.window - now
                 for key in self._keys(user, address)
                 if len(times := self._recent(key, now)) >= self.max_failures]
        return max(1, int(max(waits)) + 1) if waits else 0

    def retry_after(self, user: str, address: str) -> int:
        """Seconds until a log-in for `user` from `address` may be tried (0: now)."""
        with self._lock:
            return self._wait(user, address, self.clock())

    def attempt(self, user: str, address: str) -> int:
        """Begin a log-in: 0 and the attempt counted as a failure until `succeeded`
        says otherwise, or the seconds to wait (nothing counted). Counting before the
        password check keeps the limit exact when many guesses arrive at once."""
        now = self.clock()
        with self._lock:
            if len(self._failures) > MAX_TRACKED:     # many made-up names: drop stale ones
                for key in list(self._failures):
                    self._recent(key, now)
            wait = self._wait(user, address, now)
            if not wait:
                for key in self._keys(user, address):
                    self._failures.setdefault(key, deque()).append(now)
        return wait

    def failed(self, user: str, address: str) -> None:
        """Log a failed attempt (already counted by `attempt`)."""
        with self._lock:
            counts = [len(self._failures.get(k, ())) for k in self._keys(user, address)]
        log.warning("officials' log-in failed: user %r from %s (%d failures for the name, "
                    "%d for the address in %d min)", user[:64], address, *counts,
                    self.window // 60)

    def succeeded(self, user: str, address: str) -> None:
        """A correct log-in: the name's failures are cleared, and this attempt no
        longer counts against the address."""
        user_key, address_key = self._keys(user, address)
        with self._lock:
            self._failures.pop(user_key, None)
            times = self._failures.get(address_key)
            if times:
                times.pop()


LIMITER = AttemptLimiter()
