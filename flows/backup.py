"""Backup and restore of what cannot be rebuilt: the warehouse and the raw snapshots.

`site/` and dbt's target are derived: after a restore, `satudata run` rebuilds them, and
because releases are content-addressed the rebuilt data files have the same checksums.

A backup is one uncompressed tar file (snapshots are often already compressed, and tar
streams without holding anything in memory) with a `MANIFEST.json` listing every member
and its sha256; restore verifies each member before anything is put in place.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import tarfile
import time
from pathlib import Path

import duckdb

from flows.common.files import atomic_target, sha256_file
from flows.settings import Settings

MANIFEST = "MANIFEST.json"


class BackupError(RuntimeError):
    """A backup or restore cannot be done; the message says why and what to do."""


def _hold_warehouse(path: Path, timeout_s: float) -> duckdb.DuckDBPyConnection:
    """A read-only connection: while it is open no process can write the file, so the
    copy is consistent. Waits while a pipeline run holds the write lock."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            con = duckdb.connect(str(path), read_only=True)
            con.execute("select 1").fetchone()
            return con
        except duckdb.IOException as e:
            if time.monotonic() > deadline:
                raise BackupError(f"the warehouse {path} is being written (a pipeline run?) "
                                  f"and stayed locked for {timeout_s:.0f} s: {e}") from None
            time.sleep(1)


def backup(settings: Settings, dest_dir: Path, *, timeout_s: float = 600) -> Path:
    """Write `satudata-backup-<UTC time>.tar` into `dest_dir` and return its path."""
    warehouse = settings.warehouse
    if not warehouse.exists():
        raise BackupError(f"nothing to back up: no warehouse at {warehouse}")
    dest_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = dest_dir / f"satudata-backup-{stamp}.tar"
    members: dict[str, str] = {}
    con = _hold_warehouse(warehouse, timeout_s)
    try:
        with atomic_target(target) as tmp, tarfile.open(tmp, "w") as tar:
            for path in [warehouse, warehouse.with_name(warehouse.name + ".wal")]:
                if path.exists():
                    members[path.name] = sha256_file(path)
                    tar.add(path, arcname=path.name)
            for folder in ("raw", "quarantine"):
                root = settings.home / folder
                for path in sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() \
                        else []:
                    if path.name.startswith("."):
                        continue     # a snapshot being written
                    arc = path.relative_to(settings.home).as_posix()
                    members[arc] = sha256_file(path)
                    tar.add(path, arcname=arc)
            manifest = json.dumps({"created_at": stamp, "home": str(settings.home),
                                   "members": members}, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(manifest)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(manifest))
    finally:
        con.close()
    return target


def restore(settings: Settings, archive: Path, *, force: bool = False) -> dict:
    """Restore a backup into `settings.home`. Refuses a home that already has a
    warehouse unless `force`. Every member is checked against the manifest first."""
    if settings.warehouse.exists() and not force:
        raise BackupError(f"{settings.home} already has a warehouse; restore into an empty "
                          "SATUDATA_HOME, or pass --force to replace it")
    if not archive.exists():
        raise BackupError(f"no backup at {archive}")
    staging = settings.home.parent / f".restore-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with tarfile.open(archive, "r") as tar:
            try:
                manifest = json.loads(tar.extractfile(MANIFEST).read())
            except KeyError:
                raise BackupError(f"{archive} is not a satudata backup (no {MANIFEST})") from None
            members = manifest["members"]
            for info in tar.getmembers():
                if info.name == MANIFEST:
                    continue
                if info.name not in members or not info.isfile():
                    raise BackupError(f"{archive}: unexpected member {info.name!r}; refused")
            tar.extractall(staging, filter="data")   # no absolute paths, links or ../
        for name, digest in members.items():
            path = staging / name
            if not path.exists() or sha256_file(path) != digest:
                raise BackupError(f"{archive}: {name} is missing or damaged (checksum "
                                  "mismatch); nothing was restored")
        settings.home.mkdir(parents=True, exist_ok=True)
        for item in staging.iterdir():
            target = settings.home / item.name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            os.replace(item, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"files": len(members), "created_at": manifest.get("created_at")}
