"""Privacy and access: what the pipeline writes for officials and operators (submissions,
runs, feed status, per-submission quality results, quarantine reasons) stays in the
internal tree beside `site/`; the public tree holds only what is meant for everyone; the
real `satudata serve` answers 404 to every way of asking for an internal file; the
officials' view reads the internal tree only after login.

All on the output of the real pipeline (the `sample_run` fixture: the bundled samples,
with two files quarantined)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app import sessions
from app.auth import hash_password
from app.i18n import LANGS, t
from tests.helpers import PROJECT_ROOT, served_home

APP = str(PROJECT_ROOT / "app" / "catalogue.py")
INTERNAL_FILES = ("feeds", "submissions", "quality", "runs")
# Everything the public tree may hold, by top-level entry; a new kind of public file must
# be added here on purpose.
PUBLIC_TOP = {"catalog.json", "data.json", "datasets", "downloads", "dbt-docs", "quality",
              "reference"}
PUBLIC_QUALITY = ("quality/summary.json", "quality/data-docs/")
# GX Data Docs render each feed's newest quarantined file too, under its file name (by
# design of flows/data_docs.py, owned elsewhere): only that part of the check skips them.
DATA_DOCS = "quality/data-docs/"
# Keys that name or quote a submission: none may appear in the public summary.
PRIVATE_KEYS = {"file_name", "reason", "message", "status", "sha256",
                "unexpected_examples", "observed_value", "received_at", "last_received_at",
                "last_accepted_at", "submission_id", "errors", "timeliness"}


POSITIONS = {"_row_number", "row_number", "row", "baris", "index"}


def _quarantined(warehouse: Path) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select file_name, reason, sha256 from meta.submissions "
                           "where status = 'quarantined'").fetchall()
    return [{"file_name": f, "reason": r, "sha256": s} for f, r, s in rows]


def _public_files(site: Path) -> list[tuple[str, Path]]:
    """Every file and symlink under the site, as (relative path, path); symlinks are
    listed, not followed (a `latest` link is checked where it points)."""
    found = []
    for folder, dirs, files in os.walk(site, followlinks=False):
        for name in files + [d for d in dirs if (Path(folder) / d).is_symlink()]:
            path = Path(folder) / name
            found.append((path.relative_to(site).as_posix(), path))
    return found


def _keys(doc) -> set[str]:
    if isinstance(doc, dict):
        return set(doc) | {k for v in doc.values() for k in _keys(v)}
    if isinstance(doc, list):
        return {k for v in doc for k in _keys(v)}
    return set()


def test_public_tree_holds_nothing_internal(sample_run) -> None:
    settings = sample_run["settings"]
    site = settings.site_dir.resolve()
    quarantined = _quarantined(settings.warehouse)
    assert len(quarantined) == 2 and all(q["reason"] for q in quarantined)
    files = _public_files(site)
    assert len(files) > 20
    problems = []
    for rel, path in files:
        name = rel.rsplit("/", 1)[-1]
        if rel.split("/")[0] not in PUBLIC_TOP:
            problems.append(f"{rel}: not a public kind of file")
        if rel.startswith("quality/") and not rel.startswith(PUBLIC_QUALITY):
            problems.append(f"{rel}: not a public quality file")
        if any(seg.startswith(".") for seg in rel.split("/")):
            problems.append(f"{rel}: hidden (a temporary file left behind?)")
        if name in {f"{n}.json" for n in INTERNAL_FILES} or name.endswith(".reason.txt"):
            problems.append(f"{rel}: an internal file's name")
        if path.is_symlink():
            target = path.resolve()
            if site != target and site not in target.parents:
                problems.append(f"{rel}: links out of the site to {target}")
            continue
        body = path.read_bytes()
        for q in quarantined:
            if q["reason"].encode() in body or q["sha256"].encode() in body:
                problems.append(f"{rel}: holds the reason or digest of {q['file_name']}")
            if not rel.startswith(DATA_DOCS) and q["file_name"].encode() in body:
                problems.append(f"{rel}: names the quarantined file {q['file_name']}")
    assert problems == []

    # the internal tree has it all, beside the site and not under it
    internal = settings.internal_meta_dir.resolve()
    assert site not in internal.parents
    docs = {n: json.loads((internal / f"{n}.json").read_text(encoding="utf-8"))
            for n in INTERNAL_FILES}
    listed = {s["file_name"]: s["reason"] for s in docs["submissions"]["submissions"]
              if s["status"] == "quarantined"}
    assert set(listed) == {q["file_name"] for q in quarantined}
    assert all(listed.values())
    assert docs["runs"]["runs"] and docs["feeds"]["feeds"]


def test_public_quality_summary_holds_rules_results_and_counts_only(sample_run) -> None:
    from flows.registry import load_registry

    site = sample_run["settings"].site_dir
    doc = json.loads((site / "quality" / "summary.json").read_text(encoding="utf-8"))
    personal = {n for n, spec in load_registry(sample_run["settings"].feeds_file).datasets.items()
                if any(c.personal_data for c in spec.columns)}
    assert personal == {"aduan"}
    assert not _keys(doc) & PRIVATE_KEYS, _keys(doc) & PRIVATE_KEYS
    assert set(doc["datasets"]) == {"penduduk", "indikator", "aduan", "fasilitas_kesehatan"}
    for name, block in doc["datasets"].items():
        suite = (PROJECT_ROOT / "expectations" / f"{name}.yml").read_text(encoding="utf-8")
        assert len(block["rules"]) == suite.count("- expect:")
        assert [r["index"] for r in block["rules"]] == list(range(len(block["rules"])))
        for feed in block["regencies"]:
            for check in feed["results"]:
                assert set(check) == {"rule", "expectation", "column", "severity", "success",
                                      "unexpected_count", "examples"}
                assert not check["success"] or check["examples"] == []
                if name in personal:    # no value of such a batch, only row positions
                    assert all(isinstance(e, dict) and set(e) <= POSITIONS
                               for e in check["examples"]), check
                rule = block["rules"][check["rule"]]
                assert (rule["expectation"], rule["severity"]) == (
                    check["expectation"], check["severity"]) or (
                    rule["expectation"] == "unexpected_rows")
    # Kota Serang's rejected indicators: the failed rule and its count, not the value
    serang = next(f for f in doc["datasets"]["indikator"]["regencies"]
                  if f["regency"] == "36.73")
    (failed,) = [c for c in serang["results"] if not c["success"]]
    assert (failed["expectation"], failed["column"], failed["unexpected_count"]) == (
        "expect_column_values_to_be_in_set", "indikator", 1)
    # its example, as flows.common.pii.public_examples lets it out (a dataset without personal
    # data: the value, masked where it looks like an identifier)
    assert failed["examples"] == ["Angka Harapan Hidup (tahun)"]


def test_public_examples_keep_only_positions_for_a_dataset_with_personal_data() -> None:
    from flows.status import _public_examples

    stored = json.dumps([{"_row_number": 7, "nama_pelapor": "Budi Santoso",
                          "nik_pelapor": "3671012345678901"}])
    assert _public_examples(stored, True) == [{"_row_number": 7}]
    masked = _public_examples(json.dumps(["hubungi 081234567890", "Kategori X"]), False)
    assert masked[1] == "Kategori X" and "081234567890" not in masked[0]
    assert _public_examples('"a masked string, not a list"', False) == []
    assert _public_examples("not json", False) == []


def test_a_run_removes_what_older_versions_published_under_site_meta(
        sample_run, tmp_path: Path) -> None:
    from flows.registry import load_registry
    from flows.settings import Settings
    from flows.status import publish_status

    source = sample_run["settings"]
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy2(source.warehouse, home / "warehouse.duckdb")
    settings = Settings(home=home, feeds_file=source.feeds_file)
    stale = settings.site_dir / "meta"
    stale.mkdir(parents=True)
    for name in INTERNAL_FILES:
        (stale / f"{name}.json").write_text('{"old": true}', encoding="utf-8")
    publish_status(settings, load_registry(settings.feeds_file))
    assert not stale.exists()
    assert (settings.site_dir / "quality" / "summary.json").is_file()
    assert sorted(p.name for p in settings.internal_meta_dir.iterdir()) == sorted(
        f"{n}.json" for n in INTERNAL_FILES)


# --- the real server -------------------------------------------------------------------

SECRET = b"hidden-file-marker-51c2"


@pytest.fixture(scope="module")
def served(sample_run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`satudata serve` on a copy of the real run's home (site and internal tree), with a
    hidden file added to the site."""
    source = sample_run["settings"]
    home = tmp_path_factory.mktemp("privacy") / "home"
    shutil.copytree(source.site_dir, home / "site", symlinks=True)
    shutil.copytree(source.internal_dir, home / "internal", symlinks=True)
    (home / "site" / ".secret").write_bytes(SECRET)
    with served_home(home) as (port, proc):
        yield {"port": port, "home": home}


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


INTERNAL_URLS = [
    *(f"/app/static/meta/{n}.json" for n in INTERNAL_FILES),
    *(f"/app/static/{n}.json" for n in INTERNAL_FILES),
    "/app/static/quality/quality.json",
    "/app/static/.secret",
    "/app/static/internal/meta/submissions.json",
    "/app/static/../internal/meta/submissions.json",
    "/app/static/datasets/x/../../../internal/meta/submissions.json",
    "/app/static/datasets/x/../../internal/meta/runs.json",
    "/app/static/datasets/x/%2E%2E/%2E%2E/internal/meta/feeds.json",
]


@pytest.mark.parametrize("path", INTERNAL_URLS)
def test_the_server_answers_404_for_internal_files(served: dict, path: str) -> None:
    assert (served["home"] / "internal" / "meta" / "submissions.json").is_file()
    status, body = _get(served["port"], path)
    assert status in (401, 403, 404), (path, status)
    assert SECRET not in body and b"quarantined" not in body


def test_the_server_still_serves_the_public_files(served: dict) -> None:
    for path in ("catalog.json", "data.json", "quality/summary.json",
                 "datasets/penduduk-kabupaten-kota/latest/penduduk-kabupaten-kota.csv"):
        status, body = _get(served["port"], f"/app/static/{path}")
        assert status == 200 and body, path
    status, body = _get(served["port"], "/app/static/quality/summary.json")
    assert json.loads(body)["datasets"]["penduduk"]["rules"]


# --- the officials' view on the real run's trees ----------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_officials_see_the_internal_tree_only_after_login(sample_run, monkeypatch,
                                                          lang: str) -> None:
    settings = sample_run["settings"]
    monkeypatch.setenv("SATUDATA_SITE", str(settings.site_dir))
    monkeypatch.setenv("SATUDATA_INTERNAL", str(settings.internal_dir))
    quarantined = _quarantined(settings.warehouse)
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(page="officials", lang=lang)
    at.secrets["officials"] = {"users": {"walidata": hash_password("uji-privasi",
                                                                   iterations=1000)}}
    at.run()
    assert not at.exception

    def text() -> str:
        kinds = ("markdown", "caption", "info", "warning", "error", "success", "code")
        return "\n".join(str(e.value) for kind in kinds for e in at.get(kind))

    assert not at.dataframe
    assert not any(q["file_name"] in text() for q in quarantined)
    # AppTest sends no cookies: the session cookie a browser would hold after the log-in
    # page (a real signed token, checked as usual) is handed to the app directly
    cookies = {sessions.COOKIE: sessions.issue("walidata")}
    monkeypatch.setattr(sessions, "request_cookies", lambda: cookies)
    at.run()
    assert not at.exception
    page = text()
    for q in quarantined:
        assert q["file_name"] in page
    assert "required column(s)" in page                    # a reason, read from internal/
    assert t("scoreboard", lang=lang) in [s.value for s in at.subheader]
    frames = [df.value for df in at.dataframe]
    assert any(t("run_duration", lang=lang) in f.columns for f in frames)   # the runs
    st.cache_data.clear()
