"""Where feeds may read from.

A landing feed's `path` must stay inside the landing root, the folder of the main
registry file (`..` or an absolute path leading out, or a folder that is a symlink out of
it, is a registry error: `confinement_problem`). A network feed's URL must name a host
(and port, when the `allowed_hosts` entry pins one as `host:port`) of `allowed_hosts`
(`parse_host_entry`, `host_allowed`); flows/channels.py also refuses private, loopback
and link-local addresses that are not themselves listed.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from urllib.parse import urlparse


def parse_host_entry(entry: str) -> tuple[str, int | None]:
    """An `allowed_hosts` entry as (host, port or None): `data.example.go.id`,
    `data.example.go.id:8443`, `10.1.2.3:8080`, `[fd00::5]:8080` or `fd00::5`. The host
    is lowercased, an IP address written in its canonical form. Raises ValueError."""
    text = str(entry).strip().lower()
    if not text or "/" in text or "@" in text or any(c.isspace() for c in text):
        raise ValueError(f"'{entry}' is not a host; write a host name or address, "
                         "optionally with :port (not a URL)")
    port: str | None = None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"'{entry}': write an IPv6 address as [address] or "
                             "[address]:port")
        port = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host = text   # a name, an IPv4 address or a bare IPv6 address
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        if ":" in host or not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
                                           r"(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?", host):
            raise ValueError(f"'{entry}' is not a host name or IP address") from None
    if port is None:
        return host, None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"'{entry}': the port must be a number from 1 to 65535")
    return host, int(port)


def normal_host(host: str) -> str:
    """A URL's host as `parse_host_entry` writes it (lowercase, canonical IP form)."""
    host = host.lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def url_port(url: str) -> int:
    """The port a URL connects to (its own, else 443 for https and 80 for http)."""
    parsed = urlparse(url)
    return parsed.port or (443 if parsed.scheme == "https" else 80)


def host_allowed(allowed_hosts: tuple[str, ...], host: str, port: int) -> bool:
    """Whether `host:port` is allowed: an entry names the host and either no port (any
    port) or this one. Entries that do not parse allow nothing."""
    host = normal_host(host)
    for entry in allowed_hosts:
        try:
            name, pinned = parse_host_entry(entry)
        except ValueError:
            continue
        if name == host and pinned in (None, port):
            return True
    return False


def _host_entry(entry: str) -> str:
    parse_host_entry(entry)
    return entry


def confinement_problem(path: str, base_dir: Path, landing_root: Path) -> str | None:
    """Why a landing feed's `path` (a glob relative to `base_dir`) leads outside the
    landing root, or None: written with `..` or as an absolute path outside it, or
    through a folder that is a symlink out of it."""
    pattern = Path(path)
    full = pattern if pattern.is_absolute() else base_dir / pattern
    lexical = Path(os.path.normpath(full))
    root = Path(os.path.normpath(landing_root))
    if not lexical.is_relative_to(root):
        return (f"field 'path' is '{path}', which leads outside the landing root {root}; "
                "keep the feed's files in a folder under the registry's folder")
    folder = lexical.parent
    while not folder.exists() and folder != root:
        folder = folder.parent
    real_root = landing_root.resolve()
    if not folder.resolve().is_relative_to(real_root):
        return (f"field 'path' is '{path}': its folder {folder} resolves to "
                f"{folder.resolve()}, outside the landing root {real_root} (a symlink); "
                "keep the feed's files in a folder under the registry's folder")
    return None


def _entry_host(entry: str) -> str | None:
    try:
        return parse_host_entry(entry)[0]
    except ValueError:
        return None
