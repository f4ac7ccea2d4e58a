"""Officials' passwords: PBKDF2-SHA256 hashes (standard library only).

A hash is ``pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>``; `satudata hash-password`
makes one, the catalogue's log-in checks against it (app/auth.py reads the configured
users, app/login_routes.py the form). A wrong user name costs as much time as a wrong
password.
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
