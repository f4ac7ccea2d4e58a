"""XSS: markup and script in regency data and in dataset metadata stay inert text in a
real browser, on every public page that shows them.

One real pipeline run (`satudata run`, ~20 s) on a private copy of the sample data and of
the dbt project, with payloads where an attacker can put them:

- a regency's landing file named ``<img src=x onerror=window.__xss=1>.csv`` whose new
  rows carry markup in ``jenis_fasilitas``: the suite quarantines it, and the GX Data Docs
  and the public quality summary show its file name and sampled failing values;
- an accepted regency file whose facility names and addresses are payloads: they are
  published and shown in the catalogue's preview;
- the dbt project's metadata of the `fasilitas_kesehatan` mart (catalogue title,
  description, keywords, column descriptions; the model's dbt description), and a column
  name and a tag of another model: the catalogue and the dbt docs show them;
- a column name in the published catalog (edited after the run, as a publisher could
  write it).

`satudata serve` then serves that home, and headless Chromium opens the catalogue (home,
search, both languages, every tab of the dataset page), the Data Docs (index and the
quarantined file's validation page) and the dbt docs (model page, search). On each page,
once rendered: no frame has `window.__xss` set, no dialog opened, no element, script or
`javascript:` link came from a payload, and the payload is there as text. The browser
ignores the Content-Security-Policy (`bypass_csp`): the policy is a second wall (tested in
tests/test_security.py); these tests check the first one, escaping.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from app.i18n import t
from tests.helpers import PROJECT_ROOT, copy_sample_data, served_home

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"XSS tests need Chromium at {CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")

TIMEOUT_MS = 20_000
SLUG = "fasilitas-kesehatan"
DBT_MODEL = "model.satudata_banten.fasilitas_kesehatan"

# The payloads. Each sets window.__xss or opens a dialog if it ever runs.
IMG = "<img src=x onerror=window.__xss=1>"
SCRIPT = "<script>window.__xss=1</script>"
SVG = '"><svg onload=window.__xss=1>'
JS_URL = "javascript:window.__xss=1"
MD_LINK = "[x](javascript:window.__xss=1)"
A_TAG = '<a href="javascript:window.__xss=1">klik</a>'
ALERT = "<img src=y onerror=alert(1)>"
MD_ALERT = "[klik](javascript:alert(1))"

FILE_NAME = f"{IMG}.csv"                       # Kota Tangerang's quarantined file
BAD_TYPES = [SCRIPT, SVG, JS_URL, ALERT]       # its failing jenis_fasilitas values
# Kab. Pandeglang's accepted facilities with the lowest codes (first preview page):
# (nama_fasilitas, alamat)
ACCEPTED = [(IMG, MD_LINK), (SCRIPT, JS_URL), (SVG, A_TAG), (ALERT, MD_ALERT)]
TITLE_ID = f"Fasilitas Kesehatan {IMG}"
TITLE_EN = f"Health Facilities {SVG} {MD_LINK}"
DESCRIPTION_ID = f"{SCRIPT} {A_TAG} Puskesmas dan rumah sakit. DATA SINTETIS."
DESCRIPTION_EN = f"{ALERT} {MD_LINK} Health centres and hospitals. SYNTHETIC DATA."
KEYWORD = MD_ALERT
NAME_DESCRIPTION = (f"Facility name {IMG}", f"Nama fasilitas {SVG}")          # en, id
TYPE_DESCRIPTION = (f"Facility type {MD_LINK}", f"Jenis fasilitas {MD_LINK}")  # en, id
UNIT = f"fasilitas {IMG}"                      # the dataset's unit: map tooltips
COLUMN_NAME = f"alamat {IMG}"                  # in the published catalog only
# dbt docs: a model description (markdown: one `__` only, or it turns bold), and a
# documented column name and a tag of another model, which dbt docs' search shows.
MODEL_DESCRIPTION = f"Satu baris per fasilitas {IMG} {MD_ALERT}"
DBT_COLUMN = f"kolom {SVG}"
DBT_TAG = f"tanda {IMG}"

INERT = """() => ({
  xss: typeof window.__xss === 'undefined' ? null : String(window.__xss),
  elements: [...document.querySelectorAll(
      'img[src="x"], img[src="y"], svg[onload], [onerror*="xss"], [onload*="xss"],'
      + ' [onerror*="alert"], [onload*="alert"]')].map(e => e.outerHTML.slice(0, 160)),
  scripts: [...document.querySelectorAll('script')]
      .filter(s => /^\\s*(window\\.__xss=1|alert\\(1\\))\\s*$/.test(s.textContent))
      .map(s => s.outerHTML),
  links: [...document.querySelectorAll('a[href], area[href], iframe[src], form[action]')]
      .map(e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action'))
      .filter(u => /^(javascript|vbscript|data):/i.test(u.replace(/[\\s\\x00-\\x1f]/g, ''))),
})"""


# --- the hostile run ---------------------------------------------------------------------


def _csv_rows(path: Path, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8")), delimiter=delimiter))


def _write_csv(path: Path, rows: list[list[str]], delimiter: str) -> None:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _hostile_landing(landing: Path) -> None:
    """Only penduduk and fasilitas_kesehatan files (a shorter run); Kota Tangerang's list
    re-sent under a hostile name with four hostile facility types (quarantined), Kab.
    Pandeglang's with hostile names and addresses (accepted)."""
    for folder in [*landing.glob("*/aduan"), *landing.glob("*/indikator")]:
        shutil.rmtree(folder)
    tangerang = landing / "36.71" / "fasilitas_kesehatan" / "fasilitas_kesehatan.csv"
    rows = _csv_rows(tangerang, ";")
    for i, value in enumerate(BAD_TYPES):
        bad = list(rows[1])
        bad[0], bad[2] = f"P36719999{i}", value      # kode, jenis
        rows.append(bad)
    tangerang.unlink()
    _write_csv(tangerang.with_name(FILE_NAME), rows, ";")

    pandeglang = landing / "36.01" / "fasilitas_kesehatan" / "fasilitas_kesehatan.csv"
    rows = _csv_rows(pandeglang, ";")
    first = sorted(range(1, len(rows)), key=lambda i: rows[i][0])[:len(ACCEPTED)]
    for i, (name, address) in zip(first, ACCEPTED, strict=True):
        rows[i][1], rows[i][5] = name, address        # nama, alamat
    _write_csv(pandeglang, rows, ";")


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _hostile_dbt(dbt: Path) -> None:
    """Payloads in the dbt project's metadata (YAML strings, quoted as YAML needs)."""
    q = json.dumps       # a JSON string is a YAML flow scalar
    marts = dbt / "models" / "marts" / "fasilitas_kesehatan.yml"
    text = marts.read_text(encoding="utf-8")
    start = text.index("          description:\n            id: >-")
    end = text.index("          keywords: [puskesmas, klinik,")
    text = (text[:start] + f"          description:\n            id: {q(DESCRIPTION_ID)}\n"
            f"            en: {q(DESCRIPTION_EN)}\n" + text[end:])
    meta = "\n        config: {meta: {id: "
    for old, new in (
        ("description: One row per health facility (puskesmas, clinic, hospital), public "
         "fields only.", f"description: {q(MODEL_DESCRIPTION)}"),
        ("id: Fasilitas Kesehatan (data sintetis)", f"id: {q(TITLE_ID)}"),
        ("en: Health Facilities (synthetic data)", f"en: {q(TITLE_EN)}"),
        ("keywords: [puskesmas,", f"keywords: [{q(KEYWORD)}, puskesmas,"),
        ("unit: fasilitas\n          key: [kode_fasilitas]",
         f"unit: {q(UNIT)}\n          key: [kode_fasilitas]"),
        (f"description: Facility name.{meta}Nama fasilitas,",
         f"description: {q(NAME_DESCRIPTION[0])}{meta}{q(NAME_DESCRIPTION[1])},"),
        (f"description: Facility type.{meta}Jenis fasilitas,",
         f"description: {q(TYPE_DESCRIPTION[0])}{meta}{q(TYPE_DESCRIPTION[1])},"),
    ):
        text = _replace(text, old, new)
    marts.write_text(text, encoding="utf-8")

    intermediate = dbt / "models" / "intermediate" / "int_penduduk__terbaru.yml"
    text = intermediate.read_text(encoding="utf-8")
    column = "      - name: kode_wilayah\n        data_tests: [unique, not_null]\n"
    text = _replace(text, f"    columns:\n{column}",
                    f"    config:\n      tags: [{q(DBT_TAG)}]\n    columns:\n{column}"
                    f"      - name: {q(DBT_COLUMN)}\n        description: documented, not built\n")
    intermediate.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SATUDATA_HOME of one real run on the hostile inputs; checked to hold every
    payload where the pages take it from (so no test below passes for want of one)."""
    base = tmp_path_factory.mktemp("xss")
    feeds = copy_sample_data(base / "data")
    _hostile_landing(base / "data" / "landing")
    dbt = base / "dbt"
    shutil.copytree(PROJECT_ROOT / "dbt", dbt,
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    _hostile_dbt(dbt)
    home = base / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATUDATA_")}
    env.update(SATUDATA_HOME=str(home), SATUDATA_FEEDS=str(feeds), SATUDATA_DBT_DIR=str(dbt))
    run = subprocess.run([str(Path(sys.executable).parent / "satudata"), "run"], cwd=base,
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]

    site = home / "site"
    submissions = json.loads((home / "internal" / "meta" / "submissions.json").read_text())
    quarantined = [s for s in submissions["submissions"] if s["file_name"] == FILE_NAME]
    assert [s["status"] for s in quarantined] == ["quarantined"]
    summary = (site / "quality" / "summary.json").read_text(encoding="utf-8")
    assert all(json.dumps(v) in summary for v in BAD_TYPES)
    pages = list((site / "quality" / "data-docs" / "validations" / "fasilitas_kesehatan"
                  / "quarantined").rglob("*.html"))
    assert len(pages) == 1
    assert MODEL_DESCRIPTION.split(" <")[0] in (site / "dbt-docs" / "manifest.json").read_text()

    # The published catalog, with a hostile column name as a publisher could write it.
    catalog_file = site / "catalog.json"
    catalog = json.loads(catalog_file.read_text(encoding="utf-8"))
    (dataset,) = [d for d in catalog["datasets"] if d["slug"] == SLUG]
    assert dataset["title"] == {"id": TITLE_ID, "en": TITLE_EN}
    (address,) = [c for c in dataset["columns"] if c["name"] == "alamat"]
    address["name"] = COLUMN_NAME
    catalog_file.write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")
    return home


@pytest.fixture(scope="module")
def server(hostile_home: Path) -> Iterator[str]:
    with served_home(hostile_home) as (port, _):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            yield chromium
        finally:
            chromium.close()


class Watched:
    """A page whose dialogs are recorded (and dismissed)."""

    def __init__(self, browser) -> None:
        self.context = browser.new_context(bypass_csp=True,
                                           viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.dialogs: list[str] = []

        def dialog(d) -> None:
            self.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        self.page.on("dialog", dialog)

    def assert_inert(self, where: str, shown: Sequence[str] = ()) -> None:
        """Nothing of a payload ran or became markup, in any frame; each of `shown` is
        visible as text."""
        page = self.page
        page.wait_for_timeout(500)       # an <img src=x> fails (and its onerror runs) at once
        for frame in page.frames:
            found = frame.evaluate(INERT)
            assert found == {"xss": None, "elements": [], "scripts": [], "links": []}, (
                where, frame.url, found)
        assert self.dialogs == [], (where, self.dialogs)
        for text in shown:
            visible(page.get_by_text(text).filter(visible=True).first)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser) -> Iterator[Watched]:
    w = Watched(browser)
    try:
        yield w
    finally:
        w.close()


def visible(locator) -> None:
    sync_api.expect(locator).to_be_visible(timeout=TIMEOUT_MS)


def wait_idle(page) -> None:
    """Until Streamlit finished the current run (no running indicator)."""
    page.wait_for_timeout(300)
    page.locator("[data-testid=stStatusWidget]").wait_for(state="hidden", timeout=TIMEOUT_MS)


# --- the Streamlit catalogue -------------------------------------------------------------


def test_home_page_cards_and_search_show_hostile_metadata_as_text(server: str, watched
                                                                  ) -> None:
    """A visitor browsing or searching the catalogue sees a dataset's hostile title,
    description and keywords as text, in both languages; nothing of them runs, not even
    the search text echoed back."""
    page = watched.page
    page.goto(server)
    visible(page.get_by_role("heading", name=TITLE_ID).first)
    wait_idle(page)
    watched.assert_inert("home (id)", [TITLE_ID, f"{SCRIPT} {A_TAG}"])

    search = page.get_by_placeholder(t("search_placeholder", "id"))
    search.fill(IMG)
    search.press("Enter")
    visible(page.get_by_text(t("count_found", "id", n=1, q=IMG)))
    wait_idle(page)
    watched.assert_inert("search for a payload", [TITLE_ID])
    search.fill("klik")                  # a keyword: the alert link
    search.press("Enter")
    visible(page.get_by_text(t("count_found", "id", n=1, q="klik")))
    wait_idle(page)
    watched.assert_inert("search by keyword", [TITLE_ID])

    search.fill("")
    search.press("Enter")
    page.get_by_role("radio", name="English", exact=True).click()
    visible(page.get_by_role("heading", name=TITLE_EN).first)
    wait_idle(page)
    watched.assert_inert("home (en)", [TITLE_EN, f"{ALERT} {MD_LINK}"])
    # the highlight lists name the dataset by its title too (as a button)
    assert page.get_by_role("button", name=TITLE_EN).count() >= 1


def _preview_cells(page) -> list[str]:
    """The preview grid's cells as the browser exposes them (glide-data-grid draws on a
    canvas and mirrors the visible cells into an accessible table)."""
    grid = page.locator("[data-testid=stDataFrame]").first
    grid.locator("table").first.wait_for(state="attached")
    return grid.evaluate("g => [...g.querySelectorAll('table td')].map(td => "
                         "td.children.length ? '<markup>' + td.innerHTML : td.textContent)")


def _tooltip_at(page, x: float, y: float) -> str:
    """The text of the map tooltip (deck.gl inserts it as HTML) shown with the mouse at
    (x, y)."""
    page.mouse.move(x, y)
    tooltip = page.locator(".deck-tooltip").filter(visible=True).first
    tooltip.wait_for()
    return tooltip.text_content()


def _projected(home: Path, box: dict, names: list[str]) -> list[tuple[str, float, float]]:
    """Where the facilities named `names` are drawn on the point map in `box`: Web
    Mercator around the view the app opens the map on (app/charts.py)."""
    import duckdb

    from app import charts

    site = home / "site"
    view = charts.view_state(json.loads(
        (site / "reference" / "batas_kabupaten_kota.geojson").read_text(encoding="utf-8")))
    size = 512 * 2 ** view.zoom

    def world(lat: float, lng: float) -> tuple[float, float]:
        y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
        return size * (lng + 180) / 360, size * (0.5 - y / (2 * math.pi))

    x0, y0 = world(view.latitude, view.longitude)
    parquet = site / "datasets" / SLUG / "latest" / f"{SLUG}.parquet"
    found = dict(duckdb.connect().execute(
        f"select nama_fasilitas, [lintang, bujur] from read_parquet('{parquet}')"
        " where list_contains(?, nama_fasilitas)", [names]).fetchall())
    assert sorted(found) == sorted(names)
    out = []
    for name in names:
        x, y = world(*found[name])
        out.append((name, box["x"] + box["width"] / 2 + x - x0,
                    box["y"] + box["height"] / 2 + y - y0))
    return out


def test_dataset_page_shows_hostile_metadata_and_values_as_text(
        server: str, hostile_home: Path, watched) -> None:
    """A visitor on the dataset page sees the hostile title, description, metadata,
    column names and descriptions, published values (preview), quality examples of the
    quarantined file, charts and downloads as text, in every tab and both languages."""
    page = watched.page
    page.goto(f"{server}/?dataset={SLUG}")
    visible(page.get_by_role("heading", name=TITLE_ID).first)
    wait_idle(page)
    watched.assert_inert("dataset page (id)", [TITLE_ID, f"{SCRIPT} {A_TAG}", KEYWORD])

    cells = _preview_cells(page)
    for name, address in ACCEPTED:
        assert name in cells and address in cells, (name, address, cells[:40])
    assert not [c for c in cells if c.startswith("<markup>")]

    def tab(key: str, shown: list[str]) -> None:
        page.get_by_role("tab", name=t(key, "id"), exact=True).click()
        wait_idle(page)
        watched.assert_inert(key, shown)

    # charts: the maps' tooltips (HTML) show the unit and the facility names
    tab("tab_chart", [])
    page.get_by_role("tab", name=t("chart_tab_map", "id"), exact=True).click()
    wait_idle(page)
    canvas = page.locator("[data-testid=stDeckGlJsonChart] canvas").filter(visible=True).first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert UNIT in _tooltip_at(page, box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    watched.assert_inert("regency map tooltip")
    page.get_by_role("tab", name=t("chart_tab_points", "id"), exact=True).click()
    wait_idle(page)
    canvas = page.locator("[data-testid=stDeckGlJsonChart] canvas").filter(visible=True).first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for name, x, y in _projected(hostile_home, box, [n for n, _ in ACCEPTED]):
        assert name in _tooltip_at(page, x, y), name
        watched.assert_inert(f"point tooltip {name}")
    for key in ("chart_tab_regions", "chart_tab_categories"):
        page.get_by_role("tab", name=t(key, "id"), exact=True).click()
        wait_idle(page)
        watched.assert_inert(key)
    tab("tab_download", [])
    tab("tab_dictionary", [COLUMN_NAME, NAME_DESCRIPTION[1], TYPE_DESCRIPTION[1]])
    tab("tab_quality", BAD_TYPES)
    tab("tab_versions", [])

    page.get_by_role("radio", name="English", exact=True).click()
    visible(page.get_by_role("heading", name=TITLE_EN).first)
    wait_idle(page)
    watched.assert_inert("dataset page (en)", [TITLE_EN, f"{ALERT} {MD_LINK}"])
    page.get_by_role("tab", name=t("tab_dictionary", "en"), exact=True).click()
    wait_idle(page)
    watched.assert_inert("dictionary (en)", [COLUMN_NAME, NAME_DESCRIPTION[0],
                                             TYPE_DESCRIPTION[0]])


# --- GX Data Docs ------------------------------------------------------------------------


def test_data_docs_show_the_hostile_file_name_and_values_as_text(server: str, watched
                                                                 ) -> None:
    """An official or visitor reading the Data Docs sees the quarantined file's hostile
    name (index table, validation page) and its failing values as text."""
    page = watched.page
    page.goto(f"{server}/app/static/quality/data-docs/index.html")
    page.locator("tr.clickable-row").first.wait_for()      # the table is filled
    watched.assert_inert("data docs index", [FILE_NAME])
    page.locator("tr.clickable-row", has_text=FILE_NAME).click()
    page.wait_for_url("**/validations/fasilitas_kesehatan/quarantined/**")
    page.get_by_text("Failed Only").click()
    watched.assert_inert("data docs validation page", [FILE_NAME, *BAD_TYPES])


# --- dbt docs ----------------------------------------------------------------------------


def test_dbt_docs_show_hostile_descriptions_names_and_tags_as_text(server: str, watched
                                                                   ) -> None:
    """A visitor reading the dbt docs (lineage of every dataset) sees a model's hostile
    description, column descriptions, and, in the search results, a hostile column name
    and tag as text; no markdown link runs script."""
    page = watched.page
    page.goto(f"{server}/app/static/dbt-docs/index.html#!/model/{DBT_MODEL}")
    page.locator("[marked='model.description']").first.wait_for()
    watched.assert_inert("dbt model page", [f"Satu baris per fasilitas {IMG}"])
    page.get_by_text("nama_fasilitas", exact=True).first.click()
    watched.assert_inert("dbt column details", [NAME_DESCRIPTION[0]])

    search = page.locator("input[placeholder*='Search']").first
    for query, shown in (("kolom", DBT_COLUMN), ("tanda", DBT_TAG), ("fasilitas", IMG)):
        search.fill(query)
        page.wait_for_timeout(800)
        watched.assert_inert(f"dbt docs search {query!r}", [shown])
