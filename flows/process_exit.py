"""Ending the process after a run without the interpreter's module teardown.

This is the one place that calls interpreter internals (`threading._shutdown`,
`atexit._run_exitfuncs`); tests/test_process_exit.py breaks when they change.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading


def exit_now(code: int) -> None:
    """End the process without the interpreter's teardown. After a run, with Great
    Expectations, Prefect, dbt's worker handle and pandas loaded, tearing the modules
    down took ~0.9 s of every run (bench/README.md), after all was done: a run closes its
    connections and files, stops its temporary Prefect server and sends its logs before
    `main` returns. The streams and logging are flushed here."""
    # What the interpreter does at exit before it tears the modules down: wait for the
    # threads (and run what libraries registered for then: Prefect drains its log and
    # event workers), then the atexit functions (Prefect stops a server it started).
    threading._shutdown()
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)

