"""Loading the registry: read the YAML (a key written twice is a problem), validate each
file and the files it includes against the models, run the checks that need the whole
registry, and build the frozen `Registry`. All problems are reported together, one per
line, each naming the file, the entry and the field (`RegistryError`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from flows.common.datasets import ColumnSpec, DatasetSpec
from flows.registry.checks import _dataset_problems, _feed_problems
from flows.registry.feeds import Extract, Feed, Registry, RegistryError
from flows.registry.messages import _feed_name, _message
from flows.registry.models import DatasetModel, FeedModel, RegistryFile


class _Loader(yaml.SafeLoader):
    """yaml.SafeLoader that notes a key written twice in one mapping (PyYAML keeps the
    last one silently: a second `columns:` would replace the first)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.twice: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue   # `<<: *anchor` entries may be overridden: that is their purpose
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    self.twice.append(f"line {key_node.start_mark.line + 1}: key '{key}' is "
                                      "written twice in the same mapping; keep one")
                seen.add(key)
            except TypeError:
                pass   # an unhashable key: PyYAML itself reports it below
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> tuple[dict, list[str]]:
    """The document at `path` and the keys it writes twice."""
    try:
        loader = _Loader(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"feed registry not found: {path}") from None
    try:
        doc = loader.get_single_data() or {}
    except yaml.YAMLError as e:
        raise RegistryError(f"{path}: not valid YAML: {e}") from None
    finally:
        loader.dispose()
    if not isinstance(doc, dict):
        raise RegistryError(f"{path}: expected a mapping with 'datasets' and 'feeds'")
    return doc, [f"{path}: {t}" for t in loader.twice]


@dataclass
class _Part:
    """One registry file, validated as far as it goes."""

    path: Path
    datasets: dict[str, DatasetModel]
    declared: set[str]               # dataset names written, valid or not
    feeds: list[tuple[str, FeedModel | None]]   # (name for messages, model if valid)
    allowed_hosts: list[str]


def _partial(model: type[BaseModel], raw: Any) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError:
        return None   # its problems were reported by the file's validation


def _collect(path: Path, seen: tuple[Path, ...], problems: list[str]) -> list[_Part]:
    """The file at `path` and those it includes, in order; their problems of shape go to
    `problems`. An entry with such a problem is left out of the later checks."""
    if path in seen:
        problems.append(f"{path}: included twice (include loop)")
        return []
    try:
        doc, twice = _read_yaml(path)
    except RegistryError as e:
        if not seen:
            raise   # the registry itself: nothing else to say
        problems.append(f"{seen[-1]}: in 'include': {e}")
        return []
    problems += twice
    try:
        model = RegistryFile.model_validate(doc)
        datasets, includes = dict(model.datasets), model.include
        feeds = [(f.id, f) for f in model.feeds]
        hosts = model.allowed_hosts
    except ValidationError as e:
        problems += [f"{path}: {_message(err, doc)}" for err in e.errors(include_url=False)]
        raw_datasets = doc.get("datasets") if isinstance(doc.get("datasets"), dict) else {}
        datasets = {str(k): m for k, v in raw_datasets.items()
                    if (m := _partial(DatasetModel, v)) is not None}
        raw_feeds = doc.get("feeds") if isinstance(doc.get("feeds"), list) else []
        feeds = [(_feed_name(raw, i), _partial(FeedModel, raw))
                 for i, raw in enumerate(raw_feeds)]
        includes = [str(n) for n in _list_of(doc.get("include"))]
        hosts = [str(h) for h in _list_of(doc.get("allowed_hosts"))]
        declared = {str(k) for k in raw_datasets}
    else:
        declared = set(datasets)
    parts = [_Part(path, datasets, declared, feeds, hosts)]
    for name in includes:
        parts += _collect((path.parent / name).resolve(), (*seen, path), problems)
    return parts


def _list_of(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dataset_spec(name: str, model: DatasetModel) -> DatasetSpec:
    columns = tuple(
        ColumnSpec(col, c.type, c.required, c.personal_data, tuple(c.values or ()),
                   c.description or "")
        for col, c in model.columns.items()
    )
    return DatasetSpec(name, tuple(model.key), columns, model.description,
                       replace_by=tuple(model.replace_by), frequency=model.frequency,
                       schedule=model.schedule,
                       regency_column=model.regency_column)


def _fingerprint(feed: FeedModel, dataset: str, model: DatasetModel) -> str:
    # Defaults are left out of both sides, so writing a default (region_code: dotted) or
    # omitting it is the same feed, and a new optional registry key changes no fingerprint.
    doc = {"feed": feed.model_dump(mode="json", by_alias=True, exclude_defaults=True),
           "dataset": {"name": dataset,
                       **model.model_dump(mode="json", by_alias=True, exclude_defaults=True)}}
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_registry(path: Path) -> Registry:
    """Parse and check the registry at `path` (and the files it includes).

    Raises RegistryError listing every problem found, one per line. Each feed's
    `fingerprint` is the sha256 of its validated entry together with its dataset's spec:
    it changes when either changes, and only then.
    """
    registry_path = Path(path).resolve()
    problems: list[str] = []
    parts = _collect(registry_path, (), problems)

    models: dict[str, DatasetModel] = {}
    datasets: dict[str, DatasetSpec] = {}
    declared: dict[str, Path] = {}
    for part in parts:
        for name in sorted(part.declared):
            if name in declared:
                problems.append(f"{part.path}: dataset '{name}' is declared again "
                                f"(first in {declared[name]})")
            else:
                declared[name] = part.path
        for name, model in part.datasets.items():
            if name in datasets or declared.get(name) != part.path:
                continue
            spec = datasets[name] = _dataset_spec(name, model)
            models[name] = model
            problems += [f"{part.path}: dataset '{name}': {p}" for p in _dataset_problems(spec)]

    allowed_hosts = tuple(str(h).strip().lower() for part in parts for h in part.allowed_hosts)
    landing_root = registry_path.parent
    feeds: list[Feed] = []
    seen: set[str] = set()
    for part in parts:
        for name, model in part.feeds:
            where = f"{part.path}: feed '{name}'"
            if model is None:
                seen.add(name)
                continue   # its shape's problems are reported
            if model.id in seen:
                problems.append(f"{where}: id is used twice; ids must be unique")
            seen.add(model.id)
            if model.dataset not in declared:
                problems.append(
                    f"{where}: field 'dataset' is '{model.dataset}', which is not declared "
                    f"under 'datasets' (known: {sorted(declared)})")
                continue
            if model.dataset not in datasets:
                continue   # its dataset's own problems are reported
            spec = datasets[model.dataset]
            found = _feed_problems(model, spec, allowed_hosts, part.path.parent, landing_root)
            problems += [f"{where}: {p}" for p in found]
            if found:
                continue
            feeds.append(Feed(
                id=model.id,
                regency=model.regency,
                dataset=model.dataset,
                channel=model.channel,
                format=model.format,
                columns=dict(model.columns),
                base_dir=part.path.parent,
                path=model.path if model.channel == "landing" else None,
                url=model.url if model.channel != "landing" else None,
                region_code=model.region_code,
                options=model.options.model_dump(exclude_unset=True),
                ignore_columns=tuple(model.ignore_columns),
                skip_rows_matching=dict(model.skip_rows_matching),
                values={c: dict(m) for c, m in model.values.items()},
                ckan=model.ckan.model_dump(exclude_unset=True),
                allowed_hosts=allowed_hosts,
                constants=dict(model.constants),
                extract={c: Extract(e.source, e.pattern) for c, e in model.extract.items()},
                description=model.description or "",
                fingerprint=_fingerprint(model, model.dataset, models[model.dataset]),
                landing_root=landing_root,
            ))
    if problems:
        raise RegistryError("\n".join(problems), problems)
    return Registry(datasets=datasets, feeds=feeds, path=registry_path,
                    allowed_hosts=allowed_hosts, landing_root=landing_root)
