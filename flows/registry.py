"""The feed registry: which regency sends which dataset, where, and in what shape.

The registry is data (YAML); this module parses it into typed objects and says exactly
what is wrong with an entry (its id and field) when it cannot be used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import yaml

FORMATS = {"csv", "xlsx", "ckan_json"}
CHANNELS = {"landing", "http", "ckan"}
REGION_CODE_STYLES = {"dotted", "bps_digits", "name"}
COLUMN_TYPES = {"text", "integer", "number", "region_code", "period", "timestamp", "date"}
NETWORK_DEFAULTS = {"timeout_s": 30.0, "retries": 3, "retry_delay_s": 2.0}


class RegistryError(ValueError):
    """The feed registry cannot be used; the message names the entry and field."""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    required: bool = False
    personal_data: bool = False   # NIK, names, phones, e-mail: never published


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset's canonical shape. `key` is its natural key (unique); `replace_by` names
    the slice a submission covers within its regency (SQL expressions over the canonical
    columns, e.g. `periode`, or `strftime(diterima_pada, '%Y-%m')`): an accepted file
    replaces the rows of the slices it contains. An empty `replace_by` means each file is
    the regency's complete list."""

    name: str
    key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    description: str = ""
    replace_by: tuple[str, ...] = ()
    frequency: str | None = None
    regency_column: str | None = None   # filled with the feed's regency when a file lacks it

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class Feed:
    id: str
    regency: str
    dataset: str
    channel: str
    format: str
    columns: dict[str, str]
    base_dir: Path
    path: str | None = None
    url: str | None = None
    region_code: str = "dotted"
    options: dict = field(default_factory=dict)
    ignore_columns: tuple[str, ...] = ()
    skip_rows_matching: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)   # column -> spelling -> value
    ckan: dict = field(default_factory=dict)   # package, resource, page_size
    allowed_hosts: tuple[str, ...] = ()        # the registry's, for redirects

    @property
    def is_network(self) -> bool:
        return self.channel in ("http", "ckan")

    def network_option(self, name: str) -> float:
        return float(self.options.get(name, NETWORK_DEFAULTS[name]))

    def files(self) -> list[Path]:
        """The files currently in this feed's landing location, in name order."""
        pattern = Path(self.path or "")
        root = pattern if pattern.is_absolute() else self.base_dir / pattern
        return sorted(p for p in root.parent.glob(root.name) if p.is_file())


@dataclass(frozen=True)
class Registry:
    datasets: dict[str, DatasetSpec]
    feeds: list[Feed]
    path: Path
    allowed_hosts: tuple[str, ...] = ()

    def select(self, regency: str | None = None, dataset: str | None = None) -> list[Feed]:
        return [
            f for f in self.feeds
            if (regency is None or f.regency == regency)
            and (dataset is None or f.dataset == dataset)
        ]


def _require(entry: dict, key: str, where: str, path: Path) -> object:
    if key not in entry or entry[key] in (None, ""):
        raise RegistryError(f"{path}: {where}: missing required field '{key}'")
    return entry[key]


def _read_yaml(path: Path) -> dict:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise RegistryError(f"feed registry not found: {path}") from None
    except yaml.YAMLError as e:
        raise RegistryError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(doc, dict):
        raise RegistryError(f"{path}: expected a mapping with 'datasets' and 'feeds'")
    return doc


def _merged(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """The registry with its `include:` files merged in (datasets, feeds, allowed_hosts).
    Each feed remembers the file it came from: its `path` is relative to that file."""
    if path in seen:
        raise RegistryError(f"{path}: included twice (include loop)")
    doc = _read_yaml(path)
    merged = {"datasets": dict(doc.get("datasets") or {}),
              "feeds": [dict(f, _file=path) for f in doc.get("feeds") or []],
              "allowed_hosts": list(doc.get("allowed_hosts") or [])}
    for name in doc.get("include") or []:
        part = _merged((path.parent / name).resolve(), (*seen, path))
        for ds, spec in part["datasets"].items():
            if ds in merged["datasets"]:
                raise RegistryError(f"{path}: dataset '{ds}' is declared again in {name}")
            merged["datasets"][ds] = spec
        merged["feeds"] += part["feeds"]
        merged["allowed_hosts"] += part["allowed_hosts"]
    return merged


def load_registry(path: Path) -> Registry:
    """Parse and check the registry at `path` (and the files it includes)."""
    path = registry_path = Path(path).resolve()
    doc = _merged(registry_path)

    datasets: dict[str, DatasetSpec] = {}
    for name, spec in (doc.get("datasets") or {}).items():
        where = f"dataset '{name}'"
        cols = []
        for col, cspec in (_require(spec, "columns", where, path)).items():
            ctype = (cspec or {}).get("type", "text")
            if ctype not in COLUMN_TYPES:
                raise RegistryError(
                    f"{path}: {where}: column '{col}' has type '{ctype}'; "
                    f"use one of {sorted(COLUMN_TYPES)}"
                )
            cols.append(ColumnSpec(col, ctype, bool((cspec or {}).get("required", False)),
                                   bool((cspec or {}).get("personal_data", False))))
        key = tuple(spec.get("key") or ())
        unknown = [k for k in key if k not in {c.name for c in cols}]
        if unknown:
            raise RegistryError(f"{path}: {where}: key names unknown columns {unknown}")
        datasets[name] = DatasetSpec(
            name, key, tuple(cols), spec.get("description", ""),
            replace_by=tuple(spec.get("replace_by") or ()),
            frequency=spec.get("frequency"),
            regency_column=spec.get("regency_column"),
        )

    allowed_hosts = tuple(str(h).lower() for h in doc.get("allowed_hosts") or ())

    feeds: list[Feed] = []
    seen: set[str] = set()
    for i, entry in enumerate(doc.get("feeds") or [], start=1):
        feed_id = entry.get("id") or f"#{i}"
        path = entry.pop("_file")
        where = f"feed '{feed_id}'"
        _require(entry, "id", where, path)
        if feed_id in seen:
            raise RegistryError(f"{path}: {where}: id is used twice; ids must be unique")
        seen.add(feed_id)
        regency = str(_require(entry, "regency", where, path))
        if not re.fullmatch(r"36\.\d{2}", regency):
            raise RegistryError(
                f"{path}: {where}: field 'regency' is '{regency}'; write the Kemendagri "
                "code of a Banten regency/city with a dot, e.g. \"36.71\""
            )
        dataset = str(_require(entry, "dataset", where, path))
        if dataset not in datasets:
            raise RegistryError(
                f"{path}: {where}: field 'dataset' is '{dataset}', which is not declared "
                f"under 'datasets' (known: {sorted(datasets)})"
            )
        for key, allowed in (("channel", CHANNELS), ("format", FORMATS)):
            value = _require(entry, key, where, path)
            if value not in allowed:
                raise RegistryError(
                    f"{path}: {where}: field '{key}' is '{value}'; use one of {sorted(allowed)}"
                )
        style = entry.get("region_code", "dotted")
        if style not in REGION_CODE_STYLES:
            raise RegistryError(
                f"{path}: {where}: field 'region_code' is '{style}'; "
                f"use one of {sorted(REGION_CODE_STYLES)}"
            )
        columns = {str(k): str(v) for k, v in (_require(entry, "columns", where, path)).items()}
        canonical = set(datasets[dataset].column_names)
        for src, dst in columns.items():
            if dst not in canonical:
                raise RegistryError(
                    f"{path}: {where}: field 'columns' maps '{src}' to '{dst}', which is not "
                    f"a column of dataset '{dataset}' ({sorted(canonical)})"
                )
        skip = {str(k): str(v) for k, v in (entry.get("skip_rows_matching") or {}).items()}
        for col, pattern in skip.items():
            try:
                re.compile(pattern)
            except re.error as e:
                raise RegistryError(
                    f"{path}: {where}: skip_rows_matching.{col}: bad regular expression: {e}"
                ) from None
        channel = entry["channel"]
        location: dict[str, str | None] = {"path": None, "url": None}
        if channel == "landing":
            location["path"] = str(_require(entry, "path", where, path))
        else:
            url = str(_require(entry, "url", where, path))
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise RegistryError(
                    f"{path}: {where}: field 'url' is '{url}'; write an http(s) URL"
                )
            if parsed.hostname.lower() not in allowed_hosts:
                raise RegistryError(
                    f"{path}: {where}: field 'url' points at host '{parsed.hostname}', which "
                    f"is not in 'allowed_hosts' {list(allowed_hosts)}; add the regency's "
                    "host there if it is a trusted source"
                )
            location["url"] = url
        ckan = dict(entry.get("ckan") or {})
        if channel == "ckan" and not (ckan.get("resource") or ckan.get("package")):
            raise RegistryError(
                f"{path}: {where}: a ckan feed needs 'ckan: {{package: ..., resource: ...}}' "
                "(the dataset id and the resource name or id)"
            )
        if channel == "ckan" and entry["format"] != "ckan_json":
            raise RegistryError(f"{path}: {where}: a ckan feed has format 'ckan_json'")
        for opt in NETWORK_DEFAULTS:
            value = (entry.get("options") or {}).get(opt)
            if value is not None and (not isinstance(value, int | float) or value < 0):
                raise RegistryError(
                    f"{path}: {where}: options.{opt} is {value!r}; write a number >= 0"
                )
        values = {}
        for col, mapping in (entry.get("values") or {}).items():
            if col not in canonical or not isinstance(mapping, dict):
                raise RegistryError(
                    f"{path}: {where}: values.{col}: name a column of dataset '{dataset}' "
                    "and map each spelling to its canonical value"
                )
            values[col] = {str(k): str(v) for k, v in mapping.items()}
        feeds.append(
            Feed(
                id=feed_id,
                regency=regency,
                dataset=dataset,
                channel=channel,
                format=entry["format"],
                columns=columns,
                base_dir=path.parent,
                **location,
                ckan=ckan,
                allowed_hosts=allowed_hosts,
                region_code=style,
                options=dict(entry.get("options") or {}),
                ignore_columns=tuple(entry.get("ignore_columns") or ()),
                skip_rows_matching=skip,
                values=values,
            )
        )
    return Registry(datasets=datasets, feeds=feeds, path=registry_path,
                    allowed_hosts=allowed_hosts)
