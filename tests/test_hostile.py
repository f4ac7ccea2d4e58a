"""The hostile-input corpus through the real flow: every bad file is quarantined with a
reason that names it and says what is wrong; the harmless oddities are accepted with the
right values; nothing else is affected and nothing is written outside SATUDATA_HOME."""

from __future__ import annotations

import csv
import re
import shutil

import duckdb
import pytest
import yaml

from tests.helpers import PROJECT_ROOT
from tests.hostile.corpus import CASES, FILES, LARGE, write_large

FEEDS = sorted({c.feed for c in CASES})


@pytest.fixture(scope="module")
def hostile_run(prefect_harness, tmp_path_factory):
    import os

    from flows.pipeline import pipeline

    root = tmp_path_factory.mktemp("hostile")
    data = root / "data"
    shutil.copytree(PROJECT_ROOT / "data" / "reference", data / "reference")
    registry = yaml.safe_load((PROJECT_ROOT / "data" / "feeds.yml").read_text())
    synthetic = yaml.safe_load((PROJECT_ROOT / "data" / "feeds_synthetic.yml").read_text())
    feeds = [f for f in registry["feeds"] + synthetic["feeds"] if f["id"] in FEEDS]
    registry.pop("include")
    registry["datasets"].update(synthetic["datasets"])
    registry["feeds"] = feeds
    # The good files of each feed (one month of Kota Tangerang's complaints is enough).
    for feed in feeds:
        folder = (data / feed["path"]).parent
        folder.mkdir(parents=True, exist_ok=True)
        for src in sorted((PROJECT_ROOT / "data" / feed["path"]).parent.glob(
                feed["path"].rsplit("/", 1)[1]))[:2]:
            shutil.copy(src, folder / src.name)
    large = write_large(root / "large")
    by_feed = {f["id"]: f for f in feeds}
    for case in CASES:
        folder = (data / by_feed[case.feed]["path"]).parent
        source = large[case.name] if case.name in LARGE else FILES / case.name
        suffix = by_feed[case.feed]["path"].rsplit(".", 1)[1]
        name = case.name if case.name.endswith(suffix) else f"{case.name}.{suffix}"
        shutil.copy(source, folder / f"zz_{name}")
    (data / "feeds.yml").write_text(yaml.safe_dump(registry, allow_unicode=True))

    saved = {k: os.environ.get(k) for k in ("SATUDATA_HOME", "SATUDATA_FEEDS")}
    os.environ["SATUDATA_HOME"] = str(root / "home")
    os.environ["SATUDATA_FEEDS"] = str(data / "feeds.yml")
    try:
        result = pipeline()
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    return {"root": root, "home": root / "home", "result": result}


def _reasons(result) -> dict[str, str]:
    reasons = {}
    for feed in result["feeds"]:
        for reason in feed["reasons"]:
            name = re.search(r"(zz_\S+?\.(csv|xlsx|json))", reason).group(1)
            reasons[name] = reason
    return reasons


def test_corpus_has_at_least_30_bad_inputs():
    assert len([c for c in CASES if c.expect]) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_hostile_file_gets_its_verdict(hostile_run, case):
    reasons = _reasons(hostile_run["result"])
    key = next((k for k in reasons if k.startswith(f"zz_{case.name}")), None)
    if case.expect:
        assert key is not None, f"{case.name} was not quarantined"
        assert re.search(case.expect, reasons[key]), reasons[key]
        quarantined = list((hostile_run["home"] / "quarantine" / case.feed).iterdir())
        assert any(p.name.endswith(f"{key}.reason.txt") for p in quarantined)
    else:
        assert key is None, f"{case.name} was quarantined: {reasons.get(key)}"


def test_good_files_are_accepted_and_published_unchanged(hostile_run):
    result = hostile_run["result"]
    assert result["status"] == "completed", result["errors"]
    site = hostile_run["home"] / "site" / "datasets" / "penduduk-kabupaten-kota" / "latest"
    with open(site / "penduduk-kabupaten-kota.csv", encoding="utf-8") as f:
        rows = {(r["kode_wilayah"], r["periode"]): int(r["jumlah_penduduk"])
                for r in csv.DictReader(f)}
    assert rows == {("36.01", "2020"): 1272687, ("36.01", "2024-S2"): 1437046,
                    ("36.02", "2020"): 1386793, ("36.02", "2024-S2"): 1531564,
                    ("36.03", "2020"): 3245619, ("36.03", "2024-S2"): 3459706,
                    ("36.04", "2020"): 1622630, ("36.04", "2024-S2"): 1791795}


def test_warehouse_intact_after_sql_in_text(hostile_run):
    with duckdb.connect(str(hostile_run["home"] / "warehouse.duckdb"), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "select nama_wilayah from raw.penduduk where kode_wilayah = '36.04'").fetchall()]
        assert con.execute("select count(*) from raw.penduduk").fetchone()[0] == 8
    assert "Robert'); DROP TABLE raw.penduduk;--" in names   # kept as text, harmless


def test_nothing_written_outside_the_home(hostile_run):
    quarantine = hostile_run["home"] / "quarantine"
    for path in quarantine.rglob("*"):
        assert path.resolve().is_relative_to(quarantine.resolve())
    assert not (hostile_run["root"] / "etc").exists()
