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

from flows.settings import PROJECT_ROOT, Settings

DBT_DIR = PROJECT_ROOT / "dbt"


def dbt_dir() -> Path:
    """The dbt project (`SATUDATA_DBT_DIR` overrides it, e.g. for a test's modified copy)."""
    return Path(os.environ.get("SATUDATA_DBT_DIR", DBT_DIR))


class TransformError(RuntimeError):
    """dbt failed; the message carries the failing nodes and dbt's own words."""


@dataclass(frozen=True)
class DbtResult:
    command: str
    elapsed_s: float
    nodes: list[dict]          # unique_id, status, message, execution_time

    @property
    def failures(self) -> list[dict]:
        return [n for n in self.nodes if n["status"] in ("error", "fail", "runtime error")]


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


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


def run_dbt(settings: Settings, *args: str) -> DbtResult:
    """Run `dbt <args>` and return its per-node results; raise TransformError on failure."""
    import time

    settings.dbt_target_dir.mkdir(parents=True, exist_ok=True)
    cmd = [dbt_executable(), *args]
    started = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=dbt_dir(), env=dbt_env(settings), capture_output=True, text=True, check=False
    )
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
            f"{failed or 'No node results.'}\n--- dbt output (last lines) ---\n{tail}"
        )
    return result


def check_metadata(settings: Settings) -> None:
    """Every published mart must carry its catalogue metadata and column descriptions;
    a gap fails the run before anything is built, naming the model and the field."""
    from flows.publish import PublishError, published_marts

    try:
        published_marts(manifest(settings))
    except PublishError as e:
        raise TransformError(f"dbt project not built: {e}") from None


def build(settings: Settings) -> DbtResult:
    run_dbt(settings, "parse")
    check_metadata(settings)
    return run_dbt(settings, "build")


DOCS_FILES = ("index.html", "manifest.json", "catalog.json")


def publish_docs(settings: Settings) -> Path:
    """`dbt docs generate`, then publish the static docs site (with lineage) as
    `site/dbt-docs/`, switched in one rename so readers never see half of it."""
    import shutil
    import uuid

    run_dbt(settings, "docs", "generate")
    site_docs = settings.site_dir / "dbt-docs"
    staging = settings.site_dir / f".dbt-docs-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    for name in DOCS_FILES:
        shutil.copyfile(settings.dbt_target_dir / name, staging / name)
    old = None
    if site_docs.exists():
        old = settings.site_dir / f".dbt-docs-old-{uuid.uuid4().hex}"
        os.replace(site_docs, old)
    os.replace(staging, site_docs)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return site_docs


def manifest(settings: Settings) -> dict:
    return json.loads((settings.dbt_target_dir / "manifest.json").read_text())
