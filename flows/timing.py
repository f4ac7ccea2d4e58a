"""Stage timings of one process: wall-clock totals the pipeline's stages add to.

Cheap (a perf_counter pair and a dict update per call), always on, thread-safe. The
stages record themselves (`flows.ingest`, `flows.quality`, `flows.publish`), so a real
`satudata run` carries its own per-stage times without mocks:

- `totals()` returns ``{stage: {"seconds": s, "calls": n}}`` for this process (`since()`
  the part added after an earlier `totals()`), and `marks()` the wall-clock (epoch)
  time each named event last happened;
- with ``SATUDATA_TIMINGS=<file>`` in the environment both are written to that file as
  JSON when the process exits (the benchmark, `bench/`, reads it after a `satudata run`).

The flow may copy `totals()` into its run summary (see bench/README.md).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.common.files import write_text_atomic

ENV = "SATUDATA_TIMINGS"

_lock = threading.Lock()
_seconds: dict[str, float] = {}
_calls: dict[str, int] = {}
_marks: dict[str, float] = {}


def add(stage: str, seconds: float, calls: int = 1) -> None:
    with _lock:
        _seconds[stage] = _seconds.get(stage, 0.0) + seconds
        _calls[stage] = _calls.get(stage, 0) + calls


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Add the wall time of the block to `stage` (also when it raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        add(stage, time.perf_counter() - started)


def mark(event: str) -> None:
    """Remember when `event` happened (epoch seconds; the latest time is kept)."""
    with _lock:
        _marks[event] = time.time()


def totals() -> dict[str, dict]:
    with _lock:
        return {k: {"seconds": round(v, 4), "calls": _calls[k]} for k, v in _seconds.items()}


def since(before: dict[str, dict]) -> dict[str, dict]:
    """What was added to `totals()` after `before` (an earlier `totals()`)."""
    out = {}
    for stage, now in totals().items():
        then = before.get(stage, {"seconds": 0.0, "calls": 0})
        if now["calls"] > then["calls"]:
            out[stage] = {"seconds": round(now["seconds"] - then["seconds"], 4),
                          "calls": now["calls"] - then["calls"]}
    return out


def marks() -> dict[str, float]:
    with _lock:
        return dict(_marks)


def reset() -> None:
    with _lock:
        _seconds.clear()
        _calls.clear()
        _marks.clear()


def _write_at_exit() -> None:
    target = os.environ.get(ENV)
    if not target:
        return
    path = Path(target)
    with contextlib.suppress(OSError):   # a benchmark aid must never fail a run
        write_text_atomic(path, json.dumps({"pid": os.getpid(), "totals": totals(),
                                            "marks": marks(), "exited_at": time.time()},
                                           indent=1))


atexit.register(_write_at_exit)
