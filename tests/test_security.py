"""Security: the catalogue's search box and filters are safe from SQL injection, the
officials' view needs a login, no secret is in the repository, and every response of the
real server (`satudata serve`, app/server.py) carries the security headers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http.client
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.site_reader import chart_queries
from app.site_reader.parquet import count_rows
from tests.helpers import PROJECT_ROOT, served_home
from tests.site_fixture import SLUG, write_site

APP = str(PROJECT_ROOT / "app" / "catalogue.py")
PAYLOADS = [
    "' OR '1'='1",
    "'; DROP TABLE penduduk; --",
    '" OR 1=1 --',
    "1; SELECT * FROM read_csv('/etc/passwd')",
    "') UNION SELECT * FROM read_text('/etc/passwd') --",
    "%' AND 1=0 UNION SELECT 1,2,3 --",
    "\\'; COPY (SELECT 1) TO '/tmp/pwned.csv'; --",
]


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    site_dir = tmp_path / "site"
    write_site(site_dir)
    monkeypatch.setenv("SATUDATA_SITE", str(site_dir))
    monkeypatch.delenv("SATUDATA_INTERNAL", raising=False)   # the tree beside the site
    st.cache_data.clear()
    yield site_dir
    st.cache_data.clear()


def _listed_titles(at) -> str:
    return " ".join(str(getattr(e, "label", None) or e.value)
                    for kind in ("subheader", "button", "markdown") for e in at.get(kind))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_search_box_treats_sql_as_text(site, payload):
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert "Jumlah Penduduk per Kabupaten/Kota" in _listed_titles(at)
    at.text_input(key="q").set_value(payload).run()
    assert not at.exception
    assert "Jumlah Penduduk per Kabupaten/Kota" not in _listed_titles(at)  # nothing matched
    assert not Path("/tmp/pwned.csv").exists()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_dataset_param_with_sql_is_just_an_unknown_dataset(site, payload):
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["dataset"] = payload
    at.run()
    assert not at.exception


@pytest.mark.parametrize("payload", PAYLOADS)
def test_filters_bind_values(site, payload):
    parquet = next(site.glob("datasets/*/latest/*.parquet"))
    values = chart_queries.distinct_values(parquet, "kode_wilayah", where_column="kode_wilayah",
                                           where_value=payload)
    assert values == []
    assert count_rows(parquet) > 0        # the file is untouched


def test_officials_view_refuses_access_without_login(site):
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["page"] = "officials"
    at.secrets["officials"] = {"users": {"walidata": "pbkdf2_sha256$1$AAAA$AAAA"}}
    at.run()
    assert not at.exception
    text = " ".join(str(e.value) for kind in ("markdown", "dataframe", "table")
                    for e in at.get(kind))
    assert "quarantine" not in text.lower() and "karantina" not in text.lower()
    assert not at.dataframe


SECRET_PATTERNS = [
    re.compile(r"pbkdf2_sha256\$\d+\$[A-Za-z0-9+/=]{8,}\$[A-Za-z0-9+/=]{16,}"),
    re.compile(r"-----BEGIN (RSA |EC |OPENSSH )?PRIVATE KEY-----"),
    re.compile(r"(?i)(api[_-]?key|secret|token|password)\s*[:=]\s*['\"][^'\"\s]{12,}['\"]"),
    re.compile(r"AKIA[0-9A-Z]{16}"),
]


def test_no_secret_in_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    hits = []
    for name in files:
        path = PROJECT_ROOT / name
        if path.suffix in (".xlsx", ".parquet", ".png") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        for pattern in SECRET_PATTERNS:
            for m in pattern.finditer(text):
                if "test" in name:     # test fixtures hash throwaway passwords at run time
                    continue
                hits.append(f"{name}: {m.group(0)[:40]}")
    assert hits == []
    assert not any(n.endswith("secrets.toml") for n in files)


# --- security headers of the real server (app/server.py) -----------------------------------

DATA_DOCS = "quality/data-docs/index.html"
STABLE_CSV = f"/app/static/datasets/{SLUG}/latest/{SLUG}.csv"      # README: stable URLs
RESPONSE_KINDS = {
    "app page": "/",
    "health": "/_stcore/health",
    "Streamlit asset": "/favicon.png",
    "CSV download": STABLE_CSV,
    "catalogue index": "/app/static/catalog.json",
    "Data Docs page": f"/app/static/{DATA_DOCS}",
    "dbt docs page": "/app/static/dbt-docs/index.html",
    "missing site file": "/app/static/missing.csv",
    "refused traversal": "/app/static/../internal/meta/runs.json",
    "hidden file": "/app/static/.env",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    home = tmp_path_factory.mktemp("headers") / "home"
    site = home / "site"
    write_site(site, internal_dir=home / "internal")
    (site / DATA_DOCS).parent.mkdir(parents=True, exist_ok=True)
    (site / DATA_DOCS).write_text("<!doctype html><title>Data Docs</title>"
                                  "<script>document.title += '.'</script>", encoding="utf-8")
    with served_home(home) as (port, proc):
        yield {"port": port, "site": site}


def _get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _csp(headers: dict[str, str]) -> dict[str, list[str]]:
    policy = {}
    for directive in headers["content-security-policy"].split(";"):
        name, *values = directive.split()
        policy[name] = values
    return policy


@pytest.mark.parametrize("kind", RESPONSE_KINDS)
def test_every_response_carries_the_security_headers(server: dict, kind: str) -> None:
    status, headers, _ = _get(server["port"], RESPONSE_KINDS[kind])
    assert status == (404 if kind in ("missing site file", "refused traversal", "hidden file")
                      else 200), (kind, status)
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] in ("strict-origin-when-cross-origin", "no-referrer")
    policy = _csp(headers)
    assert policy["frame-ancestors"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] in (["'self'"], ["'none'"])
    sources = [v for values in policy.values() for v in values]
    # nothing from another origin: no host, no scheme wildcard, no eval
    assert all(v.startswith("'") or v in ("data:", "blob:") for v in sources), sources
    assert "'unsafe-eval'" not in sources


def test_the_app_policy_allows_exactly_what_streamlit_needs(server: dict) -> None:
    _, headers, html = _get(server["port"], "/")
    policy = _csp(headers)
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    # the inline scripts of Streamlit's index.html are allowed by their hash
    for script in re.findall(rb"<script>(.*?)</script>", html, re.S):
        digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
    assert "'unsafe-inline'" in policy["style-src"]       # emotion's style tags
    assert policy["connect-src"] == ["'self'"]             # the websocket, same origin


def test_site_pages_and_files_get_their_own_policies(server: dict) -> None:
    port = server["port"]
    docs = _csp(_get(port, f"/app/static/{DATA_DOCS}")[1])
    dbt_docs = _csp(_get(port, "/app/static/dbt-docs/index.html")[1])
    assert docs == dbt_docs
    assert docs["script-src"] == ["'self'", "'unsafe-inline'"]   # GX's and dbt's inline JS
    assert docs["worker-src"] == ["'none'"]
    csv = _csp(_get(port, STABLE_CSV)[1])
    assert csv["default-src"] == ["'none'"] and "script-src" not in csv


def test_the_stable_download_url_serves_the_published_bytes(server: dict) -> None:
    status, headers, body = _get(server["port"], STABLE_CSV)
    expected = (server["site"] / "datasets" / SLUG / "latest" / f"{SLUG}.csv").read_bytes()
    assert status == 200 and body == expected and len(body) > 0
    assert headers["content-type"].startswith("text/csv")
    assert headers["access-control-allow-origin"] == "*"


def test_the_app_shell_and_its_websocket_are_served(server: dict) -> None:
    port = server["port"]
    status, headers, html = _get(port, "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'<div id="root"></div>' in html and b'type="module"' in html
    script = re.search(rb'<script type="module" crossorigin src="\./([^"]+)"', html)
    assert script and _get(port, "/" + script.group(1).decode())[0] == 200
    import websockets

    async def handshake() -> str | None:
        async with websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream",
                                      subprotocols=["streamlit"],
                                      origin=f"http://127.0.0.1:{port}") as ws:
            return ws.subprotocol

    assert asyncio.run(asyncio.wait_for(handshake(), 20)) == "streamlit"
