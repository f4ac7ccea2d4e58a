"""Publish: every mart that declares catalogue metadata becomes an immutable release.

dbt's `manifest.json` is the one list of what is published: a model is published when
its `config.meta.catalog` is set. A release is written into a hidden folder beside its
final place and renamed into `site/datasets/<slug>/<version>/`; `latest` is a symlink
switched with one atomic rename, and `catalog.json` is replaced the same way, so a
reader never sees half a release. A new version appears only when the content changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flows.settings import Settings
from flows.warehouse import connect

REQUIRED_META = (
    "slug", "title", "description", "theme", "keywords", "unit", "frequency",
    "produsen_data", "walidata", "license", "source", "spatial", "synthetic",
)
BILINGUAL = ("title", "description", "source")
CLASSIFICATIONS = {"public", "restricted"}
LICENSE_URLS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
}
FORMATS = ("csv", "parquet")
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


class PublishError(RuntimeError):
    """A dataset cannot be published; the message names the dataset and what to fix."""


@dataclass(frozen=True)
class MartSpec:
    """What the manifest says about one published mart."""

    model: str
    relation: str
    meta: dict
    columns: list[dict]   # name, description, unit, classification, description_id

    @property
    def slug(self) -> str:
        return self.meta["slug"]


@dataclass(frozen=True)
class PublishOutcome:
    slug: str
    status: str          # "published" | "unchanged" | "failed"
    version: str | None
    message: str = ""


def published_marts(manifest: dict) -> list[MartSpec]:
    """The marts with catalogue metadata, checked; raises PublishError naming each gap."""
    marts = []
    problems = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        meta = (node.get("config", {}).get("meta") or node.get("meta") or {}).get("catalog")
        if not meta:
            continue
        name = node["name"]
        for key in REQUIRED_META:
            if meta.get(key) in (None, "", [], {}):
                problems.append(f"model '{name}': meta.catalog.{key} is missing")
        for key in BILINGUAL:
            value = meta.get(key)
            if isinstance(value, dict):
                for lang in ("id", "en"):
                    if not value.get(lang):
                        problems.append(f"model '{name}': meta.catalog.{key}.{lang} is missing")
            elif value:
                problems.append(f"model '{name}': meta.catalog.{key} needs 'id' and 'en' texts")
        columns = []
        if not node["columns"]:
            problems.append(f"model '{name}': no columns documented in its YAML")
        for col in node["columns"].values():
            cmeta = col.get("config", {}).get("meta") or col.get("meta") or {}
            if not col.get("description"):
                problems.append(f"model '{name}': column '{col['name']}' has no description")
            if not cmeta.get("id"):
                problems.append(
                    f"model '{name}': column '{col['name']}' has no Indonesian description "
                    "(meta.id)"
                )
            if cmeta.get("classification") not in CLASSIFICATIONS:
                problems.append(
                    f"model '{name}': column '{col['name']}' needs meta.classification "
                    f"public or restricted"
                )
            columns.append(
                {
                    "name": col["name"],
                    "description": {"id": cmeta.get("id"), "en": col.get("description")},
                    "unit": cmeta.get("unit"),
                    "classification": cmeta.get("classification"),
                }
            )
        marts.append(MartSpec(name, node["relation_name"], meta, columns))
    slugs = [m.slug for m in marts if m.meta.get("slug")]
    for slug in {s for s in slugs if slugs.count(s) > 1}:
        problems.append(f"slug '{slug}' is used by more than one model")
    if problems:
        raise PublishError("catalogue metadata incomplete: " + "; ".join(sorted(problems)))
    return sorted(marts, key=lambda m: m.slug)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _write_json_atomic(path: Path, doc: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def dataset_dir(site: Path, slug: str) -> Path:
    return site / "datasets" / slug


def releases(site: Path, slug: str) -> list[dict]:
    """release.json of every complete release of `slug`, newest first."""
    out = []
    folder = dataset_dir(site, slug)
    if not folder.exists():
        return out
    for d in folder.iterdir():
        if d.is_dir() and not d.is_symlink() and not d.name.startswith("."):
            rel = _read_json(d / "release.json")
            if rel:
                out.append(rel)
    return sorted(out, key=lambda r: r["sequence"], reverse=True)


def _next_version(existing: list[dict], today: dt.date) -> str:
    names = {r["version"] for r in existing}
    version, n = today.isoformat(), 1
    while version in names:
        n += 1
        version = f"{today.isoformat()}.{n}"
    return version


def _column_types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f"describe {relation}").fetchall()}


def _frictionless_type(duck_type: str) -> str:
    t = duck_type.upper()
    if t in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"):
        return "integer"
    if t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL"):
        return "number"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "datetime"
    if t == "BOOLEAN":
        return "boolean"
    return "string"


def _changelog(con: duckdb.DuckDBPyConnection, new_parquet: Path, previous: dict | None,
               site: Path, key: list[str]) -> dict:
    if previous is None:
        return {"id": "Rilis pertama", "en": "First release", "rows_added": None,
                "rows_removed": None, "rows_changed": None, "columns_added": [],
                "columns_removed": []}
    old = site / previous["files"]["parquet"]["path"]
    new_cols = [r[0] for r in con.execute("describe select * from read_parquet(?)",
                                          [str(new_parquet)]).fetchall()]
    old_cols = [r[0] for r in con.execute("describe select * from read_parquet(?)",
                                          [str(old)]).fetchall()]
    common = [c for c in new_cols if c in old_cols]
    key = [k for k in key if k in common] or common
    keys = ", ".join(f'"{k}"' for k in key)
    vals = ", ".join(f'"{c}"' for c in common)
    q = f"""
        with n as (select {vals} from read_parquet($new)),
             o as (select {vals} from read_parquet($old)),
             nk as (select distinct {keys} from n), ok as (select distinct {keys} from o)
        select
            (select count(*) from (select * from nk except select * from ok)),
            (select count(*) from (select * from ok except select * from nk)),
            (select count(*) from (select {keys} from (select * from n except select * from o)
                                   intersect select * from ok))
    """
    added, removed, changed = con.execute(q, {"new": str(new_parquet), "old": str(old)}
                                          ).fetchone()
    cols_added = [c for c in new_cols if c not in old_cols]
    cols_removed = [c for c in old_cols if c not in new_cols]
    parts_id, parts_en = [], []
    for n, id_, en in ((added, "baris baru", "added"), (removed, "baris dihapus", "removed"),
                       (changed, "baris berubah", "changed")):
        if n:
            parts_id.append(f"{n} {id_}")
            parts_en.append(f"{n} {'row' if n == 1 else 'rows'} {en}")
    if cols_added or cols_removed:
        parts_id.append(f"kolom +{cols_added} -{cols_removed}")
        parts_en.append(f"columns +{cols_added} -{cols_removed}")
    return {
        "id": "; ".join(parts_id) or "Tidak ada perubahan isi",
        "en": "; ".join(parts_en) or "No content change",
        "rows_added": added, "rows_removed": removed, "rows_changed": changed,
        "columns_added": cols_added, "columns_removed": cols_removed,
    }


def publish_mart(settings: Settings, mart: MartSpec, *, now: dt.datetime | None = None
                 ) -> PublishOutcome:
    """Publish one mart; a no-change run publishes nothing. Raises PublishError."""
    now = now or _now()
    site = settings.site_dir
    slug = mart.slug
    folder = dataset_dir(site, slug)
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        public = [c for c in mart.columns if c["classification"] == "public"]
        with connect(settings.warehouse, read_only=True) as con:
            types = _column_types(con, mart.relation)
            undocumented = [c for c in types if c not in {col["name"] for col in mart.columns}]
            if undocumented:
                raise PublishError(
                    f"dataset '{slug}': columns {undocumented} of {mart.model} are not "
                    "documented in its YAML; document and classify them before publishing"
                )
            select = ", ".join(f'"{c["name"]}"' for c in public)
            query = f"select {select} from {mart.relation} order by all"
            csv_path = staging / f"{slug}.csv"
            parquet_path = staging / f"{slug}.parquet"
            con.execute(f"copy ({query}) to '{csv_path}' (format csv, header true)")
            con.execute(
                f"copy ({query}) to '{parquet_path}' (format parquet, compression zstd)"
            )
            rows = con.execute(f"select count(*) from {mart.relation}").fetchone()[0]
            temporal = None
            tcol = mart.meta.get("temporal_column")
            if tcol:
                lo, hi = con.execute(
                    f'select min("{tcol}"), max("{tcol}") from {mart.relation}').fetchone()
                temporal = f"{lo}/{hi}" if lo is not None else None

            content_sha = sha256_file(csv_path)
            history = releases(site, slug)
            previous = history[0] if history else None
            if previous and previous["content_sha256"] == content_sha:
                return PublishOutcome(slug, "unchanged", previous["version"])

            version = _next_version(history, now.date())
            key = list(mart.meta.get("key") or [])
            changelog = _changelog(con, parquet_path, previous, site, key)

        files = {}
        for fmt, path in (("csv", csv_path), ("parquet", parquet_path)):
            files[fmt] = {
                "format": fmt,
                "path": f"datasets/{slug}/{version}/{path.name}",
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
                "mediatype": MEDIA_TYPES[fmt],
            }
        fields = [
            {
                "name": c["name"],
                "type": _frictionless_type(types[c["name"]]),
                "title": c["description"]["id"],
                "description": c["description"]["en"],
                **({"unit": c["unit"]} if c.get("unit") else {}),
            }
            for c in public
        ]
        meta = mart.meta
        datapackage = {
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
                {
                    "name": slug,
                    "path": f"{slug}.csv",
                    "profile": "tabular-data-resource",
                    "format": "csv",
                    "mediatype": "text/csv",
                    "encoding": "utf-8",
                    "bytes": files["csv"]["bytes"],
                    "hash": f"sha256:{files['csv']['sha256']}",
                    "schema": {"fields": fields, **({"primaryKey": key} if key else {})},
                }
            ],
            "satudata": {
                "title": meta["title"],
                "description": meta["description"],
                "theme": meta["theme"],
                "unit": meta["unit"],
                "frequency": meta["frequency"],
                "produsen_data": meta["produsen_data"],
                "walidata": meta["walidata"],
                "spatial": meta["spatial"],
                "temporal": temporal,
                "synthetic": meta["synthetic"],
                "kode_referensi": "Kode wilayah Kemendagri",
            },
        }
        _write_json_atomic(staging / "datapackage.json", datapackage)
        release = {
            "slug": slug,
            "version": version,
            "sequence": (previous["sequence"] + 1) if previous else 1,
            "published_at": now.isoformat(),
            "rows": rows,
            "content_sha256": content_sha,
            "temporal": temporal,
            "changelog": changelog,
            "files": files,
        }
        _write_json_atomic(staging / "release.json", release)
        sums = [f"{sha256_file(p)}  {p.name}" for p in sorted(staging.iterdir())]
        (staging / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")

        final = folder / version
        os.replace(staging, final)           # the release appears whole
        link_tmp = folder / f".latest-{uuid.uuid4().hex}"
        os.symlink(version, link_tmp)
        os.replace(link_tmp, folder / "latest")   # latest switches in one step
        return PublishOutcome(slug, "published", version, changelog["en"])
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def write_catalog(settings: Settings, marts: list[MartSpec], *, now: dt.datetime | None = None
                  ) -> dict:
    """Rebuild `site/catalog.json` from the releases on disk (the app's one index)."""
    now = now or _now()
    site = settings.site_dir
    datasets = []
    for mart in marts:
        meta = mart.meta
        history = releases(site, mart.slug)
        latest = history[0] if history else None
        datasets.append(
            {
                "slug": mart.slug,
                "model": mart.model,
                "title": meta["title"],
                "description": meta["description"],
                "theme": meta["theme"],
                "keywords": meta["keywords"],
                "unit": meta["unit"],
                "frequency": meta["frequency"],
                "produsen_data": meta["produsen_data"],
                "walidata": meta["walidata"],
                "license": meta["license"],
                "source": meta["source"],
                "synthetic": bool(meta["synthetic"]),
                "spatial": meta["spatial"],
                "temporal": latest["temporal"] if latest else None,
                "latest_version": latest["version"] if latest else None,
                "updated": latest["published_at"] if latest else None,
                "row_count": latest["rows"] if latest else 0,
                "columns": [
                    {k: c[k] for k in ("name", "description", "unit")}
                    | {"type": _column_type_from_release(site, latest, c["name"])}
                    for c in mart.columns if c["classification"] == "public"
                ],
                "versions": [
                    {
                        "version": r["version"],
                        "published_at": r["published_at"],
                        "rows": r["rows"],
                        "changelog": {"id": r["changelog"]["id"], "en": r["changelog"]["en"]},
                        "files": list(r["files"].values()),
                    }
                    for r in history
                ],
            }
        )
    catalog = {"generated_at": now.isoformat(), "datasets": datasets}
    site.mkdir(parents=True, exist_ok=True)
    _write_json_atomic(site / "catalog.json", catalog)
    return catalog


def _column_type_from_release(site: Path, release: dict | None, column: str) -> str | None:
    if not release:
        return None
    pkg = _read_json(site / "datasets" / release["slug"] / release["version"] /
                     "datapackage.json") or {}
    for field in pkg.get("resources", [{}])[0].get("schema", {}).get("fields", []):
        if field["name"] == column:
            return field["type"]
    return None
