"""Public quality output (quality.json, Data Docs): sampled failing values masked
(`mask_sample`, names included) and failing examples as they may be published
(`public_examples`)."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from typing import Any

from flows.common.pii.masking import _apply, _replacements, find
from flows.common.pii.rules import MASK

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
