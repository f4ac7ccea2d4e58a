"""Coverage of a dataset's latest release, as catalog.json lists it: whether it is
partial and which regencies each period lacks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def is_partial(ds: dict[str, Any]) -> bool:
    """Whether the latest release lacks a regency that is expected to send the data."""
    coverage = ds.get("coverage")
    return isinstance(coverage, dict) and bool(coverage.get("partial"))


def coverage_gaps(ds: dict[str, Any]) -> list[dict[str, Any]]:
    """The gaps of a partial dataset, one per set of missing regencies:
    ``{"regencies": [{"kode", "nama"}], "periods": [labels], "whole": bool}`` (``whole``:
    the dataset has no period column, the regencies are missing from all of it), in the
    order catalog.json lists the periods; ``[]`` when complete or unknown."""
    if not is_partial(ds):
        return []
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for entry in ds["coverage"].get("missing") or []:
        if not isinstance(entry, dict):
            continue
        regencies = [r for r in entry.get("regencies") or [] if isinstance(r, dict)]
        key = tuple(str(r.get("kode")) for r in regencies)
        if not key:
            continue
        group = groups.setdefault(key, {"regencies": regencies, "periods": [],
                                        "whole": False})
        if entry.get("period") is None and not entry.get("by"):
            group["whole"] = True
        else:
            group["periods"].append(str(entry.get("label") or entry.get("period")))
    return list(groups.values())


def region_names(regencies: Iterable[dict[str, Any]]) -> str:
    """``Kabupaten Serang (36.04), Kota Serang (36.73)``."""
    return ", ".join(
        f"{r.get('nama') or r.get('kode')} ({r.get('kode')})"
        if r.get("nama") and r.get("nama") != r.get("kode") else str(r.get("kode"))
        for r in regencies
    )
