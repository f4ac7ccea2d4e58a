"""A CSV feed's new files are staged in `raw` in one pass (flows/ingest.py
`stage_csv_files`), then validated and accepted file by file: the same rows as loading
each file on its own, and a staged batch that is rejected, or left behind by a run that
stopped, never stays in `raw`."""

from __future__ import annotations

import duckdb
import pytest
from prefect.logging import disable_run_logger

from flows import ingest, pipeline
from flows.registry import load_registry
from flows.settings import Settings
from flows.warehouse import banten_regency_codes, connect, initialise
from tests.helpers import copy_sample_data

FEED = "kota-tangerang.aduan"      # 12 monthly CSV files (UTF-8, ';')
MONTH = "aduan_2024_03.csv"


@pytest.fixture
def sample(tmp_path):
    feeds = copy_sample_data(tmp_path / "data")
    registry = load_registry(feeds)
    feed = next(f for f in registry.feeds if f.id == FEED)
    return feeds, feed, registry.datasets[feed.dataset]


def _settings(home, feeds) -> Settings:
    settings = Settings(home=home, feeds_file=feeds)
    settings.ensure_dirs()
    registry = load_registry(feeds)
    initialise(settings.warehouse, registry.datasets, settings.reference_dir)
    pipeline._ensure_meta_tables(settings)
    return settings


def _ingest(settings, feed, spec):
    """What the flow does for one feed: receive its new files, then ingest them."""
    with disable_run_logger(), pipeline.shared_validation(settings):
        received, _ = pipeline.receive_feed.fn(settings, feed,
                                               pipeline._known_hashes(settings))
        return pipeline.ingest_feed.fn(settings, feed, spec, received,
                                       banten_regency_codes(settings.warehouse), "test")


def _raw(settings, sql):
    with connect(settings.warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_staged_feed_holds_the_same_rows_as_loading_file_by_file(sample, tmp_path,
                                                                 monkeypatch):
    feeds, feed, spec = sample
    staged_calls = []
    real_stage = pipeline.stage_csv_files

    def spy(*args):
        staged_calls.append(real_stage(*args))
        return staged_calls[-1]

    monkeypatch.setattr(pipeline, "stage_csv_files", spy)
    staged = _settings(tmp_path / "staged", feeds)
    summary = _ingest(staged, feed, spec)
    assert summary.accepted == 12 and summary.quarantined == 0
    assert staged_calls and len(staged_calls[0]) == 12   # every file staged, in one pass

    monkeypatch.setattr(pipeline, "stage_csv_files", lambda *args: None)
    per_file = _settings(tmp_path / "per_file", feeds)
    assert _ingest(per_file, feed, spec).rows == summary.rows

    columns = ", ".join(spec.column_names) + ", _batch_id, _feed_id, _regency, _source_sha256"
    query = f"select {columns} from raw.aduan order by nomor_tiket"
    assert _raw(staged, query) == _raw(per_file, query)
    assert len(_raw(staged, query)) == summary.rows > 0
    assert _raw(staged, "select count(*) from meta.staged_batches") == [(0,)]


def test_a_staged_file_rejected_by_validation_leaves_raw_and_the_last_good_rows_stay(
        sample, tmp_path):
    feeds, feed, spec = sample
    settings = _settings(tmp_path / "home", feeds)
    _ingest(settings, feed, spec)
    march = "select nomor_tiket, status from raw.aduan where strftime(diterima_pada, " \
            "'%Y-%m') = '2024-03' order by 1"
    before = _raw(settings, march)

    # A re-send of March whose ticket numbers repeat (the suite's critical uniqueness
    # rule): readable, so it is staged, then rejected.
    folder = feeds.parent / "landing" / feed.regency / "aduan"
    lines = (folder / MONTH).read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "aduan_2024_03_revisi.csv").write_text(
        lines[0] + lines[1] + lines[1] + "".join(lines[2:]), encoding="utf-8")
    summary = _ingest(settings, feed, spec)
    assert (summary.accepted, summary.quarantined) == (0, 1)
    assert "unique" in summary.reasons[0] or "nomor_tiket" in summary.reasons[0]

    assert _raw(settings, march) == before
    assert _raw(settings, "select count(*) from meta.staged_batches") == [(0,)]
    bad = _raw(settings, "select sha256 from meta.submissions where status = 'quarantined'")
    assert _raw(settings, f"select count(*) from raw.aduan where _batch_id = "
                          f"'{bad[0][0][:16]}'") == [(0,)]


def test_rows_a_stopped_run_left_staged_are_removed_by_the_next_run(sample, tmp_path):
    feeds, feed, spec = sample
    settings = _settings(tmp_path / "home", feeds)
    items = [ingest.snapshot(feed, p, settings.raw_dir) for p in sorted(feed.files())[:3]]
    with connect(settings.warehouse) as con:
        staged = ingest.stage_csv_files(con, feed, spec, items)
    assert staged and sum(staged.values()) == _raw(settings, "select count(*) from raw.aduan"
                                                   )[0][0] > 0
    # ... and the run stops here: nothing accepted. The next run starts with `initialise`.
    _settings(tmp_path / "home", feeds)
    assert _raw(settings, "select count(*) from raw.aduan") == [(0,)]
    assert _raw(settings, "select count(*) from meta.staged_batches") == [(0,)]
    assert _ingest(settings, feed, spec).accepted == 12


def test_a_flagged_row_stages_nothing_and_its_file_is_quarantined_by_row(sample, tmp_path):
    feeds, feed, spec = sample
    folder = feeds.parent / "landing" / feed.regency / "aduan"
    text = (folder / MONTH).read_text(encoding="utf-8").splitlines(keepends=True)
    header = text[0].rstrip("\n").split(";")
    row = text[3].rstrip("\n").split(";")
    received_col = next(h for h, c in feed.columns.items() if c == "diterima_pada")
    row[header.index(received_col)] = "31/02/2024"
    text[3] = ";".join(row) + "\n"
    (folder / MONTH).write_text("".join(text), encoding="utf-8")
    settings = _settings(tmp_path / "home", feeds)

    items = [ingest.snapshot(feed, p, settings.raw_dir) for p in sorted(feed.files())]
    with connect(settings.warehouse) as con:
        assert ingest.stage_csv_files(con, feed, spec, items) is None
    assert _raw(settings, "select count(*) from raw.aduan") == [(0,)]

    summary = _ingest(settings, feed, spec)
    assert (summary.accepted, summary.quarantined) == (11, 1)
    assert MONTH in summary.reasons[0] and "row 3" in summary.reasons[0]
    assert "31/02/2024" in summary.reasons[0]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from meta.staged_batches").fetchone() == (0,)


def test_a_staged_revision_replaces_its_month_and_leaves_the_others(sample, tmp_path):
    feeds, feed, spec = sample
    settings = _settings(tmp_path / "home", feeds)
    _ingest(settings, feed, spec)
    months = "select strftime(diterima_pada, '%Y-%m'), count(*), count(distinct _batch_id) " \
             "from raw.aduan group by 1 order by 1"
    before = dict((m, n) for m, n, _ in _raw(settings, months))

    folder = feeds.parent / "landing" / feed.regency / "aduan"
    lines = (folder / MONTH).read_text(encoding="utf-8").splitlines(keepends=True)
    kept = lines[:1] + lines[1:-5]          # the regency withdrew its last five tickets
    (folder / "aduan_2024_03_revisi.csv").write_text("".join(kept), encoding="utf-8")
    summary = _ingest(settings, feed, spec)
    assert (summary.accepted, summary.quarantined) == (1, 0)

    after = _raw(settings, months)
    assert {m: n for m, n, _ in after} == {**before, "2024-03": before["2024-03"] - 5}
    assert all(batches == 1 for _, _, batches in after)   # March: the revision's rows only
