"""Helpers shared by the tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def copy_sample_data(dest: Path) -> Path:
    """A private copy of data/ (feed registry, landing files, reference) for a test that
    adds or changes submissions; returns the copied registry's path."""
    shutil.copytree(PROJECT_ROOT / "data", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest / "feeds.yml"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 45) -> None:
    """Until `satudata serve` (`proc`) at `url` answers its health check."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"satudata serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"{url} did not become healthy in {timeout} s")


def stop_group(proc: subprocess.Popen | None, timeout: float = 20) -> None:
    """Stop a process started with `start_new_session=True` and all it started (its
    process group): SIGTERM, then SIGKILL after `timeout` seconds."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def served_home(home: Path, cwd: Path | None = None, log: Path | None = None):
    """`satudata serve` on a free port of 127.0.0.1 for the SATUDATA_HOME `home` (its
    site/ and internal/), healthy before it yields the port; stopped after. `cwd`: the
    folder it starts in (where Streamlit reads `.streamlit/secrets.toml`); `log`: a file
    for its output."""
    import sys

    env = {k: v for k, v in os.environ.items()
           if k not in ("SATUDATA_SITE", "SATUDATA_INTERNAL", "SATUDATA_BASE_URL")}
    env["SATUDATA_HOME"] = str(home)
    port = free_port()
    out = log.open("w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "satudata"), "serve", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
        cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        yield port, proc
    finally:
        stop_group(proc)
        if log:
            out.close()
