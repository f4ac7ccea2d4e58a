"""Login for the officials' view.

Passwords are never stored: Streamlit secrets hold PBKDF2-SHA256 hashes, e.g. in
``.streamlit/secrets.toml`` beside where ``satudata serve`` is started::

    [officials.users]
    walidata = "pbkdf2_sha256$600000$<salt, base64>$<hash, base64>"

Create a hash with ``satudata hash-password`` (which calls :func:`hash_password`).
The session that follows a log-in is a signed cookie (app/sessions.py), set by the
log-in page (app/login_routes.py).
There is no default user and no default password: without ``[officials.users]`` the
view shows only a notice to contact the walidata (the set-up is in the README, and
entries that are not valid hashes are named in the server's log, not on the page).

:func:`hash_password` and :func:`verify_password` use the standard library only
(Streamlit is imported inside the functions that read the secrets, so the CLI can import
this module cheaply).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Any

ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 600_000          # OWASP 2023 recommendation for PBKDF2-HMAC-SHA256
MAX_ITERATIONS = 10_000_000           # refuse absurd values from a mistyped secrets file
SALT_BYTES = 16
SECRETS_SECTION = "officials"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS) -> str:
    """``pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`` for ``password``, with a new
    random salt (so two hashes of one password differ)."""
    if not isinstance(password, str) or not password:
        raise ValueError("the password must be a non-empty string")
    if not 1 <= int(iterations) <= MAX_ITERATIONS:
        raise ValueError(f"iterations must be between 1 and {MAX_ITERATIONS:,}")
    salt = os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, int(iterations))
    return f"{ALGORITHM}${int(iterations)}${_b64(salt)}${_b64(digest)}"


def _parse(stored: str) -> tuple[int, bytes, bytes] | None:
    if not isinstance(stored, str):
        return None
    parts = stored.strip().split("$")
    if len(parts) != 4 or parts[0] != ALGORITHM:
        return None
    try:
        iterations = int(parts[1])
        salt, digest = _unb64(parts[2]), _unb64(parts[3])
    except (ValueError, binascii.Error):
        return None
    if not 1 <= iterations <= MAX_ITERATIONS or not salt or not digest:
        return None
    return iterations, salt, digest


def is_valid_hash(stored: Any) -> bool:
    return _parse(stored) is not None


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (constant-time comparison).
    A malformed hash never matches."""
    parsed = _parse(stored)
    if parsed is None or not isinstance(password, str):
        return False
    iterations, salt, digest = parsed
    candidate = hashlib.pbkdf2_hmac(
        "sha256", password.encode("utf-8"), salt, iterations, dklen=len(digest)
    )
    return hmac.compare_digest(candidate, digest)


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A hash to check unknown user names against, so that a wrong user name costs as
    much time as a wrong password (no user-name probing by timing)."""
    if not _DUMMY:
        _DUMMY.append(hash_password(os.urandom(12).hex()))
    return _DUMMY[0]


def check_login(users: Mapping[str, str], username: str, password: str) -> bool:
    stored = users.get(username)
    if stored is None:
        verify_password(password, _dummy_hash())
        return False
    return verify_password(password, stored)


# --- Streamlit part -------------------------------------------------------------------


def configured_users() -> dict[str, str]:
    """``{user: hash}`` from ``st.secrets["officials"]["users"]``; empty when no secrets
    file exists or the section is missing. Entries that are not valid hashes are left
    out (a plain-text password in the secrets file does not work)."""
    import streamlit as st

    try:
        section = st.secrets[SECRETS_SECTION]
        users = section["users"] if isinstance(section, Mapping) else {}
    except (KeyError, FileNotFoundError, AttributeError, TypeError):
        return {}
    if not isinstance(users, Mapping):
        return {}
    return {str(u): str(h) for u, h in users.items() if is_valid_hash(h)}


def invalid_entries() -> list[str]:
    """User names under ``[officials.users]`` whose value is not a valid hash."""
    import streamlit as st

    try:
        users = st.secrets[SECRETS_SECTION]["users"]
    except (KeyError, FileNotFoundError, AttributeError, TypeError):
        return []
    if not isinstance(users, Mapping):
        return []
    return sorted(str(u) for u, h in users.items() if not is_valid_hash(h))
