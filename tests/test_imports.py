"""Imports point one way: a module of `flows/` or `app/` never imports from a later stage.

The test walks every module with `ast`, builds the graph of imports between the project's
own modules (lazy imports inside functions count too) and fails on an import from a stage
later than the importer's. Stages are listed earliest first in `STAGES`; a new module must
be placed there (the test fails on a module it cannot place).

Placement decisions:
- `flows.timing` and `flows.locking` are common helpers (they import nothing of the
  pipeline; every stage may time itself or take the run lock). They may move under
  `flows/common/` later.
- `flows.backup`, `flows.deploy` and `flows.prefect_local` are operations: they sit after
  the stages they package or schedule, and before the pipeline and the CLI that use them.
- `flows.status` and `flows.alerts` are reports about a run: after publish, before ops.

`ALLOWED` lists the backward imports that phase 1 of the restructure (issue 18) does not
fix, each with why. It must only shrink: an entry that is no longer a real backward import
fails `test_allowed_entries_are_still_real`, so it is removed when fixed.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import PROJECT_ROOT

# Earliest first. A module belongs to the stage of its longest matching prefix.
STAGES: dict[str, list[str]] = {
    "common": ["flows.common", "flows.timing", "flows.locking"],
    "settings": ["flows.settings"],
    "warehouse": ["flows.warehouse"],
    "ingest": ["flows.channels", "flows.readers", "flows.registry", "flows.ingest",
               "flows.retry", "flows.onboard", "flows.backfill"],
    "quality": ["flows.quality", "flows.validation_run", "flows.acceptor"],
    "transform": ["flows.transform", "flows.dbt_worker", "flows.dbt_docs"],
    "publish": ["flows.publish", "flows.static_files"],
    "report": ["flows.status", "flows.alerts", "flows.report"],
    "ops": ["flows.backup", "flows.deploy", "flows.automations", "flows.prefect_local",
            "flows.run_alerts"],
    "pipeline": ["flows.pipeline", "flows.feed_tasks", "flows.feed_session"],
    "cli": ["flows.cli", "flows.commands", "flows.process_exit"],
    "app": ["app"],
}

# (importer, imported): backward imports that phase 1 leaves, each with why. Only shrinks.
ALLOWED: set[tuple[str, str]] = set()


def _stage_index(module: str) -> int | None:
    best, index = -1, None
    for i, prefixes in enumerate(STAGES.values()):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, index = len(prefix), i
    return index


def _modules() -> dict[str, Path]:
    out = {}
    for top in ("flows", "app"):
        for path in sorted((PROJECT_ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `module` imports (an `from pkg import name` is `pkg.name`
    when that is a module, else `pkg`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                     for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {m: _imports(m, p, known) for m, p in modules.items()}


def _backward(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(m, t) for m, targets in graph.items() for t in targets
            if _stage_index(t) is not None and _stage_index(m) is not None
            and _stage_index(t) > _stage_index(m)}


def test_every_module_has_a_stage():
    unplaced = [m for m in _graph() if m not in ("flows", "app") and _stage_index(m) is None]
    assert not unplaced, f"place these modules in STAGES (tests/test_imports.py): {unplaced}"


def test_no_import_from_a_later_stage():
    names = list(STAGES)
    found = _backward(_graph()) - ALLOWED
    assert not found, "imports from a later stage:\n" + "\n".join(
        f"  {m} ({names[_stage_index(m)]}) imports {t} ({names[_stage_index(t)]})"
        for m, t in sorted(found))


def test_allowed_entries_are_still_real():
    stale = ALLOWED - _backward(_graph())
    assert not stale, f"no longer backward imports, remove them from ALLOWED: {sorted(stale)}"


def test_the_graph_sees_lazy_and_relative_imports():
    graph = _graph()
    assert "flows.automations" in graph["flows.deploy"]      # inside a function
    assert "flows.common.files" in graph["flows.publish.release"]
    assert "flows.common.pii" in graph["flows.ingest.checks"]   # `from flows.common import pii`


MAX_MODULE_LINES = 400


def test_no_module_does_more_than_one_room_holds():
    """No module of flows/ or app/ is over 400 lines (issue 18): a module that grows past
    it is doing more than one job and is split by job."""
    too_long = {name: n for name, path in _modules().items()
                if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert too_long == {}
