"""Onboarding a regency's file: `satudata feeds try FILE --dataset D [--regency R | --feed ID]`.

A data steward receives a file from a regency and wants to know how to register it. This
module reads the file with the registry's own rules without touching the real warehouse:
a throwaway DuckDB in a temporary folder, initialised like the real one (the registry's
datasets, `data/reference`, the SQL macros ingest needs), removed afterwards. It prints,
in order:

1. what the file is: its format (from the extension); for CSV the delimiter, encoding
   and number marks found in its first 64 KB; for XLSX the sheet; the header row(s) and
   the title lines above them;
2. a proposed mapping of its headers to the dataset's canonical columns, fuzzy-matched
   against the canonical names and against the headers the dataset's other feeds already
   map (with `--feed`, that feed's own entry, and what it does not know);
3. the title lines and, for a required column the file lacks, where its value can come
   from (`extract` from the title or the file name, or `constants`);
4. total rows (`skip_rows_matching`);
5. a preview of the typed rows and every problem, from the real ingest code
   (`snapshot` + `load_batch`) with the proposed entry as `load_registry` reads it back,
   so what is shown is what a run would load;
6. a ready-to-paste YAML feed entry, checked by loading the registry with it.

`try_file` returns the exit code: 0 when the file loads cleanly with the proposed (or
given) entry, 1 when it does not, 2 for a usage error (unknown dataset, feed or regency,
no such file).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import io
import json
import re
import sys
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import yaml

from flows.common.sql import quote_ident
from flows.ingest import (
    ANY_COLUMN,
    drop_batch,
    load_batch,
    province_total_pattern,
    snapshot,
    value_mappings,
)
from flows.readers import (
    HEADER_PART_SEPARATOR,
    MAX_HEADER_SCAN_ROWS,
    ReadInfo,
    SubmissionError,
    _check_xlsx_container,
    _xlsx_merges,
    header_key,
    read_file,
)
from flows.registry import (
    PROVINCE,
    DatasetSpec,
    Extract,
    Feed,
    Registry,
    RegistryError,
    load_registry,
)
from flows.settings import Settings
from flows.warehouse import connect, initialise

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".json": "ckan_json"}
SNIFF_BYTES = 1 << 16        # the part of a CSV file its dialect is guessed from
SNIFF_ROWS = MAX_HEADER_SCAN_ROWS + 40   # rows read to find the header and sample values
MATCH_THRESHOLD = 0.8        # a header this similar to a known one is proposed as mapped
NAME_OF_REGION = 0.9         # weight of "a region name column" (see `_known_headers`)
HINT_THRESHOLD = 0.5         # ... this similar is named as the closest, for the steward
TOTAL_PATTERN = "^(JUMLAH|TOTAL)"
PREVIEW_WIDTH = 28           # a preview cell is cut to this many characters

# Short forms regency offices write in headers ("Jml Pddk", "L", "P").
ABBREVIATIONS = {
    "jml": "jumlah", "jmlh": "jumlah", "pddk": "penduduk", "pend": "penduduk",
    "lk": "laki laki", "l": "laki laki", "pr": "perempuan", "p": "perempuan",
    "kd": "kode", "thn": "tahun", "smt": "semester", "kab": "kabupaten",
    "kec": "kecamatan", "kel": "kelurahan",
}
MONTHS = {
    "januari": 1, "februari": 2, "maret": 3, "april": 4, "mei": 5, "juni": 6, "juli": 7,
    "agustus": 8, "september": 9, "oktober": 10, "november": 11, "desember": 12,
}
# Period forms the warehouse's sd_periode understands, most specific first: (what it
# looks like, the extract pattern proposed for it). Patterns are searched ignoring case
# (as `fixed_values` does); their one group is the value.
PERIOD_FORMS = [
    (r"(?<![A-Za-z])semester\s*(?:II|I|2|1)\s+\d{4}(?!\d)",
     r"(Semester\s*(?:II|I|2|1)\s+\d{4})"),
    (r"(?<![A-Za-z])smt\.?\s*(?:II|I|2|1)\s+\d{4}(?!\d)",
     r"(Smt\.?\s*(?:II|I|2|1)\s+\d{4})"),
    (r"(?<!\d)\d{4}\s*-?\s*S\s*[12](?![0-9A-Za-z])",
     r"(\d{4}\s*-?\s*S\s*[12])(?![0-9A-Za-z])"),
    (r"(?<!\d)\d{4}\s+semester\s*(?:II|I|2|1)(?![A-Za-z0-9])",
     r"(\d{4}\s+Semester\s*(?:II|I|2|1))(?![A-Za-z0-9])"),
]
YEAR_FORM = (r"(?<!\d)(?:19|20)\d{2}(?!\d)", r"(?<!\d)((?:19|20)\d{2})(?!\d)")
MONTH_FORM = r"(?<![A-Za-z])(" + "|".join(MONTHS) + r")\s+((?:19|20)\d{2})(?!\d)"
# How regency exports write dates and times that are not ISO 8601 (tried in order; the
# first that reads every sampled value is proposed as options.<type>_format).
TIME_FORMATS = {
    "timestamp": ["%d-%m-%Y %H.%M", "%d-%m-%Y %H:%M", "%d/%m/%Y %H:%M", "%d/%m/%Y %H.%M",
                  "%d-%m-%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d.%m.%Y %H:%M",
                  "%Y/%m/%d %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p"],
    "date": ["%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%m/%d/%Y"],
}


class UsageError(Exception):
    """The command was asked something it cannot do (exit code 2)."""


@dataclass(frozen=True)
class TryRequest:
    """What `satudata feeds try` was asked: the file, the dataset, either a regency (to
    propose a new entry) or a feed id (to try that feed's entry), and reader overrides."""

    file: Path
    dataset: str
    regency: str | None = None
    feed_id: str | None = None
    registry: Path | None = None
    sheet: str | None = None
    header_rows: list[int] | None = None
    delimiter: str | None = None
    rows: int = 10


def parse_header_rows(text: str) -> list[int]:
    """`--header-rows 5,6` as [5, 6]: 1-based row numbers in increasing order."""
    try:
        rows = [int(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        rows = []
    if not rows or rows[0] < 1 or any(b <= a for a, b in zip(rows, rows[1:], strict=False)):
        raise UsageError(f"--header-rows {text!r}: write the header's row numbers "
                         "(1 = first row) in increasing order, e.g. 5,6")
    return rows


def try_file(request: TryRequest, out: Callable[[str], None] = print) -> int:
    """Run `satudata feeds try` and print its report with `out`; returns the exit code
    (0 loads cleanly, 1 does not, 2 usage error, reported on stderr)."""
    try:
        trial = _Trial.prepare(request)
        with tempfile.TemporaryDirectory(prefix="satudata-try-") as tmp:
            code = trial.run(Path(tmp))
    except UsageError as e:
        print(f"satudata feeds try: {e}", file=sys.stderr)
        return 2
    for line in trial.lines:
        out(line)
    return code


# ------------------------------------------------------------------------ text helpers


def _norm(text: str) -> str:
    """A header as compared for the proposal: case, accents, punctuation and underscores
    ignored, the usual abbreviations written out ("Jml. Pddk (jiwa)" -> "jumlah penduduk
    jiwa")."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", str(text))
                    if not unicodedata.combining(ch))
    words = re.sub(r"[\W_]+", " ", plain.casefold()).split()
    return " ".join(ABBREVIATIONS.get(w, w) for w in words)


def _similarity(a: str, b: str) -> float:
    return 1.0 if a == b else difflib.SequenceMatcher(None, a, b).ratio()


def _lowest_part(header: str) -> str | None:
    """The lowest part of a header written over several rows ("Laki-laki" of "Jumlah
    Penduduk / Laki-laki"), None for a one-row header."""
    if HEADER_PART_SEPARATOR not in header:
        return None
    return header.rsplit(HEADER_PART_SEPARATOR, 1)[1]


NUMBER_TEXT = re.compile(r"[+-]?\d[\d.,]*")


def _is_number_text(text: str) -> bool:
    return bool(NUMBER_TEXT.fullmatch(text.strip()))


def _yaml_scalar(value: Any) -> str:
    """One value as YAML that reads back as the same value, plain where it can be."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if re.fullmatch(r"[A-Za-z_]([A-Za-z0-9_.()/%\- ]*[A-Za-z0-9_.()/%\-])?", text) \
            and _reads_back(text):
        return text
    if "\\" not in text and '"' not in text and text.isprintable():
        return json.dumps(text, ensure_ascii=False)
    if text.isprintable():   # regular expressions: no escapes inside single quotes
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text, ensure_ascii=False)


def _reads_back(text: str) -> bool:
    """`text` written plain reads back as itself, alone and inside a flow mapping."""
    try:
        return yaml.safe_load(text) == text and yaml.safe_load(f"{{{text}: 1}}") == {text: 1}
    except yaml.YAMLError:
        return False


def _yaml_flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_yaml_scalar(k)}: {_yaml_flow(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml_flow(v) for v in value) + "]"
    return _yaml_scalar(value)


BLOCK_KEYS = {"columns", "values", "extract", "constants"}   # one item a line, as in feeds.yml


def _yaml_lines(key: str, value: Any, indent: str, comments: dict[str, str]) -> list[str]:
    """`key: value` as YAML lines: a mapping of BLOCK_KEYS, or one that does not fit on
    a line, one item a line; anything else in flow style ({a: 1}, [5, 6])."""
    comment = f"   # {comments[key]}" if key in comments else ""
    line = f"{indent}{_yaml_scalar(key)}: {_yaml_flow(value)}{comment}"
    if isinstance(value, dict) and value and (key in BLOCK_KEYS or len(line) > 96):
        lines = [f"{indent}{_yaml_scalar(key)}:{comment}"]
        for k, v in value.items():
            lines += _yaml_lines(k, v, indent + "  ", {}) if isinstance(v, dict) else \
                [f"{indent}  {_yaml_scalar(k)}: {_yaml_flow(v)}"]
        return lines
    return [line]


def entry_yaml(entry: dict, comments: dict[str, str] | None = None) -> str:
    """A feed entry as a YAML list item indented to paste under `feeds:` in the registry
    (`comments`: top-level key -> a comment written after it)."""
    lines: list[str] = []
    for i, (key, value) in enumerate(entry.items()):
        part = _yaml_lines(key, value, "    ", comments or {})
        if i == 0:
            part[0] = "  - " + part[0][4:]
        lines += part
    return "\n".join(lines) + "\n"


def regency_slug(name: str) -> str:
    """The id prefix of a regency's feeds: "Kabupaten Serang" -> "kab-serang",
    "Kota Tangerang Selatan" -> "kota-tangerang-selatan"."""
    words = re.sub(r"[^0-9a-z]+", " ", name.casefold()).split()
    if words and words[0] == "kabupaten":
        words[0] = "kab"
    return "-".join(words)


def _name_key(text: str) -> str:
    # as the warehouse's sd_name_key compares region names ("Kab. Lebak" = "KABUPATEN LEBAK")
    text = re.sub(r"[\s_]+", " ", text.casefold()).strip()
    return re.sub(r"\bkab(\.|\b)\s*", "kabupaten ", text)


def load_regencies(reference_dir: Path) -> dict[str, str]:
    """Kemendagri code -> name of Banten's regencies/cities (data/reference), plus the
    province itself ("36" -> "Provinsi Banten") for province-wide feeds."""
    with open(reference_dir / "wilayah_kabupaten_kota.csv", encoding="utf-8") as f:
        names = {r["kode_wilayah"]: r["nama"] for r in csv.DictReader(f)}
    return {PROVINCE: "Provinsi Banten", **names}


# ------------------------------------------------------------------------ sniffing


@dataclass
class _Grid:
    """The first rows of a file as texts ('' blank), which cells are numbers, the sheet's
    merged ranges (XLSX) and the cells whose number marks tell the number format (text
    cells: an XLSX number is typed already)."""

    texts: list[list[str]]
    numeric: list[list[bool]]
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    number_texts: list[list[bool]] = field(default_factory=list)


def _upper_header_row(grid: _Grid, above: int, header: int) -> bool:
    """Whether row `above` (0-based, right above the header row `header`) is the upper
    part of the header: a group label over only some of the header's columns ("Jumlah
    Penduduk" merged over "Laki-laki / Perempuan / Total"), cells merged down into the
    header row, or several labels; not a title (one text over the whole width, or in the
    header's first column)."""
    cells, numeric = grid.texts[above], grid.numeric[above]
    named = [c for c, t in enumerate(grid.texts[header]) if t]
    first, width = named[0], named[-1] + 1
    labels = [c for c, t in enumerate(cells[:width]) if t]
    if not labels or any(numeric[c] for c in labels) or any(cells[width:]):
        return False   # blank, a row of data, or text beyond the header: not a label row
    if len(labels) >= 2:
        return True
    covered = set(labels)
    for min_col, min_row, max_col, max_row in grid.merges:
        if min_row != above + 1 or min_col > width or not cells[min_col - 1]:
            continue
        span = set(range(min_col - 1, min(max_col, width)))
        if max_row >= header + 1:          # merged down into the header row
            return True
        covered |= span
    return covered not in ({first}, set(range(first, width)))


def detect_header(grid: _Grid) -> list[int] | None:
    """The header's 1-based row numbers: the first row among the first 30 with at least
    two non-blank text cells whose next row has a number; with the row above it when
    that row is the upper part of a two-row header (`_upper_header_row`). None if no row
    qualifies."""
    for i in range(min(MAX_HEADER_SCAN_ROWS, len(grid.texts) - 1)):
        texts = [t for t, n in zip(grid.texts[i], grid.numeric[i], strict=True) if t and not n]
        if len(texts) >= 2 and any(grid.numeric[i + 1]):
            if i > 0 and any(grid.texts[i - 1]) and _upper_header_row(grid, i - 1, i):
                return [i, i + 1]
            return [i + 1]
    return None


def number_marks(values: list[str]) -> tuple[dict[str, str], str | None]:
    """Reader options for the number format seen in `values` (texts of data cells), and
    a value that shows it: 1.234.567 or 1.234,5 mean thousands "." and decimal ",";
    1,234,567 or 1,234.5 thousands ","; 12,5 decimal ","."""
    values = [v.strip() for v in values if v and _is_number_text(v)]
    for v in values:
        if re.fullmatch(r"[+-]?\d{1,3}(\.\d{3})+,\d+|[+-]?\d{1,3}(\.\d{3}){2,}", v):
            return {"thousands": ".", "decimal": ","}, v
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+\.\d+|[+-]?\d{1,3}(,\d{3}){2,}", v):
            return {"thousands": ","}, v
    for v in values:
        if re.fullmatch(r"[+-]?\d+,\d+", v) and not re.fullmatch(r"[+-]?\d{1,3},\d{3}", v):
            return {"decimal": ","}, v
    # Only 786.683-like values and no other decimals (region codes like 36.04 aside):
    # in an Indonesian table that is a thousands dot.
    grouped = [v for v in values if re.fullmatch(r"[+-]?\d{1,3}\.\d{3}", v)]
    decimals = [v for v in values if "." in v and v not in grouped
                and not re.fullmatch(r"\d{2}(\.\d{2})+", v)]
    if grouped and not decimals:
        return {"thousands": ".", "decimal": ","}, grouped[0]
    return {}, None


def _sniff_delimiter(sample: str) -> str:
    """csv.Sniffer's guess among ; , tab |; if it has none, the candidate that splits the
    most lines into the same number (> 0) of fields."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t|").delimiter
    except csv.Error:
        pass
    lines = [line for line in sample.splitlines() if line.strip()]
    best, best_score = ",", 0
    for candidate in ";,\t|":
        counts = [line.count(candidate) for line in lines]
        common = max(set(counts), key=counts.count, default=0)
        score = counts.count(common) if common else 0
        if score > best_score:
            best, best_score = candidate, score
    return best


@dataclass
class _Sniffed:
    """What the file looks like, before any registry rule is applied."""

    format: str
    grid: _Grid
    found: list[tuple[str, str]]          # (what, description) lines for section 1
    options: dict[str, Any]               # reader options it needs
    header_rows: list[int] | None         # detected or given, 1-based
    header_why: str = ""
    sheets: list[str] = field(default_factory=list)


def _sniff_csv(path: Path, delimiter: str | None) -> _Sniffed:
    with open(path, "rb") as f:
        raw = f.read(SNIFF_BYTES)
    whole = len(raw) < SNIFF_BYTES
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(raw, final=whole)
        encoding = "utf-8"
    except UnicodeDecodeError:
        # Windows Excel's "CSV" is cp1252; its 5 undefined bytes must not stop the sniff
        text, encoding = raw.decode("cp1252", errors="replace"), "cp1252"
    if not whole and "\n" in text:
        text = text[: text.rindex("\n") + 1]   # a cut last line is not a row
    given = delimiter is not None
    if delimiter is None:
        delimiter = _sniff_delimiter("\n".join(text.splitlines()[:40]))
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        rows = [[c.strip() for c in r] for _, r in zip(range(SNIFF_ROWS), reader, strict=False)]
    except csv.Error:
        rows = []
    width = max((len(r) for r in rows), default=0)
    texts = [r + [""] * (width - len(r)) for r in rows]
    numeric = [[bool(t) and _is_number_text(t) for t in r] for r in texts]
    grid = _Grid(texts, numeric, [], numeric)
    shown = {"\t": "tab"}.get(delimiter, delimiter)
    found = [("delimiter", f"{shown!r} ({'given' if given else 'sniffed'})"),
             ("encoding", encoding + ("" if encoding == "utf-8" else
                                      " (not valid UTF-8: Windows Excel's CSV)"))]
    options: dict[str, Any] = {"delimiter": delimiter}
    if encoding != "utf-8":
        options["encoding"] = encoding
    return _Sniffed("csv", grid, found, options, None)


def _sniff_xlsx(path: Path, name: str, sheet: str | None) -> _Sniffed:
    from openpyxl import load_workbook

    _check_xlsx_container(path, name)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a broken zip/xml
        raise SubmissionError(f"{name}: cannot be opened as an Excel workbook: {e}") from None
    try:
        sheets = list(wb.sheetnames)
        if sheet is not None and sheet not in sheets:
            raise UsageError(f"{name} has no sheet {sheet!r} (sheets: {', '.join(sheets)})")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        merges = _xlsx_merges(path, ws, name)
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()   # a wrong declared size would cut the rows (see readers)
        values = [list(r or ()) for r in ws.iter_rows(max_row=SNIFF_ROWS, values_only=True)]
        used = ws.title
    finally:
        wb.close()
    width = max((len(r) for r in values), default=0)
    texts, numeric, marks = [], [], []
    for row in values:
        row = row + [None] * (width - len(row))
        cells = ["" if v is None else _cell(v).strip() for v in row]
        texts.append(cells)
        numeric.append([
            isinstance(v, int | float | dt.date) and not isinstance(v, bool)
            or (isinstance(v, str) and _is_number_text(v)) for v in row])
        marks.append([isinstance(v, str) for v in row])
    found = [("sheet", f"{used!r}" + (f" (sheets: {', '.join(map(repr, sheets))}; --sheet "
                                      "NAME reads another)" if len(sheets) > 1 else ""))]
    options: dict[str, Any] = {"sheet": used} if sheet or len(sheets) > 1 else {}
    return _Sniffed("xlsx", _Grid(texts, numeric, merges, marks), found, options, None,
                    sheets=sheets)


def _cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def propose_fixed(column: str, ctype: str, title: list[str], name: str
              ) -> tuple[str, Any, str, str] | None:
    """Where the value of a required column the file lacks can come from, searching the
    title lines, then the file name: ("extract", {"from", "pattern"}, the text found,
    what it is) or ("constants", value, the text found, a note); None if nowhere. A period
    prefers a semester form (in the title, else the file name), then a month (which the
    warehouse does not store: its semester as a constant), then a year."""
    places = [("title", title), ("file_name", [name])]
    if ctype == "period":
        for source, texts in places:
            for look, pattern in PERIOD_FORMS:
                for text in texts:
                    m = re.search(look, text, flags=re.IGNORECASE)
                    if m:
                        return ("extract", {"from": source, "pattern": pattern}, m.group(0),
                                "a period such as 2024-S2")
        for _, texts in places:
            for text in texts:
                m = re.search(MONTH_FORM, text, flags=re.IGNORECASE)
                if m:
                    month, year = MONTHS[m.group(1).lower()], m.group(2)
                    value = f"{year}-S{1 if month <= 6 else 2}"
                    return ("constants", value, m.group(0),
                            f"a month is not a period of the warehouse: {m.group(0)} is in "
                            f"semester {1 if month <= 6 else 2}; a constant holds for this "
                            "file only, so change it with each file (or ask the regency "
                            "to write the semester in the title)")
    if ctype == "period" or (ctype == "integer" and column in ("tahun", "year")):
        for source, texts in places:
            for text in texts:
                m = re.search(YEAR_FORM[0], text)
                if m:
                    return ("extract", {"from": source, "pattern": YEAR_FORM[1]},
                            m.group(0), "the year")
    return None


# ------------------------------------------------------------------------ mapping


@dataclass
class _Match:
    """A header's proposed canonical column (None: unmapped), how sure, and why."""

    header: str
    column: str | None = None
    score: float = 0.0
    why: str = ""
    closest: tuple[str, float, str] | None = None   # for an unmapped header: (column, score, why)
    key: str = ""                                    # the registry key to write for it
    candidates: list[tuple[float, int, str, str]] = field(default_factory=list)   # `_ranked`


def _known_headers(registry: Registry, spec: DatasetSpec, exclude: str | None
                   ) -> dict[tuple[str, str], list[str]]:
    """(normalised header, canonical column) -> where it is known: "canonical" for the
    dataset's own column names, "<feed id>:<header>" for the headers its feeds map.

    A feed that reads region codes by name ("Wilayah" -> kode_wilayah, region_code name)
    also says the header holds names: it is a candidate for the name column too
    (nama_wilayah), marked "~" and weighted NAME_OF_REGION, so it is taken only when
    another header holds the codes ("Kode" and "Kabupaten/Kota")."""
    known: dict[tuple[str, str], list[str]] = {}
    for column in spec.column_names:
        known.setdefault((_norm(column), column), []).append("canonical")
    for feed in registry.select(dataset=spec.name):
        if feed.id == exclude:
            continue
        for src, dst in feed.columns.items():
            if dst not in spec.column_names:
                continue
            known.setdefault((_norm(src), dst), []).append(f"{feed.id}:{src}")
            name = "nama_" + dst.removeprefix("kode_")
            if (feed.region_code == "name" and spec.column(dst).type == "region_code"
                    and name in spec.column_names):
                # a key of its own ("~" + column): a guess, not what a feed maps
                known.setdefault((_norm(src), "~" + name), []).append(f"{feed.id}:{src}")
    return known


def _explain(kind: str, variant: str, sources: list[str], score: float) -> str:
    """Why a header is proposed for a column: "its part 'Laki-laki' matches 'Laki-laki' in
    kab-lebak.penduduk, kota-serang.penduduk"."""
    part = f"its part '{variant}'" if kind == "part" else "it"
    how = "matches" if score == 1.0 else f"is {score:.0%} like"
    feeds = [s.split(":", 1) for s in sources if s != "canonical"]
    if not feeds:
        return f"{part} {how} the canonical name"
    spelled = " / ".join(f"'{s}'" for s in sorted({src for _, src in feeds}))
    ids = [f for f, _ in feeds]
    more = f" and {len(ids) - 3} more" if len(ids) > 3 else ""
    return f"{part} {how} {spelled} in {', '.join(ids[:3])}{more}"


def _ranked(header: str, known: dict[tuple[str, str], list[str]]
            ) -> list[tuple[float, int, str, str]]:
    """Candidate columns for `header`, best first: (score, votes, column, why)."""
    variants = [("whole", header)]
    part = _lowest_part(header)
    if part:
        variants.append(("part", part))
    best: dict[str, tuple[float, int, str, str]] = {}
    for kind, variant in variants:
        key = _norm(variant)
        for (known_key, column), sources in known.items():
            score = _similarity(key, known_key)
            why = _explain(kind, variant, sources, score)
            if column.startswith("~"):   # a region column's header, for the names
                column, score = column[1:], score * NAME_OF_REGION
                why = why.replace(" in ", " (region names) in ", 1)
            votes = len(sources)
            current = best.get(column)
            if current is None or (score, votes) > current[:2]:
                best[column] = (score, votes, column, why)
    return sorted(best.values(), key=lambda c: (-c[0], -c[1], c[2]))


def propose_mapping(headers: list[str], known: dict[tuple[str, str], list[str]]
                    ) -> list[_Match]:
    """Each header's most likely canonical column, one header per column: the most
    similar pairs are taken first (ties: the column more feeds map that way)."""
    ranked = {h: _ranked(h, known) for h in headers}
    matches = {h: _Match(h) for h in headers}
    pairs = sorted(((c[0], c[1], i, h, c) for i, h in enumerate(headers) for c in ranked[h]),
                   key=lambda p: (-p[0], -p[1], p[2]))
    used: set[str] = set()
    for score, _, _, header, (_, _, column, why) in pairs:
        m = matches[header]
        if score < MATCH_THRESHOLD or m.column or column in used:
            continue
        m.column, m.score, m.why = column, score, why
        used.add(column)
    parts = [header_key(_lowest_part(h) or h) for h in headers]
    for h in headers:
        m = matches[h]
        m.candidates = ranked[h]
        part = _lowest_part(h)
        # the lowest part alone is the simpler key, unless two headers share it
        m.key = part if part and parts.count(header_key(part)) == 1 else h
        if m.column is None:
            close = next((c for c in ranked[h] if c[2] not in used), None)
            if close and close[0] >= HINT_THRESHOLD:
                m.closest = (close[2], close[0], close[3])
    return [matches[h] for h in headers]


def _feed_knows(feed: Feed, header: str) -> str | None:
    """The canonical column `feed` maps `header` to (its whole name or its lowest part,
    as `map_headers` matches), '' when the feed ignores it, None when it does not know it."""
    wanted = {header_key(src): dst for src, dst in feed.columns.items()}
    ignored = {header_key(h) for h in feed.ignore_columns}
    keys = [header_key(header)]
    if _lowest_part(header):
        keys.append(header_key(_lowest_part(header)))
    for k in keys:
        if k in wanted:
            return wanted[k]
    return "" if any(k in ignored for k in keys) else None


# ------------------------------------------------------------------------ the trial


@dataclass
class _Context:
    request: TryRequest
    registry: Registry
    spec: DatasetSpec
    feed: Feed | None            # --feed: the registry's entry
    regency: str
    regency_name: str
    regency_note: str
    format: str
    settings: Settings


class _Trial:
    """One run of `feeds try`: `prepare` checks the request (UsageError), `run` does the
    work in a temporary folder and fills `lines`; it returns the exit code."""

    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self.lines: list[str] = []
        self.problems: list[str] = []
        self.read_note = ""
        self.unsourced: set[str] = set()   # required columns section 3 found no source for
        self._original: dict | None = None   # --feed: its entry as written

    # -------------------------------------------------------------- request

    @classmethod
    def prepare(cls, request: TryRequest) -> _Trial:
        settings = Settings.from_env()
        path = request.registry or settings.feeds_file
        try:
            registry = load_registry(Path(path))
        except RegistryError as e:
            raise UsageError(f"the feed registry {path} cannot be used:\n  {e}") from None
        if request.dataset not in registry.datasets:
            raise UsageError(f"unknown dataset {request.dataset!r} (known: "
                             f"{', '.join(sorted(registry.datasets))})")
        if not request.file.is_file():
            raise UsageError(f"no such file: {request.file}")
        if request.rows < 0:
            raise UsageError("--rows must be 0 or more")
        if request.delimiter is not None and (len(request.delimiter) != 1
                                              or request.delimiter in "\r\n\"'"):
            raise UsageError(f"--delimiter {request.delimiter!r}: write one character, "
                             "e.g. ';' or tab")
        regencies = load_regencies(settings.reference_dir)
        feed = None
        note = ""
        if request.feed_id:
            feed = next((f for f in registry.feeds if f.id == request.feed_id), None)
            if feed is None:
                ids = [f.id for f in registry.select(dataset=request.dataset)]
                close = difflib.get_close_matches(request.feed_id, ids, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"feeds of {request.dataset}: " \
                    + ", ".join(ids)
                raise UsageError(f"unknown feed {request.feed_id!r} in {registry.path}; {hint}")
            if feed.dataset != request.dataset:
                raise UsageError(f"feed {feed.id!r} is a feed of dataset {feed.dataset!r}, "
                                 f"not {request.dataset!r}")
            regency = feed.regency
        elif request.regency:
            regency = request.regency.strip()
            if re.fullmatch(r"\d{4}", regency):   # a BPS code: 3604 -> 36.04
                regency = f"{regency[:2]}.{regency[2:]}"
            if regency not in regencies:
                raise UsageError(f"unknown regency {request.regency!r}: use a Kemendagri code "
                                 f"of Banten ({', '.join(sorted(regencies))}; 36 for a "
                                 "province-wide file)")
        else:
            regency, note = cls._guess_regency(request.file, regencies)
        suffix = request.file.suffix.lower()
        fmt = feed.format if feed else FORMATS.get(suffix)
        if fmt is None:
            hint = " (save it as .xlsx)" if suffix in (".xls", ".xlsm", ".ods") else ""
            raise UsageError(f"cannot tell the format of {request.file.name} from its "
                             f"extension {suffix or '(none)'}{hint}; known: "
                             f"{', '.join(sorted(FORMATS))}")
        return cls(_Context(request, registry, registry.datasets[request.dataset], feed,
                            regency, regencies[regency], note, fmt, settings))

    @staticmethod
    def _guess_regency(path: Path, regencies: dict[str, str]) -> tuple[str, str]:
        """The regency named by the file's name or its first rows' text, when exactly one
        is; else a UsageError asking for --regency."""
        text = path.stem
        if path.suffix.lower() in (".csv", ".txt", ".tsv"):
            with open(path, "rb") as f:
                text += "\n" + f.read(4096).decode("utf-8", errors="replace")
        elif path.suffix.lower() == ".xlsx":
            try:
                grid = _sniff_xlsx(path, path.name, None).grid
                text += "\n" + "\n".join(" ".join(r) for r in grid.texts[:MAX_HEADER_SCAN_ROWS])
            except (SubmissionError, UsageError):
                pass
        haystack = f" {_name_key(text)} "
        found = []
        for code, name in sorted(regencies.items(), key=lambda kv: -len(kv[1])):
            key = _name_key(name)
            if code != PROVINCE and re.search(rf"(?<![a-z]){re.escape(key)}(?![a-z])",
                                              haystack):
                found.append(code)
                haystack = haystack.replace(key, " ")   # "kota tangerang" inside "... selatan"
        if len(found) != 1:
            named = f" (it names {', '.join(regencies[c] for c in found)})" if found else ""
            raise UsageError(f"which regency sent {path.name}?{named} Say --regency 36.xx "
                             "(36 for a province-wide file), or --feed ID to try a feed's "
                             "entry")
        return found[0], (f"{found[0]} {regencies[found[0]]}, named in the file "
                          "(--regency to choose another)")

    # -------------------------------------------------------------- the run

    def run(self, tmp: Path) -> int:
        ctx, req = self.ctx, self.ctx.request
        name = req.file.name
        database = tmp / "warehouse.duckdb"
        initialise(database, ctx.registry.datasets, ctx.settings.reference_dir)
        with connect(database) as con:
            try:
                sniffed = self._sniff(name)
            except _Stop:
                return 1
            probe = self._probe_feed(sniffed)
            info = None
            try:
                info = read_file(con, probe, req.file, "sd_try_source", name)
            except SubmissionError as e:
                if ctx.feed is not None and sniffed.header_rows:
                    # the feed's own rules cannot even find the header: read it as found,
                    # to show what changed (the preview names the feed's own failure)
                    probe = self._probe_feed(sniffed, own=False)
                    try:
                        info = read_file(con, probe, req.file, "sd_try_source", name)
                        self.read_note = (f"feed {ctx.feed.id} cannot read it as it is "
                                          f"({e}); read here with the header found")
                    except SubmissionError:
                        info = None
                if info is None:
                    self._section_found(sniffed, None)
                    return self._cannot_read(str(e), sniffed)
            self._section_found(sniffed, info)
            headers = list(info.headers)
            if ctx.feed is None:
                entry, comments = self._propose(con, sniffed, headers, info.title)
                feed, error = self._validated(entry, tmp)
                if feed is None:
                    feed = self._feed_of(entry, tmp)
                self._section_preview(con, feed, tmp)
                self._section_entry(entry, comments, error, feed_given=False)
            else:
                entry, comments = self._amend(con, sniffed, headers, info.title)
                self._section_preview(con, self._given_feed(), tmp)
                feed, error = self._validated(entry, tmp)
                self._section_entry(entry, comments, error, feed_given=True)
                if feed is not None and self._changed(entry):
                    self._try_amended(con, feed, tmp)
        self.lines += ["", self._verdict()]
        return 1 if self.problems else 0

    def _given_feed(self) -> Feed:
        """The --feed entry with the command line's reader options."""
        feed = self.ctx.feed
        assert feed is not None
        options = dict(feed.options)
        if self.ctx.request.header_rows is not None:
            # --header-rows replaces however the entry placed its header
            for key in ("header_row", "header_rows", "skip_lines"):
                options.pop(key, None)
            options["header_rows"] = self.ctx.request.header_rows
        return replace(feed, options={**options, **self._overrides()})

    def _overrides(self) -> dict[str, Any]:
        """The reader options given on the command line (--header-rows aside: it becomes
        header_rows, header_row or skip_lines, see `_header_options`)."""
        req = self.ctx.request
        out: dict[str, Any] = {}
        if req.sheet is not None:
            out["sheet"] = req.sheet
        if req.delimiter is not None:
            out["delimiter"] = req.delimiter
        return out

    # -------------------------------------------------------------- 1. the file

    def _sniff(self, name: str) -> _Sniffed:
        ctx, req = self.ctx, self.ctx.request
        fmt = ctx.format
        given = ctx.feed.options if ctx.feed else {}
        sheet = req.sheet if req.sheet is not None else given.get("sheet")
        try:
            if fmt == "csv":
                sniffed = _sniff_csv(req.file, req.delimiter)
            elif fmt == "xlsx":
                sniffed = _sniff_xlsx(req.file, name, sheet)
            else:
                sniffed = _Sniffed(fmt, _Grid([], []), [], {}, None)
        except SubmissionError as e:
            self.lines += [f"1. The file: {name}", f"   format      {fmt}"]
            self.problems.append(str(e))
            self.lines += ["", f"   cannot read it: {e}", "", self._verdict()]
            raise _Stop from None
        if fmt in ("csv", "xlsx"):
            if req.header_rows:
                sniffed.header_rows, sniffed.header_why = req.header_rows, "given"
            else:
                sniffed.header_rows = detect_header(sniffed.grid)
                sniffed.header_why = "found"
            start = (sniffed.header_rows or [0])[-1]
            values = [t for r, m in zip(sniffed.grid.texts[start:],
                                        sniffed.grid.number_texts[start:], strict=True)
                      for t, is_text in zip(r, m, strict=True) if is_text]
            marks, example = number_marks(values)
            if fmt == "csv" or marks:
                shown = ", ".join(f"{k} {v!r}" for k, v in marks.items()) or "plain (1234.5)"
                sniffed.found.append(("numbers", shown + (f", e.g. {example!r}" if example
                                                          else "")))
            sniffed.options.update(marks)
        return sniffed

    def _header_options(self, sniffed: _Sniffed) -> dict[str, Any]:
        """Reader options that put the header where it was found."""
        rows = sniffed.header_rows
        if not rows:
            return {}
        if len(rows) > 1:
            return {"header_rows": rows}
        if sniffed.format == "csv":
            return {"skip_lines": rows[0] - 1} if rows[0] > 1 else {}
        return {"header_row": rows[0]}

    def _probe_feed(self, sniffed: _Sniffed, own: bool = True) -> Feed:
        """The feed the file is first read with, to see its headers: the --feed entry (or,
        `own` False, that entry with the header found), or the options found."""
        ctx = self.ctx
        if ctx.feed is not None:
            feed = self._given_feed()
            if own:
                return feed
            options = {k: v for k, v in feed.options.items()
                       if k not in ("header_row", "header_rows", "skip_lines")}
            return replace(feed, options={**options, **self._header_options(sniffed)})
        options = {**sniffed.options, **self._header_options(sniffed), **self._overrides()}
        if ctx.format == "xlsx" and "header_row" not in options \
                and "header_rows" not in options:
            options["header_row"] = 1   # nothing found: read the first row, and say so
        return Feed(id=self._entry_id(), regency=ctx.regency, dataset=ctx.spec.name,
                    channel="landing", format=ctx.format, columns={},
                    base_dir=ctx.registry.path.parent, path="-", options=options)

    def _entry_id(self) -> str:
        ctx = self.ctx
        if ctx.feed is not None:
            return ctx.feed.id
        slug = "prov-banten" if ctx.regency == PROVINCE else regency_slug(ctx.regency_name)
        return f"{slug}.{ctx.spec.name}"

    def _section_found(self, sniffed: _Sniffed, info: ReadInfo | None) -> None:
        ctx, req = self.ctx, self.ctx.request
        out = self.lines
        out.append(f"1. The file: {req.file.name}")
        how = (f"(feed {ctx.feed.id})" if ctx.feed else
               f"(from the extension {req.file.suffix.lower()})")
        out.append(f"   format      {ctx.format} {how}")
        for what, text in sniffed.found:
            out.append(f"   {what:11} {text}")
        if sniffed.format in ("csv", "xlsx"):
            rows = sniffed.header_rows
            if not rows:
                out.append("   header      not found: no row among the first "
                           f"{MAX_HEADER_SCAN_ROWS} has two text cells followed by a row with "
                           "a number; give it with --header-rows N")
            elif len(rows) > 1:
                merged = " (merged cells)" if sniffed.grid.merges else ""
                out.append(f"   header      rows {', '.join(map(str, rows))} ({sniffed.header_why}"
                           f"): row {rows[0]} labels the columns below it{merged} -> "
                           f"header_rows: {_yaml_flow(rows)}")
            else:
                out.append(f"   header      row {rows[0]} ({sniffed.header_why})")
        if ctx.regency_note:
            out.append(f"   regency     {ctx.regency_note}")
        if ctx.feed is not None:
            used = self._given_feed().options
            for key, value in sniffed.options.items():
                if key != "sheet" and used.get(key) != value:
                    out.append(f"   note        the file looks like {key} {value!r}; feed "
                               f"{ctx.feed.id} reads it with {used.get(key)!r}")
        if self.read_note:
            out.append(f"   note        {self.read_note}")
        if info is not None:
            title = info.title
            out.append("   title       " + (" | ".join(title) if title else "(none)"))
            out.append("   columns     " + " | ".join(info.headers))

    def _cannot_read(self, reason: str, sniffed: _Sniffed) -> int:
        """A file the reader refuses: the reason and what to configure."""
        self.problems.append(reason)
        hints = []
        if sniffed.format == "csv":
            hints.append("--delimiter ';' (or ',' tab '|') if the fields are split wrongly")
            hints.append("options.encoding: cp1252 for Windows Excel's CSV")
        if sniffed.format in ("csv", "xlsx"):
            hints.append("--header-rows N (or 5,6 for a header over two rows) if the header "
                         "is elsewhere")
        if sniffed.format == "xlsx" and len(sniffed.sheets) > 1:
            hints.append(f"--sheet NAME for another sheet ({', '.join(sniffed.sheets)})")
        self.lines += ["", f"   cannot read it: {reason}"]
        if hints:
            self.lines.append("   what to configure: " + "; ".join(hints))
        self.lines += ["", self._verdict()]
        return 1

    # -------------------------------------------------------------- 2-4. the proposal

    def _propose(self, con: duckdb.DuckDBPyConnection, sniffed: _Sniffed, headers: list[str],
                 title: list[str]) -> tuple[dict, dict[str, str]]:
        """Sections 2-4 for a new entry; returns the entry and comments for its YAML."""
        ctx = self.ctx
        spec = ctx.spec
        out = self.lines
        known = _known_headers(ctx.registry, spec, exclude=None)
        matches = propose_mapping(headers, known)
        self._region_fixups(con, matches)
        out += ["", f"2. Proposed mapping to dataset {spec.name} "
                    f"(canonical columns: {', '.join(spec.column_names)})"]
        width = max((len(h) for h in headers), default=0)
        cwidth = max((len(c) for c in spec.column_names), default=0)
        for m in matches:
            if m.column:
                key = f"   (key {m.key!r})" if m.key != m.header else ""
                out.append(f"   {m.header:{width}}  -> {m.column:{cwidth}}  {m.why}{key}")
            else:
                close = (f" (closest: {m.closest[0]}, {m.closest[2]})" if m.closest else "")
                out.append(f"   {m.header:{width}}  unmapped: map it or add it to "
                           f"ignore_columns{close}")
        columns = {m.key: m.column for m in matches if m.column}
        mapping = {m.column: m.header for m in matches if m.column}
        ignored = [m.key for m in matches if not m.column]
        if ignored:
            out.append(f"   the entry below ignores {', '.join(map(repr, ignored))} "
                       "(ignore_columns); map any that holds a canonical column")
        region_style, region_note = self._region_style(con, mapping)
        if region_note:
            out.append(f"   {region_note}")
        time_options = self._time_formats(con, mapping)
        values = self._known_values(con, mapping)
        for column, spellings in values.items():
            out.append(f"   values of {column}: {len(spellings)} spelling(s) in the file are "
                       "mapped by other feeds to canonical values -> values: {"
                       f"{column}: ...}}")
        fixed, comments_fixed = self._section_title(sniffed, title, mapping, headers)
        skip, skip_comment = self._section_totals(con, headers, mapping)

        entry: dict[str, Any] = {
            "id": self._entry_id(), "regency": ctx.regency, "dataset": spec.name,
            "channel": "landing",
            "path": f"landing/{ctx.regency}/{spec.name}/*{ctx.request.file.suffix.lower()}",
            "format": ctx.format,
        }
        comments: dict[str, str] = {}
        options = {**sniffed.options, **self._header_options(sniffed), **self._overrides(),
                   **time_options}
        if options.get("header_row") and self._auto_header(sniffed, columns):
            del options["header_row"]   # the reader finds it below the title by its headers
        if options:
            entry["options"] = options
        if options.get("header_rows"):
            comments["options"] = "the header is written over rows " + \
                "-".join(map(str, (options["header_rows"][0], options["header_rows"][-1])))
        if region_style:
            entry["region_code"] = region_style
        entry["columns"] = columns
        if ignored:
            entry["ignore_columns"] = ignored
        if skip:
            entry["skip_rows_matching"] = skip
            comments["skip_rows_matching"] = skip_comment
        if values:
            entry["values"] = values
        for key in ("constants", "extract"):
            if fixed.get(key):
                entry[key] = fixed[key]
        comments.update(comments_fixed)
        return entry, comments

    def _region_fixups(self, con: duckdb.DuckDBPyConnection, matches: list[_Match]) -> None:
        """What the values say about the region columns, which headers alone do not:
        a header of names proposed for a region column gives way to one of codes that was
        a candidate too ("Wilayah" and "Kode"), and keeps the name column; and a required
        region column nothing holds is taken from the header of names proposed for the
        name column (region_code: name)."""
        spec, ctx = self.ctx.spec, self.ctx
        for c in spec.columns:
            if c.type != "region_code":
                continue
            name = "nama_" + c.name.removeprefix("kode_")
            name = name if name in spec.column_names else None
            holder = next((m for m in matches if m.column == c.name), None)
            if holder is not None and self._style_of(con, holder.header) == "name":
                coder = next((m for m in matches if m.column is None
                              and any(col == c.name and score >= MATCH_THRESHOLD
                                      for score, _, col, _ in m.candidates)
                              and self._style_of(con, m.header) in ("dotted", "bps_digits")),
                             None)
                if coder is not None:
                    why = next(w for score, _, col, w in coder.candidates if col == c.name)
                    coder.column, coder.why = c.name, why + "; its values are codes"
                    coder.closest = None
                    free = name and all(m.column != name for m in matches)
                    holder.column = name if free else None
                    holder.why = f"it names the regions whose codes are in {coder.header!r}"
                    if holder.column is None:
                        holder.closest = None
                continue
            needed = c.required and (c.name != spec.regency_column or ctx.regency == PROVINCE)
            if holder is None and needed and name:
                m = next((m for m in matches if m.column == name), None)
                if m is not None:
                    m.column, m.why = c.name, m.why + f"; it names the regions, so {c.name}"

    def _style_of(self, con: duckdb.DuckDBPyConnection, header: str) -> str | None:
        """How the values of a column write regions: dotted, bps_digits or name (the most
        common among its first 50 distinct values, total rows aside), None if neither."""
        src = quote_ident(header)
        styles = Counter(_code_style(r[0]) for r in con.execute(
            f"select distinct trim({src}) from sd_try_source where trim({src}) <> '' "
            f"and not regexp_matches(trim({src}), '(?i)^(jumlah|total)') limit 50").fetchall())
        styles.pop(None, None)
        return styles.most_common(1)[0][0] if styles else None

    def _auto_header(self, sniffed: _Sniffed, columns: dict[str, str]) -> bool:
        """Whether the XLSX reader, without header_row, finds the header where it was
        found: the first row holding at least two of the mapped headers."""
        keys = {header_key(k) for k in columns}
        for number, row in enumerate(sniffed.grid.texts, start=1):
            if len(keys & {header_key(c) for c in row}) >= 2:
                return [number] == sniffed.header_rows
        return False

    def _region_style(self, con: duckdb.DuckDBPyConnection, mapping: dict[str, str]
                      ) -> tuple[str | None, str]:
        """The region_code style the values of the file's region column are written in."""
        spec = self.ctx.spec
        column = next((c.name for c in spec.columns if c.type == "region_code"
                       and c.name in mapping), None)
        if column is None:
            if any(c.type == "region_code" and c.required and c.name != spec.regency_column
                   for c in spec.columns) or self.ctx.regency == PROVINCE:
                return None, "no column holds the region code"
            return None, ""
        style = self._style_of(con, mapping[column])
        if style is None:
            return None, f"the values of {mapping[column]!r} do not look like region codes"
        src = quote_ident(mapping[column])
        example = next((r[0] for r in con.execute(
            f"select trim({src}) from sd_try_source where trim({src}) <> '' "
            "order by _row_number").fetchall() if _code_style(r[0]) == style), "")
        look = {"dotted": "Kemendagri codes with dots", "bps_digits": "BPS codes (digits)",
                "name": "names"}[style]
        return style, (f"region codes in {mapping[column]!r} are {look} ({example!r}) -> "
                       f"region_code: {style}")

    def _time_formats(self, con: duckdb.DuckDBPyConnection, mapping: dict[str, str]
                      ) -> dict[str, str]:
        """options.timestamp_format / date_format for dates and times the warehouse cannot
        read as they are (not ISO 8601): the first of TIME_FORMATS that reads a sample of
        every such column of that type."""
        options: dict[str, str] = {}
        for ctype, formats in TIME_FORMATS.items():
            sample: list[str] = []
            for c in self.ctx.spec.columns:
                if c.type == ctype and c.name in mapping:
                    src = quote_ident(mapping[c.name])
                    sample += [r[0] for r in con.execute(
                        f"select trim({src}) from sd_try_source where trim({src}) <> '' "
                        f"and try_cast(trim({src}) as {ctype}) is null limit 50").fetchall()]
            if not sample:
                continue
            fmt = next((f for f in formats if all(_parses(v, f) for v in sample)), None)
            if fmt is None:
                self.lines.append(f"   {ctype}s like {sample[0]!r} match no usual format: set "
                                  f"options.{ctype}_format (strptime, e.g. \"%d-%m-%Y\")")
                continue
            options[f"{ctype}_format"] = fmt
            self.lines.append(f"   {ctype}s are written like {sample[0]!r} -> "
                              f"{ctype}_format: {_yaml_scalar(fmt)}")
        return options

    def _section_title(self, sniffed: _Sniffed, title: list[str], mapping: dict[str, str],
                       headers: list[str], feed: Feed | None = None
                       ) -> tuple[dict[str, dict], dict[str, str]]:
        """Section 3: the title lines and, for each required column the file lacks, where
        its value can come from. Returns {"extract": ..., "constants": ...} and comments."""
        ctx = self.ctx
        spec, name = ctx.spec, ctx.request.file.name
        out = self.lines
        out += ["", "3. Title and file name"]
        if title:
            out += [f"   title line {i}: {t}" for i, t in enumerate(title, start=1)]
        else:
            out.append("   no title lines above the header")
        out.append(f"   file name:    {name}")
        fixed: dict[str, dict] = {"extract": {}, "constants": {}}
        comments: dict[str, str] = {}
        given = set(feed.constants) | set(feed.extract) if feed else set()
        missing = [c for c in spec.columns if c.required and c.name not in mapping
                   and c.name not in given
                   and not (c.name == spec.regency_column and ctx.regency != PROVINCE)]
        for c in missing:
            found = propose_fixed(c.name, c.type, title, name)
            if found is None:
                out.append(f"   {c.name} (required) is not a column of the file, nor found in "
                           f"the title or file name: map a header to it, or set "
                           f"constants: {{{c.name}: ...}}")
                self.problems.append(f"required column {c.name} has no source")
                self.unsourced.add(c.name)
                continue
            kind, value, text, note = found
            fixed[kind][c.name] = value
            if kind == "extract":
                out.append(f"   {c.name} (required) is not a column: the {value['from']} says "
                           f"{text!r} -> extract: {{{c.name}: {_yaml_flow(value)}}}")
                comments["extract"] = f"{c.name} from {text!r} in the {value['from']}"
            else:
                out.append(f"   {c.name} (required) is not a column: the title or file name says "
                           f"{text!r} -> constants: {{{c.name}: {_yaml_scalar(value)}}}; {note}")
                comments["constants"] = "change it with each file"
        if not missing:
            out.append("   every required column is in the file or set by the entry")
        return fixed, {k: v for k, v in comments.items() if v}

    def _section_totals(self, con: duckdb.DuckDBPyConnection, headers: list[str],
                        mapping: dict[str, str], feed: Feed | None = None
                        ) -> tuple[dict[str, str], str]:
        """Section 4: rows that are totals, not data. Returns the skip rule to propose
        (empty when none is needed) and its comment."""
        ctx = self.ctx
        out = self.lines
        out += ["", "4. Total rows"]
        found: list[tuple[int, str, str]] = []
        for h in headers:
            src = quote_ident(h)
            found += con.execute(
                f"select _row_number, ?, trim({src}) from sd_try_source "
                f"where regexp_matches(trim({src}), '(?i)^(jumlah|total)\\b') "
                "order by _row_number limit 20", [h]).fetchall()
        # a label ("JUMLAH", "JUMLAH PROVINSI BANTEN", or any text in the region column),
        # not a value that starts with the word ("Jumlah Penduduk Miskin (ribu jiwa)")
        regions = {mapping[c.name] for c in self.ctx.spec.columns
                   if c.name in mapping and (c.type == "region_code" or c.name.startswith("nama"))}
        labels = sorted({r for r in found if len(r[2].split()) <= 3 or r[1] in regions})
        skip: dict[str, str] = {}
        comment = ""
        if labels:
            rows = sorted({r[0] for r in labels})
            shown = ", ".join(f"data row {r} {v!r} in {h!r}" for r, h, v in labels[:5])
            out.append(f"   {len(rows)} total row(s): {shown}")
            if feed is not None and feed.skip_rows_matching:
                out.append(f"   feed {feed.id} skips rows by {_yaml_flow(feed.skip_rows_matching)}")
            else:
                upper = all(re.match(TOTAL_PATTERN, v) for _, _, v in labels)
                pattern = TOTAL_PATTERN if upper else "(?i)" + TOTAL_PATTERN
                long_values = [r for r in found if r not in labels]
                # values that start with the word but are data keep the rule to labels
                skip = {ANY_COLUMN: pattern + (r"(\s+\S+)?$" if long_values else "")}
                out.append(f"   -> skip_rows_matching: {json.dumps(skip)}")
                comment = "total rows are not data"
        else:
            out.append("   none found (no cell says JUMLAH or TOTAL)")
        if ctx.regency == PROVINCE:
            spec = ctx.spec
            region = next((mapping[c.name] for c in spec.columns
                           if c.type == "region_code" and c.name in mapping), None)
            own = []
            if region:
                own = con.execute(
                    f"select _row_number, trim({quote_ident(region)}) from sd_try_source where "
                    f"regexp_matches(lower(trim({quote_ident(region)})), ?) order by 1 limit 5",
                    [province_total_pattern(PROVINCE)]).fetchall()
            seen = (" (" + ", ".join(f"data row {r} {v!r}" for r, v in own) + ")") if own else ""
            out.append(f"   a province-wide feed skips the province's own total row "
                       f"automatically (a region of '36' or 'Banten'){seen}")
        return skip, comment

    def _known_values(self, con: duckdb.DuckDBPyConnection, mapping: dict[str, str]
                      ) -> dict[str, dict[str, str]]:
        """Spellings of categorical values in the file that other feeds of the dataset
        already map (`values:`), to map them the same way."""
        spec = self.ctx.spec
        out: dict[str, dict[str, str]] = {}
        for c in spec.columns:
            if c.type != "text" or c.name not in mapping:
                continue
            known = {header_key(k): v for f in self.ctx.registry.select(dataset=spec.name)
                     for k, v in f.values.get(c.name, {}).items()}
            if not known:
                continue
            src = quote_ident(mapping[c.name])
            for (value,) in con.execute(
                    f"select distinct trim({src}) from sd_try_source where trim({src}) <> '' "
                    "order by 1 limit 500").fetchall():
                target = known.get(header_key(value))
                if target is not None and target != value:
                    out.setdefault(c.name, {})[value] = target
        return out

    # -------------------------------------------------------------- --feed

    def _amend(self, con: duckdb.DuckDBPyConnection, sniffed: _Sniffed, headers: list[str],
               title: list[str]) -> tuple[dict, dict[str, str]]:
        """Sections 2-4 for an existing feed: what its entry knows of the file's headers,
        and its entry with the fixes proposed."""
        ctx = self.ctx
        feed = self._given_feed()
        spec = ctx.spec
        out = self.lines
        out += ["", f"2. Mapping of feed {feed.id} (dataset {spec.name})"]
        known = _known_headers(ctx.registry, spec, exclude=feed.id)
        width = max((len(h) for h in headers), default=0)
        mapping: dict[str, str] = {}
        add_columns: dict[str, str] = {}
        add_ignored: list[str] = []
        unknown = [h for h in headers if _feed_knows(feed, h) is None]
        proposals = {m.header: m for m in propose_mapping(unknown, known)}
        taken = {_feed_knows(feed, h) for h in headers} - {None, ""}
        for h in headers:
            target = _feed_knows(feed, h)
            if target:
                mapping[target] = h
                out.append(f"   {h:{width}}  -> {target}")
            elif target == "":
                out.append(f"   {h:{width}}  ignored (ignore_columns)")
            else:
                m = proposals[h]
                if m.column and m.column not in taken:
                    add_columns[m.key] = m.column
                    taken.add(m.column)
                    key = json.dumps(m.key, ensure_ascii=False)
                    out.append(f"   {h:{width}}  UNKNOWN to feed {feed.id}: it looks like "
                               f"{m.column} ({m.why}) -> add {key}: {m.column} under "
                               "columns, or list it under ignore_columns")
                else:
                    close = (f" (closest: {m.closest[0]}, {m.closest[2]})" if m.closest
                             else "")
                    add_ignored.append(m.key)
                    out.append(f"   {h:{width}}  UNKNOWN to feed {feed.id}: map it under "
                               f"columns, or list it under ignore_columns{close}")
        file_keys = {k for h in headers for k in
                     [header_key(h), header_key(_lowest_part(h) or h)]}
        lacking = [(src, dst) for src, dst in feed.columns.items()
                   if header_key(src) not in file_keys]
        for src, dst in lacking:
            instead = next((k for k, v in add_columns.items() if v == dst), None)
            also = f"; the file's {instead!r} looks like it" if instead else ""
            out.append(f"   the feed maps {src!r} (-> {dst}), which the file lacks{also}")
        mapping.update({v: next(h for h in headers if k in (h, _lowest_part(h)))
                        for k, v in add_columns.items()})
        fixed, comments = self._section_title(sniffed, title, mapping, headers, feed=feed)
        skip, skip_comment = self._section_totals(con, headers, mapping, feed=feed)

        entry = self._raw_entry(feed.id)
        options = dict(feed.options)
        if self.read_note:
            # the entry's own header rule failed and the header found worked: keep that
            for key in ("header_row", "header_rows", "skip_lines"):
                options.pop(key, None)
            options.update(self._header_options(sniffed))
            comments["options"] = "the header is where it was found"
        if options != ctx.feed.options:
            entry["options"] = options
        if add_columns:
            entry["columns"] = {**entry.get("columns", {}), **add_columns}
            comments["columns"] = "added: " + ", ".join(map(repr, add_columns))
        if add_ignored:
            entry["ignore_columns"] = [*entry.get("ignore_columns", []), *add_ignored]
        if skip:
            entry["skip_rows_matching"] = skip
            comments["skip_rows_matching"] = skip_comment
        for key in ("constants", "extract"):
            if fixed.get(key):
                entry[key] = {**(entry.get(key) or {}), **fixed[key]}
        return entry, comments

    def _raw_entry(self, feed_id: str) -> dict:
        """The feed's entry as written in the registry (or a file it includes)."""
        for path in _registry_files(self.ctx.registry.path):
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for raw in doc.get("feeds") or []:
                if isinstance(raw, dict) and raw.get("id") == feed_id:
                    # a plain copy (YAML dates as text, anchors expanded) to amend
                    self._original = json.loads(json.dumps(raw, default=str))
                    return json.loads(json.dumps(raw, default=str))
        raise UsageError(f"feed {feed_id!r} is not written in {self.ctx.registry.path}")

    def _changed(self, entry: dict) -> bool:
        return entry != self._original

    def _try_amended(self, con: duckdb.DuckDBPyConnection, feed: Feed, tmp: Path) -> None:
        """With --feed: load the file with the amended entry too, and say how it went."""
        try:
            _, rows, _, empty = self._load(con, feed, tmp)
        except SubmissionError as e:
            self.lines.append(f"   with this entry the file still does not load: {e}")
            return
        if empty:
            self.lines.append(f"   with this entry the file loads, but required column(s) "
                              f"{', '.join(empty)} stay empty")
            return
        self.lines.append(f"   with this entry the file loads cleanly ({rows} row(s))")

    # -------------------------------------------------------------- 5. preview

    def _load(self, con: duckdb.DuckDBPyConnection, feed: Feed, tmp: Path
              ) -> tuple[list[tuple], int, list[tuple], dict[str, int]]:
        """The real ingest of the file with `feed`: (first rows, row count, values
        written to their canonical spelling, required columns -> rows where empty).
        Raises SubmissionError."""
        spec = self.ctx.spec
        received = snapshot(feed, self.ctx.request.file, tmp / "raw")
        try:
            try:
                table, count = load_batch(con, feed, spec, received)
            except duckdb.Error as e:
                # a failure the ingest code does not name as the file's: still the
                # answer to "would a run load it?", so it is reported, not raised
                raise SubmissionError(f"{received.path.name}: the ingest code failed: "
                                      f"{type(e).__name__}: {e}") from None
            columns = ["_row_number", *spec.column_names] + \
                (["_regency"] if feed.is_province_wide else [])
            rows = con.execute(f"select {', '.join(columns)} from {table} "
                               f"order by _row_number limit {int(self.ctx.request.rows)}"
                               ).fetchall()
            # ingest checks the columns a file has; a required column it lacks altogether
            # is empty, which the dataset's quality rules refuse
            required = [c.name for c in spec.columns if c.required]
            empty = dict(zip(required, con.execute(
                "select " + ", ".join(f"count(*) - count({c})" for c in required)
                + f" from {table}").fetchone(), strict=True)) if required else {}
            return rows, count, value_mappings(received), {c: n for c, n in empty.items() if n}
        finally:
            drop_batch(con, received)

    def _section_preview(self, con: duckdb.DuckDBPyConnection, feed: Feed, tmp: Path) -> None:
        spec = self.ctx.spec
        out = self.lines
        which = f"feed {feed.id}" if self.ctx.feed else "the entry below"
        out += ["", f"5. Preview: what a run would load, with {which}"]
        try:
            rows, count, mapped, empty = self._load(con, feed, tmp)
        except SubmissionError as e:
            self.problems.append(str(e))
            out.append(f"   PROBLEM: {e}")
            return
        columns = ["row", *spec.column_names] + (["_regency"] if feed.is_province_wide else [])
        # personal data stays out of terminals and pasted reports: only whether it is there
        masked = {i + 1 for i, c in enumerate(spec.columns) if c.personal_data}
        cells = [["***" if i in masked and v is not None else _preview(v)
                  for i, v in enumerate(r)] for r in rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
        out.append("   " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
                   .rstrip())
        out.append("   " + "  ".join("-" * w for w in widths))
        for r in cells:
            out.append("   " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True))
                       .rstrip())
        more = f" (the first {len(rows)} shown)" if len(rows) < count else ""
        for column, sent, stored, n in mapped:
            out.append(f"   {column}: {sent!r} is stored as {stored!r} ({n} row(s))")
        if masked:
            out.append("   (*** personal data, not shown: "
                       + ", ".join(c.name for c in spec.columns if c.personal_data) + ")")
        if empty:
            for column, n in empty.items():
                out.append(f"   PROBLEM: required column {column} is empty in {n} of {count} "
                           "row(s); a run's quality checks would quarantine the file")
                if column not in self.unsourced:
                    self.problems.append(f"required column {column} is empty")
            out.append(f"   loads, with empty required values: {count} row(s){more}")
            return
        out.append(f"   loads cleanly: {count} row(s){more}")

    # -------------------------------------------------------------- 6. the entry

    def _feed_of(self, entry: dict, tmp: Path) -> Feed:
        """The entry as a Feed without the registry (when it does not validate, the
        preview still shows what it would load)."""
        extract = {c: Extract(v["from"], v["pattern"]) for c, v in
                   (entry.get("extract") or {}).items()}
        return Feed(id=entry["id"], regency=entry["regency"], dataset=entry["dataset"],
                    channel="landing", format=entry["format"], columns=entry["columns"],
                    base_dir=tmp, path=entry["path"], options=entry.get("options") or {},
                    region_code=entry.get("region_code", "dotted"),
                    ignore_columns=tuple(entry.get("ignore_columns") or ()),
                    skip_rows_matching=entry.get("skip_rows_matching") or {},
                    values=entry.get("values") or {}, constants=entry.get("constants") or {},
                    extract=extract)

    def _validated(self, entry: dict, tmp: Path) -> tuple[Feed | None, str | None]:
        """Load the registry with the entry pasted in (replacing a feed of the same id):
        the Feed `load_registry` makes of it, or None and the registry's error."""
        text = entry_yaml(entry)
        pasted = yaml.safe_load("feeds:\n" + text)["feeds"][0]
        copies = tmp / "registry"
        copies.mkdir(exist_ok=True)
        main = _registry_with(self.ctx.registry.path, pasted, copies)
        try:
            registry = load_registry(main)
        except RegistryError as e:
            problems = [p.replace(str(main), str(self.ctx.registry.path)) for p in e.problems]
            problems = [re.sub(re.escape(str(copies)) + r"/registry-\d+\.yml", "(included file)",
                               p) for p in problems]
            return None, "\n".join(problems)
        return next(f for f in registry.feeds if f.id == pasted["id"]), None

    def _section_entry(self, entry: dict, comments: dict[str, str], error: str | None,
                       feed_given: bool) -> None:
        ctx = self.ctx
        out = self.lines
        existing = next((f for f in ctx.registry.feeds if f.id == entry["id"]), None)
        what = ("its entry with the fixes above" if feed_given and self._changed(entry)
                else "its entry" if feed_given else "a new entry")
        out += ["", f"6. Feed entry ({what}; paste under `feeds:` in {ctx.registry.path.name})"]
        if existing is not None and not feed_given:
            out.append(f"   note: feed {entry['id']} exists already: this entry replaces it "
                       f"(or try it as it is: --feed {entry['id']})")
        out.append("")
        out += entry_yaml(entry, comments).rstrip("\n").split("\n")
        out.append("")
        if error is None:
            out.append(f"   this entry validates (the registry {ctx.registry.path.name} "
                       "loads with it)")
        else:
            self.problems.append("the entry does not validate")
            out.append("   this entry does NOT validate:")
            out += [f"     {p}" for p in error.splitlines()]

    def _verdict(self) -> str:
        if not self.problems:
            return "Result: the file loads cleanly with this entry (exit 0)"
        return f"Result: {len(self.problems)} problem(s); the file does not load as is (exit 1)"


class _Stop(Exception):
    """The report ends early (the file cannot be read at all)."""


def _code_style(value: str) -> str | None:
    """The region_code style a value is written in: "36.71" dotted, "3671" bps_digits,
    "KOTA TANGERANG" name; None for anything else."""
    if re.fullmatch(r"\d{2}(\.\d{2}){0,2}(\.\d{4})?", value):
        return "dotted"
    if re.fullmatch(r"\d{4}|\d{6}|\d{10}", value):
        return "bps_digits"
    return "name" if re.search(r"[A-Za-z]{3}", value) else None


def _parses(text: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def _preview(value: Any) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= PREVIEW_WIDTH else text[:PREVIEW_WIDTH - 1] + "…"


def _registry_files(path: Path) -> list[Path]:
    """The registry file and the files it includes, recursively, in order."""
    seen: list[Path] = []

    def visit(p: Path) -> None:
        p = p.resolve()
        if p in seen or not p.is_file():
            return
        seen.append(p)
        doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        for name in (doc.get("include") or []) if isinstance(doc, dict) else []:
            visit(p.parent / str(name))

    visit(path)
    return seen


def _registry_with(path: Path, entry: dict, folder: Path) -> Path:
    """A copy of the registry at `path` (and the files it includes) in `folder`, with
    `entry` replacing the feed of the same id, or added to the main file's feeds."""
    files = _registry_files(path)
    copies = {p: folder / f"registry-{i}.yml" for i, p in enumerate(files)}
    placed = False
    for source, copy in copies.items():
        doc = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
        doc["include"] = [str(copies.get((source.parent / str(n)).resolve(),
                                         (source.parent / str(n)).resolve()))
                          for n in doc.get("include") or []]
        feeds = doc.get("feeds") or []
        for i, raw in enumerate(feeds):
            if isinstance(raw, dict) and raw.get("id") == entry.get("id") and not placed:
                feeds[i], placed = entry, True
        doc["feeds"] = feeds
        copies[source] = copy
        copy.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
    main = copies[files[0]]
    if not placed:
        doc = yaml.safe_load(main.read_text(encoding="utf-8"))
        doc["feeds"] = [*(doc.get("feeds") or []), entry]
        main.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
    return main
