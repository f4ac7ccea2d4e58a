"""Ingest: receive a feed's files, snapshot them, and turn each into a canonical batch.

One received file = one batch. A batch is loaded into `landing.b_<id>` with the
dataset's canonical, typed columns and lineage columns; validation then decides whether
it is accepted into `raw.<dataset>` or quarantined. Nothing here changes `raw`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flows import timing
from flows.readers import SubmissionError, header_key, read_file
from flows.registry import DatasetSpec, Feed
from flows.warehouse import create_dataset_table_sql

MAX_EXAMPLES = 5
# "=SUM(", "+cmd|", "@HYPERLINK(", "-2+3": what Excel would execute rather than show.
FORMULA_PATTERN = r"^\s*(=|[+\-@]\s*[A-Za-z_][A-Za-z0-9_.]*\s*[(|!])"


@dataclass(frozen=True)
class Received:
    """A file as received from a feed, kept as an immutable snapshot."""

    feed_id: str
    path: Path           # the file as received (its name is the one reported)
    snapshot: Path       # immutable copy under raw/, named by content
    source: str          # where it came from: landing path or URL
    sha256: str
    bytes: int
    received_at: dt.datetime

    @property
    def batch_id(self) -> str:
        return self.sha256[:16]


def sha256_of(path: Path) -> str:
    with timing.timed("ingest.hash"):
        return _sha256_of(path)


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def snapshot(feed: Feed, path: Path, raw_dir: Path, *, source: str | None = None,
             licence: str | None = None) -> Received:
    """Keep the file as `raw/<sha[:2]>/<sha><suffix>` with a provenance sidecar
    `<sha>.meta.json`.

    Written aside and renamed, so a crash never leaves a partial snapshot; an existing
    snapshot is never rewritten.
    """
    with timing.timed("ingest.snapshot"):
        return _snapshot(feed, path, raw_dir, source=source, licence=licence)


def _snapshot(feed: Feed, path: Path, raw_dir: Path, *, source: str | None,
              licence: str | None) -> Received:
    digest = sha256_of(path)
    size = path.stat().st_size
    now = dt.datetime.now(dt.UTC)
    folder = raw_dir / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest}{path.suffix.lower()}"
    if not target.exists():
        tmp = folder / f".{digest}.tmp"
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
    sidecar = folder / f"{digest}.meta.json"
    if not sidecar.exists():
        provenance = {
            "sha256": digest,
            "bytes": size,
            "feed": feed.id,
            "regency": feed.regency,
            "dataset": feed.dataset,
            "channel": feed.channel,
            "source": source or str(path),
            "file_name": path.name,
            "received_at": now.isoformat(),
            "licence": licence or feed.options.get("licence"),
        }
        tmp = folder / f".{digest}.meta.json.tmp"
        tmp.write_text(json.dumps(provenance, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, sidecar)
    return Received(feed.id, path, target, source or str(path), digest, size, now)


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def map_headers(feed: Feed, spec: DatasetSpec, file_name: str, headers: list[str]) -> dict:
    """Canonical column -> source header. Unknown headers and missing required
    columns fail loudly, naming the file, the column and the fix."""
    wanted = {header_key(src): dst for src, dst in feed.columns.items()}
    ignored = {header_key(h) for h in feed.ignore_columns}
    mapping: dict[str, str] = {}
    unknown = []
    for h in headers:
        key = header_key(h)
        if key in wanted:
            mapping[wanted[key]] = h
        elif key not in ignored and key:
            unknown.append(h)
    if unknown:
        raise SubmissionError(
            f"{file_name}: unexpected column(s) {unknown}; the feed '{feed.id}' expects "
            f"{sorted(feed.columns)}. If the regency renamed or added a column, map it under "
            f"'columns' (or list it under 'ignore_columns') in the feed registry"
        )
    missing = [
        src for src, dst in feed.columns.items()
        if dst not in mapping and spec.column(dst).required
    ]
    if missing:
        raise SubmissionError(
            f"{file_name}: required column(s) {missing} missing; the file has {headers}"
        )
    return mapping


def _typed_expr(feed: Feed, ctype: str, src: str) -> str:
    """SQL turning the delivered text `src` into the canonical value of `ctype`."""
    x = f"nullif(trim({src}), '')"
    thousands = feed.options.get("thousands")
    decimal = feed.options.get("decimal", ".")
    if ctype == "text":
        return x
    if ctype in ("integer", "number"):
        cleaned = x
        if thousands:
            cleaned = f"replace({cleaned}, {_sql_literal(str(thousands))}, '')"
        if decimal != ".":
            cleaned = f"replace({cleaned}, {_sql_literal(str(decimal))}, '.')"
        if ctype == "integer":   # "1622630.5" is not a count: no silent rounding
            return (f"case when regexp_matches({cleaned}, '^[+-]?[0-9]+$') "
                    f"then try_cast({cleaned} as bigint) end")
        return f"try_cast({cleaned} as double)"
    if ctype == "period":
        return f"sd_periode({x})"
    if ctype in ("timestamp", "date"):
        fmt = feed.options.get(f"{ctype}_format")
        target = "timestamp" if ctype == "timestamp" else "date"
        if fmt:
            parsed = f"try_strptime({x}, {_sql_literal(str(fmt))})"
            return parsed if ctype == "timestamp" else f"cast({parsed} as date)"
        return f"try_cast({x} as {target})"
    if ctype == "region_code":
        if feed.region_code == "dotted":
            # 36 / 36.71 / 36.71.01 / 36.71.01.1001
            pattern = r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$"
            return f"case when regexp_matches({x}, {_sql_literal(pattern)}) then {x} end"
        if feed.region_code == "bps_digits":
            # Kemendagri code without dots: 3671, 367101 (kecamatan), 3671011001 (desa).
            return (
                f"case when regexp_matches({x}, '^(\\d{{4}}|\\d{{6}}|\\d{{10}})$') then "
                f"concat_ws('.', substr({x}, 1, 2), substr({x}, 3, 2), "
                f"nullif(substr({x}, 5, 2), ''), nullif(substr({x}, 7, 4), '')) end"
            )
        # by name: resolved against the reference list of regencies/cities
        return (
            "(select r.kode_wilayah from reference.wilayah_kabupaten_kota r "
            f"where sd_name_key(r.nama) = sd_name_key({x}))"
        )
    raise ValueError(ctype)


def _value_map_expr(src: str, spellings: dict[str, str]) -> str:
    """Map a regency's own spellings ("Persentase Penduduk Miskin (%)") to canonical
    values, ignoring case and surrounding spaces; other values pass through unchanged."""
    cases = " ".join(
        f"when {_sql_literal(header_key(k))} then {_sql_literal(v)}" for k, v in spellings.items()
    )
    key = f"lower(regexp_replace(trim({src}), '\\s+', ' ', 'g'))"
    return f"(case {key} {cases} else {src} end)"


TYPE_HINTS = {
    "integer": "a whole number",
    "number": "a number",
    "period": "a period such as 2020, 2024-S2 or 'Semester II 2024'",
    "timestamp": "a date and time",
    "date": "a date",
}


def load_batch(
    con: duckdb.DuckDBPyConnection, feed: Feed, spec: DatasetSpec, received: Received
) -> tuple[str, int]:
    """Read the snapshot and build the canonical batch table. Returns (table, rows)."""
    with timing.timed("ingest.load"):
        return _load_batch(con, feed, spec, received)


def _load_batch(
    con: duckdb.DuckDBPyConnection, feed: Feed, spec: DatasetSpec, received: Received
) -> tuple[str, int]:
    src_table = f"landing.src_{received.batch_id}"
    batch_table = f"landing.b_{received.batch_id}"
    name = received.path.name
    read_file(con, feed, received.snapshot, src_table, name)
    try:
        headers = [r[0] for r in con.execute(f"describe {src_table}").fetchall()]
        headers = [h for h in headers if h != "_row_number"]
        mapping = map_headers(feed, spec, name, headers)

        # Rows that are not data: blank lines and the regency's own total rows.
        filters = []
        present = [_quote_ident(h) for h in headers]
        if present:
            filters.append("not (" + " and ".join(f"nullif(trim({c}), '') is null"
                                                   for c in present) + ")")
        for col, pattern in feed.skip_rows_matching.items():
            src = mapping.get(col, col)
            if header_key(src) not in {header_key(h) for h in headers}:
                raise SubmissionError(
                    f"{name}: skip_rows_matching names column '{col}', which the file lacks"
                )
            filters.append(
                f"not coalesce(regexp_matches(trim({_quote_ident(src)}), "
                f"{_sql_literal(pattern)}), false)"
            )
        where = " and ".join(filters) or "true"

        select = []
        for c in spec.columns:
            if c.name in mapping:
                raw = _quote_ident(mapping[c.name])
                if c.name in feed.values:
                    raw = _value_map_expr(raw, feed.values[c.name])
                select.append(f"{raw} as {c.name}__raw")
                select.append(f"{_typed_expr(feed, c.type, raw)} as {c.name}")
            elif c.name == spec.regency_column:
                # A regency's own file need not say which regency it is.
                select.append(f"{_sql_literal(feed.regency)} as {c.name}__raw")
                select.append(f"{_sql_literal(feed.regency)} as {c.name}")
            else:
                select.append(f"null::varchar as {c.name}__raw")
                select.append(f"null as {c.name}")
        con.execute(
            f"create or replace temp table _typed as select {', '.join(select)}, _row_number "
            f"from {src_table} where {where}"
        )
        rows = con.execute("select count(*) from _typed").fetchone()[0]
        if rows == 0:
            raise SubmissionError(f"{name}: the file has a header but no data rows")
        _raise_on_bad_values(con, feed, spec, name, mapping)

        # Name-style feeds carry the region's name in the code column: keep it as the name.
        name_fill = {}
        if feed.region_code == "name":
            code_col = next((c.name for c in spec.columns if c.type == "region_code"), None)
            if code_col and "nama_wilayah" in spec.column_names:
                name_fill["nama_wilayah"] = f"coalesce(nama_wilayah, {code_col}__raw)"
        con.execute(create_dataset_table_sql(batch_table, spec, replace=True))
        cols = ", ".join(name_fill.get(c, c) for c in spec.column_names)
        con.execute(
            f"insert into {batch_table} select {cols}, "
            "?, ?, ?, ?, _row_number, ? from _typed order by _row_number",
            [received.batch_id, feed.id, feed.regency, received.sha256, received.received_at],
        )
        con.execute("drop table if exists _typed")
        return batch_table, rows
    finally:
        con.execute(f"drop table if exists {src_table}")


def _raise_on_bad_values(
    con: duckdb.DuckDBPyConnection, feed: Feed, spec: DatasetSpec, name: str, mapping: dict
) -> None:
    problems: list[str] = []
    for c in spec.columns:
        if c.name not in mapping:
            continue
        src = mapping[c.name]
        bad = con.execute(
            f"select _row_number, {c.name}__raw from _typed "
            f"where {c.name}__raw is not null and trim({c.name}__raw) <> '' "
            f"and {c.name} is null order by _row_number limit {MAX_EXAMPLES + 1}"
        ).fetchall()
        if c.required:
            bad += con.execute(
                f"select _row_number, '' from _typed where {c.name}__raw is null "
                f"or trim({c.name}__raw) = '' order by _row_number limit {MAX_EXAMPLES}"
            ).fetchall()
        if not bad:
            continue
        if c.type == "region_code":
            hint = {
                "dotted": "a Kemendagri code with dots, e.g. 36.71",
                "bps_digits": "a 4-digit BPS code, e.g. 3671",
                "name": "the name of a Banten regency/city, e.g. KOTA TANGERANG",
            }[feed.region_code]
        else:
            hint = TYPE_HINTS.get(c.type, "a value")
            fmt = feed.options.get(f"{c.type}_format")
            if fmt:
                hint += f" written as {fmt}"
        examples = ", ".join(
            f"row {r}: {v!r}" if v != "" else f"row {r}: empty" for r, v in bad[:MAX_EXAMPLES]
        )
        problems.append(f"column '{src}' (→ {c.name}) must be {hint}; {examples}")
    for c in spec.columns:
        if c.type != "text" or c.name not in mapping:
            continue
        # A cell that is a spreadsheet formula is an injection attempt or a broken export.
        formulas = con.execute(
            f"select _row_number, {c.name}__raw from _typed "
            f"where regexp_matches({c.name}__raw, {_sql_literal(FORMULA_PATTERN)}) "
            f"order by _row_number limit {MAX_EXAMPLES}"
        ).fetchall()
        if formulas:
            examples = ", ".join(f"row {r}: {v[:40]!r}" for r, v in formulas)
            problems.append(
                f"column '{mapping[c.name]}' holds spreadsheet formulas, not values "
                f"({examples}); export the values only"
            )
    for code_col in [c.name for c in spec.columns if c.type == "region_code"]:
        if code_col not in mapping:
            continue
        # A regency's file may only speak of that regency and the regions inside it.
        foreign = con.execute(
            f"select _row_number, {code_col} from _typed where {code_col} is not null "
            f"and {code_col} <> ? and not starts_with({code_col}, ? || '.') "
            f"and starts_with({code_col}, '36.') order by _row_number limit {MAX_EXAMPLES}",
            [feed.regency, feed.regency],
        ).fetchall()
        if foreign:
            examples = ", ".join(f"row {r}: {v}" for r, v in foreign)
            problems.append(
                f"column '{mapping[code_col]}' names region(s) outside this feed's regency "
                f"{feed.regency}: {examples}"
            )
    if problems:
        raise SubmissionError(f"{name}: " + "; ".join(problems))
