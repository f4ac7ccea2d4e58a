"""Network channels against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from flows.channels import FetchError, fetch
from flows.registry import load_registry
from tests.helpers import PROJECT_ROOT, copy_sample_data
from tests.regency_server import RegencyServer

CSV_SERANG = (
    PROJECT_ROOT / "data" / "landing" / "36.73" / "penduduk" / "penduduk_2024s2.csv"
).read_bytes()


@pytest.fixture
def server():
    with RegencyServer() as s:
        yield s


def _feed(tmp_path, server, **entry):
    datasets = yaml.safe_load((PROJECT_ROOT / "data" / "feeds.yml").read_text())["datasets"]
    base = {
        "id": "kota-serang.penduduk",
        "regency": "36.73",
        "dataset": "penduduk",
        "channel": "http",
        "format": "csv",
        "url": f"{server.base}/penduduk.csv",
        "options": {"delimiter": ";", "thousands": ".", "timeout_s": 2},
        "region_code": "bps_digits",
        "columns": {"Kode Wilayah": "kode_wilayah"},
    }
    base.update(entry)
    path = tmp_path / "feeds.yml"
    path.write_text(
        yaml.safe_dump({"allowed_hosts": ["127.0.0.1"], "datasets": datasets, "feeds": [base]})
    )
    return load_registry(path).feeds[0]


def test_http_download(tmp_path, server):
    server.files["/penduduk.csv"] = (CSV_SERANG, "text/csv")
    path = fetch(_feed(tmp_path, server), tmp_path / "in")
    assert path.read_bytes() == CSV_SERANG
    assert path.name == "penduduk.csv"


def test_http_500_is_a_fetch_error(tmp_path, server):
    server.failures["/penduduk.csv"] = 1
    with pytest.raises(FetchError, match="answered HTTP 500"):
        fetch(_feed(tmp_path, server), tmp_path / "in")


def test_http_timeout_is_a_fetch_error(tmp_path, server):
    server.files["/penduduk.csv"] = (CSV_SERANG, "text/csv")
    server.slow["/penduduk.csv"] = 3
    feed = _feed(tmp_path, server, options={"delimiter": ";", "timeout_s": 0.5})
    with pytest.raises(FetchError, match="(timed out|could not be reached)"):
        fetch(feed, tmp_path / "in")


def test_truncated_download_is_refused(tmp_path, server):
    server.files["/penduduk.csv"] = (CSV_SERANG * 50, "text/csv")
    server.truncate.add("/penduduk.csv")
    with pytest.raises(FetchError):
        fetch(_feed(tmp_path, server), tmp_path / "in")


def test_redirect_to_another_host_is_refused(tmp_path, server):
    server.redirects["/penduduk.csv"] = "http://169.254.169.254/latest/meta-data"
    with pytest.raises(FetchError, match="refusing to contact '169.254.169.254'"):
        fetch(_feed(tmp_path, server), tmp_path / "in")


def test_url_outside_allowed_hosts_is_a_registry_error(tmp_path, server):
    from flows.registry import RegistryError

    with pytest.raises(RegistryError, match="host 'data.example.org', which is not in"):
        _feed(tmp_path, server, url="https://data.example.org/penduduk.csv")


def test_path_traversal_in_url_file_name(tmp_path, server):
    server.files["/..%2F..%2Fetc%2Fpasswd"] = (CSV_SERANG, "text/csv")
    feed = _feed(tmp_path, server, url=f"{server.base}/..%2F..%2Fetc%2Fpasswd")
    path = fetch(feed, tmp_path / "in")
    assert path.parent == tmp_path / "in" and path.name == "passwd"


def test_ckan_paging_reads_every_record(tmp_path, server):
    records = [{"kode": "36.71", "periode": str(2000 + i), "jumlah": 1000 + i} for i in range(7)]
    server.ckan["res-1"] = {
        "fields": [{"id": "kode"}, {"id": "periode"}, {"id": "jumlah"}],
        "records": records,
    }
    server.packages["penduduk-kota-tangerang"] = [
        {"id": "res-0", "name": "metadata", "datastore_active": False},
        {"id": "res-1", "name": "penduduk", "datastore_active": True},
    ]
    feed = _feed(
        tmp_path,
        server,
        channel="ckan",
        format="ckan_json",
        url=f"{server.base}/api/3/action",
        ckan={"package": "penduduk-kota-tangerang", "resource": "penduduk", "page_size": 3},
    )
    doc = json.loads(fetch(feed, tmp_path / "in").read_text())
    assert doc["result"]["records"] == records
    assert doc["result"]["total"] == 7
    assert server.hits["/api/3/action/datastore_search"] == 3


def test_ckan_unknown_resource_names_what_exists(tmp_path, server):
    server.packages["pkg"] = [{"id": "r1", "name": "lain", "datastore_active": True}]
    feed = _feed(
        tmp_path,
        server,
        channel="ckan",
        format="ckan_json",
        url=f"{server.base}/api/3/action",
        ckan={"package": "pkg", "resource": "x"},
    )
    with pytest.raises(FetchError, match=r"no datastore resource 'x' \(resources: \['lain'\]\)"):
        fetch(feed, tmp_path / "in")


def test_network_feeds_in_a_real_run(prefect_harness, tmp_path, monkeypatch, server):
    """Kota Tangerang publishes through CKAN, Kota Serang over HTTP, Kabupaten Lebak's
    server fails: Lebak is retried then reported, the others are published."""
    from flows.pipeline import pipeline

    feeds_path = copy_sample_data(tmp_path / "data")
    doc = yaml.safe_load(feeds_path.read_text())
    doc["allowed_hosts"] = ["127.0.0.1"]
    by_id = {f["id"]: f for f in doc["feeds"]}
    ckan_records = []
    for name in ("penduduk_2020.json", "penduduk_2024s2.json"):
        body = json.loads(
            (PROJECT_ROOT / "data" / "landing" / "36.71" / "penduduk" / name).read_text()
        )
        ckan_records += [
            {k: v for k, v in r.items() if k != "_id"} for r in body["result"]["records"]
        ]
    server.ckan["res-tng"] = {
        "fields": [{"id": k} for k in ckan_records[0]],
        "records": ckan_records,
    }
    server.packages["jumlah-penduduk"] = [
        {"id": "res-tng", "name": "penduduk", "datastore_active": True}
    ]
    by_id["kota-tangerang.penduduk"].update(
        channel="ckan",
        url=f"{server.base}/api/3/action",
        path=None,
        ckan={"package": "jumlah-penduduk", "resource": "penduduk", "page_size": 1},
    )
    server.files["/serang/penduduk_2024s2.csv"] = (CSV_SERANG, "text/csv")
    by_id["kota-serang.penduduk"].update(
        channel="http", path=None, url=f"{server.base}/serang/penduduk_2024s2.csv"
    )
    server.failures["/lebak.csv"] = 99
    by_id["kab-lebak.penduduk"].update(channel="http", path=None, url=f"{server.base}/lebak.csv")
    by_id["kab-lebak.penduduk"]["options"].update(retries=2, retry_delay_s=0)
    doc["feeds"] = [
        by_id[k] for k in ("kota-tangerang.penduduk", "kota-serang.penduduk", "kab-lebak.penduduk")
    ]
    feeds_path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    monkeypatch.setenv("SATUDATA_FEEDS", str(feeds_path))
    monkeypatch.setenv("SATUDATA_HOME", str(tmp_path / "home"))

    result = pipeline(dataset="penduduk")

    assert result["status"] == "completed_with_errors"
    feeds = {f["feed_id"]: f for f in result["feeds"]}
    assert feeds["kota-tangerang.penduduk"]["accepted"] == 1
    assert feeds["kota-tangerang.penduduk"]["rows"] == 2
    assert feeds["kota-serang.penduduk"]["accepted"] == 1
    assert "answered HTTP 500" in feeds["kab-lebak.penduduk"]["error"]
    assert server.hits["/lebak.csv"] == 3  # first try + 2 retries
    site = tmp_path / "home" / "site" / "datasets" / "penduduk-kabupaten-kota" / "latest"
    with open(site / "penduduk-kabupaten-kota.csv", encoding="utf-8") as f:
        rows = {(r["kode_wilayah"], r["periode"]): r for r in csv.DictReader(f)}
    assert set(rows) == {("36.71", "2020"), ("36.71", "2024-S2"), ("36.73", "2024-S2")}
    assert rows[("36.71", "2024-S2")]["jumlah_penduduk"] == "1957349"
    snapshots = [
        json.loads(p.read_text()) for p in (tmp_path / "home" / "raw").rglob("*.meta.json")
    ]
    assert {s["source"].split("?")[0] for s in snapshots} == {
        f"{server.base}/api/3/action",
        f"{server.base}/serang/penduduk_2024s2.csv",
    }
