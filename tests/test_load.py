"""Load: 20 concurrent clients hit the catalogue and its download URLs for 60 s while a
pipeline run publishes a new version; no request fails, and the p95 latency is reported
(tests/output/reliability/load.json)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import PROJECT_ROOT, copy_sample_data, free_port

pytestmark = pytest.mark.reliability
SATUDATA = str(Path(sys.executable).parent / "satudata")
CLIENTS = 20
DURATION_S = 60
RESULTS = PROJECT_ROOT / "tests" / "output" / "reliability"


def _get(url: str) -> tuple[int, int]:
    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read()
        length = r.headers.get("Content-Length")
        if length is not None and int(length) != len(body):
            raise OSError(f"{url}: {len(body)} of {length} bytes")
        return r.status, len(body)


def test_catalogue_serves_20_clients_while_a_release_is_published(sample_run, tmp_path):
    from tools.generate import write_aduan

    home = tmp_path / "home"
    shutil.copytree(sample_run["settings"].home, home, symlinks=True)
    data = tmp_path / "data"
    feeds = copy_sample_data(data)
    env = dict(os.environ, SATUDATA_HOME=str(home), SATUDATA_FEEDS=str(feeds),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    port = free_port()
    server = subprocess.Popen(
        [SATUDATA, "serve", "--server.port", str(port), "--server.address", "127.0.0.1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    catalog = json.loads((home / "site" / "catalog.json").read_text())
    urls = [f"{base}/", f"{base}/_stcore/health", f"{base}/app/static/data.json",
            f"{base}/app/static/catalog.json"]
    urls += [f"{base}/app/static/datasets/{d['slug']}/latest/{d['slug']}.{ext}"
             for d in catalog["datasets"] for ext in ("csv", "parquet", "json")]
    before = {d["slug"]: d["latest_version"] for d in catalog["datasets"]}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"{base}/_stcore/health")[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

        write_aduan(data / "landing", year=2025, months=range(1, 2), regencies=["36.71"])
        latencies: list[float] = []
        failures: list[str] = []
        served = 0
        lock = threading.Lock()
        stop = time.monotonic() + DURATION_S

        def client(i: int) -> None:
            nonlocal served
            n = i
            while time.monotonic() < stop:
                url = urls[n % len(urls)]
                n += 1
                t0 = time.perf_counter()
                try:
                    status, _ = _get(url)
                    ok = status == 200
                except Exception as e:  # noqa: BLE001 - every failure is counted
                    ok, status = False, repr(e)
                with lock:
                    served += 1
                    latencies.append(time.perf_counter() - t0)
                    if not ok:
                        failures.append(f"{url}: {status}")

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        run = subprocess.run([SATUDATA, "run", "--regency", "36.71", "--dataset", "aduan"],
                             env=env, capture_output=True, text=True)
        for t in threads:
            t.join()
        assert run.returncode == 0, run.stderr[-2000:]
        after = {d["slug"]: d["latest_version"] for d in json.loads(
            urllib.request.urlopen(f"{base}/app/static/catalog.json").read())["datasets"]}
        latencies.sort()
        p95 = latencies[int(len(latencies) * 0.95)]
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "load.json").write_text(json.dumps({
            "clients": CLIENTS, "duration_s": DURATION_S, "requests": served,
            "failed": len(failures), "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
            "p95_ms": round(p95 * 1000, 1), "urls": len(urls),
            "published_during_load": after["aduan-masyarakat-bulanan"]}, indent=2))
        assert failures == [], failures[:10]
        assert served > CLIENTS * 10
        assert after["aduan-masyarakat-bulanan"] != before["aduan-masyarakat-bulanan"]
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
