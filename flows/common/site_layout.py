"""Where everything lives in the published site (`site/`) and the URLs at which the
catalogue serves it: the one definition shared by the publisher (flows/publish/, which
writes the site) and the catalogue app (app/, which reads and links it). Standard
library only.

Paths are site-relative strings, "/"-separated (`datasets/<slug>/latest/<slug>.csv`);
`dataset_dir` is the one that returns a `Path` under a site folder::

    site/catalog.json                                  the catalogue app's index
    site/data.json                                     DCAT-US 1.1 for harvesters
    site/datasets/<slug>/<version>/                    <slug>.csv|.xlsx|.json|.parquet,
                                                       datapackage.json, release.json,
                                                       SHA256SUMS
    site/datasets/<slug>/latest -> <version>           the stable URLs point here
    site/datasets/<slug>/coverage.json                 coverage re-assessed after release
    site/downloads/satudata-banten-latest.zip          every latest release in one zip
    site/quality/summary.json                          the public quality summary
    site/quality/data-docs/index.html                  Great Expectations Data Docs
    site/dbt-docs/index.html                           dbt lineage documentation
    site/reference/batas_kabupaten_kota.geojson        regency boundaries

The catalogue serves the site at `/app/static/<relative>` (after Streamlit's
`server.baseUrlPath` when one is set; flows/static_files.py mounts the route).
`static_url` gives that URL: a path when no base URL is known (the app links relative
to itself), absolute with one (the publisher's data.json and run reports).
"""

from __future__ import annotations

from pathlib import Path

CATALOG_JSON = "catalog.json"
DATA_JSON = "data.json"
DATASETS = "datasets"
LATEST = "latest"
# The data files of a release, `<slug>.<fmt>`, in the order they are offered; then the
# descriptor.
FORMATS = ("csv", "xlsx", "json", "parquet")
DESCRIPTOR = "datapackage.json"
RELEASE_JSON = "release.json"
SHA256SUMS = "SHA256SUMS"
# Coverage of the latest release re-assessed after it was published (content unchanged,
# registry changed): `datasets/<slug>/coverage.json`, {"version", "assessed_at", "coverage"}.
COVERAGE_JSON = "coverage.json"
BULK_ZIP = "downloads/satudata-banten-latest.zip"
QUALITY_SUMMARY = "quality/summary.json"
DATA_DOCS_DIR = "quality/data-docs"
DATA_DOCS = f"{DATA_DOCS_DIR}/index.html"
DBT_DOCS_DIR = "dbt-docs"
DBT_DOCS = f"{DBT_DOCS_DIR}/index.html"
DBT_PROJECT = "satudata_banten"          # the dbt project's name, in dbt docs' model URLs
GEOJSON = "reference/batas_kabupaten_kota.geojson"

STATIC_ROUTE = "app/static"              # the URL path of the site, after the base URL path
STATIC_PREFIX = f"/{STATIC_ROUTE}"
DEFAULT_BASE_URL = "http://localhost:8501"


# --- site-relative paths ------------------------------------------------------------------


def dataset_path(slug: str) -> str:
    """`datasets/<slug>`: every version of a dataset, its `latest` link, coverage.json."""
    return f"{DATASETS}/{slug}"


def version_path(slug: str, version: str, name: str = "") -> str:
    """`datasets/<slug>/<version>/<name>` (the folder, with a trailing "/", without name)."""
    return f"{dataset_path(slug)}/{version}/{name}"


def latest_path(slug: str, name: str = "") -> str:
    """`datasets/<slug>/latest/<name>` (the folder, with a trailing "/", without name)."""
    return version_path(slug, LATEST, name)


def file_name(slug: str, fmt: str) -> str:
    """The file name of a format in a release: `<slug>.<fmt>`, or `datapackage.json` for
    `fmt="datapackage"` (the descriptor)."""
    return DESCRIPTOR if fmt == "datapackage" else f"{slug}.{fmt}"


def dataset_dir(site: Path, slug: str) -> Path:
    """The folder of a dataset under the site folder `site`."""
    return site / DATASETS / slug


# --- URLs -------------------------------------------------------------------------------


def static_prefix(base_url_path: str | None = None) -> str:
    """The URL path under which the site is served: `/app/static/`, after
    `server.baseUrlPath` when one is set."""
    base = (base_url_path or "").strip("/")
    return f"/{base}/{STATIC_ROUTE}/" if base else f"/{STATIC_ROUTE}/"


def static_url(relative: str, base: str | None = None) -> str:
    """The URL at which the catalogue serves `site/<relative>`: `/app/static/<relative>`,
    absolute with `base` (the catalogue's public URL; its query string, fragment and
    trailing "/" are dropped)."""
    path = f"{STATIC_PREFIX}/{relative.lstrip('/')}"
    if not base:
        return path
    return base.split("?", 1)[0].split("#", 1)[0].rstrip("/") + path


def stable_url(slug: str, name: str, base: str | None = None) -> str:
    """Stable URL of a file of the latest release, e.g. `name="<slug>.xlsx"`."""
    return static_url(latest_path(slug, name), base)


def version_url(slug: str, version: str, name: str, base: str | None = None) -> str:
    """URL of a file of one version (it never changes once published)."""
    return static_url(version_path(slug, version, name), base)


def dbt_docs_url(model: str, base: str | None = None) -> str:
    """URL of a dbt model's page in the published dbt docs."""
    return static_url(f"{DBT_DOCS}#!/model/model.{DBT_PROJECT}.{model}", base)
