"""Operations: Prefect deployments on a real `prefect server` with a process worker, the run
lock, alerts through a webhook, artifacts and backfills."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
import yaml

from flows.common.periods import PeriodError, PeriodRange, bounds
from flows.deploy import deployment_specs
from flows.locking import LockTimeout, run_lock
from flows.registry import load_registry
from tests.helpers import PROJECT_ROOT, copy_sample_data, free_port, stop_group

SLUG = "penduduk-kabupaten-kota"
BIN = Path(sys.executable).parent
SATUDATA = str(BIN / "satudata")
NIK = "3673061501046997"   # NIK-shaped (synthetic): must never reach an alert unmasked


# --- helpers and fixtures ----------------------------------------------------------------------


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


class Receiver:
    """A webhook receiver on 127.0.0.1 that keeps every JSON body POSTed to it."""

    def __init__(self):
        self.bodies: list[dict] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/satudata"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def dead_webhook() -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    return f"http://127.0.0.1:{free_port()}/hooks/nobody-home"


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """A real `prefect server` on a free port with its own PREFECT_HOME (not the session's
    test harness). Yields (api_url, base environment for subprocesses)."""
    root = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = dict(os.environ)
    env.update(PREFECT_HOME=str(root / "prefect-home"), PREFECT_API_URL=api,
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="INFO")
    env.pop("SATUDATA_ALERT_WEBHOOK", None)
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed in finally
    proc = None
    try:
        proc = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
             str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{api}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, (root / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "prefect server did not start in 120 s"
            time.sleep(0.5)
        yield api, env
    finally:
        stop_group(proc)
        log.close()


# --- periods, deployments, lock: fast unit tests ---------------------------------------------


def test_period_forms_and_ranges():
    import datetime as dt

    assert bounds("2024") == (dt.date(2024, 1, 1), dt.date(2025, 1, 1))
    assert bounds("2024-S2") == (dt.date(2024, 7, 1), dt.date(2025, 1, 1))
    assert bounds("2024-03") == (dt.date(2024, 3, 1), dt.date(2024, 4, 1))
    window = PeriodRange.parse("2024-03", "2024-04")
    assert [window.covers(p) for p in ("2024-02", "2024-03", "2024-04", "2024-05")] == [
        False, True, True, False]
    assert window.covers("2024") and window.covers("2024-S1") and not window.covers("2024-S2")
    assert PeriodRange.parse("2024-S2", "2024-S2").covers("2024-12")
    with pytest.raises(PeriodError, match="write 2024 \\(year\\), 2024-S2"):
        bounds("Maret 2024")
    with pytest.raises(PeriodError, match="empty"):
        PeriodRange.parse("2024-05", "2024-03")


def test_deployments_one_schedule_per_dataset_plus_on_demand_and_backfill():
    datasets = load_registry(PROJECT_ROOT / "data" / "feeds.yml").datasets
    specs = {s.full_name: s for s in deployment_specs(datasets)}
    assert set(specs) == {
        "satudata-pipeline/aduan-daily", "satudata-pipeline/penduduk-monthly",
        "satudata-pipeline/indikator-monthly",
        "satudata-pipeline/fasilitas-kesehatan-monthly",
        "satudata-pipeline/on-demand", "satudata-pipeline/backfill"}
    assert specs["satudata-pipeline/aduan-daily"].cron == "0 6 * * *"
    assert specs["satudata-pipeline/aduan-daily"].parameters == {"dataset": "aduan"}
    assert specs["satudata-pipeline/penduduk-monthly"].cron.endswith(" 1 * *")
    assert specs["satudata-pipeline/on-demand"].cron is None
    assert set(specs["satudata-pipeline/backfill"].parameters) == {
        "dataset", "backfill_from", "backfill_to"}


def test_run_lock_waits_names_the_holder_and_times_out(tmp_path):
    lines: list[str] = []
    held = threading.Event()
    release = threading.Event()

    def holder():
        with run_lock(tmp_path, run_id="aaaa1111", log=lines.append):
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    try:
        assert held.wait(10)
        with pytest.raises(LockTimeout, match=r"run aaaa1111 \(started .*, pid \d+\) still"), \
                run_lock(tmp_path, run_id="bbbb2222", timeout_s=1, log=lines.append):
            pass
        assert re.search(r"waiting for run aaaa1111 \(started \S+, pid "
                         rf"{os.getpid()}\) to finish", "\n".join(lines))
        threading.Timer(1.0, release.set).start()
        with run_lock(tmp_path, run_id="cccc3333", timeout_s=30, log=lines.append) as lock:
            assert lock.contended and lock.waited_s >= 0.5
            assert lock.holder["run_id"] == "aaaa1111"
    finally:
        release.set()
        t.join(10)
    assert any("run lock acquired after waiting" in line for line in lines)


# --- alerts ---------------------------------------------------------------------------------


def test_quarantined_submission_alerts_and_a_dead_webhook_does_not_fail_the_run(
        prefect_harness, tmp_path, monkeypatch, receiver, dead_webhook):
    """Kota Serang re-sends a file with a NIK where a count belongs: quarantined; the alert
    reaches the live webhook with the file and its reason, the NIK masked; the dead
    webhook is logged and the run still completes."""
    from flows.pipeline import pipeline

    feeds = copy_sample_data(tmp_path / "data")
    landing = tmp_path / "data" / "landing" / "36.73" / "penduduk"
    good = (landing / "penduduk_2024s2.csv").read_text(encoding="cp1252")
    (landing / "penduduk_2024s2_revisi.csv").write_text(
        good.replace("759.929", f"{NIK}x"), encoding="cp1252")
    # planted after the registry was checked: a symlink out of the landing root
    (tmp_path / "secret.csv").write_text(good, encoding="cp1252")
    (landing / "penduduk_zz.csv").symlink_to(tmp_path / "secret.csv")
    monkeypatch.setenv("SATUDATA_FEEDS", str(feeds))
    monkeypatch.setenv("SATUDATA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SATUDATA_ALERT_WEBHOOK", f"{dead_webhook},{receiver.url}")

    result = pipeline(regency="36.73", dataset="penduduk")

    assert result["status"] == "completed"
    (feed,) = result["feeds"]
    assert feed["accepted"] == 2 and feed["quarantined"] == 1 and feed["files"] == 3
    assert [n for n in result["notes"] if "penduduk_zz.csv skipped: it resolves to "
            f"{tmp_path / 'secret.csv'}, outside the landing root" in n]
    (alert,) = receiver.bodies
    assert alert["events"] == ["submission_quarantined"]
    assert alert["run_id"] == result["run_id"] and alert["status"] == "completed"
    assert alert["flow_run_id"]
    (q,) = alert["quarantined"]
    assert q["feed_id"] == "kota-serang.penduduk" and q["regency"] == "36.73"
    assert q["file_name"] == "penduduk_2024s2_revisi.csv"
    assert "Jumlah Penduduk (jiwa)" in q["reason"] and "row 1" in q["reason"]
    assert NIK not in json.dumps(alert) and NIK[:4] + "*" in q["reason"]
    assert "penduduk_2024s2_revisi.csv" in alert["text"]
    # officials' data is not on the public site: the alert links their page instead
    assert alert["links"]["officials"] == "http://localhost:8501/?page=officials"
    assert "submissions" not in alert["links"]
    # the good files were published all the same
    site = tmp_path / "home" / "site" / "datasets" / SLUG / "latest" / f"{SLUG}.csv"
    assert {r["periode"] for r in _read_csv(site)} == {"2020", "2024-S2"}


def test_failed_run_alerts_through_the_registry_webhook(prefect_harness, tmp_path,
                                                        monkeypatch, receiver):
    from flows.pipeline import pipeline

    feeds = copy_sample_data(tmp_path / "data")
    with open(feeds, "a", encoding="utf-8") as f:
        f.write(f"\nalerts:\n  webhook: {receiver.url}\n")
    monkeypatch.delenv("SATUDATA_ALERT_WEBHOOK", raising=False)
    monkeypatch.setenv("SATUDATA_FEEDS", str(feeds))
    monkeypatch.setenv("SATUDATA_HOME", str(tmp_path / "home"))

    with pytest.raises(ValueError, match="no feed matches regency='36.99'"):
        pipeline(regency="36.99")

    (alert,) = receiver.bodies
    assert alert["events"] == ["run_failed"] and alert["status"] == "failed"
    assert "no feed matches regency='36.99'" in alert["errors"][0]
    assert alert["selection"]["regency"] == "36.99"
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select status from meta.runs where run_id = ?",
                           [alert["run_id"]]).fetchone() == ("failed",)


def test_alert_payload_for_a_feed_that_could_not_be_received(dead_webhook):
    from flows import alerts

    run = {"run_id": "f" * 32, "status": "completed_with_errors", "feeds": [],
           "feed_errors": ["feed kab-lebak.penduduk: http://x/lebak.csv answered HTTP 500"],
           "errors": []}
    body = alerts.payload(run)
    assert body["events"] == ["feed_error"] and "answered HTTP 500" in body["text"]
    warnings: list[str] = []
    result = alerts.notify(run, [dead_webhook], warn=warnings.append, attempts=1)
    assert result[dead_webhook].startswith("failed: ")
    assert "could not be reached" in warnings[0] and "the run goes on" in warnings[0]
    assert alerts.notify({**run, "feed_errors": []}, [dead_webhook]) == {}   # nothing to say


def _flow_run(**kwargs):
    import datetime as dt

    from prefect.client.schemas.objects import FlowRun

    return FlowRun(id=uuid.uuid4(), name="brave-otter", flow_id=uuid.uuid4(),
                   parameters={"regency": "36.73", "dataset": "penduduk"},
                   start_time=dt.datetime(2026, 1, 1, 6, 0, 1, tzinfo=dt.UTC), **kwargs)


@pytest.fixture
def hook_env(tmp_path, monkeypatch, receiver):
    """A state hook's surroundings: the webhook, SATUDATA_HOME, and the events it
    would emit for the automation (recorded here, no Prefect API needed)."""
    from flows import alerts

    monkeypatch.setenv("SATUDATA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SATUDATA_ALERT_WEBHOOK", receiver.url)
    announced: list[tuple] = []
    monkeypatch.setattr(alerts, "announce_sent",
                        lambda *args: announced.append(args) or True)
    monkeypatch.setattr(alerts, "_sent_here", set())
    return tmp_path / "home", announced


def test_the_state_hooks_are_on_the_flow():
    from flows import pipeline

    assert pipeline.pipeline.on_failure_hooks == [pipeline._alert_on_failure]
    assert pipeline.pipeline.on_crashed_hooks == [pipeline._alert_on_crashed]


def test_the_crashed_hook_sends_the_alert_once(hook_env, receiver, monkeypatch):
    """A flow run SIGKILLed mid-run: the worker runs `on_crashed` in a new process; the
    hook posts the payload of flows/alerts.py, marks the run and tells the automation.
    A second hook for the same run (another process: only alerts.jsonl remembers)
    posts nothing, and still tells the automation."""
    from prefect.states import Crashed

    from flows import alerts, pipeline

    home, announced = hook_env
    flow_run = _flow_run()
    state = Crashed(message="Flow run infrastructure exited with non-zero status code -9.")

    pipeline._alert_on_crashed(flow=pipeline.pipeline, flow_run=flow_run, state=state)

    (alert,) = receiver.bodies
    assert alert["source"] == "satudata-banten" and alert["reported_by"] == "on_crashed hook"
    assert (alert["status"], alert["events"]) == ("crashed", ["run_crashed"])
    assert alert["flow_run_id"] == str(flow_run.id) and alert["flow_run_name"] == "brave-otter"
    assert alert["run_id"] is None
    assert alert["errors"] == ["Flow run infrastructure exited with non-zero status code -9."]
    assert alert["selection"] == {"regency": "36.73", "dataset": "penduduk"}
    assert alert["started_at"] == "2026-01-01T06:00:01+00:00"
    assert alert["text"].startswith("Satu Data Banten, flow run brave-otter (crashed): run "
                                    "CRASHED")
    assert alert["links"]["officials"].endswith("/?page=officials")
    assert [a[0] for a in announced] == [str(flow_run.id)]
    (line,) = (home / alerts.SENT_LOG).read_text().splitlines()
    assert json.loads(line)["reported_by"] == "on_crashed hook"

    monkeypatch.setattr(alerts, "_sent_here", set())   # as if in another process
    pipeline._alert_on_crashed(flow=pipeline.pipeline, flow_run=flow_run, state=state)
    assert len(receiver.bodies) == 1
    assert len(announced) == 2


def test_the_failure_hook_sends_nothing_for_a_run_its_body_reported(hook_env, receiver):
    from prefect.states import Failed

    from flows import alerts, pipeline

    home, announced = hook_env
    reported, unreported = _flow_run(), _flow_run()
    alerts.mark_reported(home, {"flow_run_id": str(reported.id), "status": "failed"},
                         {receiver.url: "sent"})
    failed = Failed(message="Validation of flow parameters failed")
    for flow_run in (reported, unreported):
        pipeline._alert_on_failure(flow=pipeline.pipeline, flow_run=flow_run, state=failed)

    (alert,) = receiver.bodies   # the unreported one only
    assert alert["flow_run_id"] == str(unreported.id)
    assert (alert["status"], alert["events"], alert["reported_by"]) == (
        "failed", ["run_failed"], "on_failure hook")
    assert "run FAILED: Validation of flow parameters failed" in alert["text"]
    assert [a[0] for a in announced] == [str(reported.id), str(unreported.id)]


def test_a_hook_whose_webhook_is_down_leaves_the_run_to_the_automation(
        hook_env, dead_webhook, monkeypatch):
    from prefect.states import Crashed

    from flows import alerts, pipeline

    _, announced = hook_env
    monkeypatch.setenv("SATUDATA_ALERT_WEBHOOK", dead_webhook)
    monkeypatch.setattr(alerts, "ATTEMPTS", 1)
    flow_run = _flow_run()
    pipeline._alert_on_crashed(flow=pipeline.pipeline, flow_run=flow_run,
                               state=Crashed(message="killed"))
    assert announced == [] and not alerts.was_reported(hook_env[0], str(flow_run.id))


def test_the_alert_automations_render_the_alert_payload():
    """The automations `satudata deploy` registers, and the body the Prefect server
    renders for a run that crashed unreported: the payload's shape, as JSON."""
    import datetime as dt

    from prefect.server.events.actions import SendNotification
    from prefect.server.schemas.responses import FlowRunResponse
    from prefect.server.schemas.states import State, StateType
    from prefect.server.utilities.user_templates import render_user_template_sync

    from flows import automations as prefect_alerts

    block = uuid.uuid4()
    limits = {"grace": 120.0, "heartbeat": 180.0, "overdue": 6 * 3600.0}
    automations = {a.name: a for a in prefect_alerts.alert_automations(
        [block], limits, base_url="https://data.bantenprov.go.id")}
    assert set(automations) == set(prefect_alerts.AUTOMATIONS)
    unreported = automations[prefect_alerts.AUTOMATION_UNREPORTED]
    assert unreported.trigger.after == {"prefect.flow-run.Crashed", "prefect.flow-run.Failed"}
    assert unreported.trigger.expect == {"satudata.alert.sent"}
    assert unreported.trigger.posture == "Proactive"
    assert unreported.trigger.within == dt.timedelta(seconds=120)
    assert unreported.trigger.match_related.root["prefect.resource.name"] == "satudata-pipeline"
    (action,) = unreported.actions
    assert action.block_document_id == block
    heartbeat = automations[prefect_alerts.AUTOMATION_NO_HEARTBEAT]
    assert heartbeat.trigger.within == dt.timedelta(seconds=540)
    assert heartbeat.actions[0].state.value == "CRASHED"
    assert [a.name for a in prefect_alerts.alert_automations([], limits)] == [
        prefect_alerts.AUTOMATION_NO_HEARTBEAT]   # no webhook: no one to notify

    SendNotification._register_filters_if_needed()
    now = dt.datetime.now(dt.UTC)
    flow_run = FlowRunResponse(
        id=uuid.uuid4(), name="brave-otter", flow_id=uuid.uuid4(), start_time=now,
        parameters={"regency": "36.73", "dataset": None},
        state=State(type=StateType.CRASHED, name="Crashed", timestamp=now,
                    message='No heartbeat for 9 min: "gone" <machine>'))
    body = json.loads(render_user_template_sync(action.body, {"flow_run": flow_run}))
    assert body["source"] == "satudata-banten" and body["reported_by"] == "automation"
    assert (body["status"], body["events"]) == ("crashed", ["run_crashed"])
    assert body["flow_run_id"] == str(flow_run.id) and body["flow_run_name"] == "brave-otter"
    assert body["selection"] == {"regency": "36.73", "dataset": None}
    assert body["errors"] == ['No heartbeat for 9 min: "gone" <machine>']
    assert body["links"]["officials"] == "https://data.bantenprov.go.id/?page=officials"
    overdue = automations[prefect_alerts.AUTOMATION_OVERDUE].actions[0].body
    body = json.loads(render_user_template_sync(overdue, {"flow_run": flow_run}))
    assert body["events"] == ["run_overdue"] and "not finished 6 h after" in body["text"]


# --- backfill -------------------------------------------------------------------------------


def test_backfill_reprocesses_only_the_snapshots_in_the_range(sample_run, prefect_harness,
                                                               tmp_path, monkeypatch):
    """After a mapping fix in Kota Serang's complaint feed, a backfill of 2024-03..2024-04
    re-loads those two months' snapshots with the fixed mapping; every other month and
    every other regency stays exactly as it was."""
    from flows.pipeline import pipeline

    home = tmp_path / "home"
    shutil.copytree(sample_run["settings"].home, home, symlinks=True)
    (home / ".run.lock").unlink(missing_ok=True)
    feeds = copy_sample_data(tmp_path / "data")
    synthetic = tmp_path / "data" / "feeds_synthetic.yml"
    doc = yaml.safe_load(synthetic.read_text())
    (entry,) = [f for f in doc["feeds"] if f["id"] == "kota-serang.aduan"]
    entry["values"] = {"kategori": {"lampu PJU padam": "lainnya"}}   # the "fix"
    synthetic.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    monkeypatch.setenv("SATUDATA_HOME", str(home))
    monkeypatch.setenv("SATUDATA_FEEDS", str(feeds))
    query = """select _regency, strftime(diterima_pada, '%Y-%m') as bulan, count(*) as n,
                      count(*) filter (where kategori = 'lampu PJU padam') as pju,
                      min(_ingested_at) as ingested
               from raw.aduan group by all"""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        before = {(r[0], r[1]): r[2:] for r in con.execute(query).fetchall()}
    assert before[("36.73", "2024-03")][1] > 0

    result = pipeline(regency="36.73", dataset="aduan", backfill_from="2024-03",
                      backfill_to="2024-04")

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        after = {(r[0], r[1]): r[2:] for r in con.execute(query).fetchall()}
        reprocessed = con.execute(
            "select file_name, status, periods from meta.submissions where run_id = ? "
            "order by file_name", [result["run_id"]]).fetchall()
    changed = {k for k in before if after[k] != before[k]}
    assert changed == {("36.73", "2024-03"), ("36.73", "2024-04")}
    for k in changed:
        assert after[k][0] == before[k][0]          # same tickets, each once
        assert after[k][1] == 0                     # the fixed mapping applied
        assert after[k][2] > before[k][2]           # re-loaded now
    assert reprocessed == [("aduan_2024_03.csv", "accepted", ["2024-03"]),
                           ("aduan_2024_04.csv", "accepted", ["2024-04"])]
    (feed,) = result["feeds"]
    assert (feed["files"], feed["accepted"], feed["skipped"]) == (12, 2, 10)
    assert result["selection"]["backfill"] == "2024-03..2024-04"
    slug = "aduan-masyarakat-bulanan"
    assert {p["slug"]: p["status"] for p in result["published"]}[slug] == "published"


def test_backfill_cli_refuses_a_bad_range(tmp_path):
    env = dict(os.environ, SATUDATA_HOME=str(tmp_path / "home"))
    proc = subprocess.run([SATUDATA, "backfill", "--dataset", "aduan", "--from", "2024-13",
                           "--to", "2024-12"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "period '2024-13'" in proc.stderr
    proc = subprocess.run([SATUDATA, "backfill", "--dataset", "adua", "--from", "2024",
                           "--to", "2024"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "unknown dataset 'adua'" in proc.stderr


# --- concurrency and the real Prefect server ----------------------------------------------


def test_two_overlapping_runs_end_consistent(prefect_server, tmp_path):
    """Two `satudata run` at once on the same SATUDATA_HOME: the second waits for the
    first, says so, and finds nothing new; every row once, one new version."""
    _, base_env = prefect_server
    env = dict(base_env, SATUDATA_HOME=str(tmp_path / "home"))
    cmd = [SATUDATA, "run", "--regency", "36.73", "--dataset", "penduduk"]
    started = time.monotonic()
    procs, logs = [], []
    for i in range(2):
        logs.append(tmp_path / f"run{i}.log")
        with open(logs[-1], "wb") as out:
            procs.append(subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True))
    try:
        codes = [p.wait(timeout=400) for p in procs]
    finally:
        for p in procs:
            stop_group(p)
    elapsed = time.monotonic() - started
    outputs = [log.read_text(encoding="utf-8", errors="replace") for log in logs]
    assert codes == [0, 0], "\n---\n".join(o[-3000:] for o in outputs)
    waited = [o for o in outputs if "waiting for run" in o]
    assert len(waited) == 1, outputs
    (second,) = waited
    (first,) = [o for o in outputs if o is not second]
    holder = re.search(r"waiting for run ([0-9a-f]{8}) \(started \S+, pid (\d+)", second)
    assert holder and f"Run {holder[1]}: completed" in first
    assert re.search(r"Run [0-9a-f]{8}: completed, waited \d+ s for another run", second)
    assert f"{SLUG}: published" in first and f"{SLUG}: unchanged" in second

    home = tmp_path / "home"
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("select periode, count(*) from raw.penduduk group by 1 "
                           "order by 1").fetchall()
        submissions = con.execute("select status, count(*), count(distinct sha256) "
                                  "from meta.submissions group by 1").fetchall()
        runs = con.execute("select status, count(*) from meta.runs group by 1").fetchall()
    assert rows == [("2020", 1), ("2024-S2", 1)]
    assert submissions == [("accepted", 2, 2)]
    assert runs == [("completed", 2)]
    versions = [d for d in (home / "site" / "datasets" / SLUG).iterdir()
                if not d.is_symlink() and not d.name.startswith(".")]
    assert len(versions) == 1
    print(f"two overlapping runs: {elapsed:.0f} s in all")


def _wait_final(client, flow_run_id, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while True:
        run = client.read_flow_run(flow_run_id)
        if run.state is not None and run.state.is_final():
            return run
        if time.monotonic() > deadline:
            return run
        time.sleep(1)


def test_deployment_runs_on_a_real_server_with_a_process_worker(prefect_server, tmp_path):
    """`satudata deploy` registers the deployments and creates the `satudata` process work
    pool; `satudata worker` picks up an on-demand run of Kota Serang's population, which
    publishes the release and leaves its artifacts on the server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api, base_env = prefect_server
    home = tmp_path / "home"
    env = dict(base_env, SATUDATA_HOME=str(home), PREFECT_WORKER_QUERY_SECONDS="1",
               SATUDATA_FEEDS=str(PROJECT_ROOT / "data" / "feeds.yml"))
    started = time.monotonic()
    deploy = subprocess.run([SATUDATA, "deploy"], env=env, capture_output=True, text=True,
                            timeout=180)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert "satudata-pipeline/aduan-daily" in deploy.stdout
    worker_log = tmp_path / "worker.log"
    worker = None
    try:
        with open(worker_log, "wb") as out:
            worker = subprocess.Popen(
                [SATUDATA, "worker", "--name", f"test-{uuid.uuid4().hex[:6]}"], env=env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        with temporary_settings(updates={PREFECT_API_URL: api}), \
                get_client(sync_client=True) as client:
            pool = client.read_work_pool("satudata")
            assert pool.type == "process"
            deployments = {d.name: d for d in client.read_deployments()}
            assert {"aduan-daily", "penduduk-monthly", "indikator-monthly",
                    "fasilitas-kesehatan-monthly", "on-demand", "backfill"} <= set(deployments)
            # no webhook configured: the heartbeat automation only (runs gone silent
            # are marked Crashed); no notification block to alert through
            from flows.automations import AUTOMATION_NO_HEARTBEAT, AUTOMATION_UNREPORTED

            assert len(client.read_automations_by_name(AUTOMATION_NO_HEARTBEAT)) == 1
            assert client.read_automations_by_name(AUTOMATION_UNREPORTED) == []
            daily = deployments["aduan-daily"]
            assert [(s.schedule.cron, s.schedule.timezone) for s in daily.schedules] == [
                ("0 6 * * *", "Asia/Jakarta")]
            assert daily.parameters == {"dataset": "aduan"}
            flow_run = client.create_flow_run_from_deployment(
                deployments["on-demand"].id, parameters={"regency": "36.73",
                                                        "dataset": "penduduk"})
            final = _wait_final(client, flow_run.id, timeout_s=180)
            elapsed = time.monotonic() - started
            assert final.state.is_completed(), (
                f"{final.state}\n{worker_log.read_text(errors='replace')[-4000:]}")
            artifacts = client.read_artifacts(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
            releases = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"release-{SLUG}"])))
    finally:
        stop_group(worker)
    summary = [a for a in artifacts if a.key == "satudata-run-summary"]
    assert len(summary) == 1 and summary[0].type == "markdown"
    markdown = summary[0].data
    assert "**completed**" in markdown and "kota-serang.penduduk" in markdown
    assert f"| {SLUG} | published |" in markdown
    stable = f"http://localhost:8501/app/static/datasets/{SLUG}/latest/datapackage.json"
    assert stable in markdown
    assert any(a.flow_run_id == flow_run.id and stable in a.data for a in releases)
    latest = home / "site" / "datasets" / SLUG / "latest" / f"{SLUG}.csv"
    rows = _read_csv(latest)
    assert {(r["kode_wilayah"], r["periode"]) for r in rows} == {("36.73", "2020"),
                                                               ("36.73", "2024-S2")}
    assert {r["jumlah_penduduk"] for r in rows if r["periode"] == "2024-S2"} == {"759929"}
    print(f"deploy -> run completed: {elapsed:.0f} s")


# --- alerts for runs that cannot report themselves: SIGKILL on a real server -----------------


def _flow_run_pids(flow_run_id) -> list[int]:
    """The processes running this flow run (the worker starts them with its id in
    their environment)."""
    needle = f"PREFECT__FLOW_RUN_ID={flow_run_id}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if needle in (proc / "environ").read_bytes().split(b"\0"):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def _wait_running(client, flow_run_id, timeout_s: float = 180) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = client.read_flow_run(flow_run_id)
        pids = _flow_run_pids(flow_run_id)
        if run.state is not None and run.state.is_running() and pids:
            return pids
        time.sleep(0.5)
    raise AssertionError(f"flow run {flow_run_id} not running in {timeout_s} s: {run.state}")


def _wait_alert(receiver: Receiver, flow_run_id, timeout_s: float) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = [b for b in receiver.bodies if b.get("flow_run_id") == str(flow_run_id)]
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.5)


@pytest.mark.reliability
def test_a_sigkilled_deployed_run_is_alerted_by_its_hook_or_the_automation(
        prefect_server, tmp_path, receiver):
    """Deployed runs on a real `prefect server` and process worker wait on the run lock
    (held here), and are SIGKILLed. (1) Only the flow-run process dies: the worker marks
    it Crashed and runs its `on_crashed` hook, which alerts; the automation, told so,
    stays quiet. (2) The worker dies with it, as when the machine goes: nobody is left
    to report; the heartbeat automation marks the run Crashed, and the alert automation
    posts through the notification block."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.automations import AUTOMATIONS

    api, base_env = prefect_server
    home = tmp_path / "home"
    grace_s, heartbeat_s = 15, 30
    env = dict(base_env, SATUDATA_HOME=str(home), PREFECT_WORKER_QUERY_SECONDS="1",
               SATUDATA_FEEDS=str(PROJECT_ROOT / "data" / "feeds.yml"),
               SATUDATA_ALERT_WEBHOOK=receiver.url, SATUDATA_ALERT_GRACE_S=str(grace_s),
               PREFECT_FLOWS_HEARTBEAT_FREQUENCY=str(heartbeat_s))
    deploy = subprocess.run([SATUDATA, "deploy"], env=env, capture_output=True, text=True,
                            timeout=180)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    for name in AUTOMATIONS:
        assert f"automation '{name}'" in deploy.stdout
    results: dict = {}
    worker_log = tmp_path / "worker.log"
    worker = None
    with run_lock(home, run_id="heldhere", log=lambda _: None):
        try:
            with open(worker_log, "wb") as out:
                worker = subprocess.Popen(
                    [SATUDATA, "worker", "--name", f"test-{uuid.uuid4().hex[:6]}"],
                    env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            with temporary_settings(updates={PREFECT_API_URL: api}), \
                    get_client(sync_client=True) as client:
                on_demand = client.read_deployment_by_name("satudata-pipeline/on-demand")
                params = {"regency": "36.73", "dataset": "penduduk"}

                # 1. the flow-run process is killed; its worker lives on
                first = client.create_flow_run_from_deployment(on_demand.id,
                                                               parameters=params)
                pids = _wait_running(client, first.id)
                time.sleep(3)   # into the flow body, waiting on the lock
                killed = time.monotonic()
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                alerts_1 = _wait_alert(receiver, first.id, 120)
                results["hook_alert_after_s"] = round(time.monotonic() - killed, 1)
                assert alerts_1, worker_log.read_text(errors="replace")[-4000:]
                time.sleep(grace_s + 20)   # the automation had its chance, and kept quiet
                alerts_1 = _wait_alert(receiver, first.id, 0)
                state_1 = client.read_flow_run(first.id).state

                # 2. the worker and the flow-run process are killed together
                second = client.create_flow_run_from_deployment(on_demand.id,
                                                                parameters=params)
                pids = _wait_running(client, second.id)
                time.sleep(3)
                killed = time.monotonic()
                os.killpg(worker.pid, signal.SIGKILL)
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                worker.wait(10)
                alerts_2 = _wait_alert(receiver, second.id, 4 * heartbeat_s + grace_s + 120)
                results["automation_alert_after_s"] = round(time.monotonic() - killed, 1)
                state_2 = client.read_flow_run(second.id).state
        finally:
            stop_group(worker)

    (hook_alert,) = alerts_1      # one alert: the hook's, none from the automation
    assert hook_alert["reported_by"] == "on_crashed hook"
    assert (hook_alert["status"], hook_alert["events"]) == ("crashed", ["run_crashed"])
    assert hook_alert["flow_run_name"] == first.name and hook_alert["source"] == \
        "satudata-banten"
    assert "-9" in hook_alert["errors"][0] or "SIGKILL" in hook_alert["errors"][0]
    assert state_1.is_crashed()
    (automation_alert,) = alerts_2
    assert automation_alert["reported_by"] == "automation"
    assert (automation_alert["status"], automation_alert["events"]) == (
        "crashed", ["run_crashed"])
    assert automation_alert["flow_run_name"] == second.name
    assert automation_alert["selection"] == params
    assert "No heartbeat" in automation_alert["errors"][0]
    assert state_2.is_crashed() and "No heartbeat" in state_2.message
    results_dir = PROJECT_ROOT / "tests" / "output" / "reliability"
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "alerts-sigkill.json").write_text(json.dumps(
        {**results, "heartbeat_s": heartbeat_s, "grace_s": grace_s,
         "alerts_per_run": [len(alerts_1), len(alerts_2)]}, indent=2))
    print(f"SIGKILL alerts: {results}")
