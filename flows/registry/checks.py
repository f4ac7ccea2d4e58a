"""The checks that need more than one entry's shape: a dataset's key and regency column
name its columns; a feed's columns, values, constants and extracts name its dataset's
columns (and its categories), its path stays in the landing root, its URL's host is
allowed, a ckan feed says where its records are."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from flows.common.datasets import DatasetSpec
from flows.registry.confinement import (
    _entry_host,
    confinement_problem,
    host_allowed,
    normal_host,
    url_port,
)
from flows.registry.models import FeedModel


def _dataset_problems(spec: DatasetSpec) -> list[str]:
    problems = []
    unknown = [k for k in spec.key if k not in spec.column_names]
    if unknown:
        problems.append(f"key names unknown columns {unknown}")
    if spec.regency_column is not None and spec.regency_column not in spec.column_names:
        problems.append(f"field 'regency_column' is '{spec.regency_column}', which is not "
                        f"one of its columns {spec.column_names}")
    return problems


def _feed_problems(feed: FeedModel, spec: DatasetSpec, allowed_hosts: tuple[str, ...],
                   base_dir: Path, landing_root: Path) -> list[str]:
    """What is wrong with a feed that has the right shape, given its dataset, the
    registry's allowed hosts and its landing root."""
    problems = []
    canonical = spec.column_names
    known = f"a column of dataset '{spec.name}' ({sorted(canonical)})"
    mapped = {dst: src for src, dst in feed.columns.items()}

    def listed(col: str, value: str, where: str) -> None:
        # a categorical column lists its canonical values: a feed cannot invent one
        allowed = spec.column(col).values
        if allowed and value not in allowed:
            problems.append(f"{where} is '{value}', which is not one of the values of "
                            f"column '{col}' {list(allowed)}")

    for src, dst in feed.columns.items():
        if dst not in canonical:
            problems.append(f"field 'columns' maps '{src}' to '{dst}', which is not {known}")
    for col, mapping in feed.values.items():
        if col not in canonical:
            problems.append(f"values.{col}: '{col}' is not {known}; name a column and map "
                            "each spelling to its canonical value")
            continue
        for spelling, value in mapping.items():
            listed(col, value, f"values.{col}.{spelling}")
    for col, value in feed.constants.items():
        if col not in canonical:
            problems.append(f"constants.{col}: '{col}' is not {known}")
        elif col in mapped:
            problems.append(f"constants.{col}: '{col}' is also read from the file's column "
                            f"'{mapped[col]}' (field 'columns'); keep one")
        else:
            listed(col, value, f"constants.{col}")
    for col in feed.extract:
        if col not in canonical:
            problems.append(f"extract.{col}: '{col}' is not {known}")
        elif col in mapped:
            problems.append(f"extract.{col}: '{col}' is also read from the file's column "
                            f"'{mapped[col]}' (field 'columns'); keep one")
        elif col in feed.constants:
            problems.append(f"extract.{col}: '{col}' is also under 'constants'; keep one")
    if feed.channel == "landing":
        if not feed.path:
            problems.append("missing required field 'path'")
        elif (outside := confinement_problem(feed.path, base_dir, landing_root)):
            problems.append(outside)
    elif not feed.url:
        problems.append("missing required field 'url'")
    else:
        parsed = urlparse(feed.url)
        try:
            port = url_port(feed.url)
        except ValueError:
            port = None
        if parsed.scheme not in ("http", "https") or not parsed.hostname or port is None:
            problems.append(f"field 'url' is '{feed.url}'; write an http(s) URL")
        elif not host_allowed(allowed_hosts, parsed.hostname, port):
            host = normal_host(parsed.hostname)
            named = any(_entry_host(e) == host for e in allowed_hosts)
            problems.append(
                f"field 'url' points at host '{parsed.hostname}'"
                + (f" port {port}, which 'allowed_hosts' {list(allowed_hosts)} does not "
                   "allow (an entry host:port allows that port only)" if named else
                   f", which is not in 'allowed_hosts' {list(allowed_hosts)}; add the "
                   "regency's host there if it is a trusted source"))
    if feed.channel == "ckan":
        if not (feed.ckan.resource or feed.ckan.package):
            problems.append("a ckan feed needs 'ckan: {package: ..., resource: ...}' "
                            "(the dataset id and the resource name or id)")
        if feed.format != "ckan_json":
            problems.append("a ckan feed has format 'ckan_json'")
    return problems
