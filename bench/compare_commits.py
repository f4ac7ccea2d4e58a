"""Two commits side by side on one workload: `python -m bench.compare_commits --old REV`.

For a restructure that must not change behaviour or speed (issue 18): the old commit is
checked out in a git worktree (under the scratch folder), the new one is this checkout.
One synthetic workload of `--size` complaint rows (the old commit's bench/data.py, with
the real population and indicator feeds) is written once; then, in `--rounds` interleaved rounds
(old, new, new, old, ...: neither always goes first), each commit runs `satudata run`
(`python -m flows.cli run`, embedded Prefect server) on a fresh home, in its own
process with only its own code on the path (PYTHONPATH=<its tree>, the same venv).

Measured per run (bench/measure.py): wall time, peak memory of the process tree, the
machine's load average before the run. Checked: every run ends with exit code 0, and
both commits publish byte-identical CSV files (same rows, same order).

Results: bench/results/<timestamp>-compare.json and .md (medians and the new/old ratio).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from bench import measure
from flows.settings import PROJECT_ROOT

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
DEFAULT_SCRATCH = Path("/tmp/satudata-compare")


def worktree(rev: str, scratch: Path) -> tuple[Path, str]:
    """A detached worktree of `rev` (re-created), and the commit it resolved to."""
    commit = subprocess.run(["git", "rev-parse", rev], cwd=PROJECT_ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    path = scratch / f"tree-{commit[:10]}"
    if path.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=PROJECT_ROOT,
                       capture_output=True)
        shutil.rmtree(path, ignore_errors=True)
    subprocess.run(["git", "worktree", "add", "--detach", str(path), commit],
                   cwd=PROJECT_ROOT, check=True, capture_output=True)
    return path, commit


def prepare_with(tree: Path, scratch: Path, size: int) -> Path:
    """The workload written by `tree`'s own bench/data.py; returns its registry path."""
    code = ("import sys; from pathlib import Path; from bench import data; "
            f"print(data.prepare(Path({str(scratch)!r}), {size}).feeds)")
    done = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(tree)}, check=True)
    return Path(done.stdout.strip().splitlines()[-1])


def published_csvs(home: Path) -> dict[str, str]:
    """sha256 of every CSV of the newest releases (`site/datasets/*/latest/`)."""
    out = {}
    for path in sorted((home / "site").glob("datasets/*/latest/*.csv")):
        out[str(path.relative_to(home / "site"))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run_once(tree: Path, feeds: Path, home: Path) -> dict:
    shutil.rmtree(home, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SATUDATA_", "PREFECT_API"))}
    env.update(PYTHONPATH=str(tree), SATUDATA_HOME=str(home), SATUDATA_FEEDS=str(feeds),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    load = os.getloadavg()[0]
    m = measure.run([sys.executable, "-m", "flows.cli", "run"], env=env, cwd=tree,
                    timeout_s=3600)
    return {"wall_s": round(m.wall_s, 2), "peak_rss_mb": round(m.peak_rss_mb),
            "returncode": m.returncode, "load_1min": round(load, 2),
            "csv": published_csvs(home), "output_tail": m.output[-2000:] if m.returncode else ""}


def summarise(runs: dict[str, list[dict]], labels: dict[str, str]) -> dict:
    out = {}
    for key, items in runs.items():
        out[key] = {"commit": labels[key],
                    "wall_s_median": statistics.median(r["wall_s"] for r in items),
                    "peak_rss_mb_median": statistics.median(r["peak_rss_mb"] for r in items),
                    "wall_s": [r["wall_s"] for r in items],
                    "peak_rss_mb": [r["peak_rss_mb"] for r in items],
                    "load_1min": [r["load_1min"] for r in items],
                    "exit_codes": sorted({r["returncode"] for r in items})}
    out["ratio_new_over_old"] = {
        "wall": round(out["new"]["wall_s_median"] / out["old"]["wall_s_median"], 3),
        "peak_rss": round(out["new"]["peak_rss_mb_median"] / out["old"]["peak_rss_mb_median"], 3),
    }
    csvs = {key: [r["csv"] for r in items] for key, items in runs.items()}
    out["identical_csv"] = all(c == csvs["old"][0] for c in csvs["old"] + csvs["new"]) \
        and bool(csvs["old"][0])
    return out


def markdown(summary: dict, size: int, started: str) -> str:
    o, n, r = summary["old"], summary["new"], summary["ratio_new_over_old"]
    loads = o["load_1min"] + n["load_1min"]
    return "\n".join([
        f"# Old and new commit side by side ({started}, {size:,} complaint rows)",
        "",
        f"Machine: {os.cpu_count()} cores; 1-minute load before the runs "
        f"{min(loads):.2f}–{max(loads):.2f}. Rounds interleaved, fresh home each run.",
        "",
        "| commit | whole run, median (s) | runs (s) | peak RSS, median (MB) | exit |",
        "|---|---|---|---|---|",
        f"| old {o['commit'][:10]} | {o['wall_s_median']:.2f} | "
        f"{', '.join(f'{w:.2f}' for w in o['wall_s'])} | {o['peak_rss_mb_median']:.0f} | "
        f"{o['exit_codes']} |",
        f"| new {n['commit'][:10]} | {n['wall_s_median']:.2f} | "
        f"{', '.join(f'{w:.2f}' for w in n['wall_s'])} | {n['peak_rss_mb_median']:.0f} | "
        f"{n['exit_codes']} |",
        "",
        f"new/old: whole run {r['wall']:.3f}, peak memory {r['peak_rss']:.3f}; published CSV "
        f"files byte-identical in every run: {'yes' if summary['identical_csv'] else 'NO'}.",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the commit to compare against")
    parser.add_argument("--new", help="a commit (default: this checkout as it is)")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH)
    args = parser.parse_args(argv)
    started = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    args.scratch.mkdir(parents=True, exist_ok=True)
    old_tree, old_commit = worktree(args.old, args.scratch)
    if args.new:
        new_tree, new_commit = worktree(args.new, args.scratch)
    else:
        new_tree = PROJECT_ROOT
        new_commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT,
                                    capture_output=True, text=True).stdout.strip() + "+tree"
    # The workload is written by the OLD commit's bench code, so that both commits can
    # read its registry (a newer registry may use keys an older one refuses).
    feeds = prepare_with(old_tree, args.scratch / "workload", args.size)
    trees = {"old": old_tree, "new": new_tree}
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    for i in range(args.rounds):
        order = ("old", "new") if i % 2 == 0 else ("new", "old")
        for key in order:
            result = run_once(trees[key], feeds, args.scratch / f"home-{key}")
            runs[key].append(result)
            print(f"round {i + 1} {key}: {result['wall_s']} s, {result['peak_rss_mb']} MB, "
                  f"exit {result['returncode']}, load {result['load_1min']}", flush=True)
    summary = summarise(runs, {"old": old_commit, "new": new_commit})
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = RESULTS_DIR / f"{started}-compare"
    stem.with_suffix(".json").write_text(json.dumps(
        {"size": args.size, "rounds": args.rounds, "summary": summary, "runs": runs},
        indent=2), encoding="utf-8")
    text = markdown(summary, args.size, started)
    stem.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    subprocess.run(["git", "worktree", "prune"], cwd=PROJECT_ROOT, capture_output=True)
    ok = summary["identical_csv"] and all(
        r["returncode"] == 0 for items in runs.values() for r in items)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
