"""The catalogue's search box and facets (theme, producer, format, frequency, year),
on the datasets of catalog.json."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from app.site_reader.catalog import latest_version_entry
from flows.common.site_layout import FORMATS

_YEAR = re.compile(r"(?<!\d)(19\d\d|20\d\d)(?!\d)")


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [str(v) for v in value.values() if v]
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v]
    return [str(value)]


def search_text(ds: dict[str, Any]) -> str:
    """Everything the search box looks at, lower-cased: titles and descriptions in both
    languages, keywords, column names (plus slug and theme)."""
    parts = [ds.get("slug", ""), ds.get("theme") or ""]
    parts += _texts(ds.get("title")) + _texts(ds.get("description")) + _texts(ds.get("keywords"))
    parts += [str(c.get("name", "")) for c in ds.get("columns", [])]
    return "\n".join(parts).casefold()


def search_datasets(datasets: list[dict[str, Any]], query: str | None) -> list[dict[str, Any]]:
    """Case-insensitive substring search; every whitespace-separated term must match."""
    terms = (query or "").casefold().split()
    if not terms:
        return list(datasets)
    return [ds for ds in datasets if all(term in search_text(ds) for term in terms)]


FACETS = ("theme", "producer", "format", "frequency", "year")
FREQUENCY_ORDER = ("R/P1D", "R/P1W", "R/P1M", "R/P3M", "R/P4M", "R/P6M", "R/P1Y", "R/P2Y",
                   "R/P5Y", "R/P10Y")


def years_covered(temporal: Any) -> list[int]:
    """Years a temporal coverage such as ``2020/2024-S2`` or ``2024-01/2024-12`` spans."""
    if not isinstance(temporal, str):
        return []
    years = sorted({int(y) for y in _YEAR.findall(temporal)})
    if not years:
        return []
    if "/" in temporal and years[-1] - years[0] <= 200:
        return list(range(years[0], years[-1] + 1))
    return years


def dataset_formats(ds: dict[str, Any]) -> list[str]:
    """Data formats of the latest version, as listed in catalog.json."""
    entry = latest_version_entry(ds)
    if entry is None:
        return []
    listed = {str(f.get("format", "")).lower() for f in entry.get("files") or []
              if isinstance(f, dict)}
    found = [fmt for fmt in FORMATS if fmt in listed]
    return found or ["csv", "parquet"]


def facet_values(ds: dict[str, Any]) -> dict[str, set[str]]:
    """The values one dataset has in each facet (a dataset can have several)."""
    return {
        "theme": {ds["theme"]} if ds.get("theme") else set(),
        "producer": {str(p) for p in ds.get("produsen_data") or [] if p},
        "format": set(dataset_formats(ds)),
        "frequency": {ds["frequency"]} if ds.get("frequency") else set(),
        "year": {str(y) for y in years_covered(ds.get("temporal"))},
    }


def facet_options(datasets: Iterable[dict[str, Any]], facet: str) -> list[str]:
    """Every value of ``facet`` over the catalogue (years newest first)."""
    values: set[str] = set()
    for ds in datasets:
        values |= facet_values(ds)[facet]
    if facet == "year":
        return sorted(values, reverse=True)
    if facet == "format":
        return [f for f in FORMATS if f in values]
    if facet == "frequency":
        return sorted(values, key=lambda v: (FREQUENCY_ORDER.index(v)
                                             if v in FREQUENCY_ORDER else 99, v))
    return sorted(values, key=str.casefold)


def matches_facets(ds: dict[str, Any], selected: dict[str, Sequence[str]],
                   skip: str | None = None) -> bool:
    """Whether ``ds`` has one of the selected values in every facet (OR within a facet,
    AND across facets); the facet ``skip`` is ignored."""
    values = facet_values(ds)
    for facet, chosen in selected.items():
        if facet == skip or not chosen:
            continue
        if not values.get(facet, set()) & set(chosen):
            return False
    return True


def filter_facets(datasets: list[dict[str, Any]],
                  selected: dict[str, Sequence[str]]) -> list[dict[str, Any]]:
    return [ds for ds in datasets if matches_facets(ds, selected)]


def facet_counts(datasets: list[dict[str, Any]], selected: dict[str, Sequence[str]],
                 facet: str) -> Counter[str]:
    """Datasets per value of ``facet`` among those matching the other facets, so a count
    says how many results choosing that value gives."""
    counts: Counter[str] = Counter()
    for ds in datasets:
        if matches_facets(ds, selected, skip=facet):
            counts.update(facet_values(ds)[facet])
    return counts
