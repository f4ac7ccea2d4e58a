"""`satudata run` without a configured Prefect server starts a temporary one itself, first
thing (flows/prefect_local.py), and leaves nothing behind; if it cannot, Prefect's own
temporary server takes over."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows import prefect_local

SATUDATA = str(Path(sys.executable).parent / "satudata")
ROOT = Path(__file__).resolve().parents[1]


# `satudata run` itself; and the same with Prefect imported before the CLI starts its
# server (Prefect then starts its own as well): either way nothing outlives the run.
PREFECT_FIRST = ("import sys, prefect; from flows.cli import entry; "
                 "sys.argv = ['satudata', 'run', '--regency', '36.73', '--dataset', "
                 "'penduduk']; entry()")


@pytest.mark.parametrize("command", [
    [SATUDATA, "run", "--regency", "36.73", "--dataset", "penduduk"],
    [sys.executable, "-c", PREFECT_FIRST]], ids=["cli", "prefect-imported-first"])
def test_a_run_without_a_server_starts_its_own_and_leaves_nothing_behind(tmp_path, command):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(SATUDATA_HOME=str(tmp_path / "home"), PREFECT_HOME=str(tmp_path / "prefect"),
               SATUDATA_FEEDS=str(ROOT / "data" / "feeds.yml"))
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
    assert proc.returncode == 0, out[-3000:]
    assert "completed" in out and "published" in out, out[-3000:]
    # The run's logs reached the server before it stopped (none retried at exit).
    assert "Error logging to API" not in out, out[-3000:]
    # No process of the run's group (the server included) outlives it.
    deadline = time.monotonic() + 10
    while True:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "the temporary Prefect server outlived the run"
        time.sleep(0.2)
    assert "PREFECT_API_URL" not in env


def test_a_configured_server_is_used_as_it_is(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    with prefect_local.temporary_server() as server:
        assert server.process is None and server.wait()
        assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"
        assert not prefect_local.is_temporary_api()
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"


def test_a_server_that_does_not_start_leaves_prefect_to_start_its_own(monkeypatch, capsys):
    from prefect.settings import get_current_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setattr(prefect_local, "_start", lambda port: subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.exit(3)"]))
    with prefect_local.temporary_server() as server:
        assert os.environ["PREFECT_API_URL"].startswith("http://127.0.0.1:")
        assert prefect_local.is_temporary_api()
        started = time.monotonic()
        with server.ready():
            assert time.monotonic() - started < 30
            assert get_current_settings().api.url is None
            assert "PREFECT_API_URL" not in os.environ
            assert not prefect_local.is_temporary_api()
    assert "did not start (exit code 3)" in capsys.readouterr().err
    assert "PREFECT_API_URL" not in os.environ


@pytest.mark.parametrize("configured", [False, True])
def test_the_ui_link_is_given_only_for_a_lasting_server(monkeypatch, configured):
    from flows import run_alerts as pipeline  # RunSummary, _prefect_ui_run_url

    run = pipeline.RunSummary(run_id="0b5e7c1e", started_at="2026-11-28T00:00:00+00:00",
                              flow_run_id="0b5e7c1e-0000-0000-0000-000000000000")
    if configured:
        monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
        monkeypatch.setattr(prefect_local, "_TEMPORARY_URL", None)
    else:
        monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4999/api")
        monkeypatch.setattr(prefect_local, "_TEMPORARY_URL", "http://127.0.0.1:4999/api")
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: os.environ["PREFECT_API_URL"]}):
        link = pipeline._prefect_ui_run_url(run.flow_run_id)
    assert (link is not None) == configured
    if configured:
        assert link.endswith("/runs/flow-run/0b5e7c1e-0000-0000-0000-000000000000")
