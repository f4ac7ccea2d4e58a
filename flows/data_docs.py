"""Great Expectations' own Data Docs for the pipeline's validations, published offline.

Two steps:

- `save_result` (once per validated file, from the pipeline): keeps the verdict's GX
  result (`Verdict.gx_result`, an `ExpectationSuiteValidationResult` as JSON) **masked**
  under `$SATUDATA_HOME/quality/validations/<dataset>/<feed>/`. Masking (`mask_result`):
  - a dataset with any personal-data column (the registry's `personal_data: true`
    columns, or a result on a column whose name says NIK/KTP/phone/e-mail/pelapor) shows
    rules, counts and positions only: every sampled value, observed value and
    unexpected row's value becomes ``***`` (row-number fields and counts stay). A name or
    NIK pasted into `status` cannot be told from a category, so nothing of it is shown;
  - any other dataset's sampled values go through `flows.common.pii.mask_sample` (runs of 8+
    digits, phone numbers, e-mail addresses masked, however formatted), and values of a
    personal-data column (found by name in a query rule's rows) become ``***``;
  - every other string (messages, file names, metadata) goes through `flows.common.pii.redact`.
  Only masked results are ever written to disk.
- `build` renders them with GX's own site builder (`SiteBuilder` with a filesystem store,
  an ephemeral context holding the suites and these results) into
  `site/quality/data-docs/` (index.html, one page per validation, one per suite), made to
  work offline (below), scanned for personal data with `flows.common.pii`'s patterns, and switched
  in with one rename. GX inserts the texts of a result into its pages as they are (and the
  index table's cells through `innerHTML`), so every text that comes from a submission or
  a feed (file names, feed ids, sampled values, messages, metadata) is HTML-escaped before
  GX sees it (`escape_result`): a file named `<img src=x onerror=...>.csv` is shown, never
  run.

Bounded: the store keeps the newest `KEEP_PER_STATUS` results per feed and status
(accepted / quarantined), and `build` renders only the newest result per feed and status:
at most two validation pages per feed (32 feeds: <= 64 pages), whatever the history.

Offline: GX's pages load Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega from
CDNs. `build` removes every external `<script>`/`<link>`, points the logo and favicon at the
copies GX ships (copied into `static/`), unwraps links to greatexpectations.io, drops the
newsletter footer, and adds two small local files (`static/satudata/docs.css`, a Bootstrap
subset for the classes GX uses, and `docs.js`, the few jQuery/Bootstrap calls GX's inline
scripts make: tables, tabs, collapsibles, the failed-only filter). No page requests
anything from another host.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import math
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flows import timing
from flows.common import pii
from flows.common.files import swap_dir, write_text_atomic
from flows.settings import Settings

log = logging.getLogger(__name__)

SITE_NAME = "Satu Data Banten"
DOCS_DIR = ("quality", "data-docs")          # under site/
STORE_DIR = ("quality", "validations")       # under $SATUDATA_HOME
KEEP_PER_STATUS = 3       # stored results per feed and status (build renders the newest)
MAX_ROWS = 20             # unexpected rows kept per query rule (GX returns up to 200)
MASK = "***"
DOCS_VERSION = 2          # bump when the rendering changes: the next build then re-renders

# Column names that are personal data whatever the registry says (a reporter's name, NIK,
# KTP, phone, e-mail), e.g. in a query rule's rows under another name.
PERSONAL_NAME = re.compile(
    r"(^|_)(nik|ktp|pelapor|telepon|telp|phone|hp|handphone|email|e_mail|surel)(_|$)",
    re.IGNORECASE)
# Numbers in a result that only say how many or how much (kept for personal columns).
STAT_KEYS = frozenset({
    "element_count", "unexpected_count", "unexpected_percent", "unexpected_percent_total",
    "unexpected_percent_nonmissing", "missing_count", "missing_percent", "count",
})
_VALUE_KEYS = ("partial_unexpected_list", "unexpected_list", "partial_unexpected_counts",
               "partial_unexpected_index_list", "unexpected_index_list",
               "unexpected_index_query", "observed_value", "details")
_INDEX_KEYS = frozenset({"partial_unexpected_index_list", "unexpected_index_list",
                         "unexpected_index_query"})
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# GX's batch and run ids, submission ids and file digests written as bare lower-case hex
# ("5f48e057679749d49d2fe064ad7b01cc"): their digit groups can look like a phone number
# ("057679749"). A token of 12+ hex characters holding a letter is an id, never a NIK, a
# phone number or an e-mail address (those are digits, or have an "@").
_HEX_ID = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{12,64}\b")


class DataDocsError(RuntimeError):
    """The Data Docs could not be built or failed their personal-data check."""


# --------------------------------------------------------------------------------------------
# save_result: store one masked GX result
# --------------------------------------------------------------------------------------------


def store_dir(settings: Settings) -> Path:
    return settings.home.joinpath(*STORE_DIR)


def docs_dir(settings: Settings) -> Path:
    return settings.site_dir.joinpath(*DOCS_DIR)


def save_result(settings: Settings, *, submission_id: str, feed_id: str, regency: str,
                dataset: str, file_name: str, status: str, received_at: Any,
                verdict: Any) -> None:
    """Keep `verdict.gx_result`, masked, for `build`; prune the feed's older results.

    Cheap (one small JSON write, one directory listing). An empty result is skipped. It
    never raises: Data Docs are a report, a failure here is logged and must not stop the
    file's ingestion."""
    gx_result = getattr(verdict, "gx_result", None)
    if not gx_result:
        return
    try:
        with timing.timed("data_docs.save"):
            _save(settings, submission_id=submission_id, feed_id=feed_id, regency=regency,
                  dataset=dataset, file_name=file_name, status=status,
                  received_at=received_at, gx_result=gx_result)
    except Exception:   # a report must never fail ingestion
        log.warning("Data Docs: could not keep the GX result of %s (%s)", file_name, feed_id,
                    exc_info=True)


def _save(settings: Settings, *, submission_id: str, feed_id: str, regency: str,
          dataset: str, file_name: str, status: str, received_at: Any,
          gx_result: dict) -> None:
    received = _utc(received_at)
    saved = dt.datetime.now(dt.UTC)
    personal = personal_columns(settings, dataset)
    masked = mask_result(gx_result, personal,
                         dataset_personal=dataset_has_personal(settings, dataset))
    doc = {
        "submission_id": str(submission_id),
        "feed_id": str(feed_id),
        "regency": str(regency),
        "dataset": str(dataset),
        "file_name": _redact_text(str(file_name)),
        "status": str(status),
        "received_at": received.isoformat(),
        "validated_at": saved.isoformat(),
        "gx_result": masked,
    }
    folder = store_dir(settings) / _safe(dataset) / _safe(feed_id)
    folder.mkdir(parents=True, exist_ok=True)
    # The name sorts by received time, then validation time: the newest file of a feed is
    # found (and older ones pruned) from a directory listing, without opening any file.
    name = (f"{_stamp(received)}__{_stamp(saved)}__{_token(status)}__"
            f"{_token(submission_id)[:32]}.json")
    write_text_atomic(folder / name, json.dumps(doc, ensure_ascii=False, default=str))
    _prune(folder)


def _stored_by_status(folder: Path) -> dict[str, list[str]]:
    """A feed's stored result files, by status (names: received__validated__status__id)."""
    by_status: dict[str, list[str]] = {}
    for name in os.listdir(folder):
        parts = name.split("__")
        if name.endswith(".json") and not name.startswith(".") and len(parts) == 4:
            by_status.setdefault(parts[2], []).append(name)
    return by_status


def _prune(folder: Path) -> None:
    for names in _stored_by_status(folder).values():
        for old in sorted(names)[:-KEEP_PER_STATUS]:
            (folder / old).unlink(missing_ok=True)


def _utc(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    if isinstance(value, str):
        try:
            return _utc(dt.datetime.fromisoformat(value))
        except ValueError:
            pass
    return dt.datetime.now(dt.UTC)


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S%fZ")


def _safe(text: str) -> str:
    return _SAFE_NAME.sub("_", str(text)).strip("._") or "_"


def _token(text: str) -> str:
    """One part of a stored file's name (no "__", which separates the parts)."""
    return _safe(text).replace("_", "-")


# --- personal data -------------------------------------------------------------------------

_REGISTRY_CACHE: dict[tuple, dict[str, frozenset[str]] | None] = {}


def _registry_personal(settings: Settings) -> dict[str, frozenset[str]] | None:
    """Dataset -> its personal-data columns, read once per version of the registry file;
    None when the registry cannot be read."""
    path = Path(settings.feeds_file)
    try:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        return None
    if key not in _REGISTRY_CACHE:
        from flows.registry import load_registry

        try:
            registry = load_registry(path)
            by_dataset: dict[str, frozenset[str]] | None = {
                name: frozenset(c.name for c in spec.columns if c.personal_data)
                for name, spec in registry.datasets.items()}
        except Exception:   # the pipeline reports a broken registry itself
            by_dataset = None
        _REGISTRY_CACHE.clear()
        _REGISTRY_CACHE[key] = by_dataset
    return _REGISTRY_CACHE[key]


def personal_columns(settings: Settings, dataset: str) -> frozenset[str]:
    """The registry's personal-data columns (of every dataset: a query rule may join). An
    unreadable registry gives none (the name rule in `is_personal` still applies)."""
    by_dataset = _registry_personal(settings) or {}
    return frozenset().union(*by_dataset.values())


def dataset_has_personal(settings: Settings, dataset: str) -> bool:
    """Whether `dataset` has any personal-data column. When the registry cannot be read
    (or does not know the dataset) the answer is yes: its results then show no values."""
    by_dataset = _registry_personal(settings)
    if by_dataset is None or dataset not in by_dataset:
        return True
    return bool(by_dataset[dataset])


def is_personal(column: Any, personal: frozenset[str] | set[str] = frozenset()) -> bool:
    name = str(column)
    return name in personal or bool(PERSONAL_NAME.search(name))


def _result_columns(item: dict) -> list:
    kwargs = (item.get("expectation_config") or {}).get("kwargs") or {}
    columns = [kwargs.get(k) for k in ("column", "column_A", "column_B")]
    return [c for c in columns + list(kwargs.get("column_list") or []) if c is not None]


def mask_result(gx_result: dict, personal: Iterable[str] = (), *,
                dataset_personal: bool = False, names: Iterable[str] = ()) -> dict:
    """A copy of a suite's GX result with personal data masked (see the module docstring).
    `dataset_personal`: the dataset has a personal-data column (then no value is kept);
    `names`: names from the batch's personal-data columns, masked wherever they appear in
    sampled values. The input is not changed."""
    personal = frozenset(personal)
    names = frozenset(names)
    doc = json.loads(json.dumps(gx_result, default=str))   # a deep, JSON-only copy
    items = [i for i in doc.get("results") or [] if isinstance(i, dict)]
    # A result on a column named like personal data makes the batch a personal one.
    dataset_personal = dataset_personal or any(
        is_personal(c, personal) for item in items for c in _result_columns(item))
    for item in items:
        info = item.get("exception_info")
        if isinstance(info, dict):   # a traceback may quote values; the message stays
            for value in [info, *info.values()]:
                if isinstance(value, dict) and "exception_traceback" in value:
                    value["exception_traceback"] = None
        result = item.get("result")
        if not isinstance(result, dict):
            continue
        whole = dataset_personal or any(is_personal(c, personal)
                                        for c in _result_columns(item))
        for key in _VALUE_KEYS:
            if key not in result or key == "details":
                continue
            if key in _INDEX_KEYS:   # positions: row numbers stay, values go
                result[key] = _mask_positions(result[key], personal, whole, names)
            elif whole and key == "observed_value" and _is_number(result[key]):
                pass   # a count or a measure (`_redact_all` still masks NIK-like numbers)
            else:
                result[key] = (_mask_all(result[key]) if whole
                               else pii.mask_sample(result[key], names=names))
        details = result.get("details")
        if isinstance(details, dict):
            rows = details.get("unexpected_rows")
            if isinstance(rows, list):
                details["unexpected_rows"] = [_mask_row(row, personal, whole, names)
                                              for row in rows[:MAX_ROWS]]
            rest = {k: v for k, v in details.items() if k != "unexpected_rows"}
            details.update(_mask_all(rest) if whole
                           else pii.mask_sample(rest, names=names))
    return _redact_all(doc)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _mask_positions(value: Any, personal: frozenset[str], whole: bool,
                    names: frozenset[str]) -> Any:
    """An index list: plain row numbers stay; rows (dicts) as `_mask_row`; a query
    that would list the rows is masked like a value."""
    if isinstance(value, list):
        return [v if isinstance(v, int) and not isinstance(v, bool)
                else _mask_row(v, personal, whole, names) for v in value]
    return _mask_all(value) if whole else pii.mask_sample(value, names=names)


def _mask_row(row: Any, personal: frozenset[str], whole: bool, names: frozenset[str]) -> Any:
    """One unexpected row of a query rule: positions (row numbers) stay; in a personal
    batch every other value is masked, elsewhere personal columns are masked and the
    rest goes through `mask_sample`."""
    if not isinstance(row, dict):
        return _mask_all(row)
    out = {}
    for k, v in row.items():
        if k in pii.POSITION_KEYS and isinstance(v, int) and not isinstance(v, bool):
            out[k] = v
        elif whole or is_personal(k, personal):
            out[k] = _mask_all(v)
        else:
            out[k] = pii.mask_sample(v, names=names)
    return out


def _mask_all(value: Any, key: str | None = None) -> Any:
    """Every value inside `value` masked, except counts, percentages and positions."""
    if isinstance(value, dict):
        return {k: _mask_all(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_all(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if key in STAT_KEYS and isinstance(value, (int, float)):
        return value
    return MASK


def _redact_all(value: Any) -> Any:
    """Every string (keys too) through `pii.redact`; a number that would read as a NIK or
    a phone number becomes its masked text."""
    if isinstance(value, dict):
        return {_redact_text(str(k)): _redact_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_all(v) for v in value]
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        text = str(value)
        masked = _redact_text(text)
        return value if masked == text else masked
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        texts = [repr(value)]
        if value.is_integer() and abs(value) < 1e17:
            texts.append(str(int(value)))
        for text in texts:
            masked = _redact_text(text)
            if masked != text:
                return masked
        return value
    return value


def _redact_text(text: str) -> str:
    return pii.redact(text) or text


def escape_result(value: Any, *, key: str | None = None) -> Any:
    """Every text inside a stored result HTML-escaped, for GX's renderer, which inserts
    them into its pages as they are. Structural fields GX reads as names (expectation
    types, `success`...) hold no markup characters, so escaping leaves them unchanged;
    the keys of a query rule's rows (column names) are escaped too."""
    if isinstance(value, dict):
        escape_keys = key == "unexpected_rows"
        return {(html.escape(k) if escape_keys and isinstance(k, str) else k):
                escape_result(v, key=k) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_result(v, key=key) for v in value]
    if isinstance(value, str):
        return html.escape(value)
    return value


# --------------------------------------------------------------------------------------------
# build: render GX Data Docs into site/quality/data-docs/
# --------------------------------------------------------------------------------------------


def select_results(settings: Settings) -> list[Path]:
    """The stored results `build` renders: the newest per feed and status."""
    root = store_dir(settings)
    chosen: list[Path] = []
    if not root.is_dir():
        return chosen
    for dataset_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for feed_dir in sorted(p for p in dataset_dir.iterdir() if p.is_dir()):
            chosen += [feed_dir / max(names)
                       for _, names in sorted(_stored_by_status(feed_dir).items())]
    return chosen


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


# --- offline -------------------------------------------------------------------------------

_EXTERNAL_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>\s*", re.I)
_EXTERNAL_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*", re.I)
_EXTERNAL_ANCHOR = re.compile(
    r"<a\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>(.*?)</a>", re.I | re.S)
_LOGO = re.compile(r"(<img\b[^>]*\bsrc\s*=\s*\")(?:https?:)?//[^\"]*?logo-long\.png[^\"]*\"",
                   re.I)
_FAVICON = re.compile(r"(<link\b[^>]*rel=\"shortcut icon\"[^>]*href=\")[^\"]*(\")", re.I)
_CSS_URL = re.compile(r"url\(\s*['\"]?(?:https?:)?//[^)]*\)", re.I)
_NEWSLETTER = re.compile(r"<footer>(?:(?!</footer>).)*newsletter(?:(?!</footer>).)*</footer>",
                         re.I | re.S)
_EXTERNAL_ATTR = re.compile(r"\s(src|href)\s*=\s*([\"'])(?:https?:)?//[^\"']*\2", re.I)
_HEAD = re.compile(r"<head>", re.I)
_BODY = re.compile(r"(<body\b[^>]*>)", re.I)
KEEP_STATIC = ("images/favicon.ico", "images/logo-long.png")


def _make_offline(root: Path) -> None:
    """Rewrite every page so that it loads nothing from another host (see the module
    docstring) and keep only the static files the pages use."""
    static = root / "static"
    keep = {static / rel for rel in KEEP_STATIC}
    if static.is_dir():
        for path in sorted(static.rglob("*"), reverse=True):
            if path.is_file() and path not in keep:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    assets = static / "satudata"
    assets.mkdir(parents=True, exist_ok=True)
    (assets / "docs.css").write_text(DOCS_CSS, encoding="utf-8")
    (assets / "docs.js").write_text(DOCS_JS, encoding="utf-8")
    for page in root.rglob("*.html"):
        depth = len(page.relative_to(root).parts) - 1
        page.write_text(offline_html(page.read_text(encoding="utf-8"), "../" * depth),
                        encoding="utf-8")


def offline_html(text: str, up: str) -> str:
    """One GX page made self-contained; `up` leads from the page to the docs' root."""
    text = _EXTERNAL_SCRIPT.sub("", text)
    text = _EXTERNAL_LINK.sub("", text)
    text = _LOGO.sub(lambda m: f'{m.group(1)}{up}static/images/logo-long.png"', text)
    text = _FAVICON.sub(lambda m: f"{m.group(1)}{up}static/images/favicon.ico{m.group(2)}",
                        text)
    text = _CSS_URL.sub("none", text)
    text = _NEWSLETTER.sub("", text)
    text = _EXTERNAL_ANCHOR.sub(lambda m: m.group(1), text)
    text = _EXTERNAL_ATTR.sub("", text)
    local = (f'\n    <link rel="stylesheet" href="{up}static/satudata/docs.css">'
             f'\n    <script src="{up}static/satudata/docs.js"></script>')
    text = _HEAD.sub(lambda m: m.group(0) + local, text, count=1)
    banner = ('\n<div class="sd-banner">Satu Data Banten · Laporan mutu data / data quality '
              'reports (Great Expectations Data Docs). Data pribadi disamarkan / personal '
              'data is masked.</div>')
    return _BODY.sub(lambda m: m.group(1) + banner, text, count=1)


def scan_for_personal_data(root: Path) -> list[pii.Finding]:
    """Every page and script of the rendered docs through `flows.common.pii`'s patterns (NIK,
    mobile numbers, e-mail addresses), text and markup alike. GX's own random element ids
    (UUIDs, bare hex ids and digests) are left out: their digit groups can look like a
    phone number."""
    findings: list[pii.Finding] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix not in (".html", ".js"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        text = _HEX_ID.sub(" ", _UUID.sub(" ", html.unescape(text)))
        scanner = pii.ValueScanner(str(path.relative_to(root)), {"page": "text"})
        scanner.add("page", [text])
        findings += scanner.findings()
    return findings


# --- the local assets ------------------------------------------------------------------------

DOCS_CSS = """\
/* Satu Data Banten: the part of Bootstrap 4 that GX's Data Docs use, so they need no CDN. */
*,*::before,*::after{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,
sans-serif;font-size:.95rem;line-height:1.5;color:#212529;background:#fff}
a{color:#0b5cad;text-decoration:none}a:hover{text-decoration:underline}
h1,h2,h3,h4,h5,h6,.h6{margin:0 0 .5rem;font-weight:500;line-height:1.2}
h3{font-size:1.5rem}h4{font-size:1.3rem}h5{font-size:1.1rem}h6,.h6{font-size:1rem}
p{margin:0 0 1rem}ul,ol{margin:0 0 1rem}.lead{font-size:1.1rem;font-weight:300}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
code{color:#a5214a;word-break:break-word}pre{white-space:pre-wrap}
.sd-banner{background:#0b3d6e;color:#fff;padding:.4rem 1rem;font-size:.85rem}
.container-fluid{width:100%;padding-right:15px;padding-left:15px;margin:0 auto}
.row{display:flex;flex-wrap:wrap;margin-right:-15px;margin-left:-15px}
[class*="col-"]{position:relative;width:100%;padding-right:15px;padding-left:15px}
.col-12{flex:0 0 100%;max-width:100%}.col-6{flex:0 0 50%;max-width:50%}
.col-4{flex:0 0 33.33%;max-width:33.33%}.col-3{flex:0 0 25%;max-width:25%}
@media (min-width:768px){.col-md-2{flex:0 0 16.66%;max-width:16.66%}
.col-md-3{flex:0 0 25%;max-width:25%}.col-md-4{flex:0 0 33.33%;max-width:33.33%}
.col-md-6{flex:0 0 50%;max-width:50%}.col-md-8{flex:0 0 66.66%;max-width:66.66%}
.col-md-9{flex:0 0 75%;max-width:75%}.col-md-10{flex:0 0 83.33%;max-width:83.33%}
.col-md-12{flex:0 0 100%;max-width:100%}}
@media (min-width:992px){.col-lg-2{flex:0 0 16.66%;max-width:16.66%}
.col-lg-10{flex:0 0 83.33%;max-width:83.33%}}
.d-none{display:none!important}.d-block{display:block!important}
.d-flex{display:flex!important}.d-inline-flex{display:inline-flex!important}
@media (min-width:576px){.d-sm-block{display:block!important}}
@media (min-width:768px){.d-md-block{display:block!important}
.d-md-inline-flex{display:inline-flex!important}.d-md-none{display:none!important}}
.justify-content-center{justify-content:center!important}
.align-items-center{align-items:center!important}
.float-left{float:left!important}.float-right{float:right!important}
.mr-auto{margin-right:auto!important}.ml-auto{margin-left:auto!important}
.h-100{height:100%!important}.w-100{width:100%!important}
.sticky-top{position:sticky;top:0;z-index:1020;background:#fff}
.border-bottom{border-bottom:1px solid #dee2e6!important}.border-top-0{border-top:0!important}
.rounded{border-radius:.25rem!important}.bg-light{background-color:#f8f9fa!important}
.text-danger{color:#c0182a!important}.text-success{color:#1a7f37!important}
.text-warning{color:#9a6700!important}.text-muted{color:#6c757d!important}
.m-0{margin:0!important}.m-2{margin:.5rem!important}
.mt-0{margin-top:0!important}.mt-1{margin-top:.25rem!important}
.mt-3{margin-top:1rem!important}.mb-0{margin-bottom:0!important}
.mb-1{margin-bottom:.25rem!important}.mb-2{margin-bottom:.5rem!important}
.mb-3{margin-bottom:1rem!important}.mb-4{margin-bottom:1.5rem!important}
.ml-1{margin-left:.25rem!important}.ml-2{margin-left:.5rem!important}
.mr-0{margin-right:0!important}.mr-2{margin-right:.5rem!important}
.p-0{padding:0!important}.p-1{padding:.25rem!important}.p-2{padding:.5rem!important}
.p-3{padding:1rem!important}.px-0{padding-left:0!important;padding-right:0!important}
.pt-0{padding-top:0!important}.pt-4{padding-top:1.5rem!important}
.pb-0{padding-bottom:0!important}.pb-1{padding-bottom:.25rem!important}
.pb-4{padding-bottom:1.5rem!important}.pl-0{padding-left:0!important}
.pl-5{padding-left:2rem!important}.pr-3{padding-right:1rem!important}
.pr-5{padding-right:2rem!important}
@media (min-width:576px){.pl-sm-3{padding-left:1rem!important}}
@media (min-width:768px){.pl-md-4{padding-left:1.5rem!important}
.pr-md-3{padding-right:1rem!important}}
.navbar{display:flex;align-items:center;padding:.5rem 1rem}.navbar-brand{padding:0}
.nav{display:flex;flex-wrap:wrap;padding-left:0;margin-bottom:0;list-style:none}
.nav-link{display:block;padding:.4rem .8rem;cursor:pointer}
.nav-tabs{border-bottom:1px solid #dee2e6}
.nav-tabs .nav-link{margin-bottom:-1px;border:1px solid transparent;
border-radius:.25rem .25rem 0 0}
.nav-tabs .nav-link.active{color:#495057;background:#fff;border-color:#dee2e6 #dee2e6 #fff}
.nav-pills .nav-link{border-radius:.25rem}.nav-pills .nav-link.active{color:#fff;
background:#0b5cad}
.tab-content>.tab-pane{display:none}.tab-content>.active{display:block}
.collapse:not(.show){display:none}
.breadcrumb{display:flex;flex-wrap:wrap;list-style:none;padding:.5rem 1rem;margin:0;
border-radius:.25rem}
.breadcrumb-item+.breadcrumb-item{padding-left:.5rem}
.breadcrumb-item+.breadcrumb-item::before{content:"/";padding-right:.5rem;color:#6c757d}
.card{position:relative;display:flex;flex-direction:column;min-width:0;word-wrap:break-word;
background:#fff;border:1px solid rgba(0,0,0,.125);border-radius:.25rem}
.card-header{padding:.6rem 1rem;background:rgba(0,0,0,.03);
border-bottom:1px solid rgba(0,0,0,.125)}.card-body{flex:1 1 auto;padding:1rem}
.card-text:last-child{margin-bottom:0}
.alert{position:relative;padding:.6rem 1rem;margin-bottom:1rem;border:1px solid transparent;
border-radius:.25rem}.alert-secondary{color:#383d41;background:#e2e3e5;border-color:#d6d8db}
.badge{display:inline-block;padding:.25em .4em;font-size:80%;font-weight:600;line-height:1;
border-radius:.25rem}.badge-secondary{color:#fff;background:#6c757d}
.btn{display:inline-block;font-weight:400;text-align:center;vertical-align:middle;
cursor:pointer;border:1px solid transparent;padding:.3rem .7rem;font-size:.9rem;
border-radius:.25rem;background:#f8f9fa;color:#212529}
.btn-sm{padding:.2rem .5rem;font-size:.8rem}
.btn-primary{color:#fff;background:#0b5cad;border-color:#0b5cad}
.btn-secondary{color:#fff;background:#6c757d;border-color:#6c757d}
.btn-group{display:inline-flex}.btn-group>.btn{border-radius:0}
.btn-group>.btn:first-child{border-radius:.25rem 0 0 .25rem}
.btn-group>.btn:last-child{border-radius:0 .25rem .25rem 0}
.btn-group-toggle .btn input{position:absolute;clip:rect(0,0,0,0);pointer-events:none}
.btn-group-toggle .btn.active{filter:brightness(.8)}
table{border-collapse:collapse}
.table{width:100%;margin-bottom:1rem;color:#212529}
.table th,.table td{padding:.5rem;vertical-align:top;border-top:1px solid #dee2e6}
.table thead th{vertical-align:bottom;border-bottom:2px solid #dee2e6}
.table-sm th,.table-sm td{padding:.3rem}
.table-bordered,.table-bordered th,.table-bordered td{border:1px solid #dee2e6}
.table-responsive{display:block;width:100%;overflow-x:auto}
.sd-table{width:100%;margin-bottom:1rem}
.sd-table th,.sd-table td{padding:.35rem .5rem;border-top:1px solid #dee2e6;text-align:left;
vertical-align:top}
.sd-table thead th{border-bottom:2px solid #dee2e6;white-space:nowrap}
.sd-table th.sd-sortable{cursor:pointer}.sd-table th.sd-sortable::after{content:" \\2195";
color:#adb5bd}
.sd-table tbody tr.clickable-row:hover{background:#eef4fb}
.sd-search{margin:.5rem 0;padding:.25rem .5rem;min-width:16rem;border:1px solid #ced4da;
border-radius:.25rem}
.sd-empty{color:#6c757d;padding:.5rem}
.cooltip .top{display:none}
.fas{font-style:normal;font-weight:700}
.fa-check-circle::before{content:"\\2714"}.fa-times::before{content:"\\2716"}
.fa-exclamation-triangle::before{content:"\\26A0"}
.fa-question-circle::before{content:"?"}.fa-comment::before{content:"\\1F4AC"}
.sd-chart-offline{color:#6c757d;font-style:italic}
"""

DOCS_JS = r"""/* Satu Data Banten: the few jQuery / Bootstrap / bootstrap-table calls GX's Data Docs
   make, in plain JavaScript, so the pages work offline. Not a general jQuery. */
(function () {
  "use strict";
  var handlers = [];          // [element, event, fn]
  var tables = {};            // id -> state of a table made by bootstrapTable

  function Q(nodes) { this.nodes = nodes; this.length = nodes.length; }
  function $(arg) {
    if (typeof arg === "function") { ready(arg); return new Q([]); }
    if (arg === document || arg === window || (arg && arg.nodeType)) return new Q([arg]);
    if (arg instanceof Q) return arg;
    if (typeof arg === "string") {
      try { return new Q(Array.prototype.slice.call(document.querySelectorAll(arg))); }
      catch (e) { return new Q([]); }
    }
    return new Q([]);
  }
  function ready(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }
  Q.prototype.ready = function (fn) { ready(fn); return this; };
  Q.prototype.each = function (fn) {
    this.nodes.forEach(function (el, i) { fn.call(el, i, el); }); return this;
  };
  Q.prototype.parent = function () {
    var out = [];
    this.nodes.forEach(function (el) {
      if (el.parentElement && out.indexOf(el.parentElement) < 0) out.push(el.parentElement);
    });
    return new Q(out);
  };
  Q.prototype.fadeIn = Q.prototype.show = function () {
    this.nodes.forEach(function (el) { el.style.display = ""; }); return this;
  };
  Q.prototype.fadeOut = Q.prototype.hide = function () {
    this.nodes.forEach(function (el) { el.style.display = "none"; }); return this;
  };
  Q.prototype.addClass = function (c) {
    this.nodes.forEach(function (el) { el.classList.add(c); }); return this;
  };
  Q.prototype.removeClass = function (c) {
    this.nodes.forEach(function (el) { el.classList.remove(c); }); return this;
  };
  Q.prototype.data = function (name) {
    var el = this.nodes[0]; return el ? el.getAttribute("data-" + name) : undefined;
  };
  Q.prototype.on = function (event, fn) {
    this.nodes.forEach(function (el) { handlers.push([el, event, fn]); }); return this;
  };
  Q.prototype.prepend = function (markup) {
    this.nodes.forEach(function (el) { el.insertAdjacentHTML("afterbegin", markup); });
    return this;
  };
  Q.prototype.modal = Q.prototype.tooltip = Q.prototype.popover = function () { return this; };
  Q.prototype.bootstrapTable = function (options) {
    this.nodes.forEach(function (el) {
      if (typeof options === "string") { command(el, options); return; }
      tables[el.id] = { options: options || {}, sort: (options || {}).sortName,
                        order: (options || {}).sortOrder || "asc", query: "" };
      renderTable(el);
    });
    return this;
  };

  function trigger(el, event, args) {
    handlers.forEach(function (h) { if (h[0] === el && h[1] === event) h[2].apply(el, args); });
  }
  function command(el, name) {
    var state = tables[el.id];
    if (!state) return;
    if (name === "resetSearch" || name === "clearFilterControl") {
      state.query = "";
      var box = document.getElementById(el.id + "-search");
      if (box) box.value = "";
      renderTable(el);
    }
  }
  function text(html) {
    var div = document.createElement("div"); div.innerHTML = html == null ? "" : html;
    return (div.textContent || "").replace(/\s+/g, " ").trim();
  }
  function sortKey(state, row) {
    var column = (state.options.columns || []).filter(function (c) {
      return c.field === state.sort || c.sortName === state.sort;
    })[0];
    var field = column ? (column.sortName || column.field) : state.sort;
    var value = row[field];
    return typeof value === "number" ? value : text(value).toLowerCase();
  }
  function renderTable(el) {
    var state = tables[el.id], options = state.options;
    var columns = options.columns || [];
    var rows = (options.data || []).slice();
    if (state.query) {
      var q = state.query.toLowerCase();
      rows = rows.filter(function (row) {
        return columns.some(function (c) {
          return text(row[c.field]).toLowerCase().indexOf(q) >= 0;
        });
      });
    }
    if (state.sort) {
      rows.sort(function (a, b) {
        var x = sortKey(state, a), y = sortKey(state, b);
        var r = x < y ? -1 : x > y ? 1 : 0;
        return state.order === "desc" ? -r : r;
      });
    }
    if (options.search && !document.getElementById(el.id + "-search")) {
      var box = document.createElement("input");
      box.type = "search"; box.id = el.id + "-search"; box.className = "sd-search";
      box.placeholder = "Cari / search";
      box.addEventListener("input", function () { state.query = box.value; renderTable(el); });
      el.parentNode.insertBefore(box, el);
    }
    el.classList.add("sd-table");
    el.innerHTML = "";
    var head = el.createTHead().insertRow();
    columns.forEach(function (c) {
      var th = document.createElement("th");
      th.textContent = c.title || c.field;
      if (c.align) th.style.textAlign = c.align;
      if (c.sortable) {
        th.className = "sd-sortable";
        th.addEventListener("click", function () {
          var key = c.sortName || c.field;
          state.order = state.sort === key && state.order === "asc" ? "desc" : "asc";
          state.sort = key; renderTable(el);
        });
      }
      head.appendChild(th);
    });
    var body = el.createTBody();
    if (!rows.length) {
      var cell = body.insertRow().insertCell();
      cell.colSpan = columns.length || 1; cell.className = "sd-empty";
      cell.textContent = "—";
    }
    rows.forEach(function (row, index) {
      var tr = body.insertRow();
      var attrs = typeof window[options.rowAttributes] === "function"
        ? window[options.rowAttributes](row, index) : {};
      Object.keys(attrs || {}).forEach(function (k) {
        if (k === "class") tr.className = attrs[k]; else tr.setAttribute(k, attrs[k]);
      });
      columns.forEach(function (c) {
        var td = tr.insertCell();
        td.innerHTML = row[c.field] == null ? "" : row[c.field];
        if (c.align) td.style.textAlign = c.align;
      });
      tr.addEventListener("click", function (e) {
        if (e.target.closest("a")) return;
        trigger(el, "click-row.bs.table", [e, row, new Q([tr])]);
      });
    });
  }

  // Tabs, collapsibles and toggle buttons (Bootstrap's data-toggle attributes).
  document.addEventListener("click", function (e) {
    var toggle = e.target.closest ? e.target.closest("[data-toggle]") : null;
    if (!toggle) return;
    var kind = toggle.getAttribute("data-toggle");
    var ref = toggle.getAttribute("data-target") || toggle.getAttribute("href") || "";
    var target = ref.charAt(0) === "#" ? document.getElementById(ref.slice(1)) : null;
    if (kind === "tab" && target) {
      e.preventDefault();
      var nav = toggle.closest(".nav");
      if (nav) nav.querySelectorAll("[data-toggle=tab]").forEach(function (t) {
        t.classList.remove("active"); t.setAttribute("aria-selected", "false");
      });
      toggle.classList.add("active"); toggle.setAttribute("aria-selected", "true");
      Array.prototype.forEach.call(target.parentNode.children, function (pane) {
        pane.classList.remove("active", "show");
      });
      target.classList.add("active", "show");
    } else if (kind === "collapse" && target) {
      e.preventDefault();
      target.classList.toggle("show");
    } else if (kind === "buttons") {
      var label = e.target.closest(".btn");
      if (label) {
        toggle.querySelectorAll(".btn").forEach(function (b) { b.classList.remove("active"); });
        label.classList.add("active");
      }
    }
  });

  window.vegaEmbed = function (selector) {
    var el = document.querySelector(selector);
    if (el) {
      el.className += " sd-chart-offline";
      el.textContent = "(grafik tidak tersedia / chart not available)";
    }
    return Promise.resolve();
  };
  window.$ = window.jQuery = $;
})();
"""
