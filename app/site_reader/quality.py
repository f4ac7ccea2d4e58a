"""A dataset's quality, from the public quality summary (`site/quality/summary.json`):
the registry datasets it is built from, their score, failed checks and feeds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

# Catalogue slug -> the registry dataset(s) its mart is built from, for releases whose
# catalog.json entries do not carry `source_datasets` yet.
SOURCE_DATASETS = {
    "penduduk-kabupaten-kota": ("penduduk",),
    "indikator-kabupaten-kota": ("indikator",),
    "aduan-masyarakat-bulanan": ("aduan",),
    "fasilitas-kesehatan": ("fasilitas_kesehatan",),
    "fasilitas-kesehatan-kabupaten-kota": ("fasilitas_kesehatan",),
}


def source_datasets(ds: dict[str, Any], known: Iterable[str] = ()) -> list[str]:
    """The registry datasets a catalogue dataset is built from: catalog.json's
    ``source_datasets`` when present, else the built-in map, else a registry dataset
    whose name starts the mart's name."""
    listed = [str(s) for s in ds.get("source_datasets") or [] if s]
    if listed:
        return listed
    if ds.get("slug") in SOURCE_DATASETS:
        return list(SOURCE_DATASETS[ds["slug"]])
    model = str(ds.get("model") or ds.get("slug", "")).replace("-", "_")
    guesses = [k for k in known if model.startswith(k)]
    return sorted(guesses, key=len, reverse=True)[:1]


def quality_for(summary: dict[str, Any] | None, sources: Sequence[str]) -> dict[str, Any]:
    """Score (mean over the sources that have one), checks run and failures of
    ``sources`` from the public quality summary (``site/quality/summary.json``). A failure
    is ``{dataset, regency, nama_wilayah, expectation, column, severity,
    unexpected_count, description, kwargs, examples}``: the rule, how many rows failed
    it and the examples the summary publishes (masked, or row positions only)."""
    per_dataset = (summary or {}).get("datasets") or {}
    scores, failures, evaluated = [], [], 0
    found = False
    for name in sources:
        block = per_dataset.get(name)
        if not isinstance(block, dict):
            continue
        found = True
        if isinstance(block.get("score"), int | float):
            scores.append(float(block["score"]))
        evaluated += int(block.get("expectations_evaluated") or 0)
        suite = [r for r in block.get("rules") or [] if isinstance(r, dict)]
        rules = {r.get("index"): r for r in suite}
        for feed in block.get("regencies") or []:
            if not isinstance(feed, dict):
                continue
            for check in feed.get("results") or []:
                if not isinstance(check, dict) or check.get("success") is not False:
                    continue
                rule = rules.get(check.get("rule")) if check.get("rule") is not None else None
                failures.append({
                    "dataset": name,
                    "regency": feed.get("regency"),
                    "nama_wilayah": feed.get("nama_wilayah"),
                    "expectation": check.get("expectation"),
                    "column": check.get("column"),
                    "severity": check.get("severity"),
                    "unexpected_count": check.get("unexpected_count"),
                    "description": (rule or {}).get("description"),
                    "kwargs": (rule or {}).get("kwargs") or {},
                    "examples": check.get("examples") or [],
                })
    return {
        "found": found,
        "score": round(sum(scores) / len(scores), 1) if scores else None,
        "evaluated": evaluated,
        "failures": failures,
    }


def feeds_for(summary: dict[str, Any] | None, sources: Sequence[str]) -> list[dict[str, Any]]:
    """The feeds (one per regency, from the registry) each source dataset is built from,
    as the public quality summary lists them: feed id, regency, channel, last period."""
    per_dataset = (summary or {}).get("datasets") or {}
    rows = []
    for name in sources:
        block = per_dataset.get(name)
        if isinstance(block, dict):
            rows += [f for f in block.get("regencies") or [] if isinstance(f, dict)]
    return rows


def completeness(ds: dict[str, Any], summary: dict[str, Any] | None) -> tuple[float, int]:
    """Sort key for "most complete": quality score (-1 when unknown), then row count."""
    known = ((summary or {}).get("datasets") or {}).keys()
    score = quality_for(summary, source_datasets(ds, known))["score"]
    rows = ds.get("row_count") if isinstance(ds.get("row_count"), int) else 0
    return (score if score is not None else -1.0, rows)
