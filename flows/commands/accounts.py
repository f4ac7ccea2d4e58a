"""`satudata hash-password`: an officials' account for `.streamlit/secrets.toml`."""

from __future__ import annotations

import argparse
import sys


def cmd_hash_password(args: argparse.Namespace) -> int:
    import getpass

    from flows.common.passwords import hash_password

    password = getpass.getpass("Password for the officials' view: ")
    if len(password) < 10:
        print("use at least 10 characters", file=sys.stderr)
        return 1
    if getpass.getpass("Again: ") != password:
        print("the two passwords differ", file=sys.stderr)
        return 1
    import json
    import secrets

    print("Add to .streamlit/secrets.toml (in the folder you start `satudata serve` from);")
    print("keep an existing session_secret (a new one logs every official out):")
    print("[officials]\nsession_secret = " + json.dumps(secrets.token_urlsafe(48)) + "\n")
    print(f'[officials.users]\n{args.user} = "{hash_password(password)}"')
    return 0

