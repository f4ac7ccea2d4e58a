"""A CSV feed's new files in one pass straight into `raw`, *staged* (listed in
`meta.staged_batches`) until each is accepted or rejected (`stage_csv_files`, `unstage`),
and the views through which validation reads staged batches."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from flows import timing
from flows.common.sql import quote_ident, quote_literal
from flows.ingest.checks import map_headers
from flows.ingest.load import _scratch, thorough_only
from flows.ingest.plan import _streaming_rows
from flows.ingest.receive import Received
from flows.readers import SubmissionError
from flows.readers.csv_layout import _check_header, _mixed_newlines
from flows.readers.guards import _refuse_non_text
from flows.readers.headers import _check_headers
from flows.registry import DatasetSpec, Feed
from flows.warehouse import discard_staged


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
