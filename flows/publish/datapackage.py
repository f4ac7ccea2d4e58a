"""The release's Frictionless `datapackage.json` (Table Schema from the dbt column
metadata) and the file entries of `release.json`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flows.common.licences import LICENSE_URLS
from flows.common.marts import MartSpec
from flows.publish.column_types import _frictionless_type
from flows.publish.formats import FORMAT_DESCRIPTIONS, FORMAT_NAMES, MEDIA_TYPES
from flows.publish.satudata_metadata import satudata_metadata

DATAPACKAGE_SPEC = "https://specs.frictionlessdata.io/data-package/"


def _file_entry(slug: str, version: str, fmt: str, path: Path, sha256: str) -> dict:
    return {
        "format": fmt,
        "path": f"datasets/{slug}/{version}/{path.name}",
        "bytes": path.stat().st_size,
        "sha256": sha256,
        "mediatype": MEDIA_TYPES[fmt],
    }


def _datapackage(mart: MartSpec, types: dict[str, str], files: dict, version: str,
                 now: dt.datetime, temporal: str | None, key: list[str]) -> dict:
    slug, meta = mart.slug, mart.meta
    by_name = {c["name"]: c for c in mart.columns}
    fields = [
        {
            "name": name,
            "type": _frictionless_type(typ),
            "title": by_name[name]["description"]["id"],
            "description": by_name[name]["description"]["en"],
            **({"unit": by_name[name]["unit"]} if by_name[name].get("unit") else {}),
            **({"constraints": {"required": True}} if name in key else {}),
        }
        for name, typ in types.items()
    ]
    schema = {"fields": fields, "missingValues": [""], **({"primaryKey": key} if key else {})}

    def resource(fmt: str, **extra) -> dict:
        return {
            "name": slug if fmt == "csv" else f"{slug}-{fmt}",
            "path": f"{slug}.{fmt}",
            "title": f"{meta['title']['id']} ({FORMAT_NAMES[fmt]})",
            "description": FORMAT_DESCRIPTIONS[fmt],
            "format": fmt,
            "mediatype": MEDIA_TYPES[fmt],
            "bytes": files[fmt]["bytes"],
            "hash": f"sha256:{files[fmt]['sha256']}",
            **extra,
            "schema": schema,
        }

    return {
        "profile": "data-package",
        "name": slug,
        "title": meta["title"]["id"],
        "description": meta["description"]["id"],
        "version": version,
        "created": now.isoformat(),
        "keywords": meta["keywords"],
        "licenses": [{"name": meta["license"], "path": LICENSE_URLS.get(meta["license"], ""),
                      "title": meta["license"]}],
        "sources": [{"title": meta["source"]["id"]}],
        "contributors": [{"title": p, "role": "author"} for p in meta["produsen_data"]]
        + [{"title": meta["walidata"], "role": "publisher"}],
        "resources": [
            resource("csv", profile="tabular-data-resource", encoding="utf-8",
                     dialect={"delimiter": ",", "header": True}),
            resource("xlsx", profile="tabular-data-resource",
                     dialect={"excel": {"sheet": "data"}}),
            # Checked for integrity (bytes, sha256); their rows are the CSV's rows.
            resource("json", profile="data-resource", type="file", encoding="utf-8"),
            resource("parquet", profile="data-resource", type="file"),
        ],
        "satudata": satudata_metadata(mart, temporal),
    }
