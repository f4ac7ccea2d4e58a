"""One pipeline run at a time per `$SATUDATA_HOME`.

DuckDB allows one writing process per file, and a run is many short write sessions
(ingest, validation, dbt in a subprocess, publication). Two runs interleaving those would
see each other's half-done work, so the whole flow body holds an exclusive `fcntl.flock`
on `$SATUDATA_HOME/.run.lock`. A second run waits, saying for whom; the kernel drops the
lock when its holder exits, even after a crash, so a lock is never stale.

The lock file also holds a small JSON record of its holder (run id, start time, pid),
written after the lock is taken, for the waiting run's log line.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = ".run.lock"
DEFAULT_TIMEOUT_S = 3 * 3600.0   # a run normally takes minutes; scheduled runs queue up
POLL_S = 0.5
REMIND_S = 60.0                  # repeat the waiting line this often


class LockTimeout(RuntimeError):
    """Another run held the lock for longer than the timeout."""


@dataclass
class LockInfo:
    waited_s: float
    holder: dict | None   # the run we waited for, if known
    contended: bool       # whether this run had to wait


def lock_timeout(value: float | None = None) -> float:
    """The timeout to use: the given value, else `$SATUDATA_LOCK_TIMEOUT_S`, else 3 h."""
    if value is not None:
        return float(value)
    env = os.environ.get("SATUDATA_LOCK_TIMEOUT_S")
    return float(env) if env else DEFAULT_TIMEOUT_S


def read_holder(path: Path) -> dict | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None


def describe(holder: dict | None) -> str:
    if not holder:
        return "another run (not identified yet)"
    name = f", flow run '{holder['flow_run_name']}'" if holder.get("flow_run_name") else ""
    return (f"run {holder.get('run_id', '?')} (started {holder.get('started_at', '?')}, "
            f"pid {holder.get('pid', '?')}{name})")


@contextmanager
def run_lock(home: Path, *, run_id: str, timeout_s: float | None = None,
             log: Callable[[str], None] = print, flow_run_name: str | None = None
             ) -> Iterator[LockInfo]:
    """Hold the run lock of `home` for the body of the `with`; wait for it if another
    run holds it, raising LockTimeout after `timeout_s` seconds."""
    timeout = lock_timeout(timeout_s)
    home.mkdir(parents=True, exist_ok=True)
    path = home / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        started = time.monotonic()
        holder, contended = None, False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            contended = True
            holder = read_holder(path)
            log(f"waiting for {describe(holder)} to finish "
                f"(lock {path}, timeout {timeout:.0f} s)")
            reminded = started
            while True:
                time.sleep(POLL_S)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    now = time.monotonic()
                    if now - started >= timeout:
                        raise LockTimeout(
                            f"gave up after {now - started:.0f} s: {describe(read_holder(path))}"
                            f" still holds {path}; raise the timeout (--lock-timeout or "
                            "SATUDATA_LOCK_TIMEOUT_S) or check that run"
                        ) from None
                    if now - reminded >= REMIND_S:
                        log(f"still waiting for {describe(read_holder(path))} to finish "
                            f"({now - started:.0f} s)")
                        reminded = now
        waited = time.monotonic() - started
        if contended:
            log(f"run lock acquired after waiting {waited:.1f} s for "
                f"{describe(holder)}")
        record = {
            "run_id": run_id,
            "flow_run_name": flow_run_name,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        try:
            yield LockInfo(waited_s=round(waited, 1), holder=holder, contended=contended)
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
