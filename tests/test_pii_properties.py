"""Properties of flows/common/pii.py (hypothesis): masking keeps everything around the masks,
JSON stays JSON, formatted NIKs are always found, and the SQL side (DuckDB's RE2) finds
exactly what the Python side finds.

The default run uses the "fast" profile of tests/conftest.py (HYPOTHESIS_PROFILE); the
test marked `reliability` repeats the SQL/Python agreement with 1000 examples."""

from __future__ import annotations

import json

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.common import pii
from flows.common.pii import masking
from flows.common.sql import quote_literal

SEPARATORS = " .-/()[]"
DIGITS = "0123456789"
# Characters that stress the rules: digits in three scripts, every separator, the mark,
# letters, e-mail characters, quotes and backslashes, newlines and tabs.
ALPHABET = (DIGITS * 3 + "０１２３４５６７８９" + "٠١٢٣" + SEPARATORS * 2 + "+@,:;'\"\\\n\t"
            + "abtdoATDO_%" + pii.MARK + "é ")
FILLER = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ABCDEFG,;:!?'\"", max_size=12)


@st.composite
def identifiers(draw) -> str:
    """A NIK, phone number or e-mail address, in one of the ways exports write them."""
    kind = draw(st.sampled_from(["nik", "phone", "email"]))
    if kind == "email":
        local = draw(st.text(alphabet="abcdefghij._", min_size=1, max_size=8)
                     .filter(lambda s: s[0].isalpha()))
        domain = draw(st.sampled_from(["gmail.com", "example.go.id", "mail.co"]))
        at = draw(st.sampled_from(["@", "(at)", " [at] "]))
        return local + at + domain
    if kind == "nik":
        digits = draw(st.text(alphabet=DIGITS, min_size=16, max_size=16))
    else:
        prefix = draw(st.sampled_from(["0", "62", "+62"]))
        digits = prefix + draw(st.sampled_from("123456789")) + draw(
            st.text(alphabet=DIGITS, min_size=8, max_size=10))
    return draw(formatted(digits))


@st.composite
def formatted(draw, digits: str) -> str:
    """`digits` in groups of 3 or more joined by one separator (1-3 characters) used
    throughout, or as one run. Groups of 2 would read as dates or region codes, and one
    lone dot as a decimal point: those are meant to stay apart."""
    sep = draw(st.text(alphabet=SEPARATORS, min_size=1, max_size=3))
    cuts = draw(st.lists(st.integers(3, len(digits) - 3), max_size=4, unique=True))
    cuts = sorted(c for c in cuts if c > 0)
    groups, start = [], 0
    for c in cuts:
        if c - start >= 3 and len(digits) - c >= 3:
            groups.append(digits[start:c])
            start = c
    groups.append(digits[start:])
    if len(groups) == 2 and sep == ".":
        sep = ". "
    if draw(st.booleans()):   # full-width digits
        groups = ["".join(chr(ord(d) + 0xFEE0) if d.isdigit() else d for d in g)
                  for g in groups]
    return sep.join(groups)


def _sql_kinds(values: list[str]) -> list[set[str]]:
    """The kinds DuckDB finds in each value: `sql_candidate` then each rule's regex."""
    con = duckdb.connect()
    con.execute("create table v (i integer, x varchar)")
    con.executemany("insert into v values (?, ?)", list(enumerate(values)))
    rules = ", ".join(f"regexp_matches(n, {quote_literal(p)})"
                      for p in pii.PATTERNS.values())
    rows = con.execute(
        f"select i, {rules}, {pii.sql_hit('x')}, {pii.sql_maybe_hit(['x'])}, "
        f"{pii.sql_normalise('x')} from (select i, x, {pii.sql_candidate('x')} as n from v) "
        "order by i").fetchall()
    out = []
    for i, *hits, hit, maybe, normal in rows:
        found = {k for k, h in zip(pii.PATTERNS, hits, strict=True) if h}
        assert bool(hit) == bool(found), values[i]
        assert maybe or not found, values[i]          # the cheap flag never misses
        assert normal == pii.normalise(values[i]), values[i]
        out.append(found)
    return out


def _check_agreement(values: list[str]) -> None:
    sql = _sql_kinds(values)
    for value, kinds in zip(values, sql, strict=True):
        assert {h.kind for h in pii.find(value)} == kinds, value
    scanner = pii.ValueScanner("f", {"c": "text"})
    scanner.add("c", values)
    assert {f.kind for f in scanner.findings()} == set().union(*sql), values


values = st.lists(st.one_of(st.text(alphabet=ALPHABET, max_size=40),
                            st.builds(lambda a, i, b: a + i + b, FILLER, identifiers(),
                                      FILLER)),
                  min_size=1, max_size=25)


@given(values)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_sql_and_python_find_the_same(values: list[str]) -> None:
    _check_agreement(values)


@pytest.mark.reliability
@given(values)
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_sql_and_python_find_the_same_many_times(values: list[str]) -> None:
    _check_agreement(values)


@given(st.lists(st.tuples(FILLER, identifiers()), min_size=1, max_size=5), FILLER)
def test_masking_keeps_everything_around_the_masks(parts: list[tuple[str, str]],
                                                   tail: str) -> None:
    """Filler text and identifiers, separated by " | ": the redacted text is the same
    filler with each identifier replaced by its own mask, nothing dropped or moved."""
    text = " | ".join(f + " " + i + " " for f, i in parts) + tail
    expected = " | ".join(f + " " + pii.mask(_kind(i), i) + " " for f, i in parts) + tail
    assert pii.redact(text) == expected


def _kind(identifier: str) -> str:
    (hit,) = {h.kind for h in pii.find(identifier)} - {"digits"}
    return hit


@given(st.text(alphabet=ALPHABET, max_size=80))
def test_masks_change_only_the_findings(text: str) -> None:
    """Whatever the text: outside the findings' spans nothing changes; NIK and phone
    masks keep the length and only turn digits into '*'; a mask holds no quote,
    backslash or comma; masking twice changes nothing more."""
    masked = pii.redact(text)
    hits = pii.find(text)
    pos = out = 0
    for start, end, mask, _ in masking._replacements(text, hits):
        assert masked[out:out + start - pos] == text[pos:start]
        out += start - pos
        assert masked[out:out + len(mask)] == mask
        assert not set(mask) & set("\"\\,")
        out += len(mask)
        pos = end
    assert masked[out:] == text[pos:]
    if not any(h.kind == "email" for h in hits):
        assert len(masked) == len(text)
        assert all(a == b or (b == "*" and masking._is_digit(a)) for a, b in zip(text, masked,
                                                                                 strict=True))
    assert pii.redact(masked) == masked


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(alphabet=ALPHABET, max_size=20), identifiers(),
              st.integers(10**15, 10**16 - 1), st.integers(6281000000, 6289999999999)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=5), children, max_size=4)),
    max_leaves=12)


@given(st.one_of(st.lists(json_values, max_size=5),
                 st.dictionaries(st.text(max_size=5), json_values, max_size=5)),
       st.booleans())
def test_redacted_json_stays_json(value, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    masked = pii.redact(text)
    json.loads(masked)
    assert not [h for h in pii.find(masked) if h.kind in ("nik", "phone")]


@given(st.text(alphabet=DIGITS, min_size=16, max_size=16).flatmap(formatted),
       FILLER, FILLER)
def test_every_formatted_16_digit_run_is_found(nik: str, before: str, after: str) -> None:
    text = f"{before} {nik} {after}"
    assert "nik" in {h.kind for h in pii.find(text)}
    assert _sql_kinds([text]) == [{h.kind for h in pii.find(text)}]
    masked = pii.redact(text)
    assert masked.startswith(f"{before} ") and masked.endswith(f" {after}")


safe_values = st.one_of(
    st.from_regex(r"\A[-+]?[0-9]{1,8}\.[0-9]{1,20}\Z"),
    st.from_regex(r"\A[0-9]{2}\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?\Z"),
    st.from_regex(r"\A(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                  r"([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?\Z"),
    st.from_regex(r"\A(0[1-9]|[12][0-9]|3[01])[-/.](0[1-9]|1[0-2])[-/.](19|20)[0-9]{2}"
                  r"( [0-9]{2}[:.][0-9]{2}([:.][0-9]{2})?)?\Z"))


@given(safe_values)
def test_values_the_sql_calls_safe_hold_nothing(value: str) -> None:
    """`SAFE_SQL` lets SQL skip normalising a value: it must never hold a finding."""
    assert pii.find(value) == []
