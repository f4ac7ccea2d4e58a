"""The mart metadata model: which dbt models are published, read from dbt's manifest.

A model is published when its `config.meta.open_data` is set (not `catalog`: dbt-duckdb
looks that key up as its own config and warns on every model). `published_marts` checks
that metadata (bilingual texts, documented and classified columns, `open_data.coverage`)
and returns one `MartSpec` per published mart; it needs only the manifest (a dict), so
the transform stage checks the metadata before building and the publish stage
publishes from the same model.
"""

from __future__ import annotations

from dataclasses import dataclass

META_KEY = "open_data"   # config.meta.open_data of a dbt model marks it as published
REQUIRED_META = (
    "slug", "title", "description", "theme", "keywords", "unit", "frequency",
    "produsen_data", "walidata", "license", "source", "spatial", "synthetic",
)
BILINGUAL = ("title", "description", "source")
CLASSIFICATIONS = {"public", "restricted"}


class PublishError(RuntimeError):
    """A dataset cannot be published; the message names the dataset and what to fix."""


@dataclass(frozen=True)
class CoverageSpec:
    """`open_data.coverage` of a mart: which column names the regency, which the period
    (None: coverage over the whole dataset), optional columns that split a period further
    (e.g. `indikator` of a long table), and the registry datasets whose feeds say which
    regencies are expected."""

    region: str
    period: str | None
    by: tuple[str, ...]
    datasets: tuple[str, ...]


@dataclass(frozen=True)
class MartSpec:
    """What the manifest says about one published mart."""

    model: str
    relation: str
    meta: dict
    columns: list[dict]   # name, description, unit, classification, description_id
    coverage: CoverageSpec | None = None
    sources: tuple[str, ...] = ()     # the raw.<dataset> sources it reads, however indirectly

    @property
    def slug(self) -> str:
        return self.meta["slug"]


def published_marts(manifest: dict) -> list[MartSpec]:
    """The marts with catalogue metadata, checked; raises PublishError naming each gap."""
    marts = []
    problems = []
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] != "model":
            continue
        meta = (node.get("config", {}).get("meta") or node.get("meta") or {}).get(META_KEY)
        if not meta:
            continue
        name = node["name"]
        for key in REQUIRED_META:
            if meta.get(key) in (None, "", [], {}):
                problems.append(f"model '{name}': meta.open_data.{key} is missing")
        for key in BILINGUAL:
            value = meta.get(key)
            if isinstance(value, dict):
                for lang in ("id", "en"):
                    if not value.get(lang):
                        problems.append(f"model '{name}': meta.open_data.{key}.{lang} is missing")
            elif value:
                problems.append(f"model '{name}': meta.open_data.{key} needs 'id' and 'en' texts")
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
        sources = raw_sources(manifest, uid)
        coverage = None
        if meta.get("coverage") is not None:
            public = [c["name"] for c in columns if c["classification"] == "public"]
            coverage, found = _coverage_spec(name, meta["coverage"], public, sources)
            problems += found
        marts.append(MartSpec(name, node["relation_name"], meta, columns, coverage, sources))
    slugs = [m.slug for m in marts if m.meta.get("slug")]
    for slug in {s for s in slugs if slugs.count(s) > 1}:
        problems.append(f"slug '{slug}' is used by more than one model")
    if problems:
        raise PublishError("catalogue metadata incomplete: " + "; ".join(sorted(problems)))
    return sorted(marts, key=lambda m: m.slug)


def raw_sources(manifest: dict, unique_id: str) -> tuple[str, ...]:
    """The `raw.<dataset>` sources a node reads, following `depends_on` all the way down
    (an `aduan_bulanan` that joins population reads raw.aduan and raw.penduduk)."""
    sources = manifest.get("sources") or {}
    nodes = manifest.get("nodes") or {}
    found: set[str] = set()
    seen: set[str] = set()
    stack = [unique_id]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in sources:
            if sources[current].get("source_name") == "raw":
                found.add(sources[current]["name"])
            continue
        stack += (nodes.get(current, {}).get("depends_on") or {}).get("nodes") or []
    return tuple(sorted(found))


def _coverage_spec(model: str, value: object, public: list[str], sources: tuple[str, ...]
                   ) -> tuple[CoverageSpec | None, list[str]]:
    """`open_data.coverage` checked: columns must be public columns of the mart; the
    datasets, when not declared, are the one raw source the model reads."""
    where = f"model '{model}': meta.open_data.coverage"
    if not isinstance(value, dict):
        return None, [f"{where} must be a mapping with 'region' (and 'period', 'datasets')"]
    problems = []
    region, period = value.get("region"), value.get("period")
    by = value.get("by") or []
    by = [by] if isinstance(by, str) else by
    for key, column in [("region", region), ("period", period)] + [("by", b) for b in by]:
        if key == "period" and column is None:
            continue
        if not isinstance(column, str) or column not in public:
            problems.append(f"{where}.{key} is {column!r}; name a public column of the model")
    datasets = value.get("datasets") or []
    datasets = [datasets] if isinstance(datasets, str) else [str(d) for d in datasets]
    if not datasets:
        if len(sources) == 1:
            datasets = list(sources)
        else:
            read = ", ".join(f"raw.{s}" for s in sources) or "no raw source"
            problems.append(f"{where}.datasets is missing and the model reads {read}; name "
                            "the registry dataset(s) whose feeds it should cover")
    elif sources and not set(datasets) <= set(sources):
        unknown = sorted(set(datasets) - set(sources))
        problems.append(f"{where}.datasets names {unknown}, which the model does not read "
                        f"(it reads {', '.join(f'raw.{s}' for s in sources)})")
    if problems:
        return None, problems
    return CoverageSpec(region, period, tuple(by), tuple(datasets)), []
