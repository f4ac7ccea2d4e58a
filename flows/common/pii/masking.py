"""Finding and masking personal data in Python: `find` (every hit with its span in the
text as given), `has_personal_data`, `mask` (one finding) and `redact` (a whole text,
JSON kept valid)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from flows.common.pii.normalise import _normalise_mapped, normalise
from flows.common.pii.rules import _ANY, _QUICK, _RX, FOLD, MARK


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
