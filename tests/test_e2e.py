"""End to end: `satudata serve` in a subprocess, driven by headless Chromium (Playwright).

The site is the miniature published site of ``tests/site_fixture.py`` (the real pipeline
takes too long here) in a temporary ``SATUDATA_HOME``; the officials' password hash is in
``.streamlit/secrets.toml`` of the server's working directory, where Streamlit reads it.
Screenshots of every step go to ``tests/output/e2e/`` (git-ignored).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from app.auth import hash_password
from tests.helpers import free_port, stop_group, wait_healthy
from tests.site_fixture import POPULATION_2024_S2, SLUG, write_site

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"end-to-end tests need Chromium at {CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")

ROOT = Path(__file__).resolve().parent.parent
SATUDATA = ROOT / ".venv" / "bin" / "satudata"
OUTPUT = ROOT / "tests" / "output" / "e2e"
PASSWORD = "kata-sandi-uji-e2e"
TITLE_ID = "Jumlah Penduduk per Kabupaten/Kota"
TITLE_EN = "Population by Regency/City"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`satudata serve` on a free port with a fixture site and a hashed password."""
    base = tmp_path_factory.mktemp("e2e")
    home = base / "home"
    write_site(home / "site")
    workdir = base / "cwd"
    (workdir / ".streamlit").mkdir(parents=True)
    (workdir / ".streamlit" / "secrets.toml").write_text(
        f'[officials.users]\nwalidata = "{hash_password(PASSWORD)}"\n', encoding="utf-8"
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("SATUDATA_SITE", "SATUDATA_BASE_URL")}
    env["SATUDATA_HOME"] = str(home)
    log = (base / "server.log").open("w")
    proc = subprocess.Popen(
        [str(SATUDATA), "serve", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.fileWatcherType", "none"],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped with everything it started
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield {"url": url, "home": home, "site": home / "site", "log": base / "server.log"}
    finally:
        stop_group(proc)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def shot(page, name: str) -> None:
    """A screenshot of the whole app: Streamlit scrolls inside its own container, so the
    viewport is stretched to the content's height first."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        "() => Math.max(900, ...[...document.querySelectorAll("
        "'[data-testid=stMain], [data-testid=stMainBlockContainer]')].map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": 1280, "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(400)
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def wait_idle(page) -> None:
    """Until Streamlit finished the current run (no running indicator)."""
    page.wait_for_timeout(300)
    page.locator("[data-testid=stStatusWidget]").wait_for(state="hidden", timeout=TIMEOUT_MS)


def test_public_catalogue_and_officials_view(server: dict, browser) -> None:
    url = server["url"]
    for old in OUTPUT.glob("*.png"):
        old.unlink()
    outside: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.on(
        "request",
        lambda r: outside.append(r.url)
        if urlparse(r.url).scheme in ("http", "https", "ws", "wss")
        and urlparse(r.url).hostname not in ("127.0.0.1", "localhost")
        else None,
    )
    expect = sync_api.expect
    try:
        # 1. home page, in Indonesian
        page.goto(url)
        expect(page.get_by_role("heading", name="Satu Data Banten")).to_be_visible()
        expect(page.get_by_text("3 dataset tersedia")).to_be_visible()
        shot(page, "01-home")

        # 2. search
        search = page.get_by_placeholder("mis. penduduk, kemiskinan, kode_wilayah")
        search.fill("penduduk")
        search.press("Enter")
        expect(page.get_by_text("cocok dengan “penduduk”")).to_be_visible()
        wait_idle(page)
        shot(page, "02-search")

        # 3. the dataset page
        card = page.locator(f".st-key-open-{SLUG}")
        card.get_by_role("button").click()
        expect(page.get_by_role("heading", name=TITLE_ID, exact=True)).to_be_visible()
        expect(page).to_have_url(f"{url}/?dataset={SLUG}")
        wait_idle(page)
        shot(page, "03-dataset")

        # 4. English
        page.get_by_role("radio", name="English", exact=True).click()
        expect(page.get_by_role("heading", name=TITLE_EN, exact=True)).to_be_visible()
        expect(page.get_by_text("Data producer", exact=True).first).to_be_visible()
        wait_idle(page)
        shot(page, "04-dataset-en")

        page.get_by_role("tab", name="Charts & map", exact=True).click()
        page.get_by_role("tab", name="Map", exact=True).click()
        expect(page.locator("[data-testid=stDeckGlJsonChart] canvas").first).to_be_visible()
        wait_idle(page)
        page.wait_for_timeout(800)
        shot(page, "05-map-en")

        # 5. download the CSV: the button, and the stable URL shown on the page
        page.get_by_role("tab", name="Download & API", exact=True).click()
        stable = f"{url}/app/static/datasets/{SLUG}/latest/{SLUG}.csv"
        expect(page.get_by_text(stable, exact=False).first).to_be_visible()
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download CSV").click()
        downloaded = Path(download_info.value.path()).read_text(encoding="utf-8")
        shot(page, "06-downloads-en")
        response = page.request.get(stable)
        assert response.ok, response.status
        assert response.headers["content-type"].startswith("text/csv")
        for body in (response.text(), downloaded):
            rows = list(csv.reader(io.StringIO(body)))
            assert rows[0] == ["kode_wilayah", "nama_wilayah", "periode", "laki_laki",
                               "perempuan", "jumlah_penduduk"]
            assert len(rows) - 1 == len(POPULATION_2024_S2) == 8
            assert sum(int(r[5]) for r in rows[1:]) == 12_881_374

        # 6. the officials' view: locked, then logged in; its files are not downloadable
        for name in ("feeds", "submissions", "runs", "quality"):
            assert page.request.get(f"{url}/app/static/meta/{name}.json").status == 404
        assert (server["home"] / "internal" / "meta" / "submissions.json").is_file()
        page.get_by_role("button", name="Officials", exact=True).click()
        expect(page.get_by_role("heading", name="Officials' dashboard")).to_be_visible()
        assert "page=officials" in page.url and "lang=en" in page.url
        expect(page.get_by_text("Submission scoreboard")).to_have_count(0)
        wait_idle(page)
        shot(page, "07-officials-login")
        page.get_by_role("link", name="Log in").click()      # the server's log-in page
        page.wait_for_url("**/officials/login?lang=en")
        shot(page, "07-officials-login-page")
        page.get_by_label("User name", exact=True).fill("walidata")
        page.get_by_label("Password", exact=True).fill("not the password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_text("Wrong user name or password.")).to_be_visible()
        page.get_by_label("User name", exact=True).fill("walidata")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_text("Logged in as")).to_be_visible()
        assert "page=officials" in page.url
        cookie = next(c for c in page.context.cookies() if c["name"] == "satudata_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert "satudata_session" not in page.evaluate("document.cookie")   # not for scripts
        page.reload()                                         # a refresh keeps the session
        expect(page.get_by_text("Logged in as")).to_be_visible()
        expect(page.get_by_text("Population (2024-S2)")).to_be_visible()
        wait_idle(page)
        page.wait_for_timeout(800)
        shot(page, "08-officials-overview")
        page.get_by_role("tab", name="Regency submissions", exact=True).click()
        expect(page.get_by_role("heading", name="Submission scoreboard")).to_be_visible()
        expect(page.get_by_text("Quarantined files").first).to_be_visible()
        wait_idle(page)
        shot(page, "09-officials-scoreboard")
        page.get_by_role("tab", name="Pipeline runs", exact=True).click()
        wait_idle(page)
        shot(page, "10-officials-runs")
        page.get_by_role("link", name="Log out").click()      # ends the session
        expect(page.get_by_role("link", name="Log in")).to_be_visible()
        expect(page.get_by_text("Submission scoreboard")).to_have_count(0)

        # 7. about / API, back in Indonesian
        page.get_by_role("radio", name="Indonesia", exact=True).click()
        page.get_by_role("button", name="Tentang & API", exact=True).click()
        expect(page.get_by_role("heading", name="Tentang Satu Data Banten")).to_be_visible()
        expect(page.get_by_text(f"{url}/app/static/data.json").first).to_be_visible()
        wait_idle(page)
        shot(page, "11-about")
        data_json = page.request.get(f"{url}/app/static/data.json")
        assert data_json.ok and data_json.json()["dataset"]

        # nothing was fetched from another host (no map tiles, fonts, analytics)
        assert outside == []
    except Exception:
        shot(page, "99-failure")
        raise
    finally:
        page.close()
