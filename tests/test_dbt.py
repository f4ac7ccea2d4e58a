"""The dbt project: catalogue metadata is enforced, and complaints build incrementally."""

from __future__ import annotations

import re
import shutil

import duckdb
import pytest

from flows import dbt_docs, transform
from flows.settings import Settings
from tests.helpers import PROJECT_ROOT, copy_sample_data

MART_YAML = "models/marts/penduduk_kabupaten_kota.yml"


@pytest.fixture
def dbt_copy(tmp_path, monkeypatch):
    """A private copy of the dbt project, for tests that break its YAML."""
    target = tmp_path / "dbt"
    shutil.copytree(PROJECT_ROOT / "dbt", target,
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    monkeypatch.setenv("SATUDATA_DBT_DIR", str(target))
    settings = Settings(home=tmp_path / "home", feeds_file=PROJECT_ROOT / "data" / "feeds.yml")
    return target, settings


def _parse_and_check(settings):
    transform.run_dbt(settings, "parse")
    transform.check_metadata(settings)


def test_the_real_project_has_complete_metadata(dbt_copy):
    _, settings = dbt_copy
    _parse_and_check(settings)


def test_missing_licence_fails_the_build_naming_model_and_field(dbt_copy):
    project, settings = dbt_copy
    path = project / MART_YAML
    path.write_text(path.read_text().replace("          license: CC-BY-4.0\n", ""))
    with pytest.raises(transform.TransformError,
                       match=r"model 'penduduk_kabupaten_kota': meta.open_data.license is "
                             r"missing"):
        _parse_and_check(settings)


def test_missing_column_description_fails_the_build(dbt_copy):
    project, settings = dbt_copy
    path = project / MART_YAML
    path.write_text(path.read_text().replace(
        "        description: Population density, total population divided by area.\n", ""))
    with pytest.raises(transform.TransformError,
                       match=r"column 'kepadatan_per_km2' has no description"):
        _parse_and_check(settings)


def test_a_new_month_of_one_regency_rebuilds_only_that_slice(sample_run, prefect_harness,
                                                             tmp_path, monkeypatch):
    """Kota Serang sends January 2025: fct_aduan rebuilds (36.73, 2025-01) and leaves every
    other regency-month as it was (same rows, same build time)."""
    from flows.pipeline import pipeline
    from tools.generate import write_aduan

    home = tmp_path / "home"
    shutil.copytree(sample_run["settings"].home, home, symlinks=True)
    feeds = copy_sample_data(tmp_path / "data")
    monkeypatch.setenv("SATUDATA_HOME", str(home))
    monkeypatch.setenv("SATUDATA_FEEDS", str(feeds))
    query = """select kode_wilayah, strftime(bulan, '%Y-%m') as bulan, count(*) as n,
                      min(built_at) as built_at
               from marts.fct_aduan group by all"""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        before = {(r[0], r[1]): r[2:] for r in con.execute(query).fetchall()}

    written = write_aduan(tmp_path / "data" / "landing", year=2025, months=range(1, 2),
                          regencies=["36.73"])
    result = pipeline(regency="36.73", dataset="aduan")

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        after = {(r[0], r[1]): r[2:] for r in con.execute(query).fetchall()}
    assert set(after) - set(before) == {("36.73", "2025-01")}
    assert after[("36.73", "2025-01")][0] == written["rows"] > 0
    assert {k: v for k, v in after.items() if k != ("36.73", "2025-01")} == before
    (feed,) = result["feeds"]
    assert feed["accepted"] == 1 and feed["skipped"] == 12
    # dbt built only what depends on the complaints (`source:raw.aduan+`): the other
    # datasets' models and tests did not run
    import json

    ran = [r["unique_id"] for r in json.loads(
        (home / "dbt" / "target" / "run_results.json").read_text())["results"]]
    assert "model.satudata_banten.fct_aduan" in ran
    assert "model.satudata_banten.aduan_bulanan" in ran
    assert not [u for u in ran if u.startswith(("model.", "seed."))
                and "aduan" not in u], ran


def test_build_is_skipped_only_while_project_and_data_are_unchanged(dbt_copy, tmp_path):
    """`is_built` says a build would change nothing: true after a build of the same
    project and accepted data; false once a model file changes or a batch is accepted."""
    from flows.registry import load_registry
    from flows.warehouse import connect, initialise

    project, settings = dbt_copy
    registry = load_registry(settings.feeds_file)
    initialise(settings.warehouse, registry.datasets, settings.reference_dir)
    marker = transform.accepted_marker(settings)
    assert not transform.is_built(settings, marker)           # never built
    first = transform.build(settings)
    assert transform.is_built(settings, marker)
    # The dbt process closed the warehouse (its last checkpoint written, no log of changes
    # left to replay) and flushed its own log before it left.
    assert not settings.warehouse.with_name(settings.warehouse.name + ".wal").exists()
    log = (settings.dbt_target_dir.parent / "logs" / "dbt.log").read_text()
    assert "Command `cli build` succeeded" in "\n".join(log.splitlines()[-3:])
    with connect(settings.warehouse) as con:                   # a batch is accepted
        con.execute("insert into meta.submissions (submission_id, feed_id, regency, dataset, "
                    "file_name, source, sha256, bytes, received_at, status) values "
                    "('x', 'f', '36.73', 'aduan', 'a.csv', 'a.csv', 'sha', 1, now(), "
                    "'accepted')")
    changed = transform.accepted_marker(settings)
    assert changed != marker and not transform.is_built(settings, changed)
    again = transform.build(settings)
    assert transform.is_built(settings, changed)
    model = project / "models" / "marts" / "penduduk_kabupaten_kota.sql"
    model.write_text(model.read_text() + "\n-- a change\n")   # the project changes
    assert not transform.is_built(settings, changed)
    # Unit tests run on the first build and whenever the project changed, not for new data.
    def unit_tests(result):
        return [n for n in result.nodes if n["unique_id"].startswith("unit_test.")]

    assert unit_tests(first) and not unit_tests(again)
    assert unit_tests(transform.build(settings))


def test_a_ticket_sent_again_in_a_new_month_fails_the_incremental_uniqueness_test(
        sample_run, prefect_harness, tmp_path, monkeypatch):
    """The mart's uniqueness test looks only at rows built since the last verified build,
    yet still finds a new month's ticket that repeats one of an old month."""
    import csv

    from flows.pipeline import pipeline
    from flows.registry import load_registry
    from tools.generate import write_aduan

    home = tmp_path / "home"
    shutil.copytree(sample_run["settings"].home, home, symlinks=True)
    feeds = copy_sample_data(tmp_path / "data")
    monkeypatch.setenv("SATUDATA_HOME", str(home))
    monkeypatch.setenv("SATUDATA_FEEDS", str(feeds))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        (old_ticket,) = con.execute("select min(nomor_tiket) from marts.fct_aduan "
                                    "where kode_wilayah = '36.73'").fetchone()
        assert con.execute("select count(*) from meta.dbt_verified_builds").fetchone()[0] > 0

    written = write_aduan(tmp_path / "data" / "landing", year=2025, months=range(1, 2),
                          regencies=["36.73"])
    (path,) = written["files"]
    feed = next(f for f in load_registry(feeds).feeds if f.id == "kota-serang.aduan")
    header = next(h for h, c in feed.columns.items() if c == "nomor_tiket")
    delimiter = feed.options.get("delimiter", ",")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter=delimiter))
    rows[0][header] = old_ticket
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)

    # unique within its own batch, so accepted; the mart's test finds the repeat, and the
    # complaint datasets keep their last release (the run completes with errors)
    for _ in range(2):   # a failed build verifies nothing: the next run still finds it
        result = pipeline(regency="36.73", dataset="aduan")
        assert result["status"] == "completed_with_errors"
        assert any(re.search(r"unique_combination_fct_aduan\S*: fail", f)
                   for f in result["dbt"]["failed"])
        assert any("aduan_bulanan" in e for e in result["dataset_errors"])


def test_a_dbt_process_started_ahead_runs_the_next_command(dbt_copy):
    """`start_warm`: a dbt process imports dbt before it is needed; the next `run_dbt`
    hands it its command, with the same results and errors as a fresh `dbt`."""
    from flows.registry import load_registry
    from flows.warehouse import initialise

    project, settings = dbt_copy
    initialise(settings.warehouse, load_registry(settings.feeds_file).datasets,
               settings.reference_dir)
    transform.start_warm(settings)
    warm = transform._warm[0]
    transform.run_dbt(settings, "parse")
    assert warm.returncode == 0 and transform._warm is None     # it ran the parse
    assert (settings.dbt_target_dir / "manifest.json").is_file()

    model = project / "models" / "marts" / "penduduk_kabupaten_kota.sql"
    model.write_text("select from where\n")
    transform.start_warm(settings)
    warm = transform._warm[0]
    with pytest.raises(transform.TransformError,
                       match=r"(?s)dbt build --select penduduk_kabupaten_kota failed \(exit 1\)"
                             r".*penduduk_kabupaten_kota\S*: error.*syntax error"):
        transform.run_dbt(settings, "build", "--select", "penduduk_kabupaten_kota")
    assert warm.returncode == 1

    transform.start_warm(settings)      # one nobody needs is ended, having run nothing
    warm = transform._warm[0]
    transform.stop_warm()
    assert warm.poll() is not None and transform._warm is None


def test_published_dbt_docs_hold_no_server_path_and_no_live_html(sample_run):
    """The dbt docs of the real sample run: no absolute path of this machine (project or
    home) anywhere in the published manifest or catalog."""
    docs = sample_run["settings"].site_dir / "dbt-docs"
    home = str(sample_run["settings"].home.resolve())
    for name in ("manifest.json", "catalog.json"):
        text = (docs / name).read_text(encoding="utf-8")
        assert str(PROJECT_ROOT) not in text and home not in text, name
    assert "satudata_banten" in (docs / "manifest.json").read_text(encoding="utf-8")


def test_public_docs_escape_descriptions_and_drop_server_paths():
    manifest = {"nodes": {"model.p.m": {
        "root_path": "/srv/project/dbt",
        "original_file_path": "models/m.sql",
        "compiled_path": "/home/sd/dbt/target/compiled/m.sql",
        "raw_code": "select 1 where a < 2",
        "description": "Jumlah <img src=x onerror=alert(8)>",
        "columns": {"c": {"description": "<script>alert(1)</script> kolom"}}}}}
    out = dbt_docs.public_docs(manifest, ["/srv/project", "/srv/project/dbt", "/home/sd"])
    node = out["nodes"]["model.p.m"]
    assert node["root_path"] == "." and node["compiled_path"] == "dbt/target/compiled/m.sql"
    assert node["original_file_path"] == "models/m.sql"
    assert node["raw_code"] == "select 1 where a < 2"   # code is shown as text, not HTML
    assert "<img" not in node["description"] and "&lt;img" in node["description"]
    assert node["columns"]["c"]["description"].startswith("&lt;script&gt;")
