"""Receiving a file: its sha256 (`sha256_of`, with a digest cache kept between runs) and
its immutable snapshot under `raw/` with a provenance sidecar (`snapshot`, `Received`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from flows import timing
from flows.common.files import atomic_target, write_json_atomic, write_text_atomic
from flows.common.files import sha256_file as _sha256_of
from flows.registry import Feed


@dataclass(frozen=True)
class Received:
    """A file as received from a feed, kept as an immutable snapshot."""

    feed_id: str
    path: Path           # the file as received (its name is the one reported)
    snapshot: Path       # immutable copy under raw/, named by content
    source: str          # where it came from: landing path or URL
    sha256: str
    bytes: int
    received_at: dt.datetime

    @property
    def batch_id(self) -> str:
        return self.sha256[:16]


_DIGESTS: dict[tuple, str] = {}   # (path, inode, size, mtime, ctime) -> sha256
_DIGESTS_MAX = 16384


def load_digests(cache: Path) -> None:
    """Digests remembered by earlier runs (`save_digests`): a run that finds every landing
    file unchanged hashes nothing (1.8 GB of complaint files took ~3 s a run)."""
    try:
        entries = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, list) and len(entry) == 6 and len(_DIGESTS) < _DIGESTS_MAX:
            _DIGESTS[tuple(entry[:5])] = str(entry[5])


def save_digests(cache: Path) -> None:
    """Keep the digests of files that still exist, for the next run (written aside and
    renamed). A file that changed in any way has a new change time, so its entry no
    longer matches and it is hashed again."""
    entries = [[*key, digest] for key, digest in _DIGESTS.items() if os.path.exists(key[0])]
    with contextlib.suppress(OSError):   # only a cache: the next run hashes again
        write_json_atomic(cache, entries)


def sha256_of(path: Path) -> str:
    """The file's sha256. Receiving hashes every file to skip known ones and the snapshot
    needs the same digest right after: an unchanged file (same inode, size, modification
    and change time: a write changes the change time, which no program can set back) is
    read once per process."""
    st = os.stat(path)
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    digest = _DIGESTS.get(key)
    if digest is None:
        with timing.timed("ingest.hash"):
            digest = _sha256_of(path)
        if len(_DIGESTS) >= _DIGESTS_MAX:
            _DIGESTS.clear()
        _DIGESTS[key] = digest
    return digest


def unseen_bytes(paths: list[Path], known: set[str]) -> int:
    """Bytes of the files that may be new: not among the digests remembered (`load_digests`)
    for a file in this very state, or remembered with a digest not in `known`. From `stat`
    alone, before anything is hashed: an estimate of the intake a receive is about to find
    (a file copied back unchanged counts, though receiving will skip it)."""
    total = 0
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if _DIGESTS.get(key) not in known:
            total += st.st_size
    return total


def snapshot(feed: Feed, path: Path, raw_dir: Path, *, source: str | None = None,
             licence: str | None = None) -> Received:
    """Keep the file as `raw/<sha[:2]>/<sha><suffix>` with a provenance sidecar
    `<sha>.meta.json`.

    Written aside and renamed, so a crash never leaves a partial snapshot; an existing
    snapshot is never rewritten.
    """
    with timing.timed("ingest.snapshot"):
        return _snapshot(feed, path, raw_dir, source=source, licence=licence)


def _snapshot(feed: Feed, path: Path, raw_dir: Path, *, source: str | None,
              licence: str | None) -> Received:
    digest = sha256_of(path)
    size = path.stat().st_size
    now = dt.datetime.now(dt.UTC)
    folder = raw_dir / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest}{path.suffix.lower()}"
    if not target.exists():
        with atomic_target(target) as tmp:
            shutil.copyfile(path, tmp)
    sidecar = folder / f"{digest}.meta.json"
    if not sidecar.exists():
        provenance = {
            "sha256": digest,
            "bytes": size,
            "feed": feed.id,
            "regency": feed.regency,
            "dataset": feed.dataset,
            "channel": feed.channel,
            "source": source or str(path),
            "file_name": path.name,
            "received_at": now.isoformat(),
            "licence": licence or feed.options.get("licence"),
        }
        write_text_atomic(sidecar, json.dumps(provenance, indent=2, ensure_ascii=False))
    return Received(feed.id, path, target, source or str(path), digest, size, now)
