"""The release's data formats: CSV, XLSX, JSON and Parquet, their media types and names,
and the neutralising of formula cells.

Text cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) get a
leading `'` in the CSV and XLSX files. The XLSX workbook is streamed from the staged
Parquet and scanned for personal data as it is written.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from pathlib import Path

from flows.common import pii
from flows.common.licences import LICENSE_URLS
from flows.common.marts import MartSpec
from flows.common.site_layout import FORMATS as FORMATS  # re-exported: the publisher writes these
from flows.common.sql import quote_ident, quote_literal
from flows.publish.column_types import _frictionless_type
from flows.publish.satudata_metadata import OPTIONAL_SATUDATA

MEDIA_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
FORMAT_NAMES = {"csv": "CSV", "xlsx": "XLSX", "json": "JSON", "parquet": "Parquet"}
FORMAT_DESCRIPTIONS = {
    "csv": "CSV, UTF-8, comma-separated, header row",
    "xlsx": "Excel workbook: sheet 'data' (header row) and sheet 'metadata'",
    "json": "JSON, an array of records (one object per row)",
    "parquet": "Apache Parquet (zstd), column types kept",
}
# Text cells starting with one of these run as a formula in a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_DATA_ROWS = 1_048_575          # rows per sheet below the header (Excel's limit)
XLSX_BATCH_ROWS = 50_000
XLSX_MAX_EXACT_INT = 10**15         # Excel keeps 15 significant digits; larger ints as text


def neutralise(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading `'`; anything else
    (numbers included) is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_select(types: dict[str, str]) -> str:
    """Columns of the staged Parquet for the CSV: text cells neutralised (formula
    injection), everything else as is."""
    prefixes = "^[=+\\-@\\t\\r]"
    cols = []
    for name, typ in types.items():
        col = quote_ident(name)
        if pii.column_kind(typ) == "text":
            text = f"cast({col} as varchar)"
            cols.append(f"case when regexp_matches({text}, {quote_literal(prefixes)}) "
                        f"then '''' || {text} else {text} end as {col}")
        else:
            cols.append(col)
    return ", ".join(cols)


def _xlsx_cell(value: object) -> object:
    """A Parquet value as an XLSX cell: formulas neutralised, characters XML cannot hold
    removed, time zones normalised to UTC (Excel has none)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
    if isinstance(value, int):
        return value if abs(value) < XLSX_MAX_EXACT_INT else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal | dt.date | dt.time | dt.timedelta):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, bytes):
        return value.hex()
    return neutralise(json.dumps(value, ensure_ascii=False, default=str))


def _write_xlsx(parquet: Path, out: Path, types: dict[str, str],
                metadata_rows: list[list]) -> list[pii.Finding]:
    """Stream the staged Parquet into a workbook (openpyxl write-only, one batch in
    memory at a time): sheet `data` (more sheets `data_2`... past Excel's row limit)
    and sheet `metadata`. Scans every written value for personal data."""
    import openpyxl
    import pyarrow.parquet as pq

    columns = list(types)
    kinds = {c: k for c, t in types.items() if (k := pii.column_kind(t))}
    scanner = pii.ValueScanner(out.name, kinds)
    wb = openpyxl.Workbook(write_only=True)
    sheet, used, sheets = None, 0, 0

    def new_sheet():
        nonlocal sheets
        sheets += 1
        ws = wb.create_sheet("data" if sheets == 1 else f"data_{sheets}")
        ws.freeze_panes = "A2"
        ws.append(columns)
        return ws

    pf = pq.ParquetFile(parquet)
    try:
        for batch in pf.iter_batches(batch_size=XLSX_BATCH_ROWS):
            data = batch.to_pydict()
            cells = [[_xlsx_cell(v) for v in data[c]] for c in columns]
            for c, values in zip(columns, cells, strict=True):
                scanner.add(c, values)
            for row in zip(*cells, strict=True):
                if sheet is None or used >= XLSX_DATA_ROWS:
                    sheet, used = new_sheet(), 0
                sheet.append(row)
                used += 1
    finally:
        pf.close()
    if sheet is None:
        new_sheet()
    meta_ws = wb.create_sheet("metadata")
    for row in metadata_rows:
        meta_ws.append([_xlsx_cell(v) for v in row])
    wb.save(out)
    return scanner.findings()


def _xlsx_metadata(mart: MartSpec, types: dict[str, str], version: str,
                   temporal: str | None) -> list[list]:
    meta = mart.meta
    rows = [
        ["Judul / Title", meta["title"]["id"], meta["title"]["en"]],
        ["Deskripsi / Description", meta["description"]["id"], meta["description"]["en"]],
        ["Produsen data", "; ".join(meta["produsen_data"])],
        ["Walidata", meta["walidata"]],
        ["Satuan / Unit", meta["unit"]],
        ["Frekuensi / Frequency", meta["frequency"]],
        ["Cakupan wilayah / Spatial", meta["spatial"]],
        ["Cakupan waktu / Temporal", temporal],
        ["Sumber / Source", meta["source"]["id"], meta["source"]["en"]],
        ["Lisensi / License", meta["license"], LICENSE_URLS.get(meta["license"])],
        ["Versi / Version", version],
    ]
    for key in OPTIONAL_SATUDATA:
        value = meta.get(key)
        if isinstance(value, dict):
            rows.append([key, value.get("id"), value.get("en")])
        elif value:
            rows.append([key, value])
    rows += [[], ["Kolom / Column", "Tipe / Type", "Satuan / Unit", "Keterangan",
                  "Description"]]
    by_name = {c["name"]: c for c in mart.columns}
    for name, typ in types.items():
        col = by_name[name]
        rows.append([name, _frictionless_type(typ), col.get("unit"), col["description"]["id"],
                     col["description"]["en"]])
    return rows
