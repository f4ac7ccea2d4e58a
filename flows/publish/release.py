"""The releases of a dataset on disk: reading them, naming a new version, the `latest`
link, the publish lock, leftovers of a crash, and finishing a group switch a crash
interrupted (`SWITCH_JOURNAL`).

A release `site/datasets/<slug>/<version>/` is written into a hidden `.staging-*` folder
beside its final place and renamed into place in one step; `latest` is a symlink switched
with one atomic rename.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.common.files import atomic_target, fsync_file
from flows.common.marts import MartSpec
from flows.publish.site import _read_json, dataset_dir
from flows.settings import Settings


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@contextmanager
def _publish_lock(settings: Settings) -> Iterator[None]:
    """One publisher at a time per SATUDATA_HOME (held only while writing the site), so
    hidden work files found while holding it are leftovers of a crash. A group switch a
    crash interrupted (`SWITCH_JOURNAL`) is finished first, before anything else looks
    at the site."""
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.home / ".publish.lock", "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            _finish_interrupted_switch(settings)
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _remove_leftovers(folder: Path) -> None:
    """Staging folders and temporary files a crashed publisher left behind."""
    if not folder.exists():
        return
    for p in folder.iterdir():
        if p.name.startswith(".staging-") and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(".latest-") or (p.name.startswith(".") and
                                                p.name.endswith(".tmp")):
            p.unlink(missing_ok=True)


def releases(site: Path, slug: str) -> list[dict]:
    """release.json of every complete release of `slug`, newest first."""
    out = []
    folder = dataset_dir(site, slug)
    if not folder.exists():
        return out
    for d in folder.iterdir():
        if d.is_dir() and not d.is_symlink() and not d.name.startswith("."):
            rel = _read_json(d / "release.json")
            if rel:
                out.append(rel)
    return sorted(out, key=lambda r: r["sequence"], reverse=True)


def _next_version(existing: list[dict], folder: Path, today: dt.date) -> str:
    names = {r["version"] for r in existing}
    version, n = today.isoformat(), 1
    while version in names or (folder / version).exists():
        n += 1
        version = f"{today.isoformat()}.{n}"
    return version


def _point_latest(folder: Path, version: str) -> None:
    """Switch `latest` to `version` in one atomic rename (a no-op if it points there)."""
    latest = folder / "latest"
    if latest.is_symlink() and os.readlink(latest) == version:
        return
    with atomic_target(latest) as link_tmp:
        os.symlink(version, link_tmp)


SWITCH_JOURNAL = ".publish-switch.json"   # in $SATUDATA_HOME, while a group switches


def _finish_interrupted_switch(settings: Settings) -> None:
    """A group switch that a crash interrupted (its journal is still there): every
    release of the group had passed, so the switch is finished, not undone: the staged
    releases still hidden are renamed into place and every `latest` of the group
    pointed at its new version. Called with the publish lock held."""
    journal = settings.home / SWITCH_JOURNAL
    try:
        doc = _read_json(journal)
    except ValueError:   # never half-written (renamed into place): not ours, set aside
        os.replace(journal, journal.with_name(journal.name + ".invalid"))
        return
    if doc is None:
        return
    for entry in doc.get("switches") or []:
        folder = dataset_dir(settings.site_dir, entry["slug"])
        target = folder / entry["version"]
        if entry.get("staging"):
            staging = folder / entry["staging"]
            if staging.is_dir() and not target.exists():
                os.replace(staging, target)
                fsync_file(folder)
        if target.is_dir():
            _point_latest(folder, entry["version"])
    journal.unlink()


def _latest_releases(site: Path, marts: list[MartSpec]) -> list[tuple[MartSpec, list[dict]]]:
    """(mart, its releases newest first) for every mart that has been published."""
    out = []
    for mart in marts:
        history = releases(site, mart.slug)
        if history:
            out.append((mart, history))
    return out
