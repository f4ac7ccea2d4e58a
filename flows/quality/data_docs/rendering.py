"""GX's own site builder renders the chosen results (escaped) and their suites into a
folder: an ephemeral context holding the suites, a filesystem store holding the results.
GX inserts the texts of a result into its pages as they are (and the index table's cells
through `innerHTML`), so every text that comes from a submission or a feed is HTML-escaped
here (`masking.escape_result`) before GX sees it."""

from __future__ import annotations

import html
import logging
import uuid
from pathlib import Path
from typing import Any

from flows.quality.data_docs.errors import DataDocsError
from flows.quality.data_docs.masking import escape_result
from flows.quality.data_docs.store import _safe, _utc

log = logging.getLogger(__name__)

SITE_NAME = "Satu Data Banten"


def _render(records: list[dict], out: Path) -> None:
    from flows import quality

    gx = quality._gx()   # lazy import, DuckDB patch, GX logging quietened
    from great_expectations.core.expectation_validation_result import (
        expectationSuiteValidationResultSchema,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context = gx.get_context(mode="ephemeral")
    context.enable_analytics(False)
    context.variables.progress_bars = ProgressBarsConfig(globally=False,
                                                         metric_calculations=False)
    context.add_data_docs_site(SITE_NAME, {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(out)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })

    suites: set[str] = set()
    store = context.validation_results_store
    for record in records:
        # Every text from a submission or a feed reaches GX's pages escaped (GX inserts
        # texts as they are); escaping here, not in the store, keeps stored results plain.
        doc = escape_result(record["gx_result"])
        record = {k: html.escape(v) if isinstance(v, str) else v for k, v in record.items()}
        suite_name = str(doc.get("suite_name") or record.get("dataset"))
        validated = _utc(record.get("validated_at"))
        run_name = str(record.get("status") or "validated")
        meta = dict(doc.get("meta") or {})
        meta["run_id"] = {"run_name": run_name, "run_time": validated.isoformat()}
        meta["validation_time"] = validated.isoformat()
        spec = dict(meta.get("batch_spec") or {})
        spec["data_asset_name"] = f"{record.get('feed_id')} · {record.get('file_name')}"
        meta["batch_spec"] = spec
        meta["batch_markers"] = {
            "feed": record.get("feed_id"),
            "regency": record.get("regency"),
            "file": record.get("file_name"),
            "received_at": record.get("received_at"),
            "status": record.get("status"),
            "submission_id": record.get("submission_id"),
        }
        shared = meta.get("satudata_shared")
        if isinstance(shared, dict):
            # Row rules ran once on the feed's files of the run together (no row failed);
            # their counts below are of those rows, not of this file alone.
            meta["batch_markers"]["row_rules"] = (
                f"checked once on the {shared.get('batches')} files received together "
                f"from this feed ({shared.get('rows'):,} rows; no row failed); their "
                "counts are of those rows")
        doc = dict(doc, meta=meta, suite_name=suite_name)
        doc.pop("id", None)
        try:
            result = expectationSuiteValidationResultSchema.load(doc)
        except Exception as exc:
            log.warning("Data Docs: skipping a result of %s: %s", record.get("feed_id"), exc)
            continue
        # Batch ID: a short submission id (a 32-digit hex id may hold NIK-like digit runs).
        batch = _safe(str(record.get("submission_id") or uuid.uuid4().hex))[:12]
        key = ValidationResultIdentifier(
            ExpectationSuiteIdentifier(name=suite_name),
            RunIdentifier(run_name=run_name, run_time=validated),
            batch,
        )
        store.set(key, result)
        suites.add(suite_name)
    for name in sorted(suites):
        suite = _suite(gx, name)
        if suite is not None:
            context.suites.add(suite)
    try:
        context.build_data_docs(site_names=[SITE_NAME])
    except Exception as exc:
        raise DataDocsError(f"Great Expectations could not build the Data Docs: {exc}") from exc
    if not (out / "index.html").is_file():
        raise DataDocsError("Great Expectations built no index.html")


def _suite(gx: Any, dataset: str) -> Any:
    """The dataset's suite from expectations/<dataset>.yml for its suite page. A
    `{param: x}` value differs per regency: a list shows as the one value "{param: x}", any
    other value as a GX suite parameter ($PARAMETER). None if the suite cannot be read (the
    validation pages are still built)."""
    from flows import quality

    try:
        raw = quality.load_suite(dataset)
        expectations = []
        for entry in raw["expectations"]:
            names: set[str] = set()
            _param_names(entry, names)
            one = dict(raw, expectations=[entry])
            for params in ({n: [f"{{param: {n}}}"] for n in names},
                           {n: {"$PARAMETER": n} for n in names}):
                try:
                    spec = quality._resolve(one, params)[0]
                    expectations.append(quality._build_expectation(gx, spec, dataset))
                    break
                except quality.SuiteError:
                    continue
            else:
                log.warning("Data Docs: suite page of %s leaves out %s", dataset,
                            entry.get("expect"))
        return gx.ExpectationSuite(name=dataset, expectations=expectations)
    except Exception as exc:
        log.warning("Data Docs: no suite page for %s: %s", dataset, exc)
        return None


def _param_names(value: Any, names: set[str]) -> None:
    if isinstance(value, dict):
        if set(value) == {"param"}:
            names.add(str(value["param"]))
            return
        for v in value.values():
            _param_names(v, names)
    elif isinstance(value, list):
        for v in value:
            _param_names(v, names)

