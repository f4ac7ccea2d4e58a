"""flows/common/pii.py on hand-made values: identifiers however they are written are found and
masked, look-alikes that are not personal data are left alone, and the ingest gate
quarantines a file that has personal data in an ordinary text column."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from flows import ingest
from flows.common import pii
from flows.ingest import load as ingest_load
from flows.readers import SubmissionError
from flows.registry import load_registry
from flows.warehouse import connect, initialise
from tests.helpers import PROJECT_ROOT

FULL_WIDTH_NIK = "３６７１０９６３０２６１７８０３"
ARABIC_INDIC_PHONE = "٠٨١٢٣٤٥٦٧٨٩٠"


def kinds(text: str) -> set[str]:
    return {h.kind for h in pii.find(text)}


# --- what is personal data ------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    # NIKs: valid, malformed (any 16 digits), formatted, full-width
    ("NIK 3671096302617803", {"nik"}),
    ("NIK 3671006302617803", {"nik"}),                 # day 00: not a valid NIK, still one
    ("nik 0000123456789012", {"nik"}),
    ("3671 0963 0261 7803", {"nik"}),
    ("3671.0963.0261.7803", {"nik"}),
    ("3671-0963-0261-7803", {"nik"}),
    ("367109/630261/7803", {"nik"}),
    ("NIK: 367109 630261 7803.", {"nik"}),
    (FULL_WIDTH_NIK, {"nik"}),
    ("３６７１ ０９６３ ０２６１ ７８０３", {"nik"}),
    # phones: mobile and landline, dots, brackets, +62, Unicode digits
    ("hubungi 081234567890", {"phone"}),
    ("0812.3456.7890", {"phone"}),
    ("(0812) 3456-7890", {"phone"}),
    ("+62 812 3456 7890", {"phone"}),
    ("+62-812-3456-7890", {"phone"}),
    ("62812345678", {"phone"}),
    ("telp (021) 555-1234", {"phone"}),
    ("Tel.081234567890", {"phone"}),
    ("081234567890,081298765432", {"phone"}),
    (ARABIC_INDIC_PHONE, {"phone"}),
    # e-mail addresses, plain and obfuscated
    ("siti.rahmawati@example.com", {"email"}),
    ("siti(at)gmail.com", {"email"}),
    ("siti [at] gmail [dot] com", {"email"}),
    ("siti (at) gmail (dot) co (dot) id", {"email"}),
    ("kirim ke budi at gmail.com ya", {"email"}),
    ("ｓｉｔｉ＠ｇｍａｉｌ．ｃｏｍ", {"email"}),
    # several at once
    ("Siti, 3671096302617803, 0812-3456-7890, siti@x.co.id", {"nik", "phone", "email"}),
])
def test_identifiers_are_found_however_written(text: str, expected: set[str]) -> None:
    assert kinds(text) == expected
    assert pii.has_personal_data(text)


@pytest.mark.parametrize("text", [
    "20248469215",                      # complaint ticket numbers
    "TNG2024000001",
    "SRG.2024.01.000001",
    "LBK2401000001",
    "P3602010101",                      # facility code
    "36.71.01.1001",                    # region codes
    "3671011001",
    "36.71",
    "2024-03-01",                       # dates and timestamps
    "2024-03-01 08:00:00",
    "2024-03-01T08:00:00.123456",
    "01/03/2024 08:15",
    "01-03-2024 06.10",
    "31.12.2024",
    "-6.833493, 106.217263",            # coordinates
    "-6.2188 106.8456",
    "ratio 12.0848123456734 of the batch",   # decimals
    "share 0.3601234512650001",
    "0.081234567890",
    "Rp 12.500.000.000",                # amounts
    "1.437.046 jiwa",
    "Jl. Kihajar Dewantara No. 108, RT 003/005",
    "Persentase Penduduk Miskin (%)",
    "BPS Susenas Maret (dikutip media)",
    "meeting at 10 in the office",
    "@SUM(A1)",
    "kecamatan data",
])
def test_look_alikes_are_not_personal_data(text: str) -> None:
    assert kinds(text) == set()
    assert not pii.has_personal_data(text)
    assert pii.redact(text) == text


def test_the_scanner_keeps_the_old_rule_for_numbers() -> None:
    """A number column holds measures: a round 16-digit budget is not a NIK, a NIK-shaped
    number is (a NIK typed into a spreadsheet)."""
    con = duckdb.connect()
    rel = ("(select * from (values (3325100000000000::bigint, 3671014501900001::bigint, "
           "3671014501900001.0::double)) t(budget, nik, nik_float))")
    found = pii.scan_relation(con, rel, {"budget": "integer", "nik": "integer",
                                         "nik_float": "float"}, "x.parquet")
    assert {(f.column, f.kind, f.example) for f in found} == {
        ("nik", "nik", "3671**********01"), ("nik_float", "nik", "3671**********01")}


# --- masking ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, value, masked", [
    ("nik", "3671096302617803", "3671**********03"),
    ("nik", "3671 0963 0261 7803", "3671 **** **** **03"),
    ("nik", FULL_WIDTH_NIK, "３６７１**********０３"),
    ("phone", "081234567834", "0812******34"),
    ("phone", "0812-3456-7890", "0812-****-**90"),
    ("email", "tono@gmail.com", "t***@gmail.com"),
    ("email", "tono(at)gmail(dot)com", "t***@gmail.com"),
    ("digits", "12345678", "********"),
])
def test_mask(kind: str, value: str, masked: str) -> None:
    assert pii.mask(kind, value) == masked


@pytest.mark.parametrize("text, expected", [
    ("NIK 3671096302617803, alamat", "NIK 3671**********03, alamat"),
    ("NIK 3671 0963 0261 7803; lalu", "NIK 3671 **** **** **03; lalu"),
    ("(0812) 3456-7890.", "(0812) ****-**90."),
    ("a,081234567890,b", "a,0812******90,b"),
    ('"081234567890"', '"0812******90"'),
    ("budi at gmail.com!", "b***@gmail.com!"),
    ("row 3: '3671096302617803'", "row 3: '3671**********03'"),
    ("", ""),
])
def test_redact_masks_in_place_and_drops_nothing(text: str, expected: str) -> None:
    """The character after a masked NIK or phone number stays (it used to be dropped,
    which broke masked JSON)."""
    assert pii.redact(text) == expected


def test_redact_keeps_json_valid() -> None:
    value = {"examples": ["3671096302617803", "hubungi 0812-3456-7890", "a@b.co"],
             "rows": [{"nik": 3671096302617803, "hp": 6281234567890, "n": 1.5}],
             "nested": [[3671096302617803.0], -3671096302617803]}
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=2),
                 json.dumps(value, separators=(",", ":"))):
        masked = pii.redact(text)
        doc = json.loads(masked)
        assert doc["examples"] == ["3671**********03", "hubungi 0812-****-**90", "a***@b.co"]
        assert doc["rows"][0]["nik"] == "3671**********03"   # a number becomes its mask
        assert doc["rows"][0]["n"] == 1.5
        for secret in ("3671096302617803", "3456-7890", "6281234567890"):
            assert secret not in masked
    assert pii.redact(None) is None


def test_mask_sample_masks_digits_phones_emails_and_names() -> None:
    names = {"Siti Rahmawati", "Budi", None, "A"}
    assert pii.mask_sample("lapor SITI  rahmawati, hp 0812.3456.7890", names=names) == (
        "lapor ***, hp 0812.****.**90")
    assert pii.mask_sample("nomor 12345678 dan 1234567", names=names) == (
        "nomor ******** dan 1234567")                      # 8+ digits, valid NIK or not
    assert pii.mask_sample("Budiman datang", names=names) == "Budiman datang"   # whole words
    assert pii.mask_sample(3671096302617803) == "3671**********03"
    assert pii.mask_sample(42) == 42 and pii.mask_sample(None) is None
    assert pii.mask_sample({"a": ["x@y.co"]}) == {"a": ["x***@y.co"]}
    assert pii.mask_sample("36.71.01.1001") == "36.71.01.1001"


def test_public_examples() -> None:
    examples = ["Siti Rahmawati", {"_row_number": 3, "status": "0812 3456 7890"}, 17]
    assert pii.public_examples(examples, dataset_has_personal=True,
                               names={"Siti Rahmawati"}) == [{"_row_number": 3}]
    assert pii.public_examples(examples, dataset_has_personal=False,
                               names={"Siti Rahmawati"}) == [
        "***", {"_row_number": 3, "status": "0812 **** **90"}, 17]
    assert pii.public_examples([], dataset_has_personal=True, names=set()) == []


# --- the publish-time scanner ---------------------------------------------------------------


def test_scanner_finds_formatted_identifiers_in_a_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    con = duckdb.connect()
    con.execute(f"""copy (select * from (values
        ('36.71.01.1001', 'NIK 3671 0963 0261 7803', 'ok', 'TNG2024000001'),
        ('36.71', 'selesai', 'siti(at)gmail.com', '2024-03-01 08:00:00'),
        ('36.72', 'hubungi (0812) 3456-7890', '12.0848123456734', '{FULL_WIDTH_NIK}')
        ) t(kode, keterangan, catatan, tiket)) to '{path}' (format parquet)""")
    found = {(f.column, f.kind): (f.count, f.example) for f in pii.scan_parquet(con, path)}
    assert found == {
        ("keterangan", "nik"): (1, "3671 **** **** **03"),
        ("keterangan", "phone"): (1, "0812) ****-**90"),
        ("catatan", "email"): (1, "s***@gmail.com"),
        ("tiket", "nik"): (1, "３６７１**********０３"),
    }


# --- the ingest gate ------------------------------------------------------------------------

FEED_ID = "kota-tangerang.aduan"
SAMPLE = PROJECT_ROOT / "data" / "landing" / "36.71" / "aduan" / "aduan_2024_01.csv"


@pytest.fixture
def aduan(tmp_path: Path):
    registry = load_registry(PROJECT_ROOT / "data" / "feeds.yml")
    feed = next(f for f in registry.feeds if f.id == FEED_ID)
    database = tmp_path / "w.duckdb"
    initialise(database, registry.datasets, PROJECT_ROOT / "data" / "reference")
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    return feed, registry.datasets["aduan"], database, lines[0], lines[1:21]


def _set_status(line: str, status: str) -> str:
    cells = line.split(";")
    cells[9] = status
    return ";".join(cells)


def _load(tmp_path: Path, feed, spec, database: Path, header: str, rows: list[str]):
    path = tmp_path / "aduan_2024_01.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    received = ingest.snapshot(feed, path, tmp_path / "raw")
    with connect(database) as con:
        ingest_load._scratch(con)
        streamed = ingest_load._load_csv_streaming(con, feed, spec, received,
                                                   ingest.batch_table(received))
        ingest.drop_batch(con, received)
        staged = ingest.stage_csv_files(con, feed, spec, [received])
        raw_rows = con.execute("select count(*) from raw.aduan").fetchone()[0]
        try:
            return streamed, staged, raw_rows, ingest.load_batch(con, feed, spec, received)
        except SubmissionError as exc:
            return streamed, staged, raw_rows, exc


def test_the_bundled_sample_passes_the_gate(aduan, tmp_path: Path) -> None:
    """Tickets, region codes, dates and the personal-data columns themselves (NIK, phone,
    e-mail declared `personal_data: true`) do not trip it."""
    feed, spec, database, header, rows = aduan
    streamed, staged, _, (table, count) = _load(tmp_path, feed, spec, database, header, rows)
    assert streamed == count == 20 and staged is not None


@pytest.mark.parametrize("status, kind, example", [
    ("3671096302617803", "a NIK-like number", "3671**********03"),
    ("3671 0063 0261 7803", "a NIK-like number", "3671 **** **** **03"),   # not a valid NIK
    ("hubungi (0812) 3456-7890", "a phone number", "0812) ****-**90"),
    ("lapor via siti(at)gmail(dot)com", "an e-mail address", "s***@gmail.com"),
])
def test_personal_data_in_an_ordinary_column_quarantines_the_file(
        aduan, tmp_path: Path, status: str, kind: str, example: str) -> None:
    feed, spec, database, header, rows = aduan
    rows = list(rows)
    for i in (2, 8):
        rows[i] = _set_status(rows[i], status)
    streamed, staged, raw_rows, error = _load(tmp_path, feed, spec, database, header, rows)
    # Both fast paths flag the file (nothing staged into raw); the thorough one names it.
    assert streamed is None and staged is None and raw_rows == 0
    assert isinstance(error, SubmissionError)
    message = str(error)
    assert (f"column 'status' (header 'Status') holds personal data ({kind}) in rows 3, 9: "
            f"'{example}'") in message
    assert "mark it `personal_data: true`" in message and "remove it" in message
    assert status not in message


def test_the_gate_lists_every_kind_and_counts_the_rest(aduan, tmp_path: Path) -> None:
    feed, spec, database, header, rows = aduan
    rows = [_set_status(r, "0812 3456 7890" if i % 2 else "a@b.co.id")
            for i, r in enumerate(rows)]
    *_, error = _load(tmp_path, feed, spec, database, header, rows)
    assert ("holds personal data (a phone number, an e-mail address) in rows 1, 2, 3, 4, 5 "
            "and 15 more: ") in str(error)
