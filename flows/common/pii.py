"""Personal data: find NIKs, phone numbers and e-mail addresses, however they are written.

One set of rules, used everywhere personal data must be found or hidden:

- the ingest gate (`flows/ingest.py`): a text column not declared `personal_data` that
  holds one quarantines its file (`sql_hit`, `find`);
- the publisher (`scan_parquet`, `scan_csv`, `scan_json` in DuckDB SQL, `ValueScanner` /
  `scan_xlsx` in Python): a hit stops that dataset's release;
- texts that quote submitted values (quarantine reasons, logs, alerts, quality results):
  `redact` masks every finding in place;
- public quality output (quality.json, Data Docs): `mask_sample` and `public_examples`.

**Normalisation** (`normalise`; `sql_normalise` is the same in SQL). Real exports write
identifiers in many ways, so values are normalised before they are matched:

1. full-width and other Unicode digits become ASCII digits (every character with a
   Unicode decimal value: NFKC's digits), full-width punctuation and letters become
   ASCII, Unicode spaces become " " and Unicode dashes "-" (one character for one, so
   positions do not move);
2. "(dot)" / "[dot]" become "." and "(at)" / "[at]" become "@"; " at " becomes "@"
   between a word character and a domain name ("budi at gmail.com");
3. dates (2024-03-01, 01/03/2024, 01.03.2024), dotted region codes (36.71.01.1001) and
   decimal numbers (12.0848123456734: one dot between digits, not part of a chain of
   dots) keep their parts apart: their separators become the mark `MARK`, and the digits
   after a mark are never the start of a number (a fraction is not a phone number);
4. spaces, dots, dashes, slashes and brackets between digits (up to 3 in a row) are
   removed: "3671 0963 0261 7803", "(0812) 3456-7890", "+62 812.3456.7890" become
   digit runs.

**Rules** (on the normalised text; each digit rule needs a whole run of digits):

- NIK-like: a run of exactly 16 digits, whatever its digits (typos and old formats are
  personal all the same). Numeric columns are different: a budget can have 16 digits, so
  there only NIK-*shaped* numbers count (`NIK_CORE`: province 11-94, regency, district,
  day of birth 01-31 or 41-71, month 01-12);
- phone-like: +62, 62 or 0, then 8-13 digits, the first of them not 0 (Indonesian mobile
  and landline numbers: 0812..., (021) 555..., +62 812...);
- e-mail-like: `local@domain.tld`;
- for `mask_sample` also any run of 8 or more digits.

Every pattern is valid in RE2 (DuckDB) and in Python's `re` with the same meaning, so
SQL and Python find the same values (tests/test_pii_properties.py checks it).

**Cost in SQL.** Normalising takes 13 regular-expression replacements, too many for every
value of a 10 M-row file. Almost no value needs them: one pass of `MAYBE_SQL` (a cheap
necessary condition: 16 joined digits, a phone number's start, "@", an obfuscation,
non-ASCII) rules out ticket numbers, names and categories; a value with no separator
between digits and no obfuscation (`COMPLEX`) is its own normal form; and a whole value
shaped like a decimal, a region code or a date (`SAFE_SQL`) never holds a finding. Only
what is left is normalised (`sql_candidate`). The ingest gate's per-row flag
(`sql_maybe_hit`) does not normalise at all: it may flag too much, never too little, and
a flagged file is checked exactly.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from flows.common.sql import quote_ident, quote_literal

# Placeholder for a separator that must not be merged (decimal point, date and region-code
# separators). Not a separator itself, and a digit run right after it is never a number of
# its own. An input character that is the mark is folded to "." first (FOLD below).
MARK = "\u2396"   # ⎖ DECIMAL SEPARATOR KEY SYMBOL

NIK_CORE = (
    r"(?:1[1-9]|[2-8][0-9]|9[0-4])"          # province
    r"(?:0[1-9]|[1-9][0-9])"                 # regency/city
    r"(?:0[1-9]|[1-9][0-9])"                 # district
    r"(?:0[1-9]|[12][0-9]|3[01]|4[1-9]|[56][0-9]|7[01])"   # day of birth (+40 women)
    r"(?:0[1-9]|1[0-2])"                     # month of birth
    r"[0-9]{6}"                              # year of birth, serial
)

_SEP = r"[ ./()\[\]-]"   # what may stand between the digits of one formatted number
_EMAIL_LOCAL = rf"[A-Za-z0-9._%+{MARK}-]"
_EMAIL_DOMAIN = rf"[A-Za-z0-9{MARK}-]+(?:\.[A-Za-z0-9{MARK}-]+)*\.[A-Za-z]{{2,}}"

# Detection on the normalised text; group 2 is the finding.
PATTERNS: dict[str, str] = {
    "nik": rf"(^|[^0-9{MARK}])([0-9]{{16}})([^0-9]|$)",
    "phone": rf"(^|[^0-9+{MARK}])((?:\+62|62|0)[1-9][0-9]{{7,12}})([^0-9]|$)",
    "email": rf"(^|[^A-Za-z0-9._%+{MARK}-])({_EMAIL_LOCAL}+@{_EMAIL_DOMAIN})",
}
DIGITS_PATTERN = rf"(^|[^0-9{MARK}])([0-9]{{8,}})"          # mask_sample only
# Numbers (integer and float columns) are matched as they are, NIK-shaped only.
NIK_SHAPED = r"(^|[^0-9+.])(" + NIK_CORE + r")([^0-9]|$)"
# Any of the three rules: one regex pass tells whether a normalised value needs a closer look.
ANY_PATTERN = "|".join(f"(?:{p})" for p in PATTERNS.values())

LABELS = {
    "nik": "a NIK (16-digit identity number)",
    "phone": "a phone number",
    "email": "an e-mail address",
    "digits": "a long number",
}
# How the ingest gate names what it found in a column.
GATE_LABELS = {
    "nik": "a NIK-like number",
    "phone": "a phone number",
    "email": "an e-mail address",
}
# Which patterns apply to which kind of column.
KIND_PATTERNS = {"text": ("nik", "phone", "email"), "integer": ("nik",), "float": ("nik",)}
_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                  "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT")
_FLOAT_TYPES = ("FLOAT", "DOUBLE", "REAL")
_SKIPPED = ("BOOLEAN", "DATE", "TIME", "TIMESTAMP", "INTERVAL", "UUID", "BLOB")
MASK = "***"


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


def _fold_table() -> dict[int, str]:
    """One character for one: Unicode digits -> ASCII, full-width forms -> ASCII, Unicode
    spaces -> " ", Unicode dashes -> "-". Only characters outside ASCII."""
    table: dict[int, str] = {}
    for cp in range(0x80, 0x110000):
        value = unicodedata.decimal(chr(cp), None)
        if value is not None:
            table[cp] = str(value)
    for cp in range(0xFF01, 0xFF5F):   # full-width ! .. ~
        table.setdefault(cp, chr(cp - 0xFEE0))
    for cp in (0xA0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000):
        table[cp] = " "
    for cp in (*range(0x2010, 0x2016), 0x2212, 0xFE58, 0xFE63):
        table[cp] = "-"
    table[ord(MARK)] = "."
    return table


FOLD = _fold_table()
FOLD_FROM = "".join(chr(cp) for cp in FOLD)
FOLD_TO = "".join(FOLD.values())


def _lead(sep: str = r"[^0-9.]") -> str:
    """Left context of a number: the start, a non-digit, or a dot after a non-digit
    ("Tel.0812")."""
    return rf"(^|{sep}|[^0-9]\.)"


_TAIL = r"([^0-9.]|\.[^0-9]|\.$|$)"   # right context: not followed by more dotted digits
_DATE_SEP = r"[-/.]"
_YMD = (rf"([^0-9]|^)((?:19|20)[0-9]{{2}}){_DATE_SEP}([01]?[0-9]){_DATE_SEP}([0-3]?[0-9])"
        r"([^0-9]|$)")
_DMY = (rf"([^0-9]|^)([0-3]?[0-9]){_DATE_SEP}([01]?[0-9]){_DATE_SEP}((?:19|20)[0-9]{{2}})"
        r"([^0-9]|$)")
_REGION = _lead() + r"([0-9]{2})\.([0-9]{2})\.([0-9]{2})\.([0-9]{4})" + _TAIL
_DECIMAL = _lead() + r"([0-9]+)\.([0-9]+)" + _TAIL
_MERGE = rf"([0-9]){_SEP}{{1,3}}([0-9])"

# (pattern, replacement): an int is a group, a str literal text. Applied in this order,
# to the whole text, like `regexp_replace(..., 'g')`. The guards and the merge run twice:
# a match consumes the character after it, which the next one may need.
STEPS: tuple[tuple[str, tuple[int | str, ...]], ...] = (
    (r"[ \t]*[(\[{][ \t]*[Dd][Oo][Tt][ \t]*[)\]}][ \t]*", (".",)),
    (r"[ \t]*[(\[{][ \t]*[Aa][Tt][ \t]*[)\]}][ \t]*", ("@",)),
    (rf"([A-Za-z0-9_%+-]) +[Aa][Tt] +({_EMAIL_DOMAIN})", (1, "@", 2)),
    *[(_YMD, (1, 2, MARK, 3, MARK, 4, 5))] * 2,
    *[(_DMY, (1, 2, MARK, 3, MARK, 4, 5))] * 2,
    *[(_REGION, (1, 2, MARK, 3, MARK, 4, MARK, 5, 6))] * 2,
    *[(_DECIMAL, (1, 2, MARK, 3, 4))] * 2,
    *[(_MERGE, (1, 2))] * 2,
)
# A value none of the steps can change (ASCII, no obfuscated "at"/"dot", no separator
# between digits) is its own normal form: most values skip the steps.
_OBFUSCATED = r"[(\[{][ \t]*(?:[Aa][Tt]|[Dd][Oo][Tt])[ \t]*[)\]}]|[A-Za-z0-9_%+-] +[Aa][Tt] "
COMPLEX = rf"[^\x00-\x7f]|{_OBFUSCATED}|[0-9]{_SEP}{{1,3}}[0-9]"

_RX = {"nik": re.compile(PATTERNS["nik"]), "phone": re.compile(PATTERNS["phone"]),
       "email": re.compile(PATTERNS["email"]), "digits": re.compile(DIGITS_PATTERN)}
_NIK_SHAPED = re.compile(NIK_SHAPED)
_ANY = re.compile(ANY_PATTERN)
_COMPLEX = re.compile(COMPLEX)
_STEPS = tuple((re.compile(p), parts) for p, parts in STEPS)
# Could this text hold a finding at all (8+ digits for `mask_sample`)?
_QUICK = re.compile(COMPLEX + r"|[0-9]{8}|@")


# The same question for SQL, sharper, on values as delivered (tests/test_pii_properties.py
# checks that it never misses): 16 digits joined by up to 3 separators; a phone number's
# start (+62, 62 or 0, then 1-9) and 7 more digits, joined; an "@"; an obfuscated "at" or
# "dot"; a character outside ASCII. Ticket numbers such as TNG2024000001 or
# SRG.2024.01.000001 do not match: one regex pass decides for almost every value.
_J = rf"{_SEP}{{0,3}}"   # what may join two digits of one number
MAYBE_SQL = "|".join([
    rf"[0-9](?:{_J}[0-9]){{15}}",
    rf"(?:^|[^0-9+])(?:\+{_J})?(?:6{_J}2|0){_J}[1-9](?:{_J}[0-9]){{7}}",
    "@", _OBFUSCATED, r"[^\x00-\x7f]",
])
# Whole values that cannot hold a finding however they are normalised, though they may
# match `MAYBE_SQL`: a decimal number with at most 8 digits before the point, a dotted
# region code, a date (and time) written year first or day first. Recognising them at once
# saves the normalisation (tests/test_pii_properties.py checks that they never hold one).
SAFE_SQL = (r"^(?:[-+]?[0-9]{1,8}(?:\.[0-9]+)?"
            r"|[0-9]{2}(?:\.[0-9]{2}){1,2}(?:\.[0-9]{4})?"
            r"|(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
            r"(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?)?"
            r"|(?:0[1-9]|[12][0-9]|3[01])[-/.](?:0[1-9]|1[0-2])[-/.](?:19|20)[0-9]{2}"
            r"(?: [0-9]{2}[:.][0-9]{2}(?:[:.][0-9]{2})?)?)$")


def _template(parts: tuple[int | str, ...], group: str) -> str:
    return "".join(group.format(p) if isinstance(p, int) else p for p in parts)


def fold(text: str) -> str:
    """Step 1 of `normalise` (same length as `text`)."""
    return text if text.isascii() else text.translate(FOLD)


def normalise(text: str) -> str:
    """`text` as the rules see it (see the module docstring)."""
    text = fold(text)
    if not _COMPLEX.search(text):
        return text
    for rx, parts in _STEPS:
        text = rx.sub(_template(parts, r"\g<{}>"), text)
    return text


def _normalise_mapped(text: str) -> tuple[str, list[int], list[int]]:
    """`normalise(text)` and, for each of its characters, the span of `text` it comes
    from (start, end): the same substitutions, tracked character by character."""
    s = fold(text)
    starts, ends = list(range(len(s))), list(range(1, len(s) + 1))
    if not _COMPLEX.search(s):
        return s, starts, ends
    for rx, parts in _STEPS:
        out: list[str] = []
        new_starts: list[int] = []
        new_ends: list[int] = []
        pos = 0
        for m in rx.finditer(s):
            out.append(s[pos:m.start()])
            new_starts += starts[pos:m.start()]
            new_ends += ends[pos:m.start()]
            whole = (starts[m.start()], ends[m.end() - 1])
            for part in parts:
                if isinstance(part, int):
                    a, b = m.span(part)
                    if a < 0:
                        continue
                    out.append(s[a:b])
                    new_starts += starts[a:b]
                    new_ends += ends[a:b]
                else:   # inserted text stands for the whole match
                    out.append(part)
                    new_starts += [whole[0]] * len(part)
                    new_ends += [whole[1]] * len(part)
            pos = m.end()
        if pos == 0:
            continue
        out.append(s[pos:])
        new_starts += starts[pos:]
        new_ends += ends[pos:]
        s, starts, ends = "".join(out), new_starts, new_ends
    return s, starts, ends


# --------------------------------------------------------------------------------------------
# Finding and masking in Python
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One finding in a text: its kind, its span in the text as given (formatting
    included) and its normalised value ("081234567890")."""

    kind: str      # nik | phone | email | digits
    start: int
    end: int
    value: str


def find(text: str, kinds: Iterable[str] = ("nik", "phone", "email")) -> list[Hit]:
    """Every NIK-like, phone-like and e-mail-like string in `text` (and runs of 8+ digits
    with kind "digits"), by position. Spans may overlap (an e-mail made of a NIK)."""
    if not text or not _QUICK.search(text):
        return []
    norm, starts, ends = _normalise_mapped(text)
    hits = []
    for kind in kinds:
        for m in _RX[kind].finditer(norm):
            a, b = m.span(2)
            hits.append(Hit(kind, starts[a], ends[b - 1], m.group(2)))
    return sorted(hits, key=lambda h: (h.start, -h.end))


def has_personal_data(text: str | None) -> bool:
    """Whether `text` holds a NIK-like, phone-like or e-mail-like string."""
    return bool(text) and bool(_ANY.search(normalise(text)))


def _is_digit(ch: str) -> bool:
    return "0" <= ch <= "9" or (not ch.isascii() and FOLD.get(ord(ch), "").isdigit())


def mask(kind: str, value: str) -> str:
    """Enough to find the value again, not enough to reuse it: a NIK keeps its first 4 and
    last 2 digits ("3671**********03"), a phone number too ("0812******34"), an e-mail
    address the first letter and the domain ("t***@gmail.com"); any other long number
    loses every digit. Separators of a formatted number stay where they are
    ("0812-****-**90")."""
    if kind == "email":
        local, _, domain = normalise(value).partition("@")
        return f"{local[:1]}***@{domain.replace(MARK, '.')}"
    head, tail = (4, 2) if kind in ("nik", "phone") else (0, 0)
    digits = [i for i, ch in enumerate(value) if _is_digit(ch)]
    hidden = set(digits[head:len(digits) - tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_JSON_NUMBER_CHARS = frozenset("0123456789+-.eE")


def _json_strings(text: str) -> list[tuple[int, int]] | None:
    """The spans of the string tokens of a JSON array or object, or None when `text` is
    not one."""
    if text.lstrip()[:1] not in ("[", "{"):
        return None
    try:
        json.loads(text)
    except ValueError:
        return None
    return [m.span() for m in _JSON_STRING.finditer(text)]


def _mask_group(text: str, group: list[Hit]) -> tuple[int, int, str, str]:
    """(start, end, replacement, kind) for overlapping hits: the widest one's mask,
    widened with every digit and letter hidden when the others reach past it."""
    widest = max(group, key=lambda h: h.end - h.start)
    start, end = min(h.start for h in group), max(h.end for h in group)
    masked = mask(widest.kind, widest.value if widest.kind == "email"
                  else text[widest.start:widest.end])
    if (start, end) != (widest.start, widest.end):
        masked = ("".join("*" if ch.isalnum() else ch for ch in text[start:widest.start])
                  + masked
                  + "".join("*" if ch.isalnum() else ch for ch in text[widest.end:end]))
    return start, end, masked, widest.kind


def _replacements(text: str, hits: list[Hit]) -> list[tuple[int, int, str, str]]:
    groups: list[list[Hit]] = []
    for hit in hits:   # sorted by start
        if groups and hit.start < max(h.end for h in groups[-1]):
            groups[-1].append(hit)
        else:
            groups.append([hit])
    return [_mask_group(text, g) for g in groups]


def _apply(text: str, replacements: list[tuple[int, int, str, str]]) -> str:
    out, pos = [], 0
    for start, end, masked, _ in replacements:
        out += [text[pos:start], masked]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def redact(text: str | None) -> str | None:
    """`text` with every NIK-like, phone-like and e-mail-like string masked (`mask`), over
    its whole formatted span; None and "" are returned as they are.

    Nothing else changes: the characters around each mask stay the same and in the same
    order (NIK and phone masks even keep the length). A mask never holds a quote, a
    backslash or a comma, so a JSON text stays valid JSON; in a JSON array or object, a
    number that is an identifier becomes a JSON string holding its masked digits."""
    if not text:
        return text
    hits = find(text)
    if not hits:
        return text
    replacements = _replacements(text, hits)
    strings = _json_strings(text)
    if strings is not None:
        bare = []
        for start, end, masked, kind in replacements:
            if not any(a <= start < b for a, b in strings):
                # A JSON number: its whole token (sign, fraction, exponent) becomes a string.
                while start > 0 and text[start - 1] in _JSON_NUMBER_CHARS:
                    start -= 1
                while end < len(text) and text[end] in _JSON_NUMBER_CHARS:
                    end += 1
                masked = json.dumps(mask(kind, text[start:end]))
            bare.append((start, end, masked, kind))
        replacements = bare
    return _apply(text, replacements)


# --------------------------------------------------------------------------------------------
# Public quality output
# --------------------------------------------------------------------------------------------

# Keys of a query rule's row that say where, not what.
POSITION_KEYS = frozenset({"_row_number", "row_number", "row", "baris", "index"})
_MIN_NAME = 3   # shorter "names" (initials) would mask ordinary words


@functools.lru_cache(maxsize=16)
def _names_regex(names: frozenset[str]) -> re.Pattern[str] | None:
    words = sorted({" ".join(str(n).split()) for n in names if n is not None}, key=len,
                   reverse=True)
    words = [w for w in words if sum(ch.isalpha() for ch in w) >= _MIN_NAME]
    if not words:
        return None
    alternatives = "|".join(r"\s+".join(re.escape(p) for p in w.split()) for w in words)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _mask_text(text: str, names: frozenset[str]) -> str:
    hits = find(text, ("nik", "phone", "email", "digits"))
    if hits:
        # A run of 16 digits is also a run of 8+: the more readable NIK / phone mask wins.
        specific = {(h.start, h.end) for h in hits if h.kind != "digits"}
        hits = [h for h in hits if h.kind != "digits" or (h.start, h.end) not in specific]
        text = _apply(text, _replacements(text, hits))
    rx = _names_regex(names) if names else None
    return rx.sub(MASK, text) if rx else text


def mask_sample(value: Any, *, names: Iterable[str] = ()) -> Any:
    """A sampled value (a failing value shown in a quality report) safe to publish: any
    run of 8 or more digits (after normalisation, whatever it is), phone-like and
    e-mail-like strings masked, and every name in `names` (e.g. the distinct values of the
    batch's personal-data name column) replaced by "***", case and spacing ignored.
    Strings inside lists and dicts too; numbers that would show a long digit run become
    their masked text; other values are returned as they are."""
    names = names if isinstance(names, frozenset) else frozenset(names)
    if isinstance(value, str):
        return _mask_text(value, names)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return {k: mask_sample(v, names=names) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_sample(v, names=names) for v in value]
    if isinstance(value, int):
        text = str(value)
        masked = _mask_text(text, frozenset())
        return value if masked == text else masked
    if isinstance(value, float):
        if not math.isfinite(value):
            return value
        texts = [repr(value)] + ([str(int(value))] if value.is_integer() else [])
        for text in texts:
            masked = _mask_text(text, frozenset())
            if masked != text:
                return masked
        return value
    return _mask_text(str(value), names)


def public_examples(examples: list, *, dataset_has_personal: bool,
                    names: Iterable[str] = frozenset()) -> list:
    """The failing examples of a quality result as they may be published (quality.json,
    Data Docs).

    - `dataset_has_personal` (the dataset has any `personal_data: true` column): no value
      at all, only positions: a row (dict) keeps its row-number keys (`POSITION_KEYS`),
      anything else is dropped. A name, NIK or phone number pasted into an ordinary
      column cannot be told from a category reliably, so nothing of such a batch is shown.
    - otherwise every example goes through `mask_sample(example, names=names)`.
    """
    if dataset_has_personal:
        out = []
        for example in examples or []:
            if isinstance(example, dict):
                kept = {k: v for k, v in example.items()
                        if k in POSITION_KEYS and isinstance(v, int)
                        and not isinstance(v, bool)}
                if kept:
                    out.append(kept)
        return out
    names = frozenset(names)
    return [mask_sample(e, names=names) for e in examples or []]


# --------------------------------------------------------------------------------------------
# SQL (DuckDB)
# --------------------------------------------------------------------------------------------


def sql_normalise(expr: str) -> str:
    """SQL: `normalise` of the text `expr` (same steps, same regular expressions)."""
    x = (f"(case when regexp_matches({expr}, '[^\\x00-\\x7f]') then translate({expr}, "
         f"{quote_literal(FOLD_FROM)}, {quote_literal(FOLD_TO)}) else {expr} end)")
    for pattern, parts in STEPS:
        x = (f"regexp_replace({x}, {quote_literal(pattern)}, "
             f"{quote_literal(_template(parts, chr(92) + '{}'))}, 'g')")
    return x


def sql_candidate(expr: str) -> str:
    """SQL: the normal form of the text `expr` when it may hold a finding, else NULL.
    Most values take one regular-expression pass (`MAYBE_SQL`); only values with
    separators between many digits, obfuscations or non-ASCII characters that are not
    plainly safe (`SAFE_SQL`) are normalised."""
    return (f"(case when not regexp_matches({expr}, {quote_literal(MAYBE_SQL)}) then null "
            f"when not regexp_matches({expr}, {quote_literal(COMPLEX)}) then {expr} "
            f"when regexp_matches({expr}, {quote_literal(SAFE_SQL)}) then null "
            f"else {sql_normalise(expr)} end)")


def sql_maybe_hit(exprs: list[str]) -> str:
    """SQL: true when `sql_hit` is or may be true for one of the texts `exprs`, at a
    fraction of its cost: no normalisation, one regular-expression pass (`MAYBE_SQL`)
    over the texts joined by newlines (which no rule crosses) for almost every row, and
    for the few rows it matches a second one without the lines that are plainly safe
    (`SAFE_SQL`: a decimal number, a region code, a date). Three regexes to compile. For
    a per-row flag whose rows are then checked exactly: the ingest gate's fast path falls
    back to its thorough path, which uses `sql_hit` and names the rows."""
    if not exprs:
        return "false"
    maybe = quote_literal(MAYBE_SQL)
    joined = f"concat_ws(chr(10), {', '.join(exprs)})"
    unsafe = f"regexp_replace({joined}, {quote_literal('(?m)' + SAFE_SQL)}, '', 'g')"
    return (f"(case when regexp_matches({joined}, {maybe}) "
            f"then regexp_matches({unsafe}, {maybe}) else false end)")


def sql_hit(expr: str) -> str:
    """SQL: the text `expr` holds a NIK-like, phone-like or e-mail-like string (`find`
    finds one); false or NULL otherwise."""
    return f"regexp_matches({sql_candidate(expr)}, {quote_literal(ANY_PATTERN)})"


# --------------------------------------------------------------------------------------------
# Scanning published files
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    file: str
    column: str
    kind: str        # nik | phone | email
    count: int
    example: str     # masked

    def describe(self) -> str:
        return (f"{self.file}, column '{self.column}': {self.count} value(s) look like "
                f"{LABELS[self.kind]}, e.g. '{self.example}'")


def column_kind(duck_type: str) -> str | None:
    """text | integer | float | None (not scanned: booleans, dates, times, blobs)."""
    t = duck_type.upper()
    if t in _INTEGER_TYPES or (t.startswith("DECIMAL") and t.replace(" ", "").endswith(",0)")):
        return "integer"
    if t in _FLOAT_TYPES or t.startswith("DECIMAL"):
        return "float"
    if t.startswith(_SKIPPED):
        return None
    return "text"


def _masked_example(kind: str, column_kind_: str, value: str) -> str:
    """The masked finding of `kind` in one value (the value as stored, formatted)."""
    if column_kind_ != "text":
        m = _NIK_SHAPED.search(value)
        return mask(kind, m.group(2)) if m else MASK
    hits = [h for h in find(value) if h.kind == kind]
    if not hits:
        return MASK
    h = hits[0]
    return mask(kind, h.value if kind == "email" else value[h.start:h.end])


def _value_sql(column: str, kind: str) -> str:
    col = quote_ident(column)
    if kind == "float":   # a NIK kept as a number (e.g. typed into a spreadsheet)
        return (f"case when {col} = trunc({col}) and abs({col}) >= 1e15 and abs({col}) < 1e16 "
                f"then cast(cast({col} as hugeint) as varchar) end")
    return f"cast({col} as varchar)"


def scan_relation(con: duckdb.DuckDBPyConnection, relation_sql: str, kinds: dict[str, str],
                  file: str) -> list[Finding]:
    """Scan `relation_sql` (e.g. `read_parquet('x.parquet')`) in one pass.

    `kinds` maps each column to scan to text | integer | float (see `column_kind`). A text
    value is normalised only when it may hold a finding (`sql_candidate`), and matched
    rule by rule only when one regex of all rules (`ANY_PATTERN`) found something."""
    values, norms, hits, aggs, slots = [], [], [], [], []
    for i, (column, kind) in enumerate(kinds.items()):
        if kind not in KIND_PATTERNS:
            continue
        values.append(f"{_value_sql(column, kind)} as v{i}")
        if kind == "text":
            norms.append(f"v{i}, {sql_candidate(f'v{i}')} as n{i}")
            hits.append(f"v{i}, case when regexp_matches(n{i}, "
                        f"{quote_literal(ANY_PATTERN)}) then n{i} end as h{i}")
            rules = {name: PATTERNS[name] for name in KIND_PATTERNS[kind]}
        else:
            norms.append(f"v{i}, v{i} as n{i}")
            hits.append(f"v{i}, n{i} as h{i}")
            rules = {"nik": NIK_SHAPED}
        for name, pattern in rules.items():
            hit = f"regexp_matches(h{i}, {quote_literal(pattern)})"
            aggs += [f"count(*) filter (where {hit})", f"min(v{i}) filter (where {hit})"]
            slots.append((column, kind, name))
    if not aggs:
        return []
    sql = (f"select {', '.join(aggs)} from (select {', '.join(hits)} from "
           f"(select {', '.join(norms)} from (select {', '.join(values)} from "
           f"{relation_sql})))")
    row = con.execute(sql).fetchone()
    findings = []
    for i, (column, kind, name) in enumerate(slots):
        count, example = row[2 * i], row[2 * i + 1]
        if count:
            findings.append(Finding(file, column, name, count,
                                    _masked_example(name, kind, example)))
    return findings


def parquet_kinds(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    described = con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
    return {name: kind for name, typ, *_ in described if (kind := column_kind(typ))}


def scan_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> list[Finding]:
    return scan_relation(con, f"read_parquet({quote_literal(str(path))})",
                         parquet_kinds(con, path), path.name)


def scan_csv(con: duckdb.DuckDBPyConnection, path: Path, types: dict[str, str]) -> list[Finding]:
    """A published CSV, read as text (so nothing is re-typed away) and checked with the
    kind of each column's published type."""
    kinds = {c: k for c, t in types.items() if (k := column_kind(t))}
    cols = ", ".join(
        f'try_cast("{c}" as double) as "{c}"' if k == "float" else f'"{c}"'
        for c, k in kinds.items()
    )
    if not cols:
        return []
    rel = (f"(select {cols} from read_csv({quote_literal(str(path))}, header = true, "
           "all_varchar = true))")
    return scan_relation(con, rel, kinds, path.name)


def scan_json(con: duckdb.DuckDBPyConnection, path: Path, types: dict[str, str]
              ) -> list[Finding]:
    """A published JSON array of records, read with the published column types."""
    kinds = {c: k for c, t in types.items() if (k := column_kind(t))}
    if not kinds:
        return []
    columns = "{" + ", ".join(f"{quote_literal(c)}: {quote_literal(t)}"
                              for c, t in types.items()) + "}"
    rel = (f"read_json({quote_literal(str(path))}, format = 'array', "
           f"columns = {columns})")
    return scan_relation(con, rel, kinds, path.name)


class ValueScanner:
    """Scans values in batches in Python (for files DuckDB cannot read, i.e. XLSX, and for
    rendered pages): the same rules as `scan_relation`. A batch is normalised and matched
    as one text (values joined by blank lines, which no rule crosses); only a batch with
    a finding is looked at value by value, for counts and an example."""

    _JOIN = "\n\n\n"   # longer than any context a normalisation step consumes

    def __init__(self, file: str, kinds: dict[str, str]):
        self.file = file
        self.kinds = kinds
        self._hits: dict[tuple[str, str], list] = {}

    def add(self, column: str, values: Iterable[object]) -> None:
        kind = self.kinds.get(column)
        if kind not in KIND_PATTERNS:
            return
        texts = []
        for v in values:
            if v is None or isinstance(v, bool):
                continue
            if isinstance(v, float):
                if not (v.is_integer() and 1e15 <= abs(v) < 1e16):
                    continue
                v = int(v)
            texts.append(str(v))
        if not texts:
            return
        blob = self._JOIN.join(texts)
        if kind != "text":
            for m in _NIK_SHAPED.finditer(blob):
                self._record(column, "nik", mask("nik", m.group(2)))
            return
        if not _QUICK.search(blob):
            return
        if not _ANY.search(normalise(blob)):
            return
        for text in texts:
            for hit in find(text):
                self._record(column, hit.kind, mask(hit.kind, hit.value if hit.kind == "email"
                                                    else text[hit.start:hit.end]))

    def _record(self, column: str, kind: str, example: str) -> None:
        hit = self._hits.setdefault((column, kind), [0, None])
        hit[0] += 1
        hit[1] = example if hit[1] is None else min(hit[1], example)

    def findings(self) -> list[Finding]:
        return [Finding(self.file, column, name, count, example)
                for (column, name), (count, example) in self._hits.items()]


def scan_xlsx(path: Path, kinds: dict[str, str], *, batch_rows: int = 50_000) -> list[Finding]:
    """Every data sheet of a published workbook (header in row 1), read back with openpyxl.
    The publisher scans values while writing; this is for audits and tests."""
    import openpyxl

    scanner = ValueScanner(path.name, kinds)
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for ws in wb.worksheets:
            if not ws.title.startswith("data"):
                continue
            rows = ws.iter_rows(values_only=True)
            header = next(rows, None) or ()
            batch: list[tuple] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= batch_rows:
                    _feed(scanner, header, batch)
                    batch = []
            _feed(scanner, header, batch)
    finally:
        wb.close()
    return scanner.findings()


def _feed(scanner: ValueScanner, header: tuple, rows: list[tuple]) -> None:
    for i, column in enumerate(header):
        scanner.add(str(column), (r[i] if i < len(r) else None for r in rows))
