"""The registry's JSON Schema, from its models, for editors that complete and check the
YAML (`data/feeds.schema.json`, regenerated with
`python -m flows.registry --write-schema data/feeds.schema.json`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flows.registry.models import RegistryFile

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def registry_json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a registry file, from the models above, with a
    description on each field for editors. It checks the shape only (unknown keys, types,
    enumerations, the regency code), not what needs the whole registry."""
    schema = RegistryFile.model_json_schema(by_alias=True)
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def write_json_schema(path: Path | str) -> None:
    """Write `registry_json_schema()` to `path` (2-space indent, trailing newline)."""
    text = json.dumps(registry_json_schema(), indent=2, ensure_ascii=False) + "\n"
    Path(path).write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """`python -m flows.registry --write-schema data/feeds.schema.json`"""
    parser = argparse.ArgumentParser(prog="python -m flows.registry",
                                     description="The feed registry's JSON Schema.")
    parser.add_argument("--write-schema", metavar="PATH", required=True,
                        help="write the registry's JSON Schema to PATH")
    args = parser.parse_args(argv)
    write_json_schema(args.write_schema)
    print(f"wrote {args.write_schema}")
    return 0
