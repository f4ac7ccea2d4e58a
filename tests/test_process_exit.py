"""flows/process_exit.py ends a run's process without the interpreter's module teardown
by calling two interpreter internals: this breaks when Python changes them."""

from __future__ import annotations

import atexit
import inspect
import subprocess
import sys
import threading


def test_the_interpreter_internals_exit_now_calls_still_exist() -> None:
    assert callable(threading._shutdown)
    assert inspect.signature(threading._shutdown).parameters == {}
    assert callable(atexit._run_exitfuncs)


def test_exit_now_runs_atexit_waits_for_threads_and_keeps_the_code(tmp_path) -> None:
    """What the interpreter would do at exit still happens: non-daemon threads finish,
    atexit functions run, output is flushed, and the exit code is the one given."""
    marker = tmp_path / "marker"
    script = f"""
import atexit, threading, time
from pathlib import Path
from flows.process_exit import exit_now
atexit.register(lambda: Path({str(marker)!r}).write_text(
    Path({str(marker)!r}).read_text() + "atexit"))
def work():
    time.sleep(0.2)
    Path({str(marker)!r}).write_text("thread,")
threading.Thread(target=work).start()
print("flushed", end="")
exit_now(7)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 7, done.stderr
    assert done.stdout == "flushed"
    assert marker.read_text() == "thread,atexit"
