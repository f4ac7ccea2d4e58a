"""Downloads from the real `satudata serve` (app/server.py, one `streamlit.App` with the
site's route from flows/static_files.py) stay whole while the published files are
replaced: every response is one version of the file, complete, with
a Content-Length that matches it; range requests and the usual refusals still work. Hidden
files and anything outside the site folder (the internal tree beside it, through `..` or
a symlink) answer 404."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import served_home

PROBE = "replaced.json"
SECRET = b"not for the public: internal-marker-7f3a"


def _version(n: int) -> bytes:
    """Version `n` of the probe file; versions differ in size, as catalogue versions do."""
    return json.dumps({"version": n, "pad": "x" * (20_000 + (n % 40) * 700)}).encode()


def _replace(site: Path, body: bytes) -> None:
    """Publish the probe file the way the publisher does: write beside, then rename."""
    tmp = site / f".{PROBE}.tmp"
    tmp.write_bytes(body)
    os.replace(tmp, site / PROBE)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    home = tmp_path_factory.mktemp("static") / "home"
    site = home / "site"
    site.mkdir(parents=True)
    (site / "folder").mkdir()
    _replace(site, _version(0))
    # What must never be served: hidden files and folders inside the site, and the
    # internal tree beside it, reached by `..` or by symlinks that lead out of the site.
    (site / ".secret").write_bytes(SECRET)
    (site / "folder" / ".hidden.json").write_bytes(SECRET)
    (site / ".git").mkdir()
    (site / ".git" / "config").write_bytes(SECRET)
    internal = home / "internal" / "meta"
    internal.mkdir(parents=True)
    (internal / "submissions.json").write_bytes(SECRET)
    (site / "leak.json").symlink_to(internal / "submissions.json")
    (site / "internal-link").symlink_to(home / "internal", target_is_directory=True)
    (site / "alias.json").symlink_to(".secret")
    (site / "visible.json").write_bytes(b'{"public": true}')
    with served_home(home) as (port, proc):
        yield {"port": port, "site": site, "pid": proc.pid}


def _fetch(port: int, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_a_file_replaced_during_downloads_is_served_whole(served: dict) -> None:
    site, port = served["site"], served["port"]
    versions = {0: (site / PROBE).read_bytes()}
    open_before = len(os.listdir(f"/proc/{served['pid']}/fd"))
    failures: list[str] = []
    fetched = 0
    lock = threading.Lock()
    stop = time.monotonic() + 4

    def publisher() -> None:
        n = 1
        while time.monotonic() < stop:
            with lock:   # known before any client can read it
                versions[n] = _version(n)
            _replace(site, versions[n])
            n += 1

    def client() -> None:
        nonlocal fetched
        while time.monotonic() < stop:
            try:
                status, headers, body = _fetch(port, f"/app/static/{PROBE}")
                version = json.loads(body)["version"]
                with lock:
                    ok = (status == 200 and int(headers["content-length"]) == len(body)
                          and body == versions.get(version))
                    fetched += 1
                    if not ok:
                        failures.append(f"status {status}, {len(body)} bytes, version {version}")
            except Exception as e:  # noqa: BLE001 - every broken download is counted
                with lock:
                    failures.append(repr(e)[:120])

    threads = [threading.Thread(target=publisher)] + [
        threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [], f"{len(failures)} of {fetched + len(failures)}: {failures[:5]}"
    assert fetched >= 100 and len(versions) >= 100, (fetched, len(versions))
    time.sleep(0.5)
    assert len(os.listdir(f"/proc/{served['pid']}/fd")) <= open_before + 5  # none left open


def test_range_requests_and_refusals_still_work(served: dict) -> None:
    site, port = served["site"], served["port"]
    body = (site / PROBE).read_bytes()
    status, headers, part = _fetch(port, f"/app/static/{PROBE}", {"Range": "bytes=2-11"})
    assert status == 206 and part == body[2:12]
    assert headers["content-range"] == f"bytes 2-11/{len(body)}"
    status, headers, whole = _fetch(port, f"/app/static/{PROBE}")
    assert status == 200 and whole == body
    assert headers["content-type"].startswith("application/json")
    assert headers["access-control-allow-origin"] == "*"
    assert headers["x-content-type-options"] == "nosniff"
    assert _fetch(port, "/app/static/missing.json")[0] == 404
    assert _fetch(port, "/app/static/folder")[0] == 404
    assert _fetch(port, "/app/static/..%2F..%2Fetc%2Fpasswd")[0] == 404


REFUSED = [
    "/app/static/.secret",
    "/app/static/%2Esecret",
    "/app/static/folder/.hidden.json",
    "/app/static/.git/config",
    "/app/static/folder/../.secret",
    "/app/static/alias.json",                                   # a symlink to a hidden file
    "/app/static/leak.json",                                    # a symlink out of the site
    "/app/static/internal-link/meta/submissions.json",          # a folder symlink out
    "/app/static/../internal/meta/submissions.json",
    "/app/static/datasets/x/../../../internal/meta/submissions.json",
    "/app/static/folder/..%2F..%2Finternal%2Fmeta%2Fsubmissions.json",
    "/app/static//etc/passwd",
]


@pytest.mark.parametrize("path", REFUSED)
def test_hidden_files_and_paths_outside_the_site_answer_404(served: dict, path: str) -> None:
    status, _, body = _fetch(served["port"], path)
    assert status == 404, (path, status)
    assert SECRET not in body


def test_a_visible_file_beside_them_is_served(served: dict) -> None:
    """The refusals above are not a broken server: a plain file next to them is served."""
    status, _, body = _fetch(served["port"], "/app/static/visible.json")
    assert (status, body) == (200, b'{"public": true}')
    status, _, body = _fetch(served["port"], "/app/static/folder/../visible.json")
    assert status == 404                     # any `..` is refused, even one that stays in


@pytest.mark.parametrize(("path", "hidden"), [
    (".secret", True), ("a/.b/c.json", True), ("a/b/.c", True), ("..", True),
    ("a/../b", True), ("a\\.b", True), ("datasets/x/latest/x.csv", False),
    ("a.b/c.d", False), ("", False),
])
def test_is_hidden(path: str, hidden: bool) -> None:
    from flows.static_files import is_hidden

    assert is_hidden(path) is hidden


@pytest.mark.parametrize(("path", "unsafe"), [
    ("..", True), ("a/../b", True), ("/etc/passwd", True), ("\\\\host\\share", True),
    ("C:/Windows", True), ("a\x00b", True), (".env", True),
    ("datasets/x/latest/x.csv", False), ("dbt-docs/index.html", False),
])
def test_unsafe_static_path(path: str, unsafe: bool) -> None:
    from flows.static_files import unsafe_static_path

    assert unsafe_static_path(path) is unsafe


def test_open_static_refuses_what_resolves_outside(tmp_path: Path) -> None:
    from starlette.exceptions import HTTPException

    from flows.static_files import open_static

    site = tmp_path / "site"
    site.mkdir()
    (site / "ok.csv").write_text("a\n")
    (tmp_path / "sitex").mkdir()                  # a sibling whose name extends the site's
    (tmp_path / "sitex" / "x.csv").write_text("no\n")
    (site / "out").symlink_to(tmp_path / "sitex", target_is_directory=True)
    fd, path = open_static(str(site), "ok.csv")
    os.close(fd)
    assert path == str(site / "ok.csv")
    for refused in ("out/x.csv", "", "missing.csv"):
        with pytest.raises(HTTPException) as e:
            open_static(str(site), refused)
        assert e.value.status_code == 404


def test_streamlit_is_not_patched() -> None:
    """The site is a route of our own `streamlit.App` (app/server.py), not a patch."""
    import flows.static_files as static_files

    assert not hasattr(static_files, "install")
    source = (Path(__file__).resolve().parent.parent / "app" / "server.py").read_text()
    assert "app = st.App(" in source          # what `streamlit run` discovers
