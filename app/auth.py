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

The hashing itself is flows/common/passwords.py (standard library only, shared with the
CLI); this module reads the configured users from Streamlit's secrets.
"""

from __future__ import annotations

from collections.abc import Mapping

from flows.common.passwords import (
    ALGORITHM,
    DEFAULT_ITERATIONS,
    check_login,
    hash_password,
    is_valid_hash,
    verify_password,
)

__all__ = ["ALGORITHM", "DEFAULT_ITERATIONS", "SECRETS_SECTION", "check_login",
           "configured_users", "hash_password", "invalid_entries", "is_valid_hash",
           "verify_password"]
SECRETS_SECTION = "officials"


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
