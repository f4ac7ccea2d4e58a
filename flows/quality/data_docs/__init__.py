"""Great Expectations' own Data Docs for the pipeline's validations, published offline.

Two steps:

- `save_result` (once per validated file, from the pipeline): keeps the verdict's GX
  result (`Verdict.gx_result`, an `ExpectationSuiteValidationResult` as JSON) **masked**
  under `$SATUDATA_HOME/quality/validations/<dataset>/<feed>/`. Only masked results are
  ever written to disk.
- `build` renders them with GX's own site builder into `site/quality/data-docs/`
  (index.html, one page per validation, one per suite), made to work offline, scanned for
  personal data with `flows.common.pii`'s patterns, and switched in with one rename. Every
  text that comes from a submission or a feed is HTML-escaped before GX sees it: a file
  named `<img src=x onerror=...>.csv` is shown, never run.

Bounded: `build` renders only the newest result per feed and status: at most two
validation pages per feed (32 feeds: <= 64 pages), whatever the history.

Modules, in the order a result goes through them:
- `masking`: personal data out of a result (`mask_result`), markup escaped (`escape_result`).
- `store`: `save_result`, the bounded store, `select_results`.
- `rendering`: GX's site builder on the escaped results and the suites.
- `offline`: the pages made self-contained; the assets (`assets/`: docs.css, docs.js and
  the vendored Vega libraries GX's charts need, `assets/vendor/README.md`).
- `scan`: the personal-data check of the rendered pages.
- `building`: `build`, from the chosen results to the published folder (one rename).
"""

from __future__ import annotations

from flows.quality.data_docs.building import DOCS_DIR, DOCS_VERSION, build, docs_dir
from flows.quality.data_docs.errors import DataDocsError
from flows.quality.data_docs.masking import (
    MASK,
    MAX_ROWS,
    PERSONAL_NAME,
    STAT_KEYS,
    dataset_has_personal,
    escape_result,
    is_personal,
    mask_result,
    personal_columns,
)
from flows.quality.data_docs.offline import offline_html
from flows.quality.data_docs.rendering import SITE_NAME
from flows.quality.data_docs.scan import scan_for_personal_data
from flows.quality.data_docs.store import (
    KEEP_PER_STATUS,
    STORE_DIR,
    save_result,
    select_results,
    store_dir,
)

__all__ = [
    "DOCS_DIR",
    "DOCS_VERSION",
    "KEEP_PER_STATUS",
    "MASK",
    "MAX_ROWS",
    "PERSONAL_NAME",
    "SITE_NAME",
    "STAT_KEYS",
    "STORE_DIR",
    "DataDocsError",
    "build",
    "dataset_has_personal",
    "docs_dir",
    "escape_result",
    "is_personal",
    "mask_result",
    "offline_html",
    "personal_columns",
    "save_result",
    "scan_for_personal_data",
    "select_results",
    "store_dir",
]
