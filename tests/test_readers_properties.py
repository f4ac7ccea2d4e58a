"""Property tests of the readers on generated files: whatever a regency sends, `read_file`
either returns a table or raises a SubmissionError whose message starts with the file's
name, never another exception; and a well-formed file's headers, title block and every
value come back as written.

The fast tests run under the hypothesis profile of tests/conftest.py ("fast" unless
HYPOTHESIS_PROFILE says otherwise); `test_readers_hold_on_1000_examples` runs every
property with 1000 examples (`make test-reliability`)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from flows.readers import HEADER_PART_SEPARATOR, ReadInfo, SubmissionError, header_key, read_file
from flows.registry import Feed

SETTINGS = {"suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}


@dataclass
class Sent:
    """A generated file and, when it is well formed, what reading it must give."""

    content: bytes = field(repr=False)   # `made` says how, shorter
    fmt: str
    options: dict = field(default_factory=dict)
    columns: dict = field(default_factory=lambda: {"x": "x"})
    headers: list[str] | None = None     # None: any outcome but a crash will do
    title: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    made: object = None                   # what the file was made of, for a failure's report

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))   # hypothesis's report: without the file's bytes


NAMES = {"csv": "kiriman.csv", "xlsx": "kiriman.xlsx", "ckan_json": "kiriman.json"}


def read_or_refuse(sent: Sent) -> tuple[ReadInfo, list[tuple]] | str:
    """Read `sent` as ingest does (a snapshot named by hash, errors naming the received
    name): the table's rows, or the message of a proper SubmissionError."""
    name = NAMES[sent.fmt]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "3f2a9c.snapshot"
        path.write_bytes(sent.content)
        feed = Feed(id="prop.feed", regency="36.04", dataset="penduduk", channel="landing",
                    format=sent.fmt, columns=sent.columns, base_dir=Path(tmp),
                    options=sent.options)
        with duckdb.connect(config={"threads": 1}) as con:
            try:
                info = read_file(con, feed, path, "src", name)
            except SubmissionError as e:
                assert str(e).startswith(f"{name}: "), str(e)
                assert tmp not in str(e), str(e)
                return str(e)
            columns = [r[0] for r in con.execute("describe src").fetchall()]
            rows = con.execute("select * exclude (_row_number) from src order by _row_number"
                               ).fetchall()
            numbers = [r[0] for r in con.execute("select _row_number from src order by 1")
                       .fetchall()]
    assert isinstance(info, ReadInfo)
    assert columns == [*info.headers, "_row_number"]
    assert len({header_key(h) for h in info.headers}) == len(info.headers)
    assert all(h.strip() for h in info.headers)
    assert numbers == list(range(1, len(rows) + 1))
    return info, rows


def check(sent: Sent) -> None:
    """The property: a well-formed file round-trips; any file is read or refused."""
    result = read_or_refuse(sent)
    if sent.headers is None:
        return
    assert not isinstance(result, str), f"a well-formed file was refused: {result}"
    info, rows = result
    assert info.headers == sent.headers
    assert info.title == sent.title
    assert rows == sent.rows


# ---------------------------------------------------------------------------- text parts
NO_SURROGATES = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r")
CP1252 = st.characters(codec="cp1252", blacklist_characters="\x00\r")


def header_names(chars, count: int):
    """`count` header names: stripped, non-blank, distinct as headers, none the reader
    could mistake for its own (`_row_number`, `column_<n>`) nor a formula."""
    name = st.text(chars, min_size=1, max_size=10).map(str.strip).filter(
        lambda n: n and header_key(n) != "_row_number" and not n.startswith("=")
        and not re.fullmatch(r"column_\d+", n.casefold()))
    return st.lists(name, min_size=count, max_size=count, unique_by=header_key)


def number_text():
    """Numbers as regencies write them: 1.234.567 / 1,234,567 / 1234567 / 1.234,5 / 1,5."""
    def styles(n: int) -> list[str]:
        grouped = f"{n:,}"
        return [str(n), grouped, grouped.replace(",", "."), f"{grouped.replace(',', '.')},5",
                f"{n},{n % 10}", f"{grouped}.25"]
    return st.integers(0, 10**9).flatmap(lambda n: st.sampled_from(styles(n)))


def distinct(names: list[str]) -> bool:
    return len({header_key(n) for n in names}) == len(names)


# ---------------------------------------------------------------------------------- CSV
def csv_field(value: str, delimiter: str, quote_all: bool) -> str:
    if quote_all or any(c in value for c in (delimiter, '"', "\n", "\r")):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def csv_files(draw) -> Sent:
    """A well-formed CSV file: any delimiter, quoting, BOM or cp1252 (declared), CRLF/LF
    or both, blank lines, a title block (skip_lines or above header_rows), a one- or
    two-row header with columns without a header (with values or none), values of any
    text or number style, line breaks and quotes inside values."""
    delimiter = draw(st.sampled_from([",", ";", "|", "\t"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    chars = st.one_of(CP1252 if encoding == "cp1252" else NO_SURROGATES,
                      st.sampled_from(["\n", '"', " ", ",", ";", "|", "\t"]))
    endings = draw(st.sampled_from([["\n"], ["\r\n"], ["\n", "\r\n"]]))
    quote_all = draw(st.booleans())
    two_rows = draw(st.booleans())
    # Columns left to right: ("lead",), ("blank", with values?), ("group", size). The CSV
    # rule fills a blank upper cell from the left: a lead after a group would join it.
    start = draw(st.lists(st.one_of(st.just(("lead", 0)), st.tuples(st.just("blank"),
                                                                   st.booleans())),
                          min_size=0 if two_rows else 1, max_size=4))
    groups_part = draw(st.lists(st.one_of(st.tuples(st.just("group"), st.integers(1, 3)),
                                          st.tuples(st.just("blank"), st.booleans())),
                                max_size=3)) if two_rows else []
    segments = start + groups_part
    named = sum(size if kind == "group" else 1 for kind, size in segments if kind != "blank")
    assume(named >= 1)
    leaves = iter(draw(header_names(chars, named)))
    group_names = iter(draw(header_names(chars, len(segments))))
    upper: list[str] = []
    lower: list[str] = []
    names: list[str] = []          # per column, "" for no header
    filled_by: list[bool] = []     # per column: blank header with values
    for kind, arg in segments:
        if kind == "lead":
            leaf = next(leaves)
            upper.append("")
            lower.append(leaf)
            names.append(leaf)
            filled_by.append(True)
        elif kind == "blank":
            upper.append("")
            lower.append("")
            names.append("")
            filled_by.append(arg)
        else:
            group = next(group_names)
            for i in range(arg):
                leaf = next(leaves)
                upper.append("" if i else group)
                lower.append(leaf)
                names.append(group if header_key(group) == header_key(leaf)
                             else f"{group}{HEADER_PART_SEPARATOR}{leaf}")
                filled_by.append(True)
    assume(distinct([n for n in names if n]))
    width = len(names)
    header_lines = [upper, lower] if two_rows else [lower]
    value = st.one_of(st.text(chars, max_size=8), number_text(), st.just(""))
    if width == 1:   # a one-column empty value is an empty line, which is no row
        value = value.filter(bool)
    no_header = st.sampled_from(["", " ", "x", "1"])
    rows = draw(st.lists(st.tuples(*[value if named_ else no_header
                                     for named_ in filled_by]), max_size=6))
    rows = [[v if names[i] or filled_by[i] else "" for i, v in enumerate(r)] for r in rows]
    # title lines; a title cell may hold a line break ("DATA\nPENDUDUK"), quoted
    lines_in_one = st.tuples(st.text(chars, max_size=4), st.text(chars, max_size=4)).map(
        "\n".join)
    junk = draw(st.lists(st.lists(st.one_of(st.text(chars, max_size=8), lines_in_one),
                                  max_size=3), max_size=3))
    title = [" ".join(c.strip() for c in cells if c.strip()) for cells in junk]
    keep = [i for i in range(width)
            if names[i] or any(r[i] not in ("", " ") for r in rows)]

    options: dict = {} if delimiter == "," else {"delimiter": delimiter}
    if encoding == "cp1252":
        options["encoding"] = "cp1252"
    if two_rows or draw(st.booleans()):
        options["header_rows"] = [len(junk) + i + 1 for i in range(len(header_lines))]
    elif junk:
        options["skip_lines"] = len(junk)
    text = ""
    for cells in [*junk, *header_lines]:
        text += delimiter.join(csv_field(c, delimiter, quote_all) for c in cells)
        text += draw(st.sampled_from(endings))
    expected = []
    for cells in rows:
        if draw(st.integers(0, 4)) == 0:
            # a blank line: no row, but in a one-column file (DuckDB's rule) an empty one
            text += draw(st.sampled_from(endings))
            if width == 1:
                expected.append((None,))
        text += delimiter.join(csv_field(c, delimiter, quote_all) for c in cells)
        text += draw(st.sampled_from(endings))
        expected.append(tuple(cells[i] or None for i in keep))
    if draw(st.booleans()):
        text = text.removesuffix("\n").removesuffix("\r")   # no line break at the end
    return Sent(text.encode(encoding), "csv", options,
                headers=[names[i] or f"column_{i + 1}" for i in keep],
                title=[t for t in title if t], rows=expected, made=(encoding, text))


@st.composite
def hostile_csv_files(draw) -> Sent:
    """Anything: random bytes, or text lines with random fields, quotes, delimiters,
    ragged rows, junk before and after, control characters, encodings and options."""
    options = draw(st.fixed_dictionaries({}, optional={
        "delimiter": st.sampled_from([",", ";", "|", "\t", "ab", ""]),
        "encoding": st.sampled_from(["utf-8", "cp1252", "latin-1", "utf-16", "nope"]),
        "skip_lines": st.integers(0, 4),
        "header_rows": st.lists(st.integers(0, 6), min_size=1, max_size=3),
        "header_row": st.integers(1, 4),
    }))
    if draw(st.booleans()):
        content = draw(st.binary(min_size=1, max_size=300))
        return Sent(content, "csv", options, made=content)
    delimiter = str(options.get("delimiter", ",")) or ","
    cell = st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
                     st.sampled_from(['"', '""', '"a', 'a"b', " ", "\ufeff", "\x00", "\r",
                                      "1.234,5", "\u2028", "\x85"]))
    lines = draw(st.lists(st.lists(cell, max_size=6), min_size=1, max_size=8))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = end.join(delimiter.join(cells) for cells in lines)
    prefix = draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe"]))
    content = prefix + text.encode("utf-8", "surrogatepass")
    return Sent(content, "csv", options, made=content)


# --------------------------------------------------------------------------------- XLSX
# What a sheet can hold: XML 1.0 has no other control characters; "=..." is a formula.
XLSX_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\r" + "".join(
    chr(c) for c in range(32) if ILLEGAL_CHARACTERS_RE.match(chr(c))))
XLSX_TEXT = st.text(XLSX_CHARS, max_size=8).filter(lambda s: not s.startswith("="))
XLSX_VALUES = st.one_of(
    st.none(), XLSX_TEXT, st.integers(-10**15, 10**15),
    # openpyxl writes 15 significant digits: values as a sheet holds them
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: float(f"{f:.12g}")),
    st.booleans(), st.dates(dt.date(1901, 1, 1), dt.date(9999, 12, 31)),
    st.datetimes(dt.datetime(1901, 1, 1), dt.datetime(9999, 12, 31)).map(
        lambda d: d.replace(microsecond=0)),
)


def xlsx_text(value: object) -> str | None:
    """What a cell written as `value` reads as: its text, as the readers define it."""
    if value is None or value == "":   # openpyxl writes no cell for ""
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):   # Excel keeps dates as date-times
        return dt.datetime.combine(value, dt.time()).isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def blank(text: str | None) -> bool:
    return text is None or not text.strip()


def workbook_bytes(cells: dict[tuple[int, int], object], merges: list[str]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for (row, col), value in cells.items():
        ws.cell(row=row, column=col, value=value)
    for ref in merges:
        ws.merge_cells(ref)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@st.composite
def xlsx_files(draw) -> Sent:
    """A well-formed workbook: a title block, a header found automatically, given as
    header_row, or written over two rows with real merged cells (leading columns alone or
    merged down, groups merged across), interior columns without a header (with values,
    or none), cells of every type, short rows, blank rows."""
    mode = draw(st.sampled_from(["auto", "header_row", "header_rows"]))
    # segments of the header, left to right: ("lead", vertical merge?), ("blank", has
    # data?), ("group", size)
    segments = draw(st.lists(st.one_of(
        st.tuples(st.just("lead"), st.booleans()),
        st.tuples(st.just("blank"), st.booleans()),
        st.tuples(st.just("group"), st.integers(1, 3))), min_size=1, max_size=5))
    if mode != "header_rows":
        segments = [("lead", False) if k == "group" else (k, v) for k, v in segments]
    while segments and segments[-1][0] == "blank":
        segments.pop()   # a blank column at the end is no column
    named = sum(v if k == "group" else 1 for k, v in segments if k != "blank")
    assume(named >= (2 if mode == "auto" else 1))
    leaves = draw(header_names(XLSX_CHARS, named))
    groups = draw(header_names(XLSX_CHARS, len(segments)))
    title_rows = draw(st.lists(st.lists(st.one_of(st.none(), XLSX_TEXT, st.integers(0, 99)),
                                        max_size=3), max_size=3))
    first = len(title_rows) + 1            # the (first) header row
    depth = 2 if mode == "header_rows" else 1
    cells: dict[tuple[int, int], object] = {}
    merges: list[str] = []
    for r, row in enumerate(title_rows, start=1):
        for c, v in enumerate(row, start=1):
            if v is not None:
                cells[r, c] = v
    low = first + depth - 1                # the lowest header row
    names: list[str | None] = []           # per column; None: no header
    data_columns: list[bool] = []          # per column: may hold values
    col = 1
    leaf = iter(leaves)
    for (kind, arg), group in zip(segments, groups, strict=False):
        if kind == "blank":
            names.append(None)
            data_columns.append(arg)
            col += 1
        elif kind == "lead":
            n = next(leaf)
            if depth == 2 and arg:         # written in the upper row, merged down
                cells[first, col] = n
                merges.append(f"{get_column_letter(col)}{first}:{get_column_letter(col)}{low}")
            else:
                cells[low, col] = n
            names.append(n)
            data_columns.append(True)
            col += 1
        else:
            cells[first, col] = group
            if arg > 1:
                merges.append(f"{get_column_letter(col)}{first}:"
                              f"{get_column_letter(col + arg - 1)}{first}")
            for _ in range(arg):
                n = next(leaf)
                cells[low, col] = n
                names.append(n if header_key(n) == header_key(group)
                             else f"{group}{HEADER_PART_SEPARATOR}{n}")
                data_columns.append(True)
                col += 1
    width = len(names)
    assume(distinct([n for n in names if n]))
    data = draw(st.lists(st.lists(XLSX_VALUES, min_size=0, max_size=width), max_size=6))
    data = [[v if data_columns[i] else None for i, v in enumerate(r)] for r in data]
    for r, row in enumerate(data, start=low + 1):
        for c, v in enumerate(row, start=1):
            if v is not None:
                cells[r, c] = v
    texts = [[xlsx_text(v) for v in r] + [None] * (width - len(r)) for r in data]
    while texts and all(blank(t) for t in texts[-1]):
        texts.pop()
    has = [any(not blank(r[i]) for r in texts) for i in range(width)]
    keep = [i for i in range(width) if names[i] or has[i]]
    headers = [names[i] or f"column_{i + 1}" for i in keep]
    options: dict = {}
    columns = {"x": "x"}
    if mode == "auto":
        columns = {n: n for n in leaves}
        # a title row holding two of the headers would be found first
        assume(all(len({header_key(xlsx_text(v)) for v in r if v is not None}
                       & {header_key(n) for n in leaves}) < 2 for r in title_rows))
    elif mode == "header_row":
        options["header_row"] = first
    else:
        options["header_rows"] = [first, low]
    title = [" ".join(xlsx_text(v).strip() for v in r if not blank(xlsx_text(v)))
             for r in title_rows]
    return Sent(workbook_bytes(cells, merges), "xlsx", options, columns, headers,
                [t for t in title if t], [tuple(r[i] for i in keep) for r in texts],
                made=(cells, merges))


# XML a damaged or odd sheet may hold: cells out of order or beyond Excel's grid, a shared
# string that does not exist, a date that is not one, a number too large, rows out of order.
SHEET_JUNK = [b"", b"<", b"</row>", b'<row r="0">', b'<row r="2000000"><c r="A2000000">'
              b"<v>1</v></c></row>", b'<c r="XFE1"><v>1</v></c>', b'<c r="A1" t="s"><v>999'
              b"</v></c>", b'<c r="B1" t="d"><v>not a date</v></c>', b'<c r="C1" t="n"><v>'
              b"1e999</v></c>", b'<c r="D1" t="b"><v>7</v></c>', b'<c r="E1" t="e"><v>#N/A'
              b"</v></c>", b'<mergeCell ref="A1:XFD1048576"/>', b'<mergeCell ref="??"/>',
              b"&bogus;", b"\xff\xfe", b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is>'
              b"</c></row>"]


@st.composite
def hostile_xlsx_files(draw) -> Sent:
    """Workbooks with any cells: duplicate and blank header cells, numbers as headers,
    values beyond the header, random merges, header rows past the end, another sheet
    asked for; or a well-formed one cut short or with bytes changed, in the zip or in
    the sheet's XML."""
    damage = draw(st.integers(0, 3))
    if damage == 0:
        sent = draw(xlsx_files())
        sheet = "xl/worksheets/sheet1.xml"
        with zipfile.ZipFile(io.BytesIO(sent.content)) as zf:
            parts = {i.filename: zf.read(i) for i in zf.infolist()}
        xml = parts[sheet]
        where = st.floats(0, 1, exclude_max=True)
        at = int(draw(where) * len(xml))
        xml = xml[:at] + draw(st.sampled_from(SHEET_JUNK)) + xml[at:][:draw(
            st.sampled_from([None, 0, 10]))]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            for name, data in parts.items():
                zf.writestr(name, xml if name == sheet else data)
        return Sent(out.getvalue(), "xlsx", sent.options, sent.columns,
                    made=("damaged sheet", sent.made))
    if damage == 1:
        sent = draw(xlsx_files())
        content = bytearray(sent.content)
        # Places as fractions of the length: a workbook's bytes (its time stamps) differ
        # from one run to the next, and a draw may not depend on them.
        where = st.floats(0, 1, exclude_max=True)
        for _ in range(draw(st.integers(1, 5))):
            content[int(draw(where) * len(content))] = draw(st.integers(0, 255))
        cut = 1 + int(draw(where) * len(content))
        return Sent(bytes(content[:cut]), "xlsx", sent.options, sent.columns,
                    made=("damaged", sent.made))
    cells = draw(st.dictionaries(st.tuples(st.integers(1, 8), st.integers(1, 7)),
                                 st.one_of(XLSX_VALUES, st.sampled_from(["No", "no ", "x"])),
                                 max_size=30))
    refs = st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(0, 2),
                     st.integers(0, 3)).map(
        lambda t: f"{get_column_letter(t[1])}{t[0]}:"
                  f"{get_column_letter(t[1] + t[3])}{t[0] + t[2]}")
    merges = draw(st.lists(refs, max_size=3, unique=True))
    options = draw(st.fixed_dictionaries({}, optional={
        "header_rows": st.lists(st.integers(1, 9), min_size=1, max_size=3, unique=True).map(
            sorted),
        "header_row": st.integers(0, 9),
        "sheet": st.sampled_from(["Sheet", "Other"]),
    }))
    columns = {str(v): "c" for v in list(cells.values())[:3]} or {"x": "x"}
    return Sent(workbook_bytes(cells, merges), "xlsx", options, columns,
                made=(cells, merges))


# ----------------------------------------------------------------------------- CKAN JSON
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**18, 10**18),
                         st.floats(allow_nan=False, allow_infinity=False),
                         st.text(NO_SURROGATES, max_size=8))


def json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


@st.composite
def ckan_files(draw) -> Sent:
    """A datastore_search response: fields (or none: the records' keys), records missing
    some keys or holding extra ones, values of every JSON scalar type."""
    ids = draw(header_names(NO_SURROGATES, draw(st.integers(1, 5))))
    records = draw(st.lists(st.fixed_dictionaries(
        {}, optional={k: JSON_SCALARS for k in ids}), max_size=6))
    with_fields = draw(st.booleans())
    if with_fields:
        headers = ids
    else:
        headers = list(dict.fromkeys(k for r in records for k in r))
        assume(headers)
    expected = [tuple(json_text(r.get(h)) for h in headers) for r in records]
    doc = {"help": "datastore_search", "success": True,
           "result": {"records": records, "total": len(records)}}
    if with_fields:
        doc["result"]["fields"] = [{"id": i, "type": "text"} for i in ids]
    content = json.dumps(doc, ensure_ascii=draw(st.booleans())).encode()
    return Sent(content, "ckan_json", headers=headers, rows=expected, made=content)


JSON_VALUES = st.recursive(
    JSON_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                          st.dictionaries(st.text(max_size=6), inner,
                                                          max_size=4)), max_leaves=20)


@st.composite
def hostile_ckan_files(draw) -> Sent:
    """Any JSON value, alone or in the places of a datastore response; or broken text."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        body = json.dumps(draw(JSON_VALUES)).encode()
    elif choice == 1:
        body = json.dumps({"success": draw(JSON_VALUES), "result": {
            "fields": draw(JSON_VALUES), "records": draw(JSON_VALUES)}}).encode()
    elif choice == 2:
        fields = draw(st.lists(st.one_of(st.fixed_dictionaries({"id": JSON_VALUES}),
                                         JSON_VALUES), max_size=4))
        records = draw(st.lists(st.one_of(
            st.dictionaries(st.sampled_from(["a", "", " a", "b"]), JSON_VALUES, max_size=3),
            JSON_VALUES), max_size=4))
        body = json.dumps({"success": True, "result": {"fields": fields, "records": records}}
                          ).encode()
    else:
        body = draw(st.sampled_from([
            b'{"success": true, "result": {"records": [{"a": "\\ud800"}]}}',
            b'{"success": true, "result": {"fields": [{"id": "\\udfff"}], "records": [{}]}}',
            b'{"success": true, "result": {"records": [{"a": 1e999}]}}',
            b'{"success": true, "result": {"records": [{"a": ' + b"9" * 5000 + b"}]}}",
            b'{"success": true, "result": {"records": [{"\\u0000": 1}]}}',
            b'{"success": true, "result": {"records": [{"_row_number": 1}]}}',
            b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"[" * 3000, b"   ",
        ])) + draw(st.binary(max_size=4))
    return Sent(body, "ckan_json", made=body)


# ------------------------------------------------------------------------------- tests
PROPERTIES = {
    "csv": csv_files(), "csv-hostile": hostile_csv_files(),
    "xlsx": xlsx_files(), "xlsx-hostile": hostile_xlsx_files(),
    "ckan": ckan_files(), "ckan-hostile": hostile_ckan_files(),
}


@settings(**SETTINGS)
@given(csv_files())
def test_well_formed_csv_round_trips(sent):
    check(sent)


@settings(**SETTINGS)
@given(hostile_csv_files())
def test_any_csv_is_read_or_refused(sent):
    check(sent)


@settings(**SETTINGS)
@given(xlsx_files())
def test_well_formed_xlsx_round_trips(sent):
    check(sent)


@settings(**SETTINGS)
@given(hostile_xlsx_files())
def test_any_xlsx_is_read_or_refused(sent):
    check(sent)


@settings(**SETTINGS)
@given(ckan_files())
def test_well_formed_ckan_json_round_trips(sent):
    check(sent)


@settings(**SETTINGS)
@given(hostile_ckan_files())
def test_any_json_is_read_or_refused(sent):
    check(sent)


@pytest.mark.reliability
@pytest.mark.parametrize("kind", list(PROPERTIES))
def test_readers_hold_on_1000_examples(kind):
    """Every property with 1000 examples, whatever the profile."""

    @settings(max_examples=1000, deadline=None, database=None, **SETTINGS)
    @given(PROPERTIES[kind])
    def run(sent):
        check(sent)

    run()
