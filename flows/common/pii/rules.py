"""The rules of personal data as regular expressions: what a NIK, a phone number and an
e-mail address look like, and the normalisation steps applied before matching.

**Rules** (on the normalised text, see `flows/common/pii/normalise.py`; each digit rule
needs a whole run of digits):

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

import re
import unicodedata

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
