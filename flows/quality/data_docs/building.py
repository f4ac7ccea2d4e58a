"""`build`: the newest stored result per feed and status rendered by GX, made to work offline,
checked for personal data, and switched in as `site/quality/data-docs/` with one rename."""

from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from flows import timing
from flows.common.files import swap_dir, write_text_atomic
from flows.quality.data_docs.errors import DataDocsError
from flows.quality.data_docs.masking import (
    _redact_text,
    dataset_has_personal,
    mask_result,
    personal_columns,
)
from flows.quality.data_docs.offline import _make_offline
from flows.quality.data_docs.rendering import _render
from flows.quality.data_docs.scan import scan_for_personal_data
from flows.quality.data_docs.store import select_results, store_dir
from flows.settings import Settings

log = logging.getLogger(__name__)

DOCS_DIR = ("quality", "data-docs")          # under site/
DOCS_VERSION = 3          # bump when the rendering changes: the next build then re-renders


def docs_dir(settings: Settings) -> Path:
    return settings.site_dir.joinpath(*DOCS_DIR)

def build(settings: Settings) -> Path | None:
    """Render GX Data Docs for the newest stored result per feed and status (accepted,
    quarantined) into `site/quality/data-docs/`, offline-ready and checked for personal
    data, switched in with one rename. Returns the folder, or None when no result is
    stored (an existing folder is then left as it is).

    Raises `DataDocsError` when GX cannot render the results or a page looks like it holds
    personal data; the previous Data Docs then stay published."""
    with timing.timed("data_docs.build"):   # the flow may time its call as "data_docs"
        paths = select_results(settings)
        if not paths:
            return None
        target = docs_dir(settings)
        stamp = _build_stamp(settings, paths)
        manifest = store_dir(settings).parent / "data-docs.json"
        if (target / "index.html").is_file() and _read_json(manifest) == stamp:
            return target   # nothing new since the last build: no GX import, no rendering
        records = []
        for path in paths:
            try:
                records.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                log.warning("Data Docs: skipping unreadable stored result %s", path)
        records = [r for r in records if isinstance(r, dict) and r.get("gx_result")]
        if not records:
            return None
        for record in records:
            # Masked again with today's rules: a result stored by an older version (or
            # before a column was declared personal data) is shown as a new one would be.
            dataset = str(record.get("dataset"))
            record["gx_result"] = mask_result(
                record["gx_result"], personal_columns(settings, dataset),
                dataset_personal=dataset_has_personal(settings, dataset))
            record["file_name"] = _redact_text(str(record.get("file_name")))
        parent = target.parent
        parent.mkdir(parents=True, exist_ok=True)
        _clean_leftovers(parent)
        staging = parent / f".data-docs-{uuid.uuid4().hex}"
        try:
            _render(records, staging)
            _make_offline(staging)
            findings = scan_for_personal_data(staging)
            if findings:
                raise DataDocsError(
                    "Data Docs not published: personal data found in the rendered pages: "
                    + "; ".join(f.describe() for f in findings[:5]))
            published = swap_dir(staging, target, old_prefix=".data-docs-old-")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        write_text_atomic(manifest, json.dumps(stamp))
        return published


def _build_stamp(settings: Settings, paths: list[Path]) -> dict:
    """What a build depends on: the chosen results, the suites' files, this renderer."""
    from flows.quality import EXPECTATIONS_DIR

    suites = {}
    for name in sorted({p.parent.parent.name for p in paths}):   # <dataset>/<feed>/<file>
        try:
            st = (EXPECTATIONS_DIR / f"{name}.yml").stat()
            suites[name] = [st.st_mtime_ns, st.st_size]
        except OSError:
            suites[name] = None
    return {"version": DOCS_VERSION,
            "results": [str(p.relative_to(store_dir(settings))) for p in paths],
            "suites": suites}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _clean_leftovers(parent: Path) -> None:
    """Folders left by a build that was killed half-way (an hour old at least)."""
    cutoff = time.time() - 3600
    for path in parent.glob(".data-docs-*"):
        try:
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


