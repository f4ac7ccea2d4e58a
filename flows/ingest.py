"""Ingest: receive a feed's files, snapshot them, and turn each into a canonical batch.

One received file = one batch, with the dataset's canonical, typed columns and lineage
columns; validation then decides whether it is accepted into `raw.<dataset>` or
quarantined. Two ways in:

- `stage_csv_files`: a CSV feed's new files in one pass straight into `raw`, *staged*
  (listed in `meta.staged_batches`) until each is accepted or rejected. The fast way.
- `load_batch`: one file into `sd_scratch.main.b_<id>`, an in-memory database attached to
  the warehouse connection; every format, and any CSV file a check flags (the thorough
  path names each problem with its row and column). Nothing reaches `raw` before the
  batch is accepted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flows import timing
from flows.common import pii
from flows.common.files import atomic_target, write_json_atomic, write_text_atomic
from flows.common.files import sha256_file as _sha256_of
from flows.common.sql import quote_ident, quote_literal
from flows.readers import (
    HEADER_PART_SEPARATOR,
    SubmissionError,
    _check_header,
    _check_headers,
    _mixed_newlines,
    _refuse_non_text,
    header_key,
    read_csv_source,
    read_file,
)
from flows.registry import DatasetSpec, Feed
from flows.warehouse import create_dataset_table_sql, discard_staged

MAX_EXAMPLES = 5
# "=SUM(", "+cmd|", "@HYPERLINK(", "-2+3": what Excel would execute rather than show.
FORMULA_PATTERN = r"^\s*(=|[+\-@]\s*[A-Za-z_][A-Za-z0-9_.]*\s*[(|!])"
# The characters a value matching FORMULA_PATTERN can start with (RE2's \s is [\t\n\f\r ]).
FORMULA_FIRST = (9, 10, 12, 13, 32, ord("+"), ord("-"), ord("="), ord("@"))


def formula_sql(value: str) -> str:
    """SQL: `value` matches FORMULA_PATTERN. Its first character is tested first: almost
    no value starts like a formula, and the regex then never runs (~6 % of a load)."""
    return (f"(ascii({value}) in ({', '.join(map(str, FORMULA_FIRST))}) and "
            f"regexp_matches({value}, {quote_literal(FORMULA_PATTERN)}))")


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


_DIGESTS: dict[tuple, str] = {}   # (path, inode, size, mtime, ctime) -> sha256
_DIGESTS_MAX = 16384


def load_digests(cache: Path) -> None:
    """Digests remembered by earlier runs (`save_digests`): a run that finds every landing
    file unchanged hashes nothing (1.8 GB of complaint files took ~3 s a run)."""
    try:
        entries = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, list) and len(entry) == 6 and len(_DIGESTS) < _DIGESTS_MAX:
            _DIGESTS[tuple(entry[:5])] = str(entry[5])


def save_digests(cache: Path) -> None:
    """Keep the digests of files that still exist, for the next run (written aside and
    renamed). A file that changed in any way has a new change time, so its entry no
    longer matches and it is hashed again."""
    entries = [[*key, digest] for key, digest in _DIGESTS.items() if os.path.exists(key[0])]
    with contextlib.suppress(OSError):   # only a cache: the next run hashes again
        write_json_atomic(cache, entries)


def sha256_of(path: Path) -> str:
    """The file's sha256. Receiving hashes every file to skip known ones and the snapshot
    needs the same digest right after: an unchanged file (same inode, size, modification
    and change time: a write changes the change time, which no program can set back) is
    read once per process."""
    st = os.stat(path)
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    digest = _DIGESTS.get(key)
    if digest is None:
        with timing.timed("ingest.hash"):
            digest = _sha256_of(path)
        if len(_DIGESTS) >= _DIGESTS_MAX:
            _DIGESTS.clear()
        _DIGESTS[key] = digest
    return digest


def unseen_bytes(paths: list[Path], known: set[str]) -> int:
    """Bytes of the files that may be new: not among the digests remembered (`load_digests`)
    for a file in this very state, or remembered with a digest not in `known`. From `stat`
    alone, before anything is hashed: an estimate of the intake a receive is about to find
    (a file copied back unchanged counts, though receiving will skip it)."""
    total = 0
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if _DIGESTS.get(key) not in known:
            total += st.st_size
    return total


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
        with atomic_target(target) as tmp:
            shutil.copyfile(path, tmp)
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
        write_text_atomic(sidecar, json.dumps(provenance, indent=2, ensure_ascii=False))
    return Received(feed.id, path, target, source or str(path), digest, size, now)


def _header_keys(header: str) -> list[str]:
    """The names a header answers to: the whole of it and, for a header of several rows
    ("Jumlah Penduduk / Laki-laki"), its lowest part ("Laki-laki")."""
    keys = [header_key(header)]
    if HEADER_PART_SEPARATOR in header:
        keys.append(header_key(header.rsplit(HEADER_PART_SEPARATOR, 1)[1]))
    return keys


def map_headers(feed: Feed, spec: DatasetSpec, file_name: str, headers: list[str]) -> dict:
    """Canonical column -> source header. Unknown headers and missing required
    columns fail loudly, naming the file, the column and the fix. A header of several
    rows matches the registry by its whole name or by its lowest part."""
    wanted = {header_key(src): dst for src, dst in feed.columns.items()}
    ignored = {header_key(h) for h in feed.ignore_columns}
    mapping: dict[str, str] = {}
    unknown = []
    for h in headers:
        keys = _header_keys(h)
        key = next((k for k in keys if k in wanted), None)
        if key is not None and wanted[key] not in mapping:
            mapping[wanted[key]] = h
        elif key is not None:
            raise SubmissionError(
                f"{file_name}: columns '{mapping[wanted[key]]}' and '{h}' both map to "
                f"'{wanted[key]}'; map each header in full under 'columns' in feed "
                f"'{feed.id}', e.g. \"{h}\": {wanted[key]}")
        elif not any(k in ignored for k in keys) and keys[0]:
            unknown.append(h)
    if unknown:
        raise SubmissionError(
            f"{file_name}: unexpected column(s) {unknown}; the feed '{feed.id}' expects "
            f"{sorted(feed.columns)}. If the regency renamed or added a column, map it under "
            f"'columns' (or list it under 'ignore_columns') in the feed registry"
        )
    fixed = set(feed.constants) | set(feed.extract)
    missing = [
        src for src, dst in feed.columns.items()
        if dst not in mapping and dst not in fixed and spec.column(dst).required
    ]
    if missing:
        raise SubmissionError(
            f"{file_name}: required column(s) {missing} missing; the file has {headers}"
        )
    return mapping


def _typed_expr(feed: Feed, ctype: str, src: str, *, trimmed: bool = False) -> str:
    """SQL turning the delivered text `src` into the canonical value of `ctype`
    (`trimmed`: `src` is already `nullif(trim(text), '')`)."""
    x = src if trimmed else f"nullif(trim({src}), '')"
    thousands = feed.options.get("thousands")
    decimal = feed.options.get("decimal", ".")
    if ctype == "text":
        return x
    if ctype in ("integer", "number"):
        cleaned = x
        if thousands:
            cleaned = f"replace({cleaned}, {quote_literal(str(thousands))}, '')"
        if decimal != ".":
            cleaned = f"replace({cleaned}, {quote_literal(str(decimal))}, '.')"
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
            parsed = f"try_strptime({x}, {quote_literal(str(fmt))})"
            return parsed if ctype == "timestamp" else f"cast({parsed} as date)"
        return f"try_cast({x} as {target})"
    if ctype == "region_code":
        if feed.region_code == "dotted":
            # 36 / 36.71 / 36.71.01 / 36.71.01.1001
            pattern = r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$"
            return f"case when regexp_matches({x}, {quote_literal(pattern)}) then {x} end"
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


ANY_COLUMN = "*"   # skip_rows_matching: the pattern may match in any column


def province_total_pattern(province: str) -> str:
    """A region cell that names the province itself (its total row): "36", "Banten",
    "Provinsi Banten", "Prov. Banten" (lower-cased, as the SQL compares it)."""
    names = {"36": "banten"}
    name = names.get(province)
    named = rf"|((provinsi|prov\.?)\s+)?{name}" if name else ""
    return rf"^({re.escape(province)}{named})$"


def value_key(text: str) -> str:
    """How categorical values are compared: case, accents and repeated spaces ignored
    ("Lampu  PJU Padam", "lampu pju padam" and "lámpu pju padam" are one value)."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", plain).strip().casefold()


def _canonical_expr(src: str, values: tuple[str, ...]) -> str:
    """A value that matches one of the column's canonical values but for case, accents
    and spaces becomes that value; others pass through (and meet the quality suite)."""
    cases = " ".join(f"when {quote_literal(value_key(v))} then {quote_literal(v)}"
                     for v in values)
    key = f"lower(regexp_replace(strip_accents(trim({src})), '\\s+', ' ', 'g'))"
    # Most values are already canonical: they skip the normalising (a regex a row).
    exact = ", ".join(quote_literal(v) for v in values)
    return (f"(case when trim({src}) in ({exact}) then {src} "
            f"else (case {key} {cases} else {src} end) end)")


def fixed_values(feed: Feed, name: str, title: list[str]) -> dict[str, str]:
    """The values a feed fixes for a whole file: `constants`, and `extract` (a pattern
    over the file's title block or its name; its first group, or the whole match).
    Raises SubmissionError naming the pattern when it finds nothing."""
    values = dict(feed.constants)
    for column, rule in feed.extract.items():
        texts = [name] if rule.source == "file_name" else title
        found = None
        for text in texts:
            match = re.search(rule.pattern, text, flags=re.IGNORECASE)
            if match:
                found = (match.group(1) if match.groups() else match.group(0)).strip()
                break
        if not found:
            where = (f"the file name '{name}'" if rule.source == "file_name" else
                     "the title above the header ("
                     + (" | ".join(t[:60] for t in title[:5]) or "there is none") + ")")
            raise SubmissionError(
                f"{name}: extract.{column} of feed '{feed.id}' found nothing in {where} "
                f"with pattern {rule.pattern!r}; change the pattern, or set "
                f"'constants: {{{column}: ...}}' for this file's feed")
        values[column] = found
    return values


def _value_map_expr(src: str, spellings: dict[str, str]) -> str:
    """Map a regency's own spellings ("Persentase Penduduk Miskin (%)") to canonical
    values, ignoring case and surrounding spaces; other values pass through unchanged."""
    cases = " ".join(
        f"when {quote_literal(header_key(k))} then {quote_literal(v)}" for k, v in spellings.items()
    )
    key = f"lower(regexp_replace(trim({src}), '\\s+', ' ', 'g'))"
    return f"(case {key} {cases} else {src} end)"


def _formula_checked(column) -> bool:
    """Text that reaches published files is checked for spreadsheet formulas (what Excel
    would execute); a personal-data column never leaves the warehouse, so its values are
    not (4 of the complaint export's 9 text columns: ~0.2 µs a row)."""
    return column.type == "text" and not column.personal_data


def _pii_checked(column) -> bool:
    """Text columns not declared personal data must not hold any (a NIK, a phone number or
    an e-mail address typed into `status`, or a column mapped as text by mistake): such a
    file is quarantined before anything reaches `raw`, whose ordinary text columns are
    published and sampled into quality reports."""
    return column.type == "text" and not column.personal_data


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


SCRATCH = "sd_scratch"   # an in-memory database attached to the warehouse connection


def _scratch(con: duckdb.DuckDBPyConnection) -> str:
    """The name of an in-memory database attached to `con`'s database instance: the file
    as delivered and the typed batch live there, so neither reaches the warehouse file
    (nor its write-ahead log) before the batch is accepted. Every connection of this
    process to the warehouse shares the instance (flows/warehouse.py `connect`), Great
    Expectations' included, so they all see it."""
    attached = {r[0] for r in con.execute("select database_name from duckdb_databases()")
                .fetchall()}
    if SCRATCH not in attached:
        con.execute(f"attach ':memory:' as {SCRATCH}")
    return SCRATCH


def batch_table(received: Received) -> str:
    """Where `load_batch` puts the batch of a received file (catalog.schema.table)."""
    return f"{SCRATCH}.main.b_{received.batch_id}"


def drop_batch(con: duckdb.DuckDBPyConnection, received: Received) -> None:
    _scratch(con)
    con.execute(f"drop table if exists {batch_table(received)}")


def _load_batch(
    con: duckdb.DuckDBPyConnection, feed: Feed, spec: DatasetSpec, received: Received
) -> tuple[str, int]:
    _scratch(con)
    table = batch_table(received)
    if feed.format == "csv":
        rows = _load_csv_streaming(con, feed, spec, received, table)
        if rows is not None:
            return table, rows
    return _load_materialised(con, feed, spec, received, table)


@dataclass(frozen=True)
class _Plan:
    """How a file's columns become the batch's: SQL over the delivered text columns."""

    mapping: dict            # canonical column -> source header
    where: str               # keeps data rows (not blank lines, not the regency's totals)
    raw_of: dict             # canonical column -> its text as delivered (value maps applied)
    typed_of: dict           # canonical column -> its typed value
    values: dict             # canonical column -> what the batch stores
    regency_sql: str = "null"   # a row's regency: the feed's, or its own (province-wide)
    # column -> its text before it is matched to the canonical values (case, accents)
    remapped: dict = None
    fixed: dict = None       # canonical column -> value fixed for the whole file


def _plan(feed: Feed, spec: DatasetSpec, name: str, headers: list[str],
          raw_ref=None, typed_headers: frozenset[str] = frozenset(),
          title: list[str] | None = None) -> _Plan:
    """`raw_ref(column)`, if given, names the trimmed text of a column
    (`nullif(trim(text), '')`, an alias of a subquery) in the typed expressions, so each
    value is trimmed once. `typed_headers`: columns the CSV reader already typed.
    `title`: the lines above the header, for values the feed extracts from it."""
    mapping = map_headers(feed, spec, name, headers)
    fixed = fixed_values(feed, name, title or [])
    # Rows that are not data: blank lines and the regency's own total rows.
    filters = []
    present = [quote_ident(h) for h in headers]
    if present:
        # A row is kept when some value is not blank. A CASE stops at the first
        # non-blank value (a row's first column, mostly); NOT (... AND ...) would
        # trim every column of every row.
        filters.append("case " + " ".join(
            f"when {c} is not null then true" if h in typed_headers
            else f"when trim({c}) <> '' then true" for h, c in zip(headers, present,
                                                                   strict=True))
            + " else false end")
    for col, pattern in feed.skip_rows_matching.items():
        if col == ANY_COLUMN:   # a total row may say "JUMLAH" in whichever column
            sources = list(headers)
        else:
            src = mapping.get(col, col)
            if header_key(src) not in {header_key(h) for h in headers}:
                raise SubmissionError(
                    f"{name}: skip_rows_matching names column '{col}', which the file lacks"
                )
            sources = [next(h for h in headers if header_key(h) == header_key(src))]
        filters.append("not (" + " or ".join(
            f"coalesce(regexp_matches(trim({quote_ident(h)}), {quote_literal(pattern)}), "
            "false)" for h in sources) + ")")
    if feed.is_province_wide:
        # The province's own total row is never data of a regency.
        for c in spec.columns:
            if c.type == "region_code" and c.name in mapping:
                filters.append(
                    f"not coalesce(regexp_matches(lower(trim({quote_ident(mapping[c.name])})),"
                    f" {quote_literal(province_total_pattern(feed.province))}), false)")
    where = " and ".join(filters) or "true"

    raw_of: dict[str, str] = {}
    typed_of: dict[str, str] = {}
    before_canonical: dict[str, str] = {}   # column -> its text before `_canonical_expr`
    for c in spec.columns:
        if c.name in fixed:
            # A value fixed for the whole file (`constants`, `extract`).
            typed_of[c.name] = _typed_expr(feed, c.type, quote_literal(fixed[c.name]))
        elif c.name in mapping:
            raw = quote_ident(mapping[c.name])
            if c.name in feed.values:
                raw = _value_map_expr(raw, feed.values[c.name])
            if c.values:
                before_canonical[c.name] = raw
                raw = _canonical_expr(raw, c.values)
            raw_of[c.name] = raw
            typed_of[c.name] = (_typed_expr(feed, c.type, raw_ref(c.name), trimmed=True)
                                if raw_ref else _typed_expr(feed, c.type, raw))
        elif c.name == spec.regency_column and not feed.is_province_wide:
            # A regency's own file need not say which regency it is.
            typed_of[c.name] = quote_literal(feed.regency)
        else:
            typed_of[c.name] = "null"
    regency_sql = quote_literal(feed.regency)
    if feed.is_province_wide:
        # Each row belongs to the regency its region code names (36.71.01 -> 36.71).
        region = next((c.name for c in spec.columns if c.type == "region_code"
                       and c.name in mapping and (spec.regency_column in (None, c.name))),
                      None)
        if region is None:
            raise SubmissionError(
                f"{name}: feed '{feed.id}' covers the whole province, so each row must say "
                "which regency/city it is about; map the file's region code or name column "
                f"under 'columns' (found {headers})")
        # (a row naming no known region keeps the province's code: its check names it)
        regency_sql = f"coalesce(substr({typed_of[region]}, 1, 5), {regency_sql})"
    # Name-style feeds carry the region's name in the code column: keep it as the name.
    values = dict(typed_of)
    if feed.region_code == "name":
        code_col = next((c.name for c in spec.columns if c.type == "region_code"), None)
        if code_col in raw_of and "nama_wilayah" in spec.column_names:
            code_raw = (raw_ref(code_col) if raw_ref
                        else f"nullif(trim({raw_of[code_col]}), '')")
            values["nama_wilayah"] = f"coalesce({typed_of['nama_wilayah']}, {code_raw})"
    return _Plan(mapping, where, raw_of, typed_of, values, regency_sql, before_canonical,
                 fixed)


@dataclass(frozen=True)
class _Streaming:
    """The one-pass SQL of a CSV file's rows: `sql` selects, from `relation`'s data rows,
    every canonical column (typed) and `flag`, true for a row that fails some check of
    `_raise_on_bad_values` (a value that cannot be typed, an empty required value, a
    spreadsheet formula, personal data in an ordinary text column, a region outside the
    feed's regency). `keep` names the relation's columns to carry along (`_row_number`,
    `file_index`)."""

    sql: str
    flag: str


def _streaming_rows(feed: Feed, spec: DatasetSpec, name: str, headers: list[str],
                    relation: str, keep: str,
                    typed_headers: frozenset[str] = frozenset()) -> _Streaming:
    """`typed_headers`: columns `relation` already has typed (DuckDB's CSV reader parsed
    them by the feed's format): passed through, NULL when empty."""
    texts: dict[str, str] = {}   # canonical column -> alias of its trimmed text

    def alias(column: str) -> str:
        return texts.setdefault(column, f"_r{len(texts)}")

    plan = _plan(feed, spec, name, headers, raw_ref=alias, typed_headers=typed_headers)
    for column in plan.raw_of:
        alias(column)
    typed = {c for c, h in plan.mapping.items() if h in typed_headers}
    for c in typed:   # the reader's value is the typed value
        plan.values[c] = plan.typed_of[c] = texts[c]
    regency = quote_literal(feed.regency)
    regency_prefix = quote_literal(feed.regency + ".")
    flags = []
    for c in spec.columns:
        if c.name not in plan.mapping:
            continue
        r = texts[c.name]   # the trimmed text, NULL when blank
        if c.type != "text" and c.name not in typed:
            flags.append(f"({r} is not null and {c.name} is null)")
        if c.required:
            flags.append(f"{r} is null")
        if _formula_checked(c):
            flags.append(formula_sql(r))
        if c.type == "region_code":
            flags.append(f"({c.name} <> {regency} and not starts_with({c.name}, "
                         f"{regency_prefix}) and starts_with({c.name}, '36.'))")
    # Personal data in ordinary text columns: one cheap test of all of them together that
    # never misses; a flagged file is checked exactly (and named) by the thorough path.
    checked = [texts[c.name] for c in spec.columns if c.name in plan.mapping and _pii_checked(c)]
    if checked:
        flags.append(pii.sql_maybe_hit(checked))
    for i, c in enumerate(plan.remapped):
        # A value written in another spelling of a canonical value: the thorough load
        # records what was mapped (`value_mappings`).
        flags.append(f"({texts[c]} is distinct from _o{i})")
    text_cols = "".join(f"{plan.raw_of[c]} as {a}, " if c in typed
                        else f"nullif(trim({plan.raw_of[c]}), '') as {a}, "
                        for c, a in texts.items())
    text_cols += "".join(f"nullif(trim({plan.remapped[c]}), '') as _o{i}, "
                         for i, c in enumerate(plan.remapped))
    typed_cols = ", ".join(f"{plan.values[c]} as {c}" for c in spec.column_names)
    # innermost: the data rows' texts; then their typed values (each level names the one
    # below it, so no typed value is computed twice)
    sql = (f"(select *, {typed_cols} from (select {text_cols}{keep} from {relation} "
           f"where {plan.where}))")
    return _Streaming(sql, " or ".join(flags) or "false")


def _load_csv_streaming(con: duckdb.DuckDBPyConnection, feed: Feed, spec: DatasetSpec,
                        received: Received, table: str) -> int | None:
    """The fast path for a CSV file loaded on its own: one pass from DuckDB's CSV reader
    through typing into the batch table, with every check of `_raise_on_bad_values`
    folded into one flag per row. The text as delivered is never materialised (that
    alone cost ~0.8 µs a row, half of reading the file). Returns the number of rows, or
    None when the file cannot be read this way or some row is flagged: the caller then
    loads it the thorough way (`_load_materialised`), which finds and names every
    problem."""
    if thorough_only(feed):
        return None
    name = received.path.name
    try:
        with read_csv_source(feed, received.snapshot, name) as (relation, params):
            with timing.timed("ingest.load.read"):
                headers = [r[0] for r in con.execute(
                    f"describe select * from {relation}", params).fetchall()]
            headers = [h for h in headers if h != "_row_number"]
            _check_headers(name, headers)
            rows = _streaming_rows(feed, spec, name, headers, relation, "_row_number")
            con.execute(create_dataset_table_sql(table, spec, replace=True,
                                                 row_number=True))
            con.execute(f"alter table {table} add column _flagged boolean")
            with timing.timed("ingest.load.type"):
                con.execute(
                    f"insert into {table} select {', '.join(spec.column_names)}, "
                    f"?, ?, ?, ?, ?, _row_number, {rows.flag} from {rows.sql}",
                    [received.batch_id, feed.id, feed.regency, received.sha256,
                     received.received_at, *params],
                )
    except (duckdb.Error, SubmissionError, OSError):
        con.execute(f"drop table if exists {table}")
        return None
    with timing.timed("ingest.load.check"):
        rows, flagged = con.execute(
            f"select count(*), count(*) filter (where _flagged) from {table}").fetchone()
        if rows == 0 or flagged:
            con.execute(f"drop table {table}")
            return None
        con.execute(f"alter table {table} drop column _flagged")
    return rows


def thorough_only(feed: Feed) -> bool:
    """Feeds whose files are always loaded the thorough way (`_load_materialised`): a
    header of several rows, values fixed for the file (from its title or name), rows of
    several regencies. Such feeds send small tables; the fast CSV paths assume one header
    line and one regency."""
    return bool(feed.is_province_wide or feed.options.get("header_rows")
                or feed.constants or feed.extract)


def _csv_header_block(path: Path, skip: int) -> bytes | None:
    """The bytes up to the end of a CSV file's header line (after `skip` lines), or None
    when the file is not plain UTF-8 text with one kind of line ending."""
    if path.stat().st_size == 0:
        return None
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    if _mixed_newlines(head) or b"\x00" in head:
        return None
    lines = head.split(b"\n", skip + 1)
    return None if len(lines) <= skip + 1 else b"\n".join(lines[:skip + 1])


STAGED_CSV = """read_csv(?::varchar[], delim = ?, quote = ?, header = true, all_varchar = true,
                  null_padding = false, strict_mode = true, skip = ?)"""
# Dates and times are parsed by DuckDB's CSV reader itself, by the feed's declared format
# (the same strptime rules as `_typed_expr`), instead of trimming and parsing their text
# after. A value that does not parse fails the statement: the files are then loaded one
# by one, and the failing one's own load names the row.
STAGED_CSV_TYPED = """read_csv(?::varchar[], delim = ?, quote = ?, header = true,
                  auto_detect = false, columns = {columns}, {formats}
                  null_padding = false, strict_mode = true, skip = ?)"""


def _reader_typed(feed: Feed, spec: DatasetSpec, headers: list[str]) -> dict[str, str]:
    """Header -> DuckDB type for the columns the CSV reader can type: timestamps and dates
    with a declared format without a time zone (`%z`/`%Z` give `try_strptime` another
    type), unless the feed maps their spellings."""
    try:
        mapping = map_headers(feed, spec, "", headers)
    except SubmissionError:
        return {}
    out = {}
    for c in spec.columns:
        fmt = str(feed.options.get(f"{c.type}_format") or "")
        if (c.name in mapping and c.type in ("timestamp", "date") and c.name not in feed.values
                and fmt and "%z" not in fmt.lower()):
            out[mapping[c.name]] = c.type.upper()
    return out


def stage_csv_files(con: duckdb.DuckDBPyConnection, feed: Feed, spec: DatasetSpec,
                    items: list[Received]) -> dict[str, int] | None:
    """Load all new files of a CSV feed into `raw.<dataset>` in one pass, *staged*: one
    statement reads the files with DuckDB's CSV reader, types and checks every row as
    `_load_csv_streaming` does, and writes the rows straight into `raw` with their
    lineage, in one transaction that also lists each file's batch in
    `meta.staged_batches`. Nothing may use a staged batch's rows until it is accepted
    (the pipeline's `_Acceptor.flush`) or rejected (`unstage`); a run that
    stops in between leaves them listed, and the next run deletes them
    (`warehouse.discard_staged`).

    Why: a batch kept in memory is written twice (memory, then `raw`) and file by file
    (partial row groups); at 10 M complaint rows that cost twice DuckDB's own read of
    the same files. Validation reads a staged batch through a view (`staged_batch`).

    Returns rows per staged batch id: the files that share the most common header line
    (plain UTF-8 text). Any other file is not staged, and the caller loads it on its own.
    None when no file can be staged, or some row is flagged: nothing is then staged, and
    each file's own load finds and names every problem."""
    if feed.format != "csv" or not items or thorough_only(feed):
        return None
    encoding = str(feed.options.get("encoding", "utf-8")).lower().replace("_", "-")
    if encoding not in ("utf-8", "utf8") or len({r.batch_id for r in items}) != len(items):
        return None
    opts = feed.options
    delimiter, quote = str(opts.get("delimiter", ",")), str(opts.get("quote", '"'))
    skip = int(opts.get("skip_lines", 0))
    try:
        # The files with the most common header are staged; any other (a renamed column,
        # another encoding) is loaded on its own.
        groups: dict[bytes, list[Received]] = {}
        for r in items:
            block = _csv_header_block(r.snapshot, skip)
            if block is not None:
                groups.setdefault(block, []).append(r)
        if not groups:
            return None
        items = max(groups.values(), key=len)
        ids = [r.batch_id for r in items]
        name = items[0].path.name
        for r in items:
            _refuse_non_text(r.snapshot, r.path.name)
        _check_header(items[0].snapshot, name, delimiter, quote)   # a repeated header
        files = [str(r.snapshot) for r in items]
        params = [files, delimiter, quote, skip]
        with timing.timed("ingest.load.read"):
            headers = [r[0] for r in con.execute(
                f"describe select * from {STAGED_CSV}", [files[:1], *params[1:]]
            ).fetchall()]
        _check_headers(name, headers)
        typed = _reader_typed(feed, spec, headers)
        relation = STAGED_CSV
        if typed:
            columns = "{" + ", ".join(f"{quote_literal(h)}: '{typed.get(h, 'VARCHAR')}'"
                                      for h in headers) + "}"
            formats = "".join(
                f"{'timestampformat' if t == 'TIMESTAMP' else 'dateformat'} = "
                f"{quote_literal(str(feed.options[f'{t.lower()}_format']))}, "
                for t in sorted(set(typed.values())))
            relation = STAGED_CSV_TYPED.format(columns=columns, formats=formats)
        rows = _streaming_rows(feed, spec, name, headers, relation, "file_index",
                               frozenset(typed))
    except (duckdb.Error, SubmissionError, OSError, UnicodeError):
        return None
    raw = f"raw.{spec.name}"
    # Rows need no order in `raw` (a file's rows are found by batch id; they stay together,
    # file by file). Keeping the reader's order makes DuckDB hold back and then merge
    # partly filled row groups: at 10 M rows, 18.2 -> 14.7 s for the insert and
    # 2.3 -> 0.7 s for the checkpoint at the end (bench/README.md).
    con.execute("set preserve_insertion_order = false")
    con.execute("begin transaction")
    try:
        with timing.timed("ingest.load.type"):
            con.execute(
                f"insert into {raw} by name select {', '.join(spec.column_names)}, "
                "(?::varchar[])[file_index::bigint + 1] as _batch_id, ? as _feed_id, "
                "? as _regency, (?::varchar[])[file_index::bigint + 1] as _source_sha256, "
                "(?::timestamptz[])[file_index::bigint + 1] as _ingested_at "
                f"from {rows.sql} "
                f"where case when {rows.flag} then error('flagged') else true end",
                [ids, feed.id, feed.regency, [r.sha256 for r in items],
                 [r.received_at for r in items], *params],
            )
        with timing.timed("ingest.load.check"):
            counts = dict(con.execute(
                f"select _batch_id, count(*) from {raw} where _regency = ? and _batch_id in "
                "(select unnest(?::varchar[])) group by 1", [feed.regency, ids]).fetchall())
        if any(not counts.get(i) for i in ids):
            con.execute("rollback")   # a file without data rows: its own load says so
            return None
        now = dt.datetime.now(dt.UTC)
        con.executemany("insert into meta.staged_batches values (?, ?, ?, ?)",
                        [[i, spec.name, feed.id, now] for i in ids])
        con.execute("commit")
    except duckdb.Error:
        con.execute("rollback")
        return None
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.execute("reset preserve_insertion_order")
    return {i: counts[i] for i in ids}


def _staged_view(con: duckdb.DuckDBPyConnection, view: str, spec: DatasetSpec,
                 regency: str, batch_ids: list[str]) -> str:
    """A view of staged batches' rows in `raw`. It names the regency as well: a feed's
    files are staged together, so its row groups hold that regency alone and DuckDB skips
    every other one by its statistics (batch ids are random: they skip nothing). On a
    10 M-row `raw`, a 373k-row feed's row rules: 1.0 -> 0.2 s."""
    catalog = con.execute("select current_database()").fetchone()[0]
    ids = ", ".join(quote_literal(b) for b in batch_ids)
    con.execute(f"create or replace view {view} as select * from "
                f"{quote_ident(catalog)}.raw.{spec.name} "
                f"where _regency = {quote_literal(regency)} and _batch_id in ({ids})")
    return view


def staged_batch(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, feed: Feed,
                 received: Received) -> str:
    """A view of a staged batch's rows in `raw` (catalog.schema.name), for validation."""
    return _staged_view(con, f"{_scratch(con)}.main.staged_{received.batch_id}", spec,
                        feed.regency, [received.batch_id])


def staged_together(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, feed: Feed,
                    batch_ids: list[str]) -> str:
    """A view of the rows of several staged batches of `feed` together (catalog.schema.
    name), for the row rules its files share (`quality.Validator.validate_together`).
    Drop it with `drop_view`."""
    return _staged_view(con, f"{_scratch(con)}.main.staged_together", spec, feed.regency,
                        batch_ids)


def drop_view(con: duckdb.DuckDBPyConnection, view: str) -> None:
    con.execute(f"drop view if exists {view}")


def drop_staged_view(con: duckdb.DuckDBPyConnection, received: Received) -> None:
    con.execute(f"drop view if exists {_scratch(con)}.main.staged_{received.batch_id}")


def unstage(con: duckdb.DuckDBPyConnection, received: Received) -> None:
    """A staged batch that was rejected: its rows leave `raw`."""
    drop_staged_view(con, received)
    discard_staged(con, batch_id=received.batch_id)


def _load_materialised(con: duckdb.DuckDBPyConnection, feed: Feed, spec: DatasetSpec,
                       received: Received, table: str) -> tuple[str, int]:
    """Every format, and a CSV file the fast path flagged: the file as delivered is read
    into memory (text columns, never written to the warehouse file); one INSERT types the
    rows into the batch table, in file order; then `_raise_on_bad_values` checks every
    column and names each problem with its rows."""
    src_table = f"{_scratch(con)}.src_{received.batch_id}"
    name = received.path.name
    with timing.timed("ingest.load.read"):
        info = read_file(con, feed, received.snapshot, src_table, name)
    try:
        headers = [r[0] for r in con.execute(f"describe {src_table}").fetchall()]
        headers = [h for h in headers if h != "_row_number"]
        plan = _plan(feed, spec, name, headers, title=getattr(info, "title", None) or [])
        _check_fixed(con, feed, spec, name, plan)
        con.execute(create_dataset_table_sql(table, spec, replace=True, row_number=True))
        cols = ", ".join(plan.values[c] for c in spec.column_names)
        # The source table is in file order (reading and filtering keep insertion order),
        # so the batch is too, without sorting.
        with timing.timed("ingest.load.type"):
            con.execute(
                f"insert into {table} select {cols}, "
                f"?, ?, {plan.regency_sql}, ?, ?, _row_number from {src_table} "
                f"where {plan.where}",
                [received.batch_id, feed.id, received.sha256, received.received_at],
            )
        try:
            with timing.timed("ingest.load.check"):
                rows = _raise_on_bad_values(con, feed, spec, name, plan.mapping, src_table,
                                            plan.where, plan.raw_of, plan.typed_of, table)
        except SubmissionError:
            con.execute(f"drop table if exists {table}")
            raise
        _MAPPED[received.batch_id] = _mapped_values(con, plan, src_table)
        return table, rows
    finally:
        con.execute(f"drop table if exists {src_table}")


_MAPPED: dict[str, list[tuple]] = {}   # batch id -> what `value_mappings` returns


def value_mappings(received: Received) -> list[tuple[str, str, str, int]]:
    """The values of a file loaded by `load_batch` that were written to their canonical
    spelling: (column, as sent, as stored, rows). Once: the list is handed over."""
    return _MAPPED.pop(received.batch_id, [])


def _mapped_values(con: duckdb.DuckDBPyConnection, plan: _Plan, src_table: str
                   ) -> list[tuple[str, str, str, int]]:
    out = []
    for c in plan.remapped or {}:
        sent = f"nullif(trim({quote_ident(plan.mapping[c])}), '')"
        stored = f"nullif(trim({plan.raw_of[c]}), '')"
        out += [(c, *r) for r in con.execute(
            f"select {sent}, {stored}, count(*) from {src_table} where ({plan.where}) "
            f"and {sent} is distinct from {stored} group by all order by 1").fetchall()]
    return out


def _check_fixed(con: duckdb.DuckDBPyConnection, feed: Feed, spec: DatasetSpec, name: str,
                 plan: _Plan) -> None:
    """A value fixed for the file (`constants`, `extract`) must type like any cell."""
    for column, value in (plan.fixed or {}).items():
        ctype = spec.column(column).type
        if ctype != "text" and con.execute(
                f"select {plan.typed_of[column]}").fetchone()[0] is None:
            origin = "constants" if column in feed.constants else "extract"
            raise SubmissionError(
                f"{name}: {origin}.{column} of feed '{feed.id}' gives {value!r}, which is "
                f"not {TYPE_HINTS.get(ctype, 'a valid value')}")


def _raise_on_bad_values(
    con: duckdb.DuckDBPyConnection, feed: Feed, spec: DatasetSpec, name: str, mapping: dict,
    src_table: str, where: str, raw_of: dict[str, str], typed_of: dict[str, str],
    batch_table: str,
) -> int:
    """Every check of a loaded batch in two aggregate queries, one over the delivered text
    and one over the typed batch (one pass each, whatever the number of columns): values
    that could not be typed, empty required values, spreadsheet formulas in text, personal
    data (NIK-like, phone-like, e-mail-like values) in a text column not declared
    `personal_data`, region codes outside the feed's regency. Only a check that found
    something reads its first rows (by row number) as examples. Raises SubmissionError
    naming them; returns the number of data rows.

    A value that could not be typed is counted without typing anything again: every typed
    value is computed from the trimmed, non-empty text, so a column has as many bad values
    as non-blank texts minus typed values."""
    regency = quote_literal(feed.regency)
    regency_prefix = quote_literal(feed.regency + ".")
    on_src: dict[str, str] = {"rows": "true"}   # name -> condition counted over the text
    on_batch: dict[str, str] = {}              # name -> expression counted over the batch
    for i, c in enumerate(spec.columns):
        if c.name not in mapping:
            continue
        raw = raw_of[c.name]
        if c.type != "text":   # a text value is never "bad": typed, it is the trimmed text
            on_src[f"filled_{i}"] = f"trim({raw}) <> ''"
            on_batch[f"typed_{i}"] = c.name
        if c.required:
            on_src[f"empty_{i}"] = f"{raw} is null or trim({raw}) = ''"
        if _formula_checked(c):
            on_src[f"formula_{i}"] = f"regexp_matches({raw}, {quote_literal(FORMULA_PATTERN)})"
        if _pii_checked(c):
            on_src[f"pii_{i}"] = f"coalesce({pii.sql_hit(raw)}, false)"
        if c.type == "region_code":
            on_batch[f"foreign_{i}"] = (
                f"case when {c.name} <> {regency} and not starts_with({c.name}, "
                f"{regency_prefix}) and starts_with({c.name}, '36.') then 1 end")
    cur = con.execute("select " + ", ".join(f"count(*) filter (where {cond})"
                                             for cond in on_src.values())
                      + f" from {src_table} where {where}")
    counts = dict(zip(on_src, cur.fetchone(), strict=True))
    if counts["rows"] == 0:
        raise SubmissionError(f"{name}: the file has a header but no data rows")
    if on_batch:
        cur = con.execute("select " + ", ".join(f"count({e})" for e in on_batch.values())
                          + f" from {batch_table}")
        counts.update(zip(on_batch, cur.fetchone(), strict=True))

    found: dict[str, list] = {}
    for i, c in enumerate(spec.columns):
        if c.name not in mapping:
            continue
        raw, typed = raw_of[c.name], typed_of[c.name]
        queries = []
        if c.type != "text" and counts[f"filled_{i}"] > counts[f"typed_{i}"]:
            queries.append((f"bad_{i}", raw, f"trim({raw}) <> '' and ({typed}) is null",
                            MAX_EXAMPLES + 1))
        if counts.get(f"empty_{i}"):
            queries.append((f"empty_{i}", "''", on_src[f"empty_{i}"], MAX_EXAMPLES))
        if counts.get(f"formula_{i}"):
            queries.append((f"formula_{i}", raw, on_src[f"formula_{i}"], MAX_EXAMPLES))
        if counts.get(f"pii_{i}"):
            queries.append((f"pii_{i}", raw, on_src[f"pii_{i}"], MAX_EXAMPLES))
        for key, value, cond, limit in queries:
            found[key] = con.execute(
                f"select _row_number, {value} from {src_table} where ({where}) and ({cond}) "
                f"order by _row_number limit {limit}").fetchall()
        if counts.get(f"foreign_{i}"):
            found[f"foreign_{i}"] = con.execute(
                f"select _row_number, {c.name} from {batch_table} "
                f"where {on_batch[f'foreign_{i}']} = 1 "
                f"order by _row_number limit {MAX_EXAMPLES}").fetchall()
    if not found:
        return counts["rows"]

    problems: list[str] = []
    for i, c in enumerate(spec.columns):
        if c.name not in mapping:
            continue
        src = mapping[c.name]
        bad = found.get(f"bad_{i}", []) + found.get(f"empty_{i}", [])
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
    for i, c in enumerate(spec.columns):
        # A cell that is a spreadsheet formula is an injection attempt or a broken export.
        formulas = found.get(f"formula_{i}")
        if formulas:
            examples = ", ".join(f"row {r}: {v[:40]!r}" for r, v in formulas)
            problems.append(
                f"column '{mapping[c.name]}' holds spreadsheet formulas, not values "
                f"({examples}); export the values only"
            )
    for i, c in enumerate(spec.columns):
        # Personal data in a column that is published: the file must not reach `raw`.
        rows_found = found.get(f"pii_{i}")
        if rows_found:
            problems.append(_personal_data_problem(c.name, mapping[c.name], rows_found,
                                                   counts[f"pii_{i}"]))
    for i, c in enumerate(spec.columns):
        # A regency's file may only speak of that regency and the regions inside it.
        foreign = found.get(f"foreign_{i}")
        if foreign:
            examples = ", ".join(f"row {r}: {v}" for r, v in foreign)
            problems.append(
                f"column '{mapping[c.name]}' names region(s) outside this feed's regency "
                f"{feed.regency}: {examples}"
            )
    if problems:
        raise SubmissionError(f"{name}: " + "; ".join(problems))
    return counts["rows"]


def _personal_data_problem(column: str, header: str, rows: list[tuple], count: int) -> str:
    """The message for a text column holding personal data: the kinds found, the rows
    (the first `MAX_EXAMPLES`) and one masked example, never the value itself."""
    kinds: list[str] = []
    example = None
    for _, value in rows:
        for hit in pii.find(str(value)):
            if hit.kind not in kinds:
                kinds.append(hit.kind)
            if example is None:
                example = pii.mask(hit.kind, hit.value if hit.kind == "email"
                                   else str(value)[hit.start:hit.end])
    kinds.sort(key=list(pii.GATE_LABELS).index)
    numbers = ", ".join(str(r) for r, _ in rows)
    more = f" and {count - len(rows)} more" if count > len(rows) else ""
    where = f"row {numbers}" if count == 1 else f"rows {numbers}{more}"
    named = f"column '{column}'" + (f" (header '{header}')" if header != column else "")
    what = ", ".join(pii.GATE_LABELS[k] for k in kinds) or "an identifier"
    return (f"{named} holds personal data ({what}) in {where}: '{example or pii.MASK}'; "
            "if this column really carries personal data, mark it `personal_data: true` "
            "in the dataset; otherwise ask the regency to remove it")
