"""Validation: Great Expectations' SQL path against its pandas path, on the same batches
(issue 4: "measure the pandas and the SQL paths and keep the faster one that is correct";
issue 9: validation time per million rows).

- **SQL path**: `flows.quality.Validator`, as the pipeline runs it. GX compiles every
  metric to SQL and DuckDB executes it; the batch never leaves DuckDB.
- **pandas path**: the same suite (`flows.quality.load_suite`, `_resolve`,
  `_build_expectation`) on GX's pandas execution engine (`data_sources.add_pandas`, a
  dataframe asset). The batch is read out of DuckDB into a DataFrame first (through Arrow:
  `con.sql(...).to_arrow_table().to_pandas()`, same dtypes as `.df()` and 3-5x faster on
  big batches); that materialisation is part of the path's cost and is timed with it.

The suite's `unexpected_rows` rules are SQL (`select ... from {batch} where ...`). GX
implements their metrics (`unexpected_rows_query.table`, `.row_count`) for SQL and Spark
only: on the pandas engine they fail with "no provider for PandasExecutionEngine". The
pandas path runs instead an equivalent written with GX's own pandas-capable expectations
(`QUERY_RULES`, keyed by the query's text): the same rows are unexpected, with the same
NULL semantics, so the counts are comparable. A query rule the table does not know (the
suite changed) is reported as not comparable and left out of the comparison and of the
pandas path, which then does less work than the SQL path.

Batches (`prepare`): the bench's aduan files loaded by the real ingest
(`flows.ingest.load_batch`, after `flows.ingest.snapshot`) into a warehouse initialised as
the pipeline does, and kept in the schema `bench_batches`:

- `month`: one batch per file as delivered (one regency-month), what the pipeline
  validates (96 at the bench's sizes);
- `year`: each regency's months as one batch (8), the same rows in fewer, bigger batches;
- `checks`: a clean month (the smallest of at least 200 rows) with deliberate defects
  for every rule (`broken`, `DEFECTS`), and the same month without a required column
  (`broken_schema`). Both paths validate them first (also the
  warm-up) and must agree on them as on every clean batch.

`run_path` (one subprocess per path and group) copies each batch into an in-memory
attached database, as the pipeline keeps a batch until it is accepted (untimed), then
times validating it: SQL path = `Validator.validate`; pandas path = materialising the
DataFrame + GX on it. GX's import and context set-up are timed apart (`setup_s`: once per
process, not per batch).

    python -m bench.child validation-prep <workload.json> <folder>
    python -m bench.child validation <folder> <sql|pandas> <month|year>
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATASET = "aduan"
SCHEMA = "bench_batches"
MANIFEST = "batches.json"
MEMORY_DB = "sd_scratch"            # where the pipeline keeps a batch until accepted
BATCH = f"{MEMORY_DB}.main.batch"
PATHS = ("sql", "pandas")
GROUPS = ("month", "year")
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 5}
PAGE = os.sysconf("SC_PAGE_SIZE")


def _norm(query: str) -> str:
    return " ".join(query.split()).lower()


def _closed_before_received(gx: Any, meta: dict, severity: str, params: dict) -> list:
    # where diselesaikan_pada < diterima_pada: NULL on either side is not a row (SQL's
    # comparison is NULL), so rows missing either value are ignored.
    return [gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="diselesaikan_pada", column_B="diterima_pada", or_equal=True,
        ignore_row_if="either_value_is_missing", severity=severity, meta=meta)]


def _closing_time_matches_status(gx: Any, meta: dict, severity: str, params: dict) -> list:
    # where (status = 'selesai') <> (diselesaikan_pada is not null): a selesai ticket
    # without closing time, or another status with one. A NULL status makes the SQL
    # comparison NULL (not a row): the second part excludes it explicitly, since pandas'
    # `status != 'selesai'` is true for a missing status.
    from great_expectations.expectations.row_conditions import Column

    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(
            column="diselesaikan_pada", row_condition=Column("status") == "selesai",
            severity=severity, meta=meta | {"part": 0}),
        gx.expectations.ExpectColumnValuesToBeNull(
            column="diselesaikan_pada",
            row_condition=(Column("status") != "selesai") & Column("status").is_not_null(),
            severity=severity, meta=meta | {"part": 1}),
    ]


# The suite's query rules (expectations/aduan.yml), each as GX expectations the pandas
# engine runs: the query's unexpected rows are the union of the parts' unexpected rows
# (disjoint), so its count is the sum of theirs.
CLOSED_BEFORE = _norm("select nomor_tiket, diterima_pada, diselesaikan_pada from {batch} "
                      "where diselesaikan_pada < diterima_pada")
CLOSING_VS_STATUS = _norm("select nomor_tiket, status, diselesaikan_pada from {batch} "
                          "where (status = 'selesai') <> (diselesaikan_pada is not null)")
# The region-code rules: an anti-join against the warehouse's reference list of the batch's
# regency; on pandas, the same list (the caller's params) as a value set. NULLs are not rows
# in either.
KECAMATAN_IN_REGENCY = _norm(
    "select nomor_tiket, kode_kecamatan from {batch} where kode_kecamatan is not null and "
    "(_regency, kode_kecamatan) not in (select kode_kabupaten_kota, kode_wilayah from "
    "reference.wilayah_kecamatan)")
DESA_IN_REGENCY = _norm(
    "select nomor_tiket, kode_desa_kelurahan from {batch} where kode_desa_kelurahan is not "
    "null and (_regency, kode_desa_kelurahan) not in (select kode_kabupaten_kota, "
    "kode_wilayah from reference.wilayah_desa_kelurahan)")


def _in_regency(column: str, param: str):
    def build(gx: Any, meta: dict, severity: str, params: dict) -> list:
        return [gx.expectations.ExpectColumnValuesToBeInSet(
            column=column, value_set=list(params[param]), severity=severity, meta=meta)]
    return build


QUERY_RULES = {CLOSED_BEFORE: _closed_before_received,
               CLOSING_VS_STATUS: _closing_time_matches_status,
               KECAMATAN_IN_REGENCY: _in_regency("kode_kecamatan", "kecamatan"),
               DESA_IN_REGENCY: _in_regency("kode_desa_kelurahan", "desa_kelurahan")}


# --- one expectation's outcome, either path -------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    index: int                    # the suite entry (0-based)
    expect: str
    success: bool
    unexpected_count: int | None
    observed: int | None          # numeric observed values only (row counts)
    error: str | None = None      # the check could not be run

    def row(self) -> list:
        return [self.index, self.expect, self.success, self.unexpected_count, self.observed,
                self.error]

    @classmethod
    def from_row(cls, row: list) -> Outcome:
        return cls(*row)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) else None


def sql_outcomes(verdict: Any) -> list[Outcome]:
    """A flows.quality Verdict (its results are in the suite's order)."""
    out = []
    for index, r in enumerate(verdict.results):
        error = r.message if "could not be run" in r.message else None
        out.append(Outcome(index, r.expectation, r.success, r.unexpected_count,
                           _int(r.observed_value), error))
    return out


def _gx_error(result: Any) -> str | None:
    info = result.exception_info or {}
    items = [info] if "raised_exception" in info else list(info.values())
    for item in items:
        if isinstance(item, dict) and item.get("raised_exception"):
            text = str(item.get("exception_message") or "error").strip()
            return text.splitlines()[0] if text else "error"
    return None


class PandasValidator:
    """The suite on GX's pandas execution engine: one context and dataframe asset for
    many batches (like flows.quality.Validator for the SQL path)."""

    def __init__(self, *, expectations_dir: Path | None = None) -> None:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        from flows import quality

        self._q = quality
        self._gx = quality._gx()      # GX imported once, logging quietened, as the SQL path
        self.expectations_dir = expectations_dir
        context = self._gx.get_context(mode="ephemeral")
        context.enable_analytics(False)
        context.variables.progress_bars = ProgressBarsConfig(globally=False,
                                                             metric_calculations=False)
        source = context.data_sources.add_pandas(name="pandas")
        asset = source.add_dataframe_asset(name="batch")
        self._definition = asset.add_batch_definition_whole_dataframe("whole")
        self.not_comparable: list[int] = []

    def validate(self, frame: Any, dataset: str, params: dict) -> list[Outcome]:
        q, gx = self._q, self._gx
        specs = q._resolve(q.load_suite(dataset, self.expectations_dir), params)
        expectations, skipped = [], []
        for spec in specs:
            if spec.expect == q.UNEXPECTED_ROWS:
                build = QUERY_RULES.get(_norm(spec.query))
                if build is None:
                    skipped.append(spec.index)
                    continue
                expectations += build(gx, {"satudata_index": spec.index}, spec.severity,
                                      params)
            else:
                expectations.append(q._build_expectation(gx, spec, dataset))
        self.not_comparable = skipped
        batch = self._definition.get_batch(batch_parameters={"dataframe": frame})
        suite = gx.ExpectationSuite(name=f"{dataset}-pandas", expectations=expectations)
        outcome = batch.validate(suite, result_format=dict(RESULT_FORMAT))
        parts: dict[int, list] = {}
        for item in outcome.results:
            parts.setdefault(item.expectation_config.meta["satudata_index"], []).append(item)
        out = []
        for spec in specs:
            if spec.index in skipped:
                continue
            items = parts[spec.index]
            errors = [e for e in (_gx_error(i) for i in items) if e]
            results = [dict(i.result or {}) for i in items]
            counts = [_int(r.get("unexpected_count")) for r in results]
            count = (sum(counts) if all(c is not None for c in counts) else None)
            if spec.expect == q.UNEXPECTED_ROWS:
                observed = count       # as the SQL path: the query's row count
            else:
                observed = _int(results[0].get("observed_value")) if len(items) == 1 else None
            success = all(bool(i.success) for i in items) and not errors
            out.append(Outcome(spec.index, spec.expect if spec.expect != q.UNEXPECTED_ROWS
                               else "unexpected_rows_expectation", success, count, observed,
                               errors[0] if errors else None))
        return out


def materialise(con: Any, table: str) -> Any:
    """The batch as a pandas DataFrame (all columns, as GX's pandas engine needs them)."""
    return con.sql(f"select * from {table}").to_arrow_table().to_pandas()


# --- comparing the paths --------------------------------------------------------------------


def compare(sql: list[Outcome], pandas: list[Outcome]) -> list[str]:
    """Where the two paths disagree on one batch: success, unexpected count, numeric
    observed value (row counts), per suite entry both ran."""
    theirs = {o.index: o for o in pandas}
    problems = []
    for a in sql:
        b = theirs.get(a.index)
        if b is None:
            continue
        for what in ("success", "unexpected_count", "observed"):
            x, y = getattr(a, what), getattr(b, what)
            if what == "observed" and (x is None or y is None):
                continue
            if x != y:
                problems.append(f"#{a.index + 1} {a.expect}: {what} sql={x!r} "
                                f"pandas={y!r}" + (f" (sql error: {a.error})" if a.error else "")
                                + (f" (pandas error: {b.error})" if b.error else ""))
    return problems


def agreement(sql_run: dict, pandas_run: dict) -> dict:
    """Both paths' outcomes on the same batches (one repetition each): do they agree on
    every clean batch and every broken one, and does each find in the broken batch as
    many unexpected rows as its defects made?"""
    skipped = set(pandas_run.get("not_comparable") or [])
    disagreements, checked, expectations = [], 0, 0
    for name, rows in sql_run["outcomes"].items():
        other = pandas_run["outcomes"].get(name)
        if other is None:
            continue
        a = [o for o in map(Outcome.from_row, rows) if o.index not in skipped]
        b = [Outcome.from_row(r) for r in other]
        checked += 1
        expectations += len(a)
        disagreements += [f"{name}: {p}" for p in compare(a, b)]
    wrong = []
    for name, expected in (sql_run.get("expected") or {}).items():
        for label, run in (("sql", sql_run), ("pandas", pandas_run)):
            found = {o.index: o for o in map(Outcome.from_row, run["outcomes"].get(name, []))}
            for index, count in expected.items():
                o = found.get(int(index))
                if o is not None and (o.unexpected_count != count or o.success):
                    wrong.append(f"{name}: #{int(index) + 1} {o.expect}: {label} found "
                                 f"{o.unexpected_count} unexpected rows, the defects made "
                                 f"{count}")
    failed = {}
    for name in sql_run.get("checks") or []:
        failed[name] = [f"#{o.index + 1} {o.expect}" + (
            f" ({o.unexpected_count} rows)" if o.unexpected_count else "")
            for o in map(Outcome.from_row, sql_run["outcomes"].get(name, []))
            if not o.success]
    clean_failures = [
        f"{name}: #{o.index + 1} {o.expect}"
        for name, rows in sql_run["outcomes"].items() if name not in failed
        for o in map(Outcome.from_row, rows) if not o.success
    ]
    return {"agree": not disagreements and checked > 0, "batches": checked,
            "expectations": expectations, "disagreements": disagreements[:20],
            "defects_found": not wrong, "defects_missed": wrong[:20],
            "not_comparable": sorted(skipped), "checks_failed": failed,
            "clean_batches_failed": clean_failures[:20]}


# --- the batches ----------------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * PAGE / 1024**2


def prepare(work: dict, folder: str) -> dict:
    """Load the workload's aduan files with the real ingest and keep each batch (and the
    per-regency year batches and the broken checks) in `<folder>/home/warehouse.duckdb`;
    write `<folder>/batches.json`."""
    import shutil

    from flows.ingest import load_batch, snapshot
    from flows.registry import load_registry
    from flows.settings import Settings
    from flows.warehouse import banten_regency_codes, connect, initialise

    started = time.perf_counter()
    root = Path(folder)
    shutil.rmtree(root, ignore_errors=True)
    settings = Settings(home=root / "home", feeds_file=Path(work["feeds"]))
    settings.ensure_dirs()
    registry = load_registry(settings.feeds_file)
    initialise(settings.warehouse, registry.datasets, settings.reference_dir)
    spec = registry.datasets[DATASET]
    feeds = sorted((f for f in registry.feeds if f.dataset == DATASET), key=lambda f: f.regency)
    groups: dict[str, list[dict]] = {"month": [], "year": [], "checks": []}
    regencies: dict[str, dict] = {}
    with connect(settings.warehouse) as con:
        con.execute(f"create schema if not exists {SCHEMA}")
        for feed in feeds:
            code = feed.regency
            key = code.replace(".", "_")
            regencies[code] = {
                "kecamatan": [r[0] for r in con.execute(
                    "select kode_wilayah from reference.wilayah_kecamatan "
                    "where kode_kabupaten_kota = ? order by 1", [code]).fetchall()],
                "desa_kelurahan": [r[0] for r in con.execute(
                    "select kode_wilayah from reference.wilayah_desa_kelurahan "
                    "where kode_kabupaten_kota = ? order by 1", [code]).fetchall()],
            }
            months, previous = [], 0
            for path in feed.files():
                received = snapshot(feed, path, settings.raw_dir)
                table, rows = load_batch(con, feed, spec, received)
                name = f"m_{key}_{path.stem.rsplit('_', 2)[-2]}_{path.stem.rsplit('_', 1)[-1]}"
                # wherever load_batch keeps it (the warehouse file or an in-memory
                # database of this connection), the batch is kept in the file
                con.execute(f"create or replace table {SCHEMA}.{name} as select * from {table}")
                con.execute(f"drop table if exists {table}")
                # as the pipeline: half the rows of the feed's previous accepted batch
                groups["month"].append({"name": name, "regency": code, "rows": rows,
                                        "half_previous_rows": previous // 2})
                months.append(name)
                previous = rows
            if months:
                union = " union all ".join(f"select * from {SCHEMA}.{m}" for m in months)
                con.execute(f"create or replace table {SCHEMA}.y_{key} as {union}")
                rows = con.execute(f"select count(*) from {SCHEMA}.y_{key}").fetchone()[0]
                groups["year"].append({"name": f"y_{key}", "regency": code, "rows": rows,
                                       "half_previous_rows": 0})
        if not groups["month"]:
            raise RuntimeError("the workload has no aduan file")
        # a small batch of at least 200 rows (the checks run in every measured process)
        month = groups["month"]
        source = min((b for b in month if b["rows"] >= 200), key=lambda b: b["rows"],
                     default=max(month, key=lambda b: b["rows"]))
        groups["checks"] = _broken_batches(con, source, DATASET)
    shutil.rmtree(settings.raw_dir, ignore_errors=True)   # the snapshots: not needed
    manifest = {"database": str(settings.warehouse), "dataset": DATASET,
                "regency_codes": banten_regency_codes(settings.warehouse),
                "regencies": regencies, "groups": groups}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return {"seconds": time.perf_counter() - started,
            "batches": {g: len(b) for g, b in groups.items()},
            "rows": {g: sum(b["rows"] for b in bs) for g, bs in groups.items()}}


# Deliberate defects, each on its own rows (the batch's i-th row gets defect r when
# i % m == r, one modulus m for all: no row has two), and the rule each must break (with
# as many unexpected rows as it has rows: what both paths must find, beside agreeing).
# Every rule of the suite but the column set and the minimum row count fails; the column
# set fails in broken_schema.
DEFECTS = [   # (SQL assignment, (expectation, column) or ("query", its text) or None)
    ("nomor_tiket = null", ("expect_column_values_to_not_be_null", "nomor_tiket")),
    # m <= rows / 2: at least two rows, so they are duplicates
    ("nomor_tiket = 'DUPLIKAT-1'", ("expect_column_values_to_be_unique", "nomor_tiket")),
    ("diterima_pada = null", ("expect_column_values_to_not_be_null", "diterima_pada")),
    ("status = 'ditutup', diselesaikan_pada = null",
     ("expect_column_values_to_be_in_set", "status")),
    # a NULL status: the in-set rule ignores it, and so must the status query rule
    ("status = null", None),
    ("kode_kecamatan = '36.99.010'", ("query", KECAMATAN_IN_REGENCY)),
    ("kode_desa_kelurahan = '36.99.010.2001'", ("query", DESA_IN_REGENCY)),
    ("status = 'selesai', diselesaikan_pada = diterima_pada - interval 1 day",
     ("query", CLOSED_BEFORE)),
    ("status = 'selesai', diselesaikan_pada = null", ("query", CLOSING_VS_STATUS)),
    ("status = 'proses', diselesaikan_pada = diterima_pada + interval 2 day",
     ("query", CLOSING_VS_STATUS)),
    ("kategori = 'lain-lain'", ("expect_column_values_to_be_in_set", "kategori")),
]


def _broken_batches(con: Any, source: dict, dataset: str) -> list[dict]:
    from flows import quality

    name, rows = source["name"], source["rows"]
    modulus = max(len(DEFECTS) + 1, min(97, rows // 2))
    con.execute(f"create or replace table {SCHEMA}.broken as select *, "
                f"row_number() over (order by _row_number) - 1 as _i from {SCHEMA}.{name}")
    # the suite entry each defect breaks, and by how many rows
    entries = quality.load_suite(dataset)["expectations"]

    def entry(target: tuple) -> int | None:
        for index, e in enumerate(entries):
            if target[0] == "query":
                if e["expect"] == quality.UNEXPECTED_ROWS and _norm(e["query"]) == target[1]:
                    return index
            elif e["expect"] == target[0] and (e.get("kwargs") or {}).get("column") == target[1]:
                return index
        return None

    expected: dict[int, int] = {}
    for rest, (assignment, target) in enumerate(DEFECTS, start=1):
        con.execute(f"update {SCHEMA}.broken set {assignment} "
                    f"where _i % {modulus} = {rest}")
        index = entry(target) if target else None
        if index is not None:
            hit = (rows - rest + modulus - 1) // modulus if rows > rest else 0
            expected[index] = expected.get(index, 0) + hit
    con.execute(f"alter table {SCHEMA}.broken drop column _i")
    con.execute(f"create or replace table {SCHEMA}.broken_schema as "
                f"select * exclude (kanal) from {SCHEMA}.{name}")
    return [
        # the "less than half the previous batch" warning fails too
        {"name": "broken", "regency": source["regency"], "rows": rows,
         "half_previous_rows": rows * 2,
         "expected_unexpected": {str(k): v for k, v in sorted(expected.items())}},
        {"name": "broken_schema", "regency": source["regency"], "rows": rows,
         "half_previous_rows": 0},
    ]


def _params(manifest: dict, batch: dict) -> dict:
    region = manifest["regencies"][batch["regency"]]
    return {"kode_wilayah_kabupaten_kota": manifest["regency_codes"],
            "regency": [batch["regency"]], "kecamatan": region["kecamatan"],
            "desa_kelurahan": region["desa_kelurahan"],
            "half_previous_rows": batch["half_previous_rows"]}


def _fit(per_batch: list[list]) -> tuple[float | None, float | None]:
    """Least squares seconds = fixed + per_row * rows over the batches: (fixed seconds per
    batch, marginal seconds per million rows)."""
    xs = [b[1] for b in per_batch]
    ys = [b[2] for b in per_batch]
    n = len(xs)
    if n < 3:
        return None, None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if not sxx:
        return None, None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return my - slope * mx, slope * 1e6


def run_path(folder: str, path: str, group: str) -> dict:
    """Validate every batch of `group` on one path, each timed; the broken checks first
    (untimed warm-up, and what the agreement check compares on)."""
    if path not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, got {path!r}")
    started = time.perf_counter()
    manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    if group not in manifest["groups"]:
        raise ValueError(f"group must be one of {sorted(manifest['groups'])}, got {group!r}")
    database = Path(manifest["database"])
    dataset = manifest["dataset"]
    from flows.warehouse import connect

    checks = manifest["groups"]["checks"]
    out: dict = {"path": path, "group": group, "outcomes": {}, "per_batch": [],
                 "checks": [b["name"] for b in checks],
                 "expected": {b["name"]: b["expected_unexpected"] for b in checks
                              if "expected_unexpected" in b}}
    with connect(database) as con:
        attached = {r[0] for r in con.execute(
            "select database_name from duckdb_databases()").fetchall()}
        if MEMORY_DB not in attached:
            con.execute(f"attach ':memory:' as {MEMORY_DB}")
        if path == "sql":
            from flows.quality import Validator

            validator: Any = Validator(database)
        else:
            validator = PandasValidator()
        out["setup_s"] = time.perf_counter() - started     # GX import + context
        out["rss_setup_mb"] = _rss_mb()
        try:
            todo = [(b, False) for b in manifest["groups"]["checks"]]
            todo += [(b, True) for b in manifest["groups"][group]]
            for batch, timed in todo:
                con.execute(f"create or replace table {BATCH} as "
                            f"select * from {SCHEMA}.{batch['name']}")
                params = _params(manifest, batch)
                t = time.perf_counter()
                if path == "sql":
                    outcomes = sql_outcomes(validator.validate(BATCH, dataset, params=params))
                    materialised = 0.0
                else:
                    frame = materialise(con, BATCH)
                    materialised = time.perf_counter() - t
                    outcomes = validator.validate(frame, dataset, params)
                    del frame
                seconds = time.perf_counter() - t
                con.execute(f"drop table {BATCH}")
                out["outcomes"][batch["name"]] = [o.row() for o in outcomes]
                if timed:
                    out["per_batch"].append([batch["name"], batch["rows"], seconds,
                                             materialised])
        finally:
            if path == "sql":
                validator.close()
    if path == "pandas":
        out["not_comparable"] = validator.not_comparable
    per = out["per_batch"]
    rows = sum(b[1] for b in per)
    seconds = sum(b[2] for b in per)
    materialise_s = sum(b[3] for b in per)
    fixed, marginal = _fit(per)
    out |= {"batches": len(per), "rows": rows, "seconds": seconds,
            "materialise_s": materialise_s, "gx_s": seconds - materialise_s,
            "s_per_million": seconds / rows * 1e6 if rows else None,
            "fixed_s_per_batch": fixed, "marginal_s_per_million": marginal,
            "largest_batch_rows": max((b[1] for b in per), default=0),
            "total_s": time.perf_counter() - started}
    return out
