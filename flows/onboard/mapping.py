"""Guessing the mapping of a file's headers to the dataset's canonical columns: fuzzy
matches against the canonical names and the headers the dataset's other feeds map
(`propose_mapping`), what an existing feed knows of a header (`_feed_knows`), and how a
column writes regions (`_code_style`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flows.onboard.text import _lowest_part, _norm, _similarity
from flows.readers import header_key
from flows.registry import DatasetSpec, Feed, Registry

MATCH_THRESHOLD = 0.8        # a header this similar to a known one is proposed as mapped
NAME_OF_REGION = 0.9         # weight of "a region name column" (see `_known_headers`)
HINT_THRESHOLD = 0.5         # ... this similar is named as the closest, for the steward


@dataclass
class _Match:
    """A header's proposed canonical column (None: unmapped), how sure, and why."""

    header: str
    column: str | None = None
    score: float = 0.0
    why: str = ""
    closest: tuple[str, float, str] | None = None   # for an unmapped header: (column, score, why)
    key: str = ""                                    # the registry key to write for it
    candidates: list[tuple[float, int, str, str]] = field(default_factory=list)   # `_ranked`


def _known_headers(registry: Registry, spec: DatasetSpec, exclude: str | None
                   ) -> dict[tuple[str, str], list[str]]:
    """(normalised header, canonical column) -> where it is known: "canonical" for the
    dataset's own column names, "<feed id>:<header>" for the headers its feeds map.

    A feed that reads region codes by name ("Wilayah" -> kode_wilayah, region_code name)
    also says the header holds names: it is a candidate for the name column too
    (nama_wilayah), marked "~" and weighted NAME_OF_REGION, so it is taken only when
    another header holds the codes ("Kode" and "Kabupaten/Kota")."""
    known: dict[tuple[str, str], list[str]] = {}
    for column in spec.column_names:
        known.setdefault((_norm(column), column), []).append("canonical")
    for feed in registry.select(dataset=spec.name):
        if feed.id == exclude:
            continue
        for src, dst in feed.columns.items():
            if dst not in spec.column_names:
                continue
            known.setdefault((_norm(src), dst), []).append(f"{feed.id}:{src}")
            name = "nama_" + dst.removeprefix("kode_")
            if (feed.region_code == "name" and spec.column(dst).type == "region_code"
                    and name in spec.column_names):
                # a key of its own ("~" + column): a guess, not what a feed maps
                known.setdefault((_norm(src), "~" + name), []).append(f"{feed.id}:{src}")
    return known


def _explain(kind: str, variant: str, sources: list[str], score: float) -> str:
    """Why a header is proposed for a column: "its part 'Laki-laki' matches 'Laki-laki' in
    kab-lebak.penduduk, kota-serang.penduduk"."""
    part = f"its part '{variant}'" if kind == "part" else "it"
    how = "matches" if score == 1.0 else f"is {score:.0%} like"
    feeds = [s.split(":", 1) for s in sources if s != "canonical"]
    if not feeds:
        return f"{part} {how} the canonical name"
    spelled = " / ".join(f"'{s}'" for s in sorted({src for _, src in feeds}))
    ids = [f for f, _ in feeds]
    more = f" and {len(ids) - 3} more" if len(ids) > 3 else ""
    return f"{part} {how} {spelled} in {', '.join(ids[:3])}{more}"


def _ranked(header: str, known: dict[tuple[str, str], list[str]]
            ) -> list[tuple[float, int, str, str]]:
    """Candidate columns for `header`, best first: (score, votes, column, why)."""
    variants = [("whole", header)]
    part = _lowest_part(header)
    if part:
        variants.append(("part", part))
    best: dict[str, tuple[float, int, str, str]] = {}
    for kind, variant in variants:
        key = _norm(variant)
        for (known_key, column), sources in known.items():
            score = _similarity(key, known_key)
            why = _explain(kind, variant, sources, score)
            if column.startswith("~"):   # a region column's header, for the names
                column, score = column[1:], score * NAME_OF_REGION
                why = why.replace(" in ", " (region names) in ", 1)
            votes = len(sources)
            current = best.get(column)
            if current is None or (score, votes) > current[:2]:
                best[column] = (score, votes, column, why)
    return sorted(best.values(), key=lambda c: (-c[0], -c[1], c[2]))


def propose_mapping(headers: list[str], known: dict[tuple[str, str], list[str]]
                    ) -> list[_Match]:
    """Each header's most likely canonical column, one header per column: the most
    similar pairs are taken first (ties: the column more feeds map that way)."""
    ranked = {h: _ranked(h, known) for h in headers}
    matches = {h: _Match(h) for h in headers}
    pairs = sorted(((c[0], c[1], i, h, c) for i, h in enumerate(headers) for c in ranked[h]),
                   key=lambda p: (-p[0], -p[1], p[2]))
    used: set[str] = set()
    for score, _, _, header, (_, _, column, why) in pairs:
        m = matches[header]
        if score < MATCH_THRESHOLD or m.column or column in used:
            continue
        m.column, m.score, m.why = column, score, why
        used.add(column)
    parts = [header_key(_lowest_part(h) or h) for h in headers]
    for h in headers:
        m = matches[h]
        m.candidates = ranked[h]
        part = _lowest_part(h)
        # the lowest part alone is the simpler key, unless two headers share it
        m.key = part if part and parts.count(header_key(part)) == 1 else h
        if m.column is None:
            close = next((c for c in ranked[h] if c[2] not in used), None)
            if close and close[0] >= HINT_THRESHOLD:
                m.closest = (close[2], close[0], close[3])
    return [matches[h] for h in headers]


def _feed_knows(feed: Feed, header: str) -> str | None:
    """The canonical column `feed` maps `header` to (its whole name or its lowest part,
    as `map_headers` matches), '' when the feed ignores it, None when it does not know it."""
    wanted = {header_key(src): dst for src, dst in feed.columns.items()}
    ignored = {header_key(h) for h in feed.ignore_columns}
    keys = [header_key(header)]
    if _lowest_part(header):
        keys.append(header_key(_lowest_part(header)))
    for k in keys:
        if k in wanted:
            return wanted[k]
    return "" if any(k in ignored for k in keys) else None


def _code_style(value: str) -> str | None:
    """The region_code style a value is written in: "36.71" dotted, "3671" bps_digits,
    "KOTA TANGERANG" name; None for anything else."""
    if re.fullmatch(r"\d{2}(\.\d{2}){0,2}(\.\d{4})?", value):
        return "dotted"
    if re.fullmatch(r"\d{4}|\d{6}|\d{10}", value):
        return "bps_digits"
    return "name" if re.search(r"[A-Za-z]{3}", value) else None
