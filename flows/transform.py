"""Transform: run `dbt build` on the warehouse, in a subprocess.

dbt-duckdb keeps its DuckDB connection open for the life of the process, holding the
file's write lock; running dbt in its own process guarantees the lock is gone when it
returns, and no two dbt invocations ever share a process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from flows.common.files import write_json_atomic
from flows.settings import Settings, project_dir

DBT_DIR = project_dir() / "dbt"


def dbt_dir() -> Path:
    """The dbt project (`SATUDATA_DBT_DIR` overrides it, e.g. for a test's modified copy)."""
    return Path(os.environ.get("SATUDATA_DBT_DIR", DBT_DIR))


class TransformError(RuntimeError):
    """dbt failed; the message carries the failing nodes and dbt's own words, `result`
    dbt's per-node results (empty when dbt could not run at all)."""

    def __init__(self, message: str, result: DbtResult | None = None):
        super().__init__(message)
        self.result = result or DbtResult("", 0.0, [])


@dataclass(frozen=True)
class DbtResult:
    command: str
    elapsed_s: float
    nodes: list[dict]          # unique_id, status, message, execution_time

    @property
    def failures(self) -> list[dict]:
        return [n for n in self.nodes if n["status"] in ("error", "fail", "runtime error")]


def dbt_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SATUDATA_WAREHOUSE=str(settings.warehouse),
        DBT_PROFILES_DIR=str(dbt_dir()),
        DBT_PROJECT_DIR=str(dbt_dir()),
        DBT_TARGET_PATH=str(settings.dbt_target_dir),
        DBT_LOG_PATH=str(settings.dbt_target_dir.parent / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_USE_COLORS="false",
    )
    return env


# --- a dbt process started ahead of time (flows/dbt_worker.py) -------------------------------

_warm: tuple[subprocess.Popen, tuple] | None = None   # the process, and what it was started for


def _warm_key(settings: Settings) -> tuple:
    return (str(settings.warehouse), str(dbt_dir()), str(settings.dbt_target_dir))


def start_warm(settings: Settings) -> None:
    """Start a dbt process that imports dbt now and runs the next dbt command of this
    process (`run_dbt`), so that command does not wait ~2 s for dbt's imports. Idle, it
    only imports: it opens the warehouse when it is given its command."""
    global _warm
    if _warm is not None and _warm[0].poll() is None and _warm[1] == _warm_key(settings):
        return
    stop_warm()
    _warm = (_spawn(settings), _warm_key(settings))


def _spawn(settings: Settings) -> subprocess.Popen:
    """A dbt process (flows/dbt_worker.py) waiting for its command on stdin."""
    settings.dbt_target_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "flows.dbt_worker"], cwd=dbt_dir(), env=dbt_env(settings),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_warm() -> None:
    """End the waiting dbt process, if any. It has run nothing and opened nothing (it
    may still be importing dbt): it is killed, not waited for."""
    global _warm
    if _warm is None:
        return
    proc, _ = _warm
    _warm = None
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


def _take_warm(settings: Settings) -> subprocess.Popen | None:
    global _warm
    if _warm is None:
        return None
    proc, key = _warm
    if proc.poll() is not None or key != _warm_key(settings):
        stop_warm()
        return None
    _warm = None
    return proc


def run_dbt(settings: Settings, *args: str, then_warm: bool = False) -> DbtResult:
    """Run `dbt <args>` and return its per-node results; raise TransformError on failure.
    In the dbt process started ahead of time (`start_warm`) if there is one, else in a new
    one. `then_warm`: another dbt command follows; its process starts now."""
    import time

    settings.dbt_target_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    proc = _take_warm(settings) or _spawn(settings)
    proc.stdin.write(json.dumps(list(args)) + "\n")
    proc.stdin.flush()
    if then_warm:
        start_warm(settings)
    stdout, stderr = proc.communicate()
    proc = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    elapsed = time.perf_counter() - started
    nodes: list[dict] = []
    results_file = settings.dbt_target_dir / "run_results.json"
    if results_file.exists() and results_file.stat().st_mtime >= time.time() - elapsed - 1:
        for r in json.loads(results_file.read_text()).get("results", []):
            nodes.append(
                {
                    "unique_id": r["unique_id"],
                    "status": r["status"],
                    "message": r.get("message"),
                    "execution_time": r.get("execution_time"),
                }
            )
    result = DbtResult(" ".join(args), elapsed, nodes)
    if proc.returncode != 0:
        failed = "; ".join(
            f"{n['unique_id']}: {n['status']}: {n['message']}" for n in result.failures
        )
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise TransformError(
            f"dbt {' '.join(args)} failed (exit {proc.returncode}). "
            f"{failed or 'No node results.'}\n--- dbt output (last lines) ---\n{tail}",
            result,
        )
    return result


def check_metadata(settings: Settings) -> None:
    """Every published mart must carry its catalogue metadata and column descriptions;
    a gap fails the run before anything is built, naming the model and the field."""
    from flows.common.marts import PublishError, published_marts

    try:
        published_marts(manifest(settings))
    except PublishError as e:
        raise TransformError(f"dbt project not built: {e}") from None


# --- what a build depends on, so unchanged work is not redone ------------------------------
#
# Every dbt command is a process start of ~3 s. `dbt parse` (so metadata gaps fail before
# anything is built) and `dbt docs generate` (the published docs) depend only on the dbt
# project, the reference data it reads and the dbt version; `dbt build` also on the
# accepted data. A fingerprint of those inputs is kept beside dbt's target
# (`satudata_state.json`): a step whose inputs are unchanged since it last succeeded is
# skipped.

STATE_FILE = "satudata_state.json"
_IGNORED_DIRS = {"target", "logs", "dbt_packages", "__pycache__", ".git"}


def project_fingerprint(settings: Settings) -> str:
    """sha256 over the dbt project's files, the reference CSVs and the dbt versions."""
    import hashlib
    from importlib.metadata import version

    h = hashlib.sha256()
    for root in (dbt_dir(), settings.reference_dir):
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if path.is_dir() or _IGNORED_DIRS.intersection(rel.parts) or path.name == ".user.yml":
                continue
            h.update(f"{root.name}/{rel.as_posix()}\0".encode())
            h.update(path.read_bytes())
            h.update(b"\0")
    for package in ("dbt-core", "dbt-duckdb"):
        h.update(f"{package}=={version(package)}\0".encode())
    return h.hexdigest()


def _state_path(settings: Settings) -> Path:
    return settings.dbt_target_dir / STATE_FILE


def _state(settings: Settings) -> dict:
    try:
        return json.loads(_state_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _remember(settings: Settings, **entries: str) -> None:
    state = _state(settings)
    state.update(entries)
    settings.dbt_target_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(_state_path(settings), state)


def accepted_marker(settings: Settings, counts: dict[str, int] | None = None) -> str:
    """What the marts were built from: accepted submissions are only ever added (a
    re-send or a backfill adds one), so their count changes whenever the data does.
    `counts`: `accepted_counts`, when the caller has them."""
    counts = accepted_counts(settings) if counts is None else counts
    return f"accepted:{sum(counts.values())}"


def is_built(settings: Settings, marker: str) -> bool:
    """True when the last successful `dbt build` used this project (and reference data)
    and the same accepted data: building again would change nothing."""
    state = _state(settings)
    return (state.get("built") == f"{project_fingerprint(settings)}/{marker}"
            and (settings.dbt_target_dir / "manifest.json").is_file())


def accepted_counts(settings: Settings) -> dict[str, int]:
    """Accepted submissions per dataset (see `accepted_marker`)."""
    from flows.warehouse import connect

    with connect(settings.warehouse) as con:
        return dict(con.execute(
            "select dataset, count(*) from meta.submissions where status = 'accepted' "
            "group by 1").fetchall())


def _selection(settings: Settings, fingerprint: str, counts: dict[str, int]) -> tuple:
    """`--select` for a build after the last successful one on this same project: only
    what depends on the datasets whose accepted data changed since (dbt's own graph
    operator `source:raw.<dataset>+`: their models and every test on those). Everything
    else is as that build left it. Empty (build all) after a failed build, a project
    change, or when a changed dataset is not a dbt source."""
    state = _state(settings)
    before = state.get("built_counts")
    if not isinstance(before, dict) or not str(state.get("built", "")).startswith(
            f"{fingerprint}/"):
        return ()
    changed = sorted(d for d in set(counts) | set(before)
                     if counts.get(d, 0) != before.get(d, 0))
    sources = {node.get("name") for node in manifest(settings).get("sources", {}).values()
               if node.get("source_name") == "raw"}
    if not changed or not set(changed) <= sources:
        return ()
    return ("--select", " ".join(f"source:raw.{d}+" for d in changed))


def build(settings: Settings, *, then_warm: bool = False) -> DbtResult:
    """`dbt build`; before it, `dbt parse` and the metadata check when the project changed
    since the last parse (a build parses anyway, and writes the manifest again).
    `then_warm`: another dbt command follows (`run_dbt`)."""
    fingerprint = project_fingerprint(settings)
    counts = accepted_counts(settings)
    marker = accepted_marker(settings, counts)
    manifest_file = settings.dbt_target_dir / "manifest.json"
    if _state(settings).get("parsed") != fingerprint or not manifest_file.is_file():
        run_dbt(settings, "parse", then_warm=True)
    check_metadata(settings)
    # Unit tests check the models' logic on fixed inputs, not the data: once they passed
    # on this project (same files, same dbt), a build for new data leaves them out (~1 s).
    unit_tested = _state(settings).get("unit_tested") == fingerprint
    result = run_dbt(settings, "build", *_selection(settings, fingerprint, counts),
                     *(("--exclude-resource-type", "unit_test") if unit_tested else ()),
                     then_warm=then_warm)
    _verified(settings)
    _remember(settings, parsed=fingerprint, built=f"{fingerprint}/{marker}",
              built_counts=counts, unit_tested=fingerprint)
    return result


# A skipped node is not at fault: dbt skips what lies downstream of a failure, which is
# found from the graph (so the reason given is the failure itself).
BAD_STATUSES = ("error", "fail", "runtime error")


def held_back(settings: Settings, result: DbtResult) -> dict[str, str]:
    """After a failed `dbt build`: the models not to publish (name -> why), i.e. each
    model that failed or failed one of its own tests, and every model downstream of one
    (dbt skipped those). A test's failure counts against the model it is defined on
    (`attached_node`), not against the models it merely reads (a relationships test on
    a mart reads `dim_wilayah`, which is not at fault). Empty when the failure cannot be
    pinned on models (dbt did not run, a project error): then nothing is published."""
    graph = manifest(settings)
    nodes, parents = graph.get("nodes", {}), graph.get("parent_map", {})
    bad: dict[str, str] = {}
    for n in result.nodes:
        if n["status"] not in BAD_STATUSES:
            continue
        node = nodes.get(n["unique_id"], {})
        why = f"{n['unique_id'].split('.', 2)[-1]} {n['status']}"
        if node.get("resource_type") == "test":
            attached = node.get("attached_node") or next(
                (d for d in node.get("depends_on", {}).get("nodes", [])
                 if d.startswith("model.")), None)
            if attached:
                bad.setdefault(attached, why)
        elif node:
            bad.setdefault(n["unique_id"], why)
    if not bad:
        return {}

    def cause(uid: str, seen: set[str]) -> str | None:
        if uid in bad:
            return bad[uid]
        for parent in parents.get(uid, []):
            if parent not in seen:
                seen.add(parent)
                found = cause(parent, seen)
                if found:
                    return found
        return None

    held = {}
    for uid, node in nodes.items():
        if node.get("resource_type") == "model":
            why = cause(uid, set())
            if why:
                held[node["name"]] = f"dbt: {why}"
    return held


def _verified(settings: Settings) -> None:
    """Record that a build passed every test on every row built until now, so the next
    build's uniqueness test looks only at rows built after (dbt/tests/generic)."""
    import datetime as dt

    from flows.warehouse import DBT_VERIFIED_BUILDS_SQL, connect

    with connect(settings.warehouse) as con:
        con.execute(DBT_VERIFIED_BUILDS_SQL)
        con.execute("insert into meta.dbt_verified_builds values (?)",
                    [dt.datetime.now(dt.UTC)])


def manifest(settings: Settings) -> dict:
    return json.loads((settings.dbt_target_dir / "manifest.json").read_text())
