"""Backup and restore: restoring into an empty SATUDATA_HOME and running the pipeline
rebuilds releases whose data files have the same checksums."""

from __future__ import annotations

import hashlib
import json
import tarfile

import pytest

from flows.backup import BackupError, backup, restore
from flows.settings import Settings

DATA_FILES = (".csv", ".parquet", ".json")


def _latest_checksums(site) -> dict[str, str]:
    out = {}
    for latest in (site / "datasets").glob("*/latest"):
        for path in latest.iterdir():
            if path.suffix in DATA_FILES and path.name not in ("datapackage.json",
                                                                "release.json"):
                out[f"{latest.parent.name}/{path.name}"] = hashlib.sha256(
                    path.read_bytes()).hexdigest()
    return out


def test_restore_into_an_empty_home_rebuilds_identical_releases(sample_run, prefect_harness,
                                                                tmp_path, monkeypatch):
    from flows.pipeline import pipeline

    original = sample_run["settings"]
    archive = backup(original, tmp_path / "backups")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert "warehouse.duckdb" in names and "MANIFEST.json" in names
    assert sum(n.startswith("raw/") for n in names) >= 2 * 128   # snapshots + sidecars

    home = tmp_path / "restored"
    restored = Settings(home=home, feeds_file=original.feeds_file)
    info = restore(restored, archive)
    assert info["files"] == len(names) - 1
    monkeypatch.setenv("SATUDATA_HOME", str(home))
    result = pipeline()
    assert sum(f["accepted"] for f in result["feeds"]) == 0      # nothing re-ingested
    before, after = _latest_checksums(original.site_dir), _latest_checksums(home / "site")
    assert len(before) >= 15
    assert after == before


def test_restore_refuses_a_home_with_a_warehouse(sample_run, tmp_path):
    archive = backup(sample_run["settings"], tmp_path)
    with pytest.raises(BackupError, match="already has a warehouse"):
        restore(sample_run["settings"], archive)


def test_damaged_backup_restores_nothing(sample_run, tmp_path):
    archive = backup(sample_run["settings"], tmp_path)
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w") as dst:
        for info in src.getmembers():
            data = src.extractfile(info).read()
            if info.name == "warehouse.duckdb":
                data = data[:-10] + b"0123456789"
            import io
            dst.addfile(info, io.BytesIO(data))
    home = tmp_path / "home"
    with pytest.raises(BackupError, match="warehouse.duckdb is missing or damaged"):
        restore(Settings(home=home, feeds_file=sample_run["settings"].feeds_file), damaged)
    assert not (home / "warehouse.duckdb").exists()


def test_backup_manifest_lists_every_member_with_its_checksum(sample_run, tmp_path):
    archive = backup(sample_run["settings"], tmp_path)
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("MANIFEST.json").read())
        for name, digest in list(manifest["members"].items())[:20]:
            assert hashlib.sha256(tar.extractfile(name).read()).hexdigest() == digest
