"""Rendering the proposed feed entry as YAML to paste under `feeds:` (`entry_yaml`):
plain scalars where they read back as themselves, one item a line for the mappings
feeds.yml writes that way."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml


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
