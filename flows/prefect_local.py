"""A temporary local Prefect server for one `satudata run`, started before anything else.

With no PREFECT_API_URL, Prefect starts a temporary server itself when the first flow is
called: it first imports the server's whole web application into the calling process
(~4 s, only to build the command line), then starts it in a subprocess and waits for it
(~3.5 s more), all while nothing else happens. Started here instead, as the very first
thing the CLI does, the server's subprocess starts on the other core while this process
imports the pipeline and Great Expectations, and this process never imports the server
at all (bench/README.md: ~4-5 s off every run, the no-op and incremental ones included).

It is the same server Prefect would start (`uvicorn --factory
prefect.server.api.server:create_app` in ephemeral mode: no UI, only the services a
single run needs, the database in PREFECT_HOME), stopped when the run ends. If it does
not answer, the run falls back on Prefect's own temporary server. A configured
PREFECT_API_URL (a real `prefect server start`) is always used as it is."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress

STARTUP_TIMEOUT_S = 60.0
_TEMPORARY_URL: str | None = None   # the API URL of the server started here, while it runs


def is_temporary_api() -> bool:
    """Whether the configured API is the temporary server of this run (gone afterwards:
    no link to its UI is worth giving)."""
    return _TEMPORARY_URL is not None and os.environ.get("PREFECT_API_URL") == _TEMPORARY_URL


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(port: int) -> subprocess.Popen:
    env = dict(os.environ, PREFECT_UI_ENABLED="0", PREFECT__SERVER_EPHEMERAL="1",
               PREFECT__SERVER_FINAL="1")
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "error",
         "--lifespan", "on"],
        env=env, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)


def _die_with_parent() -> None:
    """In the server's process, before it starts: ask Linux to stop it when the process
    that started it dies, however that happens (a SIGKILLed run leaves no server behind)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):   # not Linux: the `finally` of the run stops it
        pass


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _warm_up(url: str) -> None:
    """The server's first API request takes ~0.4 s more than the next (set-up it leaves
    for then): made now, in the background, while the run still prepares its flow."""
    def get() -> None:
        with suppress(OSError), urllib.request.urlopen(f"{url}/admin/version", timeout=10):
            pass

    threading.Thread(target=get, name="prefect-warm-up", daemon=True).start()


def _drain_prefect_workers() -> None:
    """Send the run's last logs and events before the server goes (as Prefect's own test
    harness does): left for exit, they would be retried against a closed port."""
    if "prefect.logging.handlers" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with suppress(RuntimeError):   # never started
            worker.drain_all(timeout=5)


class TemporaryServer:
    """Handle of the server `temporary_server` started: `wait()` blocks until it answers
    (returns False, and stops it, if it never does)."""

    def __init__(self, process: subprocess.Popen | None, url: str | None):
        self.process, self.url = process, url

    def wait(self, timeout_s: float = STARTUP_TIMEOUT_S) -> bool:
        global _TEMPORARY_URL
        if self.process is None:
            return True
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if _healthy(self.url):
                _warm_up(self.url)
                return True
            time.sleep(0.1)
        print(f"satudata: the local Prefect server did not start (exit code "
              f"{self.process.poll()}); Prefect will start its own", file=sys.stderr)
        self.stop()
        os.environ.pop("PREFECT_API_URL", None)
        _TEMPORARY_URL = None
        return False

    def ready(self):
        """A context to call the flow in: the server answers, or else (after saying so)
        Prefect's settings name no API, and Prefect starts a temporary server of its own.
        Either server lives only as long as this process: flow-run heartbeats (which let
        a lasting server mark a run whose process died as crashed) have no one to tell,
        and stopping their thread costs up to 1 s at the end of every run; they are off."""
        if self.process is None:
            return nullcontext()
        from prefect.settings import (
            PREFECT_API_URL,
            PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
            temporary_settings,
        )

        off = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
        if self.wait():
            return temporary_settings(updates=off)
        return temporary_settings(updates=off, restore_defaults={PREFECT_API_URL})

    def stop(self) -> None:
        if self.process is None:
            return
        _drain_prefect_workers()
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@contextmanager
def temporary_server() -> Iterator[TemporaryServer]:
    """Start a temporary Prefect server unless PREFECT_API_URL names one, and point
    PREFECT_API_URL at it until the block ends. Call before Prefect is imported (its
    settings are read from the environment then); call `wait()` before the first flow."""
    global _TEMPORARY_URL
    if os.environ.get("PREFECT_API_URL"):
        yield TemporaryServer(None, None)
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    server = TemporaryServer(_start(port), url)
    os.environ["PREFECT_API_URL"] = _TEMPORARY_URL = url
    try:
        yield server
    finally:
        server.stop()
        if os.environ.get("PREFECT_API_URL") == url:
            os.environ.pop("PREFECT_API_URL", None)
        _TEMPORARY_URL = None
