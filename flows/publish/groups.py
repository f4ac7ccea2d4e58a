"""Release groups: marts built from the same source datasets are published together or
not at all (`release_groups`, `publish_groups`).

Every mart of a group is staged first; only when each passed (personal-data scan, drop
guard, every other check) are their releases renamed into place and their `latest` links
switched, one after the other. Each switch is atomic; the group's switch is ordered, not
one atomic step (see `publish_groups` for what a reader may see meanwhile, and how a
crash in between is finished by the next publisher).
"""

from __future__ import annotations

import datetime as dt
import os

from flows import timing
from flows.common.files import fsync_file, write_json_atomic
from flows.common.marts import MartSpec, PublishError
from flows.publish.release import SWITCH_JOURNAL, _now, _point_latest, _publish_lock
from flows.publish.site import COVERAGE_JSON, dataset_dir
from flows.publish.staging import PublishOutcome, _discard, _stage, _Staged, _switch
from flows.settings import Settings


def source_datasets(mart: MartSpec) -> tuple[str, ...]:
    """The source datasets whose rows a mart publishes: `open_data.coverage.datasets`
    when it declares coverage, else every `raw.<dataset>` it reads (`MartSpec.sources`).
    A mart that only joins another dataset to scale its own (complaints per 10,000
    residents) declares the dataset it counts, so the one it joins does not tie them."""
    if mart.coverage is not None:
        return mart.coverage.datasets
    return mart.sources


def release_groups(marts: list[MartSpec]) -> list[list[MartSpec]]:
    """The marts published together or not at all: two marts are in one group when
    their `source_datasets` share a dataset, and groups are closed under that (a chain
    of shared datasets joins them all). A mart with no source dataset is a group of its
    own. Groups are in the order of their first slug; marts by slug within a group."""
    ordered = sorted(marts, key=lambda m: m.slug)
    parent = list(range(len(ordered)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[str, int] = {}
    for i, mart in enumerate(ordered):
        for dataset in source_datasets(mart):
            if dataset in first_with:
                parent[root(i)] = root(first_with[dataset])
            else:
                first_with[dataset] = i
    groups: dict[int, list[MartSpec]] = {}
    for i, mart in enumerate(ordered):
        groups.setdefault(root(i), []).append(mart)
    return list(groups.values())


def publish_groups(settings: Settings, marts: list[MartSpec], *,
                   held: dict[str, str] | None = None, now: dt.datetime | None = None,
                   log=None) -> list[PublishOutcome]:
    """Publish every mart, group by group (`release_groups`): all of a group's marts
    or none of them. Returns one outcome per mart, in slug order; `log(outcome)` is
    called as each group is done.

    `held`: model name -> why it must not be published this run (dbt did not build or
    test it). A held mart holds its whole group; nothing of that group is staged.

    Each mart of a group is staged (written in full and checked, invisible) one after
    the other; a mart whose publication fails (personal data found, a regency-period it
    would drop, anything else) holds the group back: no staged release is switched,
    every `latest` of the group stays where it was, and each outcome is "failed" and
    names the mart(s) that blocked it (`held_by`). When every mart passed, the new
    releases are renamed into place (none is reachable through `latest` yet), then each
    mart's `latest` is switched in slug order. Each switch is atomic; the group's is
    ordered, not one atomic step: for the milliseconds between its first and last
    rename, a reader following two `latest` links of the group may find the new release
    of one and the previous release of another. `catalog.json`, `data.json` and the zip
    are rewritten after every group has switched (`write_catalog`), so they never show a
    group half-switched. A journal of the switch (`SWITCH_JOURNAL`) is written before the
    first rename and removed after the last; a crash in between leaves it, and the next
    publisher finishes the switch first (every release of the group had passed)."""
    now = now or _now()
    held = held or {}
    outcomes: list[PublishOutcome] = []
    for group in release_groups(marts):
        with timing.timed("publish.marts"), _publish_lock(settings):
            done = _publish_group(settings, group, held, now)
        for outcome in done:
            if log is not None:
                log(outcome)
        outcomes += done
    return sorted(outcomes, key=lambda o: o.slug)


def _publish_group(settings: Settings, group: list[MartSpec], held: dict[str, str],
                   now: dt.datetime) -> list[PublishOutcome]:
    """One group, under the publish lock: stage all, then switch all or none."""
    slugs = [m.slug for m in group]
    kept = [m for m in group if m.model in held]
    if kept:
        why = {m.slug: f"not published: {held[m.model]}; the last release stays"
               for m in kept}
        return [PublishOutcome(m.slug, "failed", None, why[m.slug], held_by=(m.slug,))
                if m.slug in why else _held(m, group, why) for m in group]
    staged: list[_Staged] = []
    failures: dict[str, str] = {}
    try:
        for mart in group:
            try:
                item = _stage(settings, mart, now)
            except PublishError as e:
                failures[mart.slug] = str(e)
                continue
            staged.append(item)
            if item.failed:
                failures[mart.slug] = item.outcome.message
        if failures:
            return [PublishOutcome(m.slug, "failed", None, failures[m.slug],
                                   held_by=(m.slug,))
                    if m.slug in failures else _held(m, group, failures) for m in group]
        try:
            _switch_all(settings, staged)
        except Exception as e:  # noqa: BLE001 - reported on every mart of the group
            if (settings.home / SWITCH_JOURNAL).exists():
                for item in staged:   # kept for the next publisher, which finishes it
                    item.staging = None
            why = (f"switching release group {', '.join(slugs)} failed ({type(e).__name__}: "
                   f"{e}); the next publication finishes or repeats it")
            return [PublishOutcome(slug, "failed", None, why, held_by=tuple(slugs))
                    for slug in slugs]
        by_slug = {s.mart.slug: s.outcome for s in staged}
        return [by_slug[s] for s in slugs]
    finally:
        for item in staged:
            _discard(item)


def _held(mart: MartSpec, group: list[MartSpec], blockers: dict[str, str]
          ) -> PublishOutcome:
    """The outcome of a mart its group kept back: which marts blocked it, and why."""
    shared = sorted({d for m in group if m.slug in blockers for d in source_datasets(m)}
                    & set(source_datasets(mart)))
    via = f" (built from the same source data: {', '.join(shared)})" if shared else ""
    reasons = "; ".join(f"{slug}: {why}" for slug, why in sorted(blockers.items()))
    return PublishOutcome(
        mart.slug, "failed", None,
        f"not published: held back with its release group{via}, because "
        f"{', '.join(sorted(blockers))} could not be published ({reasons}); the last "
        "release of every dataset of the group stays latest",
        held_by=tuple(sorted(blockers)))


def _switch_all(settings: Settings, staged: list[_Staged]) -> None:
    """Switch a group whose every mart passed: journal, renames into place, `latest`
    links in slug order, journal removed (see `publish_groups`)."""
    switching = [s for s in staged if s.staging is not None or s.outcome.status == "unchanged"]
    if len([s for s in switching if s.staging is not None]) <= 1:
        for item in switching:   # one new release at most: its own switch is enough
            _switch(settings, item)
        return
    journal = settings.home / SWITCH_JOURNAL
    write_json_atomic(journal, {"switches": [
        {"slug": s.mart.slug,
         "staging": s.staging.name if s.staging is not None else None,
         "version": s.outcome.version} for s in switching]})
    for item in switching:       # every new release in its place, none reachable yet
        if item.staging is not None:
            folder = item.staging.parent
            os.replace(item.staging, folder / item.outcome.version)
            item.staging = None
            fsync_file(folder)
    for item in switching:       # then the `latest` links, one after the other
        folder = dataset_dir(settings.site_dir, item.mart.slug)
        if item.outcome.status == "published":
            _point_latest(folder, item.outcome.version)
            (folder / COVERAGE_JSON).unlink(missing_ok=True)
        else:
            _switch(settings, item)
    journal.unlink()
