"""Files: digests, and writing a file or folder so readers see the old one or the new one.

Every "write aside, then rename" in the project goes through `atomic_target`; a folder
that is built aside and swapped in goes through `swap_dir`."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path


def sha256_file(path: Path) -> str:
    """The hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def fsync_file(path: Path) -> None:
    """Flush a written file to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_name(target: Path) -> Path:
    """A hidden, unique name beside `target` (`.<name>.<hex>.tmp`): listings that skip
    dot-files never see it, and clean-ups recognise it by its `.tmp` suffix."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")


@contextlib.contextmanager
def atomic_target(target: Path, *, sync: bool = False) -> Iterator[Path]:
    """Write aside, then rename: yields a temporary path beside `target`; when the block
    ends without an error, the file written there (synced first if `sync`) is renamed to
    `target` in one step, so readers see the old file or the new one, never a part.
    On an error the temporary file is removed and `target` is left as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(target)
    try:
        yield tmp
        if sync:
            fsync_file(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.lexists(tmp):
            tmp.unlink()


def write_bytes_atomic(path: Path, data: bytes, *, sync: bool = False) -> None:
    with atomic_target(path, sync=sync) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: Path, text: str, *, sync: bool = False) -> None:
    with atomic_target(path, sync=sync) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: Path, doc, *, default=None) -> None:
    """Write JSON (indented, UTF-8) aside, sync it, and rename it into place.
    `default` serialises other values (e.g. `str` for timestamps)."""
    write_text_atomic(path, json.dumps(doc, indent=2, ensure_ascii=False, default=default)
                      + "\n", sync=True)


def swap_dir(staging: Path, target: Path, *, old_prefix: str) -> Path:
    """Put the folder `staging` in place of `target` by renames: the old folder is moved
    aside (as `<old_prefix><hex>`, beside it) and removed once the new one is in place."""
    old = None
    if target.exists():
        old = target.with_name(f"{old_prefix}{uuid.uuid4().hex}")
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target
