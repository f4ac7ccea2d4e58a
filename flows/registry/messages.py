"""Pydantic's validation errors as registry problems: one line each, naming the entry
(`feed 'kab-lebak.penduduk'`, `dataset 'aduan'`, `column 'nik' of dataset 'aduan'`) and
the field, with a hint (a did-you-mean for an unknown key, the values allowed...)."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Annotated, Any, Union

from pydantic import BaseModel

from flows.registry.models import RegistryFile


def _unwrap(annotation: Any) -> Any:
    """The type inside Annotated[...] and `X | None`."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation


def _type_at(loc: tuple) -> Any:
    """The type that validates the value at `loc` (a pydantic error location) of a
    registry file, or None."""
    current: Any = RegistryFile
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            found = [f for name, f in current.model_fields.items() if (f.alias or name) == part]
            if not found:
                return None
            current = found[0].annotation
        elif typing.get_origin(current) in (dict, list):
            current = typing.get_args(current)[-1]
        else:
            return None
    return _unwrap(current)


def _keys_of(model: Any) -> list[str]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _dotted(loc: tuple, rest: tuple) -> str:
    """`rest`, the end of `loc`, as `options.skip_lines` or `options.header_rows[0]`."""
    text, start = "", len(loc) - len(rest)
    for i, part in enumerate(rest):
        in_list = typing.get_origin(_type_at(loc[: start + i])) is list
        text += f"[{part}]" if in_list else f".{part}"
    return text.lstrip(".")


def _field(loc: tuple, rest: tuple) -> str:
    """`field 'format'` for a key of the entry, `options.skip_lines` for a nested one."""
    return f"field '{rest[0]}'" if len(rest) == 1 else _dotted(loc, rest)


def _feed_name(raw: Any, index: int) -> str:
    """A feed's id, or its place in its file ("#3") when it has none."""
    feed_id = raw.get("id") if isinstance(raw, dict) else None
    return str(feed_id) if feed_id not in (None, "") else f"#{index + 1}"


def _entry(loc: tuple, doc: dict) -> tuple[str | None, tuple]:
    """The entry an error location concerns (`feed 'x'`, `dataset 'y'`, `column 'z' of
    dataset 'y'`, None for the top level) and the field path within it."""
    if len(loc) >= 2 and loc[0] == "feeds" and isinstance(loc[1], int):
        return f"feed '{_feed_name(doc['feeds'][loc[1]], loc[1])}'", loc[2:]
    if len(loc) >= 2 and loc[0] == "datasets" and loc[1] != "[key]":
        if len(loc) >= 4 and loc[2] == "columns" and loc[3] != "[key]":
            return f"column '{loc[3]}' of dataset '{loc[1]}'", loc[4:]
        return f"dataset '{loc[1]}'", loc[2:]
    return None, loc


HINTS = {
    "int_type": "write a whole number", "int_parsing": "write a whole number",
    "int_from_float": "write a whole number", "float_type": "write a number",
    "float_parsing": "write a number", "bool_type": "write true or false",
    "bool_parsing": "write true or false", "string_type": "write text",
    "dict_type": "write a mapping (key: value)", "model_type": "write a mapping (key: value)",
    "model_attributes_type": "write a mapping (key: value)",
    "list_type": "write a list, e.g. [a, b]",
}
PATTERN_HINTS = {
    "regency": "write the Kemendagri code of a Banten regency/city with a dot, e.g. "
               "\"36.71\", or the province code \"36\" for a province-wide feed",
}


def _message(err: dict, doc: dict) -> str:
    """One pydantic error as a registry problem (without the file name)."""
    loc, kind, value = tuple(err["loc"]), err["type"], err.get("input")
    ctx = err.get("ctx") or {}
    if "[key]" in loc:   # a mapping's key, not its value, is wrong
        at = loc[: loc.index("[key]") - 1]   # the mapping
        where, rest = _entry(at, doc)
        text = f"{_dotted(at, rest) + ': ' if rest else ''}key {_show(value)}: " \
               f"{HINTS.get(kind, err['msg'])}"
        return f"{where}: {text}" if where else text
    where, rest = _entry(loc, doc)
    prefix = f"{where}: " if where else ""
    inner = f"{_dotted(loc[:-1], rest[:-1])}: " if len(rest) > 1 else ""
    if kind == "extra_forbidden":
        key = str(rest[-1])
        valid = _keys_of(_type_at(loc[:-1]))
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(valid)}"
        return f"{prefix}{inner}unknown key '{key}'; {hint}"
    if kind == "missing" or (kind == "string_too_short" and value == ""):
        return f"{prefix}{inner}missing required field '{rest[-1]}'"
    if not rest:   # the entry as a whole
        detail = str(ctx["error"]) if kind == "value_error" else HINTS.get(kind, err["msg"])
        return f"{prefix}{detail}"
    name = _field(loc, rest)
    if kind == "value_error":
        return f"{prefix}{name}: {ctx['error']}"
    if kind == "literal_error":
        allowed = typing.get_args(_type_at(loc)) or (ctx.get("expected"),)
        return f"{prefix}{name} is {_show(value)}; use one of {sorted(allowed)}"
    if kind == "greater_than_equal":
        whole = _type_at(loc) is int
        return f"{prefix}{name} is {_show(value)}; write a {'whole ' if whole else ''}" \
               f"number >= {ctx['ge']:g}"
    if kind == "string_pattern_mismatch":
        hint = PATTERN_HINTS.get(str(rest[-1]), f"it must match {ctx.get('pattern')}")
        return f"{prefix}{name} is {_show(value)}; {hint}"
    if kind == "too_short":
        return f"{prefix}{name} is {_show(value)}; write at least {ctx.get('min_length')} item"
    return f"{prefix}{name} is {_show(value)}; {HINTS.get(kind, err['msg'])}"
