"""Normalisation: a text as the rules see it (`normalise`; `sql_normalise` in
flows/common/pii/sql.py is the same in SQL), and where each normalised character comes from.

Real exports write identifiers in many ways, so values are normalised before they are
matched:

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

The steps themselves are `STEPS` in flows/common/pii/rules.py.
"""

from __future__ import annotations

from flows.common.pii.rules import _COMPLEX, _STEPS, FOLD, _template


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
