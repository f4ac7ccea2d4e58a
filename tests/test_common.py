"""flows.common: the shared helpers (files, SQL quoting)."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pytest

from flows.common.files import (
    atomic_target,
    sha256_file,
    swap_dir,
    write_json_atomic,
    write_text_atomic,
)
from flows.common.sql import quote_ident, quote_literal


def test_sha256_file(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"x" * 3_000_000)
    assert sha256_file(path) == hashlib.sha256(b"x" * 3_000_000).hexdigest()


def test_atomic_target_renames_whole_file_and_leaves_nothing_aside(tmp_path):
    target = tmp_path / "sub" / "doc.json"
    write_json_atomic(target, {"a": "é"})
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": "é"}
    write_text_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "new"
    assert [p.name for p in target.parent.iterdir()] == ["doc.json"]


def test_atomic_target_keeps_the_old_file_on_error(tmp_path):
    target = tmp_path / "doc.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_target(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.txt"]


def test_swap_dir(tmp_path):
    target, staging = tmp_path / "docs", tmp_path / ".staging"
    target.mkdir()
    (target / "old").write_text("1")
    staging.mkdir()
    (staging / "new").write_text("2")
    assert swap_dir(staging, target, old_prefix=".docs-old-") == target
    assert [p.name for p in tmp_path.iterdir()] == ["docs"]
    assert [p.name for p in target.iterdir()] == ["new"]


@pytest.mark.parametrize("text", ["plain", "it's", 'a"b', "''", "", "é; drop table x"])
def test_quoting_round_trips_through_duckdb(text):
    con = duckdb.connect()
    assert con.execute(f"select {quote_literal(text)}").fetchone()[0] == text
    if text:
        assert con.execute(f"select 1 as {quote_ident(text)}").description[0][0] == text
