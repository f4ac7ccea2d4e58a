"""Network channels against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import csv
import json
import re

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


def _feed(tmp_path, server, hosts=("127.0.0.1",), **entry):
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
        yaml.safe_dump({"allowed_hosts": list(hosts), "datasets": datasets, "feeds": [base]})
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


# --- allowed hosts with ports; loopback, private and link-local addresses ----------------
# Only the 127.0.0.1 server above is ever connected to: other addresses are refused by
# parsing the URL or by the (mocked) resolution, before any connection.


@pytest.mark.parametrize("address, internal", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("10.1.2.3", True),
    ("172.16.0.1", True), ("172.31.255.255", True), ("192.168.10.1", True),
    ("169.254.169.254", True), ("fc00::1", True), ("fd12:3456::7", True), ("fe80::1", True),
    ("fe80::1%eth0", True), ("::ffff:127.0.0.1", True), ("::ffff:10.0.0.1", True),
    ("0.0.0.0", True), ("::", True),
    ("8.8.8.8", False), ("172.32.0.1", False), ("172.15.255.255", False),
    ("192.169.0.1", False), ("203.0.113.7", False), ("2606:4700::1111", False),
])
def test_internal_ranges(address, internal):
    from flows.channels import internal_address

    assert internal_address(address) is internal


def test_a_pinned_port_allows_that_port_only(tmp_path, server):
    from flows.registry import RegistryError

    server.files["/penduduk.csv"] = (CSV_SERANG, "text/csv")
    feed = _feed(tmp_path, server, [f"127.0.0.1:{server.port}"])
    assert fetch(feed, tmp_path / "in").read_bytes() == CSV_SERANG

    other = server.port + 1 if server.port < 65535 else server.port - 1
    doc = yaml.safe_load((tmp_path / "feeds.yml").read_text())
    doc["feeds"][0]["url"] = f"http://127.0.0.1:{other}/penduduk.csv"
    (tmp_path / "feeds.yml").write_text(yaml.safe_dump(doc))
    with pytest.raises(RegistryError, match=rf"points at host '127.0.0.1' port {other}, "
                                            r"which 'allowed_hosts' .* does not allow"):
        load_registry(tmp_path / "feeds.yml")
    # IPv6 in brackets; the default port of the scheme counts as pinned or not
    doc["allowed_hosts"] = ["[fd00::5]:8080", "data.example.go.id:443"]
    for url, ok in [("http://[fd00::5]:8080/p.csv", True), ("http://[fd00::5]/p.csv", False),
                    ("https://data.example.go.id/p.csv", True),
                    ("http://data.example.go.id/p.csv", False)]:
        doc["feeds"][0]["url"] = url
        (tmp_path / "feeds.yml").write_text(yaml.safe_dump(doc))
        if ok:
            load_registry(tmp_path / "feeds.yml")
        else:
            with pytest.raises(RegistryError, match="does not allow"):
                load_registry(tmp_path / "feeds.yml")


def test_a_redirect_to_another_port_is_refused(tmp_path, server):
    from tests.helpers import free_port

    other = free_port()
    server.redirects["/penduduk.csv"] = f"http://127.0.0.1:{other}/penduduk.csv"
    feed = _feed(tmp_path, server, [f"127.0.0.1:{server.port}"])
    with pytest.raises(FetchError, match=rf"refusing to contact '127.0.0.1' port {other}"):
        fetch(feed, tmp_path / "in")


def test_a_listed_name_that_resolves_to_loopback_needs_the_address_listed(tmp_path, server):
    """`localhost` is listed, but it is 127.0.0.1: refused before connecting, unless
    127.0.0.1 itself is listed (here pinned to the server's port)."""
    server.files["/penduduk.csv"] = (CSV_SERANG, "text/csv")
    url = f"http://localhost:{server.port}/penduduk.csv"
    feed = _feed(tmp_path, server, ["localhost"], url=url)
    with pytest.raises(FetchError, match=r"refusing to contact 'localhost' \(127\.0\.0\.1"
                                         r".*loopback, private or link-local"):
        fetch(feed, tmp_path / "in")
    assert server.hits == {}                      # nothing reached the server

    feed = _feed(tmp_path, server, ["localhost", f"127.0.0.1:{server.port}"], url=url)
    assert fetch(feed, tmp_path / "in").read_bytes() == CSV_SERANG
    # a redirect from there to localhost on another port: the address is not listed
    server.redirects["/moved.csv"] = f"http://localhost:{server.port + 1}/penduduk.csv"
    feed = _feed(tmp_path, server, ["localhost", f"127.0.0.1:{server.port}"],
                    url=f"http://localhost:{server.port}/moved.csv")
    with pytest.raises(FetchError, match="refusing to contact 'localhost'"):
        fetch(feed, tmp_path / "in")
    assert server.hits.get("/penduduk.csv") == 1   # the one allowed download only


def test_a_public_name_resolving_to_an_internal_address_is_refused_before_connecting(
        tmp_path, server, monkeypatch):
    """A listed regency host whose DNS now answers the cloud metadata address, or a
    private one beside a listed address: the internal address is never connected to."""
    import socket

    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
    answers: dict[str, list[str]] = {}
    connected: list[tuple] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                    for a in answers[host]]
        return real_getaddrinfo(host, port, *args, **kwargs)

    def connect(sock, address):
        assert address[0] == "127.0.0.1", f"tried to connect to {address}"
        connected.append(address)
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    server.files["/penduduk.csv"] = (CSV_SERANG, "text/csv")

    answers["data.kotaserang.go.id"] = ["169.254.169.254"]
    feed = _feed(tmp_path, server, ["data.kotaserang.go.id"],
                    url="http://data.kotaserang.go.id/penduduk.csv")
    with pytest.raises(FetchError, match=r"'data.kotaserang.go.id' \(169\.254\.169\.254\)"):
        fetch(feed, tmp_path / "in")
    assert connected == []

    answers["regency.test"] = ["10.9.9.9", "127.0.0.1"]
    feed = _feed(tmp_path, server, ["regency.test", "127.0.0.1"],
                    url=f"http://regency.test:{server.port}/penduduk.csv")
    assert fetch(feed, tmp_path / "in").read_bytes() == CSV_SERANG
    assert connected == [("127.0.0.1", server.port)]   # 10.9.9.9 was skipped


def test_allowed_hosts_entries_are_checked(tmp_path, server):
    from flows.registry import RegistryError

    for bad, why in [("http://127.0.0.1", "not a URL"), ("127.0.0.1:99999", "1 to 65535"),
                     ("[::1", "IPv6"), ("bad_host!", "not a host name")]:
        with pytest.raises(RegistryError, match=rf"allowed_hosts\[1\]: .*{re.escape(why)}"):
            _feed(tmp_path, server, ["127.0.0.1", bad])
