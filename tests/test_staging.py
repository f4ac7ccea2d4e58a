"""A CSV feed's new files are staged in `raw` in one pass (flows/ingest.py
`stage_csv_files`), then validated and accepted file by file: the same rows as loading
each file on its own, and a staged batch that is rejected, or left behind by a run that
stopped, never stays in `raw`."""

from __future__ import annotations

import duckdb
import pytest
from prefect.logging import disable_run_logger

from flows import feed_tasks, ingest, pipeline
from flows.quality import data_docs, load_suite
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
        known, _ = pipeline._known_hashes(settings, [feed])
        received, _ = pipeline.receive_feed.fn(settings, feed, known)
        return pipeline.ingest_feed.fn(settings, feed, pipeline.with_canonical_values(spec),
                                       received, banten_regency_codes(settings.warehouse),
                                       "test")


def _raw(settings, sql):
    with connect(settings.warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_staged_feed_holds_the_same_rows_as_loading_file_by_file(sample, tmp_path,
                                                                 monkeypatch):
    feeds, feed, spec = sample
    staged_calls = []
    real_stage = feed_tasks.stage_csv_files

    def spy(*args):
        staged_calls.append(real_stage(*args))
        return staged_calls[-1]

    monkeypatch.setattr(feed_tasks, "stage_csv_files", spy)
    staged = _settings(tmp_path / "staged", feeds)
    summary = _ingest(staged, feed, spec)
    assert summary.accepted == 12 and summary.quarantined == 0
    assert staged_calls and len(staged_calls[0]) == 12   # every file staged, in one pass

    monkeypatch.setattr(feed_tasks, "stage_csv_files", lambda *args: None)
    per_file = _settings(tmp_path / "per_file", feeds)
    assert _ingest(per_file, feed, spec).rows == summary.rows

    columns = ", ".join(spec.column_names) + ", _batch_id, _feed_id, _regency, _source_sha256"
    query = f"select {columns} from raw.aduan order by nomor_tiket"
    assert _raw(staged, query) == _raw(per_file, query)
    assert len(_raw(staged, query)) == summary.rows > 0
    assert _raw(staged, "select count(*) from meta.staged_batches") == [(0,)]
    # The periods each file covers (what backfills select by), found for the staged files
    # in one query, are those found file by file.
    periods = "select file_name, periods from meta.submissions order by file_name"
    assert _raw(staged, periods) == _raw(per_file, periods)
    assert [p for _, p in _raw(staged, periods)] == [[f"2024-{m:02d}"] for m in range(1, 13)]


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


# --- the row rules of the feed's suite run once on all its staged files -----------------


def _quality(settings):
    return sorted(_raw(settings, (
        "select s.file_name, q.* exclude (submission_id) from meta.quality_results q "
        "join meta.submissions s using (submission_id)")))


def _spy_together(monkeypatch):
    calls = []
    real = feed_tasks._validate_together

    def spy(session, feed, spec, staged, codes):
        calls.append((len(staged), real(session, feed, spec, staged, codes)))
        return calls[-1][1]

    monkeypatch.setattr(feed_tasks, "_validate_together", spy)
    return calls


def test_files_validated_together_get_the_results_of_validating_each_whole(
        sample, tmp_path, monkeypatch):
    feeds, feed, spec = sample
    calls = _spy_together(monkeypatch)
    together = _settings(tmp_path / "together", feeds)
    summary = _ingest(together, feed, spec)
    assert summary.accepted == 12
    [(batches, shared)] = calls
    assert batches == 12 and shared is not None and shared.rows == summary.rows

    monkeypatch.setattr(feed_tasks, "_validate_together", lambda *args: None)
    whole = _settings(tmp_path / "whole", feeds)
    assert _ingest(whole, feed, spec).accepted == 12
    # every file's recorded result of every rule: the same either way
    assert _quality(together) == _quality(whole)
    assert len(_quality(together)) == 12 * len(load_suite("aduan")["expectations"])
    # GX's Data Docs say on each file's page that its row rules ran on the 12 together
    page = next(p for p in data_docs.build(together).rglob("validations/**/*.html")
                if "/accepted/" in str(p)).read_text(encoding="utf-8")
    assert f"checked once on the 12 files received together from this feed " \
           f"({summary.rows:,} rows; no row failed)" in page


def _revise(folder, month, change):
    """A re-sent month: `change(header, rows)` edits its rows (lists of values)."""
    lines = (folder / f"aduan_2024_{month}.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(";")
    rows = [line.split(";") for line in lines[1:]]
    change(header, rows)
    (folder / f"aduan_2024_{month}_revisi.csv").write_text(
        "\n".join([lines[0], *(";".join(r) for r in rows)]) + "\n", encoding="utf-8")


def _recategorise(header, rows):
    """A re-sent month whose first ticket changed category (still a valid one)."""
    rows[0][header.index("Kategori")] = "banjir"


def test_a_bad_row_among_files_validated_together_quarantines_only_its_file(
        sample, tmp_path, monkeypatch):
    feeds, feed, spec = sample
    settings = _settings(tmp_path / "home", feeds)
    _ingest(settings, feed, spec)
    february = "select nomor_tiket, status from raw.aduan where strftime(diterima_pada, " \
               "'%Y-%m') = '2024-02' order by 1"
    before = _raw(settings, february)
    folder = feeds.parent / "landing" / feed.regency / "aduan"

    def unknown_status(header, rows):
        rows[4][header.index("Status")] = "batal"

    _revise(folder, "01", _recategorise)
    _revise(folder, "02", unknown_status)
    calls = _spy_together(monkeypatch)
    summary = _ingest(settings, feed, spec)
    assert calls == [(2, None)]        # some row failed: each file validated whole
    assert (summary.accepted, summary.quarantined) == (1, 1)
    assert "aduan_2024_02_revisi.csv" in summary.reasons[0]
    assert "status" in summary.reasons[0] and "batal" in summary.reasons[0]
    assert _raw(settings, february) == before
    assert _raw(settings, "select count(*) from raw.aduan where kategori = 'banjir' and "
                          "nomor_tiket = (select min(nomor_tiket) from raw.aduan where "
                          "strftime(diterima_pada, '%Y-%m') = '2024-01')") == [(1,)]


def test_table_rules_still_judge_each_file_validated_together(sample, tmp_path, monkeypatch):
    """Files whose rows passed the row rules together: each file's row count is still
    judged on its own (here: a re-sent month with less than half the rows of the file
    before it, a warning)."""
    feeds, feed, spec = sample
    settings = _settings(tmp_path / "home", feeds)
    _ingest(settings, feed, spec)
    folder = feeds.parent / "landing" / feed.regency / "aduan"

    _revise(folder, "01", _recategorise)
    _revise(folder, "02", lambda header, rows: rows.__delitem__(slice(3, None)))
    calls = _spy_together(monkeypatch)
    summary = _ingest(settings, feed, spec)
    assert [(n, shared is not None) for n, shared in calls] == [(2, True)]
    assert (summary.accepted, summary.quarantined) == (2, 0)
    counts = [(name, success, message) for name, _, expectation, _, severity, success, *_,
              message in _quality(settings)
              if expectation == "expect_table_row_count_to_be_between"
              and severity == "warning" and name.endswith("_revisi.csv")]
    assert [(name, success) for name, success, _ in counts] == [
        ("aduan_2024_01_revisi.csv", True), ("aduan_2024_02_revisi.csv", False)]
    assert "3" in counts[1][2]
