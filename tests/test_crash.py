"""Crash safety: the pipeline process is killed (SIGKILL) during ingest, during dbt and
during publish; a plain `satudata run` afterwards completes, no raw snapshot is lost, no
row is duplicated, every release verifies against its SHA256SUMS, and `latest`,
`catalog.json` and `data.json` agree."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.helpers import PROJECT_ROOT, copy_sample_data

pytestmark = pytest.mark.reliability
SATUDATA = str(Path(sys.executable).parent / "satudata")
RESULTS = PROJECT_ROOT / "tests" / "output" / "reliability"


def _env(home: Path, feeds: Path) -> dict:
    env = dict(os.environ, SATUDATA_HOME=str(home), SATUDATA_FEEDS=str(feeds),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.pop("PREFECT_API_URL", None)     # the run starts its own temporary API
    return env


def _dbt_running(pid: int) -> bool:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            stat = (proc / "stat").read_text().split()
        except OSError:
            continue
        if b"dbt" in cmd and b" build" in cmd and int(stat[3]) == pid:
            return True
    return False


def _dbt_building(home: Path) -> bool:
    """dbt is running nodes: its log says how many threads it runs them on, which only a
    command that runs nodes (build, not parse) logs. (The build may run in a dbt process
    started ahead of time, flows/dbt_worker.py, whose command line does not say build.)"""
    try:
        return "Concurrency:" in (home / "dbt" / "logs" / "dbt.log").read_text(
            encoding="utf-8", errors="replace")
    except OSError:
        return False


def _publishing(home: Path) -> bool:
    datasets = home / "site" / "datasets"
    return datasets.exists() and any(p.name.startswith(".staging-")
                                     for d in datasets.iterdir() for p in d.iterdir())


def _run_and_kill(home: Path, feeds: Path, stage: str, timeout_s: float = 300) -> float:
    """Start `satudata run`, SIGKILL its process group as soon as `stage` is under way.
    Returns the seconds after start at which it was killed."""
    proc = subprocess.Popen([SATUDATA, "run"], env=_env(home, feeds), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    raw = home / "raw"
    try:
        while time.monotonic() - started < timeout_s:
            if proc.poll() is not None:
                raise AssertionError(f"the run ended before reaching {stage}")
            if stage == "ingest" and raw.exists() and sum(
                    1 for p in raw.rglob("*.meta.json")) >= 20:
                break
            if stage == "dbt" and (_dbt_running(proc.pid) or _dbt_building(home)):
                time.sleep(0.5)
                break
            if stage == "publish" and _publishing(home):
                break
            time.sleep(0.02)
        else:
            raise AssertionError(f"{stage} not reached in {timeout_s} s")
        os.killpg(proc.pid, signal.SIGKILL)
        return time.monotonic() - started
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _check_consistent(home: Path, data: Path) -> dict:
    # every landing file has its snapshot
    landing = [p for p in (data / "landing").rglob("*") if p.is_file()]
    snapshots = {p.stem for p in (home / "raw").rglob("*") if p.is_file()
                 and not p.name.endswith(".meta.json")}
    missing = [p for p in landing
               if hashlib.sha256(p.read_bytes()).hexdigest() not in snapshots]
    assert not missing, f"snapshots lost: {missing[:3]}"
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        dupes = {
            "penduduk": "select count(*) - count(distinct (kode_wilayah, periode)) "
                        "from raw.penduduk",
            "indikator": "select count(*) - count(distinct (kode_wilayah, indikator, tahun)) "
                         "from raw.indikator",
            "aduan": "select count(*) - count(distinct (_regency, nomor_tiket)) from raw.aduan",
            "fct_aduan": "select count(*) - count(distinct (kode_wilayah, nomor_tiket)) "
                         "from marts.fct_aduan",
            "fasilitas": "select count(*) - count(distinct kode_fasilitas) "
                         "from raw.fasilitas_kesehatan",
        }
        for name, sql in dupes.items():
            assert con.execute(sql).fetchone()[0] == 0, f"duplicated rows in {name}"
        rows = con.execute("select count(*) from raw.aduan").fetchone()[0]
    site = home / "site"
    catalog = json.loads((site / "catalog.json").read_text())
    data_json = {d["identifier"].split(":", 1)[1]: d
                 for d in json.loads((site / "data.json").read_text())["dataset"]}
    releases = 0
    for entry in catalog["datasets"]:
        folder = site / "datasets" / entry["slug"]
        for version in folder.iterdir():
            if version.is_symlink() or version.name.startswith("."):
                continue
            for line in (version / "SHA256SUMS").read_text().splitlines():
                digest, name = line.split("  ")
                assert hashlib.sha256((version / name).read_bytes()).hexdigest() == digest
            releases += 1
        latest = os.readlink(folder / "latest")
        assert entry["latest_version"] == latest
        assert data_json[entry["slug"]]["satudata"]["version"] == latest
    return {"aduan_rows": rows, "releases_verified": releases}


@pytest.mark.parametrize("stage", ["ingest", "dbt", "publish"])
def test_killed_run_is_recovered_by_the_next_run(stage, tmp_path):
    data = tmp_path / "data"
    feeds = copy_sample_data(data)
    home = tmp_path / "home"
    if stage != "ingest":
        # a first complete run, then a new month arrives and the killed run handles it
        subprocess.run([SATUDATA, "run"], env=_env(home, feeds), check=True,
                       capture_output=True)
        from tools.generate import write_aduan

        write_aduan(data / "landing", year=2025, months=range(1, 2), regencies=["36.73"])
    killed_at = _run_and_kill(home, feeds, stage)
    done = subprocess.run([SATUDATA, "run"], env=_env(home, feeds), capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    checks = _check_consistent(home, data)
    csv_tickets = sum(len(p.read_text(encoding="utf-8").splitlines()) - 1
                      for p in (data / "landing").rglob("aduan_*.csv"))
    assert checks["aduan_rows"] >= csv_tickets   # every CSV ticket is in (none twice: above)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"crash-{stage}.json").write_text(json.dumps(
        {"stage": stage, "killed_after_s": round(killed_at, 2), **checks,
         "data_lost": 0}, indent=2))
    shutil.rmtree(home, ignore_errors=True)
