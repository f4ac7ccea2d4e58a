"""UI strings of the public catalogue, in Bahasa Indonesia (default) and English, and
number formatting for each language.

Every user-visible string of the app goes through :func:`t`; the texts are data, one
file per language (``app/locales/id.toml``, ``app/locales/en.toml``), so a translator
edits them without touching code. The current language is
per browser session: it lives in ``st.session_state["lang"]`` (the language switch
widget's key, bound to the ``lang`` query parameter), never in a module global,
because one Streamlit process serves many sessions at once.

Numbers are written the way readers of each language expect: Indonesian
``12.881.374`` and ``2,5``; English ``12,881,374`` and ``2.5`` (:func:`fmt_num`).
"""

from __future__ import annotations

import math
import numbers
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LANGS: tuple[str, ...] = ("id", "en")
DEFAULT_LANG = "id"
LANG_KEY = "lang"  # session_state key and query parameter name
LANG_LABELS = {"id": "Indonesia", "en": "English"}

LOCALES = Path(__file__).resolve().with_name("locales")


def load_strings(folder: Path = LOCALES) -> dict[str, dict[str, str]]:
    """``{key: {lang: text}}`` from one TOML file per language (``locales/<lang>.toml``).
    A key missing in one language raises, naming it: a translation is never silently
    absent."""
    by_lang = {lang: tomllib.loads((folder / f"{lang}.toml").read_text(encoding="utf-8"))
               for lang in LANGS}
    keys = list(by_lang[DEFAULT_LANG])
    for lang, texts in by_lang.items():
        missing = sorted(set(keys) ^ set(texts))
        if missing:
            raise ValueError(f"locales/{lang}.toml: keys not in both languages: {missing}")
    return {key: {lang: by_lang[lang][key] for lang in LANGS} for key in keys}


STRINGS: dict[str, dict[str, str]] = load_strings()


def normalize_lang(value: object) -> str:
    """Return a supported language code for ``value`` (default: Indonesian)."""
    if isinstance(value, str) and value.strip().lower() in LANGS:
        return value.strip().lower()
    return DEFAULT_LANG


def current_lang() -> str:
    """The language of the current browser session."""
    import streamlit as st  # local import keeps this module importable without a session

    try:
        return normalize_lang(st.session_state.get(LANG_KEY))
    except Exception:  # no script run context (plain import, unit tests)
        return DEFAULT_LANG


def t(key: str, lang: str | None = None, **fmt: Any) -> str:
    """Translate ``key`` into ``lang`` (default: the session's language).

    Keyword arguments are substituted with ``str.format``. An unknown key raises
    ``KeyError`` so that typos fail loudly in tests.
    """
    entry = STRINGS[key]
    text = entry[normalize_lang(lang) if lang is not None else current_lang()]
    return text.format(**fmt) if fmt else text


def has(key: str) -> bool:
    """Whether ``key`` has a translation."""
    return key in STRINGS


def pick(value: object, lang: str | None = None) -> str:
    """Pick the ``lang`` text of a catalogue field such as ``{"id": ..., "en": ...}``.

    Falls back to the other language, then to the value itself when it is a plain
    string; ``None`` gives an empty string.
    """
    lang = normalize_lang(lang) if lang is not None else current_lang()
    if value is None:
        return ""
    if isinstance(value, Mapping):
        for code in (lang, *LANGS):
            text = value.get(code)
            if isinstance(text, str) and text.strip():
                return text
        return ""
    return str(value)


# --- catalogue vocabularies -----------------------------------------------------------


def theme_label(theme: str | None, lang: str | None = None) -> str:
    if not theme:
        return ""
    key = f"theme_{theme}"
    return t(key, lang) if has(key) else theme


def frequency_label(code: str | None, lang: str | None = None, with_code: bool = True) -> str:
    if not code:
        return "—"
    key = f"freq_{code}"
    if not has(key):
        return code
    return f"{t(key, lang)} ({code})" if with_code else t(key, lang)


def column_label(ds: Mapping[str, Any], name: str, lang: str | None = None) -> str:
    """A short label for a column: a known name (Periode, Kategori...), else its
    dictionary description up to the first ``;`` or ``.``, with its unit."""
    key = f"colname_{name}"
    if has(key):
        return t(key, lang)
    for col in ds.get("columns") or []:
        if col.get("name") == name:
            text = pick(col.get("description"), lang).split(";")[0].strip().rstrip(".")
            if not text:
                return name
            unit = col.get("unit")
            if unit and not re.search(rf"(?<!\w){re.escape(unit)}(?!\w)", text, re.IGNORECASE):
                text = f"{text} ({unit})"
            return text
    return name


# --- numbers --------------------------------------------------------------------------


def fmt_num(value: Any, decimals: int | None = None, lang: str | None = None,
            strip: bool = True) -> str:
    """``12881374`` -> ``12.881.374`` (id) / ``12,881,374`` (en); ``2.5`` -> ``2,5`` /
    ``2.5``. Integers get no decimals; other numbers ``decimals`` (default 2) with
    trailing zeros dropped (kept with ``strip=False``). ``None``/NaN -> ``—``."""
    if value is None or isinstance(value, bool):
        return "—" if value is None else str(value)
    if not isinstance(value, numbers.Number):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return "—" if str(value) in ("<NA>", "NaT", "nan", "None") else str(value)
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        return "—"
    if isinstance(value, numbers.Integral) and decimals is None:
        text = f"{int(value):,}"
    else:
        places = 2 if decimals is None else max(int(decimals), 0)
        text = f"{number:,.{places}f}"
        if strip and "." in text:
            text = text.rstrip("0").rstrip(".")
        if text in ("-0", "-0.0"):
            text = "0"
    lang = normalize_lang(lang) if lang is not None else current_lang()
    if lang == "id":
        text = text.translate(str.maketrans({",": ".", ".": ","}))
    return text


def style_numbers(frame: Any, decimals: Mapping[str, int] | None = None,
                  lang: str | None = None, plain: tuple[str, ...] = ("tahun", "year"),
                  suffix: Mapping[str, str] | None = None) -> Any:
    """A pandas Styler writing the frame's numbers the language's way (only the display
    changes: the grid still sorts by value). ``decimals`` fixes the decimals of some
    columns (zeros kept); other floats get up to 6, integers none. Codes (``kode_*``)
    and years stay as they are."""
    import pandas as pd

    lang = normalize_lang(lang) if lang is not None else current_lang()
    decimals = decimals or {}
    suffix = suffix or {}
    formats: dict[Any, Any] = {}
    for col in frame.columns:
        name = str(col)
        if name in plain or name.startswith("kode_"):
            continue
        dtype = frame[col].dtype
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            continue
        end = suffix.get(name, "")
        if name in decimals:
            places = decimals[name]
            formats[col] = lambda v, p=places, e=end: (
                fmt_num(v, p, lang, strip=False) + e if v == v and v is not None else "—")
        elif pd.api.types.is_integer_dtype(dtype):
            formats[col] = lambda v, e=end: fmt_num(v, None, lang) + e
        else:
            formats[col] = lambda v, e=end: (
                fmt_num(v, 6, lang) + e if v == v and v is not None else "—")
    if not formats:
        return frame
    return frame.style.format(formats, na_rep="—")


def fmt_bytes(size: Any, lang: str | None = None) -> str:
    """``1536`` -> ``1,5 KB`` (id) / ``1.5 KB`` (en); unknown -> empty string."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            if unit == "B":
                return f"{int(value)} B"
            return f"{fmt_num(value, 1, lang)} {unit}"
        value /= 1024
    return ""


def fmt_duration(seconds: Any, lang: str | None = None) -> str:
    """``85`` -> ``1 mnt 25 dtk`` / ``1 min 25 s``."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds != seconds:
        return "—"
    total = round(float(seconds))
    if total < 60:
        if float(seconds) < 10:
            return t("dur_s", lang, s=fmt_num(float(seconds), 1, lang))
        return t("dur_s", lang, s=total)
    if total < 3600:
        return t("dur_ms", lang, m=total // 60, s=total % 60)
    return t("dur_hm", lang, h=total // 3600, m=(total % 3600) // 60)
