"""Run one measured step in a subprocess: wall time, and the peak memory of its whole
process tree (the sum of the resident sets of the process and all its descendants,
polled from /proc every 50 ms; psutil is not a dependency), plus the largest single
process of the tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from flows.settings import PROJECT_ROOT

POLL_S = 0.05
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measured:
    wall_s: float
    peak_rss_mb: float          # process tree, summed, polled
    max_process_rss_mb: float   # the largest single process of the tree (polled)
    returncode: int
    result: dict = field(default_factory=dict)   # what the child wrote (JSON)
    output: str = ""                             # its stdout + stderr (tail)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces and parentheses
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss(root: int) -> tuple[int, int]:
    """Bytes resident in `root` and all its descendants right now: (sum, largest)."""
    tree = _children()
    total, largest, stack = 0, 0, [root]
    while stack:
        pid = stack.pop()
        rss = _rss(pid)
        total += rss
        largest = max(largest, rss)
        stack.extend(tree.get(pid, ()))
    return total, largest


class _Poller(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.largest, self._halt = pid, 0, 0, threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            total, largest = tree_rss(self.pid)
            self.peak, self.largest = max(self.peak, total), max(self.largest, largest)
            self._halt.wait(POLL_S)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def run(argv: list[str], *, env: dict | None = None, cwd: Path | None = None,
        timeout_s: float = 1800, result_file: Path | None = None) -> Measured:
    """Run `argv`; the child may write a JSON result to $BENCH_RESULT (read back)."""
    full_env = dict(os.environ if env is None else env)
    own = result_file is None
    if own:
        fd, name = tempfile.mkstemp(prefix="bench-result-", suffix=".json")
        os.close(fd)
        result_file = Path(name)
    result_file.unlink(missing_ok=True)
    full_env["BENCH_RESULT"] = str(result_file)
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below, after the child ends
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=full_env, cwd=cwd or PROJECT_ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    poller = _Poller(proc.pid)
    poller.start()
    try:
        returncode = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        returncode = proc.wait()
    wall = time.perf_counter() - started
    poller.stop()
    log.seek(0)
    output = log.read().decode("utf-8", "replace")
    log.close()
    result = {}
    if result_file.exists():
        result = json.loads(result_file.read_text(encoding="utf-8") or "{}")
        if own:
            result_file.unlink()
    return Measured(
        wall_s=wall,
        peak_rss_mb=poller.peak / 1024**2,
        max_process_rss_mb=poller.largest / 1024**2,
        returncode=returncode,
        result=result,
        output=output[-20000:],
    )


def python(module_args: list[str], **kwargs) -> Measured:
    """`python -m bench.child ...` (or any module) in the project's interpreter."""
    return run([sys.executable, *module_args], **kwargs)


def in_process(fn, *args) -> Measured:
    """Call `fn(*args)` in this process (the smoke test: no interpreter start, the test
    session's Prefect API): its wall time, and this process tree's peak memory."""
    poller = _Poller(os.getpid())
    poller.start()
    started = time.perf_counter()
    returncode, result, output = 0, {}, ""
    try:
        result = fn(*args)
    except Exception as e:  # noqa: BLE001 - reported like a failed subprocess
        returncode, output = 1, f"{type(e).__name__}: {e}"
    wall = time.perf_counter() - started
    poller.stop()
    return Measured(wall_s=wall, peak_rss_mb=poller.peak / 1024**2,
                    max_process_rss_mb=poller.largest / 1024**2,
                    returncode=returncode, result=result, output=output)
