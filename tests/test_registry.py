"""The feed registry says exactly which entry and field is wrong."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import jsonschema
import pytest
import yaml

from flows.registry import (
    Extract,
    RegistryError,
    load_registry,
    registry_json_schema,
    write_json_schema,
)
from tests.helpers import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "data" / "feeds.yml"
SYNTHETIC = PROJECT_ROOT / "data" / "feeds_synthetic.yml"
SCHEMA_FILE = PROJECT_ROOT / "data" / "feeds.schema.json"
REGENERATE = "python -m flows.registry --write-schema data/feeds.schema.json"
LEBAK, PANDEGLANG = "kab-lebak.penduduk", "kab-pandeglang.penduduk"
ADUAN = "kab-pandeglang.aduan"   # the first feed of data/feeds_synthetic.yml


def test_bundled_registry_loads_with_every_regency():
    registry = load_registry(SAMPLE)
    assert {f.regency for f in registry.feeds if not f.is_province_wide} == {
        "36.01", "36.02", "36.03", "36.04", "36.71", "36.72", "36.73", "36.74"}
    assert all(f.files() for f in registry.feeds), "every sample feed has files"


def _broken(tmp_path, mutate):
    doc = yaml.safe_load(SAMPLE.read_text())
    mutate(doc)
    path = tmp_path / "feeds.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    for name in doc.get("include", []):
        (tmp_path / name).write_text((SAMPLE.parent / name).read_text())
    return path


def _feed(doc: dict, feed_id: str) -> dict:
    """The entry of feed `feed_id` in a registry document."""
    return next(f for f in doc["feeds"] if f["id"] == feed_id)


def _problems(path) -> list[str]:
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["feeds"][1].pop("format"), r"feed 'kab-lebak.penduduk': missing required "
                                            r"field 'format'"),
    (lambda d: d["feeds"][1].update(format="pdf"), r"feed 'kab-lebak.penduduk': field 'format' "
                                                   r"is 'pdf'"),
    (lambda d: d["feeds"][2].update(regency="3603"), r"feed 'kab-tangerang.penduduk': field "
                                                     r"'regency' is '3603'"),
    (lambda d: d["feeds"][0]["columns"].update(Total="jumlah"),
     r"feed 'kab-pandeglang.penduduk': field 'columns' maps 'Total' to 'jumlah'"),
    (lambda d: d["feeds"][3].update(id="kab-lebak.penduduk"),
     r"feed 'kab-lebak.penduduk': id is used twice"),
    (lambda d: d["feeds"][4].update(dataset="kesehatan"),
     r"feed 'kota-tangerang.penduduk': field 'dataset' is 'kesehatan'"),
    (lambda d: d["feeds"][5].update(region_code="iso"),
     r"feed 'kota-cilegon.penduduk': field 'region_code' is 'iso'"),
])
def test_broken_entry_is_named(tmp_path, mutate, message):
    with pytest.raises(RegistryError, match=message):
        load_registry(_broken(tmp_path, mutate))


def test_invalid_yaml(tmp_path):
    path = tmp_path / "feeds.yml"
    path.write_text("feeds: [\n")
    with pytest.raises(RegistryError, match="not valid YAML"):
        load_registry(path)


def test_cli_feeds_validate_names_the_broken_entry_and_field(tmp_path):
    from pathlib import Path

    satudata = Path(sys.executable).parent / "satudata"
    path = _broken(tmp_path, lambda d: d["feeds"][6].update(region_code="kode"))
    bad = subprocess.run([satudata, "feeds", "validate", "--file", str(path)],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert "feed 'kota-serang.penduduk': field 'region_code' is 'kode'" in bad.stderr
    good = subprocess.run([satudata, "feeds", "validate", "--file", str(SAMPLE)],
                          capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stderr
    assert f"valid: 4 datasets, {len(load_registry(SAMPLE).feeds)} feeds" in good.stdout


# ------------------------------------------------------------------------ unknown keys


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(alowed_hosts=["example.org"]),
     "unknown key 'alowed_hosts'; did you mean 'allowed_hosts'?"),
    (lambda d: d["datasets"]["penduduk"].update(frequncy="R/P1Y"),
     "dataset 'penduduk': unknown key 'frequncy'; did you mean 'frequency'?"),
    (lambda d: d["datasets"]["penduduk"]["columns"]["laki_laki"].update(personal_dta=True),
     "column 'laki_laki' of dataset 'penduduk': unknown key 'personal_dta'; "
     "did you mean 'personal_data'?"),
    (lambda d: _feed(d, LEBAK).update(region_cod="dotted"),
     "feed 'kab-lebak.penduduk': unknown key 'region_cod'; did you mean 'region_code'?"),
    (lambda d: _feed(d, LEBAK).update(optoins={"sheet": "A"}),
     "feed 'kab-lebak.penduduk': unknown key 'optoins'; did you mean 'options'?"),
    (lambda d: _feed(d, LEBAK)["options"].update(delimeter=","),
     "feed 'kab-lebak.penduduk': options: unknown key 'delimeter'; did you mean 'delimiter'?"),
    (lambda d: _feed(d, LEBAK).update(ckan={"pakage": "penduduk"}),
     "feed 'kab-lebak.penduduk': ckan: unknown key 'pakage'; did you mean 'package'?"),
    (lambda d: _feed(d, LEBAK).update(extract={"periode": {"form": "title",
                                                           "pattern": "."}}),
     "feed 'kab-lebak.penduduk': extract.periode: unknown key 'form'; did you mean 'from'?"),
    (lambda d: d.update(alerts={"webhok": "https://chat.example.org/hook"}),
     "alerts: unknown key 'webhok'; did you mean 'webhook'?"),
    (lambda d: _feed(d, LEBAK).update({"x-note": "anchors are for the top level"}),
     "feed 'kab-lebak.penduduk': unknown key 'x-note'; valid keys: id, regency, dataset"),
])
def test_unknown_key_is_named_with_the_closest_valid_key(tmp_path, mutate, message):
    path = _broken(tmp_path, mutate)
    problems = _problems(path)
    assert [p for p in problems if p.startswith(f"{path}: {message}")], problems


def test_a_misspelt_personal_data_never_loads(tmp_path):
    """The reason for all this: `personal_dta: true` used to load, leaving NIK published."""
    (tmp_path / "feeds.yml").write_text(SAMPLE.read_text())
    synthetic = yaml.safe_load(SYNTHETIC.read_text())
    synthetic["datasets"]["aduan"]["columns"]["nik_pelapor"] = {"type": "text",
                                                                "personal_dta": True}
    (tmp_path / "feeds_synthetic.yml").write_text(yaml.safe_dump(synthetic))
    assert _problems(tmp_path / "feeds.yml") == [
        f"{tmp_path / 'feeds_synthetic.yml'}: column 'nik_pelapor' of dataset 'aduan': "
        "unknown key 'personal_dta'; did you mean 'personal_data'?"]


def test_top_level_anchors_are_allowed(tmp_path):
    path = _broken(tmp_path, lambda d: d.update({"x-regencies": ["36.01", "36.02"]}))
    assert len(load_registry(path).feeds) == len(load_registry(SAMPLE).feeds)


def test_every_problem_of_the_file_is_reported(tmp_path):
    def mutate(d):
        _feed(d, PANDEGLANG)["optoins"] = {}                       # unknown key
        _feed(d, LEBAK)["options"]["skip_lines"] = "two"           # wrong type
        _feed(d, LEBAK)["options"]["delimeter"] = ";"              # same entry, second problem
        _feed(d, "kab-tangerang.penduduk")["regency"] = "36.1"     # bad code
        _feed(d, "kota-tangerang.penduduk")["dataset"] = "kesehatan"   # needs the whole registry
        _feed(d, "kota-cilegon.penduduk")["id"] = "kab-serang.penduduk"   # used twice
        d["datasets"]["indikator"]["key"] = ["kode_wilayah", "tahunn"]
        d["polis"] = 1                                             # unknown top-level key

    path = _broken(tmp_path, mutate)
    problems = _problems(path)
    expected = [
        "feed 'kab-pandeglang.penduduk': unknown key 'optoins'; did you mean 'options'?",
        "feed 'kab-lebak.penduduk': options.skip_lines is 'two'; write a whole number",
        "feed 'kab-lebak.penduduk': options: unknown key 'delimeter'; did you mean 'delimiter'?",
        "feed 'kab-tangerang.penduduk': field 'regency' is '36.1'",
        "feed 'kota-tangerang.penduduk': field 'dataset' is 'kesehatan', which is not declared",
        "feed 'kab-serang.penduduk': id is used twice; ids must be unique",
        "dataset 'indikator': key names unknown columns ['tahunn']",
        "unknown key 'polis'; valid keys: include, allowed_hosts, alerts, datasets, feeds",
    ]
    for message in expected:
        assert [p for p in problems if p.startswith(f"{path}: {message}")], (message, problems)
    assert len(problems) == len(expected), problems


@pytest.mark.parametrize("mutate, message", [
    (lambda d: _feed(d, LEBAK)["options"].update(skip_lines="two"),
     "feed 'kab-lebak.penduduk': options.skip_lines is 'two'; write a whole number"),
    (lambda d: _feed(d, LEBAK)["options"].update(skip_lines=-1),
     "feed 'kab-lebak.penduduk': options.skip_lines is -1; write a whole number >= 0"),
    (lambda d: _feed(d, LEBAK)["options"].update(timeout_s="30"),
     "feed 'kab-lebak.penduduk': options.timeout_s is '30'; write a number"),
    (lambda d: _feed(d, LEBAK)["options"].update(retries=-2),
     "feed 'kab-lebak.penduduk': options.retries is -2; write a number >= 0"),
    (lambda d: _feed(d, PANDEGLANG)["options"].update(header_row=0),
     "feed 'kab-pandeglang.penduduk': options.header_row is 0; write a whole number >= 1"),
    (lambda d: _feed(d, LEBAK).update(ckan={"package": "p", "page_size": 2.5}),
     "feed 'kab-lebak.penduduk': ckan.page_size is 2.5; write a whole number"),
    (lambda d: d["datasets"]["penduduk"]["columns"]["laki_laki"].update(personal_data="maybe"),
     "column 'laki_laki' of dataset 'penduduk': field 'personal_data' is 'maybe'; "
     "write true or false"),
    (lambda d: d["datasets"]["penduduk"]["columns"]["laki_laki"].update(type="int"),
     "column 'laki_laki' of dataset 'penduduk': field 'type' is 'int'; use one of "
     "['date', 'integer', 'number', 'period', 'region_code', 'text', 'timestamp']"),
    (lambda d: _feed(d, LEBAK).update(columns=["Kode Wilayah", "Periode"]),
     "feed 'kab-lebak.penduduk': field 'columns' is ['Kode Wilayah', 'Periode']; "
     "write a mapping (key: value)"),
    (lambda d: _feed(d, LEBAK).update(ignore_columns="_id"),
     "feed 'kab-lebak.penduduk': field 'ignore_columns' is '_id'; write a list"),
    (lambda d: _feed(d, LEBAK).update(skip_rows_matching={"nama_wilayah": "^(JUMLAH"}),
     "feed 'kab-lebak.penduduk': skip_rows_matching.nama_wilayah: bad regular expression"),
    (lambda d: d["feeds"].insert(1, "kab-lebak.penduduk"),
     "feed '#2': write a mapping (key: value)"),
    (lambda d: d.update(alerts={"webhook": "chat.example.org/hook"}),
     "alerts.webhook: 'chat.example.org/hook' is not an http(s) URL"),
])
def test_wrong_type_says_what_is_expected(tmp_path, mutate, message):
    path = _broken(tmp_path, mutate)
    problems = _problems(path)
    assert [p for p in problems if p.startswith(f"{path}: {message}")], problems


def test_a_key_written_twice_is_an_error(tmp_path):
    path = tmp_path / "feeds.yml"
    text = SAMPLE.read_text().replace(
        "    options: {sheet: Penduduk}",
        "    options: {sheet: Penduduk}\n    options: {sheet: Rekap}", 1)
    path.write_text(text)
    (tmp_path / "feeds_synthetic.yml").write_text(SYNTHETIC.read_text())
    (problem,) = _problems(path)
    assert re.fullmatch(rf"{re.escape(str(path))}: line \d+: key 'options' is written twice "
                        r"in the same mapping; keep one", problem)


def test_a_problem_in_an_included_file_names_that_file(tmp_path):
    path = _broken(tmp_path, lambda d: None)
    path.write_text(path.read_text().replace("- feeds_synthetic.yml\n",
                                             "- feeds_synthetic.yml\n- lain.yml\n"))
    (tmp_path / "lain.yml").write_text("feeds:\n  - {id: a.b, regency: '36.99', dataset: aduan,"
                                       " channel: landing, format: csv, columns: {}, pth: x}\n")
    assert _problems(path) == [f"{tmp_path / 'lain.yml'}: feed 'a.b': unknown key 'pth'; "
                               "did you mean 'path'?"]
    (tmp_path / "lain.yml").unlink()
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}: in 'include': feed registry not found: ")


def test_null_values_are_as_if_not_written(tmp_path):
    path = _broken(tmp_path, lambda d: _feed(d, PANDEGLANG).update(options=None,
                                                                   ignore_columns=None))
    feed = next(f for f in load_registry(path).feeds if f.id == PANDEGLANG)
    assert feed.options == {} and feed.ignore_columns == ()
    path = _broken(tmp_path, lambda d: _feed(d, PANDEGLANG).update(format=None))
    assert _problems(path) == [f"{path}: feed 'kab-pandeglang.penduduk': missing required "
                               "field 'format'"]


# ------------------------------------------------------------------------ new keys


def _one_feed(tmp_path, **changes) -> tuple:
    """The registry with Kabupaten Lebak's population feed changed; (path, loaded feed or
    the problems)."""
    path = _broken(tmp_path, lambda d: _feed(d, LEBAK).update(changes))
    try:
        return path, next(f for f in load_registry(path).feeds if f.id == "kab-lebak.penduduk")
    except RegistryError as e:
        return path, e.problems


def test_province_wide_feed(tmp_path):
    _, feed = _one_feed(tmp_path, regency="36")
    assert feed.regency == "36" and feed.is_province_wide and feed.province == "36"
    regency_feed = load_registry(SAMPLE).feeds[0]
    assert not regency_feed.is_province_wide and regency_feed.province == "36"


@pytest.mark.parametrize("regency", ["36.1", "37", "3602", "36.02.01", "", "banten"])
def test_regency_is_a_banten_code(tmp_path, regency):
    path, problems = _one_feed(tmp_path, regency=regency)
    problem = "missing required field 'regency'" if regency == "" else (
        f"field 'regency' is '{regency}'; write the Kemendagri code of a Banten regency/city "
        "with a dot, e.g. \"36.71\", or the province code \"36\" for a province-wide feed")
    assert problems == [f"{path}: feed 'kab-lebak.penduduk': {problem}"]


def test_new_feed_keys_are_loaded(tmp_path):
    _, feed = _one_feed(
        tmp_path,
        description="Dukcapil semester data, sent by the Disdukcapil office.",
        columns={"Kode Wilayah": "kode_wilayah", "Laki-laki": "laki_laki",
                 "Perempuan": "perempuan", "Jumlah Penduduk (jiwa)": "jumlah_penduduk"},
        constants={"periode": "2024-S2"},
        extract={"nama_wilayah": {"from": "title", "pattern": r"KABUPATEN (\w+)"}},
        skip_rows_matching={"*": "^(JUMLAH|TOTAL)"},
        options={"header_rows": [3, 4], "timeout_s": 5},
    )
    assert feed.description.startswith("Dukcapil semester data")
    assert feed.constants == {"periode": "2024-S2"}
    assert feed.extract == {"nama_wilayah": Extract("title", r"KABUPATEN (\w+)")}
    assert feed.skip_rows_matching == {"*": "^(JUMLAH|TOTAL)"}
    assert feed.options == {"header_rows": [3, 4], "timeout_s": 5}, "only the keys written"
    assert feed.network_option("retries") == 3


def test_constants_are_text(tmp_path):
    path = _broken(tmp_path, lambda d: _feed(d, "kab-pandeglang.indikator").update(
        columns={"Indikator": "indikator", "Nilai": "nilai"}, constants={"tahun": 2024}))
    feed = next(f for f in load_registry(path).feeds if f.id == "kab-pandeglang.indikator")
    assert feed.constants == {"tahun": "2024"}


@pytest.mark.parametrize("changes, problem", [
    ({"constants": {"periode_": "2024-S2"}},
     "constants.periode_: 'periode_' is not a column of dataset 'penduduk'"),
    ({"constants": {"periode": "2024-S2"}},
     "constants.periode: 'periode' is also read from the file's column 'Periode' "
     "(field 'columns'); keep one"),
    ({"constants": {"periode": ["2024-S1", "2024-S2"]}},
     "field 'constants': 'periode' is ['2024-S1', '2024-S2']; write a single value"),
    ({"extract": {"periode": {"from": "title", "pattern": r"(\d{4})"}}},
     "extract.periode: 'periode' is also read from the file's column 'Periode'"),
    ({"extract": {"kode_wilayah_": {"from": "title", "pattern": "x"}}},
     "extract.kode_wilayah_: 'kode_wilayah_' is not a column of dataset 'penduduk'"),
    ({"extract": {"nama_wilayah": {"from": "sheet", "pattern": "x"}}},
     "extract.nama_wilayah.from is 'sheet'; use one of ['file_name', 'title']"),
    ({"extract": {"nama_wilayah": {"from": "title", "pattern": "KAB (\\w+"}}},
     "extract.nama_wilayah.pattern: bad regular expression: missing )"),
    ({"extract": {"nama_wilayah": {"from": "title"}}},
     "extract.nama_wilayah: missing required field 'pattern'"),
    ({"extract": {"nama_wilayah": "KAB (\\w+)"}},
     "extract.nama_wilayah is 'KAB (\\\\w+)'; write a mapping (key: value)"),
    ({"constants": {"nama_wilayah": "LEBAK"}, "columns": {"Kode Wilayah": "kode_wilayah"},
      "extract": {"nama_wilayah": {"from": "file_name", "pattern": "x"}}},
     "extract.nama_wilayah: 'nama_wilayah' is also under 'constants'; keep one"),
    ({"options": {"header_rows": [4, 3]}},
     "options.header_rows: write the row numbers in increasing order, e.g. [3, 4]"),
    ({"options": {"header_rows": [3, 3]}},
     "options.header_rows: write the row numbers in increasing order"),
    ({"options": {"header_rows": []}}, "options.header_rows is []; write at least 1 item"),
    ({"options": {"header_rows": [0, 1]}},
     "options.header_rows[0] is 0; write a whole number >= 1"),
    ({"options": {"header_row": 3, "header_rows": [3, 4]}},
     "field 'options': write either 'header_row' or 'header_rows', not both"),
    ({"options": {"header_rows": 3}}, "options.header_rows is 3; write a list"),
])
def test_bad_forms_of_the_new_keys(tmp_path, changes, problem):
    path, problems = _one_feed(tmp_path, **changes)
    assert isinstance(problems, list), "the registry loaded"
    assert [p for p in problems
            if p.startswith(f"{path}: feed 'kab-lebak.penduduk': {problem}")], problems
    assert len(problems) == 1, problems


def _with_categories(d, values=("persentase_penduduk_miskin", "ipm_metode_lama",
                                 "jumlah_penduduk_miskin", "tingkat_pengangguran_terbuka")):
    d["datasets"]["indikator"]["columns"]["indikator"].update(
        values=list(values), description="The indicator's code.")


def test_column_values_and_description(tmp_path):
    registry = load_registry(_broken(tmp_path, _with_categories))
    column = registry.datasets["indikator"].column("indikator")
    assert column.values == ("persentase_penduduk_miskin", "ipm_metode_lama",
                             "jumlah_penduduk_miskin", "tingkat_pengangguran_terbuka")
    assert column.description == "The indicator's code."
    assert registry.datasets["indikator"].column("tahun").values == ()


def test_column_values_bad_forms(tmp_path):
    path = _broken(tmp_path, lambda d: _with_categories(d, values=("ipm_metode_lama",)))
    problems = _problems(path)
    assert f"{path}: feed 'kab-pandeglang.indikator': values.indikator.Persentase Penduduk " \
           "Miskin (%) is 'persentase_penduduk_miskin', which is not one of the values of " \
           "column 'indikator' ['ipm_metode_lama']" in problems

    def on_a_number(d):
        d["datasets"]["indikator"]["columns"]["nilai"].update(values=["1"])
        d["datasets"]["indikator"]["columns"]["satuan"].update(values=["persen", "persen"])
    problems = _problems(_broken(tmp_path, on_a_number))
    assert problems == [
        f"{path}: column 'nilai' of dataset 'indikator': 'values' is for a categorical text "
        "column, not type 'number'",
        f"{path}: column 'satuan' of dataset 'indikator': field 'values': lists ['persen'] "
        "more than once"]


# ------------------------------------------------------------------------ fingerprint


def _fingerprints(path) -> dict[str, str]:
    return {f.id: f.fingerprint for f in load_registry(path).feeds}


def test_fingerprint_is_stable(tmp_path):
    first = _fingerprints(SAMPLE)
    (tmp_path / "a").mkdir()
    shutil.copy(SAMPLE, tmp_path / "a" / "feeds.yml")
    shutil.copy(SYNTHETIC, tmp_path / "a" / "feeds_synthetic.yml")
    assert _fingerprints(tmp_path / "a" / "feeds.yml") == first == _fingerprints(SAMPLE)
    assert all(re.fullmatch("[0-9a-f]{64}", f) for f in first.values())
    assert len(set(first.values())) == len(first), "each feed has its own"

    def written_differently(d):
        # without the default `region_code: dotted`, with an empty `options:`: the same feed
        assert _feed(d, "kab-tangerang.penduduk").pop("region_code") == "dotted"
        _feed(d, "kab-tangerang.penduduk")["options"] = {}

    assert _fingerprints(_broken(tmp_path, written_differently)) == first


@pytest.mark.parametrize("mutate, changed", [
    (lambda d: _feed(d, LEBAK)["columns"].update({"Tahun/Semester": "periode"}),
     {"kab-lebak.penduduk"}),
    (lambda d: _feed(d, LEBAK)["options"].update(encoding="cp1252"), {"kab-lebak.penduduk"}),
    (lambda d: _feed(d, LEBAK).update(description="catatan"), {"kab-lebak.penduduk"}),
    (lambda d: _feed(d, PANDEGLANG).update(constants={"nama_wilayah": "PANDEGLANG"}),
     {"kab-pandeglang.penduduk"}),
    (lambda d: d["datasets"]["indikator"]["columns"]["satuan"].update(description="unit"),
     {"kab-pandeglang.indikator", "kab-lebak.indikator", "kab-tangerang.indikator",
      "kab-serang.indikator", "kota-tangerang.indikator", "kota-cilegon.indikator",
      "kota-serang.indikator", "kota-tangerang-selatan.indikator"}),
    (lambda d: d["datasets"]["penduduk"].update(key=["kode_wilayah", "periode", "perempuan"]),
     {f["id"] for f in yaml.safe_load(SAMPLE.read_text())["feeds"]
      if f["dataset"] == "penduduk"}),
    (lambda d: d["x-indikator-names"].update({"IPM": "ipm_metode_lama"}),
     {"kab-pandeglang.indikator", "kab-lebak.indikator", "kota-cilegon.indikator",
      "kota-serang.indikator", "kota-tangerang-selatan.indikator"}),
])
def test_fingerprint_changes_with_the_entry_or_its_dataset_only(tmp_path, mutate, changed):
    before = _fingerprints(SAMPLE)

    def through_anchor(d):
        # safe_dump writes no anchors: give the feeds their own copy of the names again
        mutate(d)
        for f in d["feeds"]:
            if "values" in f and "indikator" in f["values"]:
                f["values"]["indikator"] = d["x-indikator-names"]

    after = _fingerprints(_broken(tmp_path, through_anchor))
    assert {i for i in before if before[i] != after[i]} == changed


# ------------------------------------------------------------------------ JSON Schema


def test_committed_json_schema_is_up_to_date():
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == registry_json_schema(), (
        f"{SCHEMA_FILE} differs from the registry's models; regenerate it: {REGENERATE}")


def test_json_schema_header_and_help():
    schema = registry_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Satu Data Banten feed registry"
    jsonschema.Draft202012Validator.check_schema(schema)
    for model in [schema, *schema["$defs"].values()]:
        assert model["additionalProperties"] is False, model["title"]
        for name, prop in model["properties"].items():
            assert prop.get("description"), f"{model['title']}.{name} has no description"
    feed = schema["$defs"]["FeedModel"]["properties"]
    assert feed["regency"]["pattern"] == r"^36(\.\d{2})?$"
    assert sorted(feed["format"]["enum"]) == ["ckan_json", "csv", "xlsx"]


def test_write_json_schema_and_its_command(tmp_path):
    write_json_schema(tmp_path / "a.json")
    text = (tmp_path / "a.json").read_text(encoding="utf-8")
    assert text == SCHEMA_FILE.read_text(encoding="utf-8"), f"regenerate it: {REGENERATE}"
    assert text.endswith("}\n") and text.startswith('{\n  "$schema"')
    subprocess.run([sys.executable, "-m", "flows.registry", "--write-schema",
                    str(tmp_path / "b.json")], cwd=PROJECT_ROOT, check=True,
                   capture_output=True)
    assert (tmp_path / "b.json").read_text(encoding="utf-8") == text


def _schema_errors(doc) -> list[str]:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    return [e.message for e in validator.iter_errors(doc)]


@pytest.mark.parametrize("registry", [SAMPLE, SYNTHETIC], ids=lambda p: p.name)
def test_bundled_registries_follow_the_json_schema(registry):
    assert _schema_errors(yaml.safe_load(registry.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("mutate, error", [
    (lambda d: d["datasets"]["aduan"]["columns"]["nik_pelapor"].update(personal_dta=True),
     "'personal_dta' was unexpected"),
    (lambda d: _feed(d, ADUAN).update(region_cod="dotted"), "'region_cod' was unexpected"),
    (lambda d: _feed(d, ADUAN)["options"].update(delimeter=","), "'delimeter' was unexpected"),
    (lambda d: d.update(feedz=[]), "'feedz' does not match any of the regexes: '^x-'"),
    (lambda d: _feed(d, ADUAN).update(regency="3601"), "'3601' does not match"),
    (lambda d: _feed(d, ADUAN).update(format="pdf"), "'pdf' is not one of"),
])
def test_json_schema_rejects_what_the_loader_rejects(mutate, error):
    doc = yaml.safe_load(SYNTHETIC.read_text(encoding="utf-8"))
    assert _schema_errors(doc) == []
    mutate(doc)
    assert [e for e in _schema_errors(doc) if error in e], _schema_errors(doc)


# ------------------------------------------------------------------------ confined inputs


@pytest.mark.parametrize("path", ["../../../../etc/pass*", "/etc/pass*",
                                  "landing/../../outside/*.csv"])
def test_a_path_leading_outside_the_landing_root_is_an_error(tmp_path, path):
    registry = _broken(tmp_path, lambda d: _feed(d, LEBAK).update(path=path))
    assert _problems(registry) == [
        f"{registry}: feed '{LEBAK}': field 'path' is '{path}', which leads outside the "
        f"landing root {tmp_path}; keep the feed's files in a folder under the registry's "
        "folder"]


def test_a_folder_symlinked_out_of_the_landing_root_is_an_error(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    data = tmp_path / "data"
    (data / "landing").mkdir(parents=True)
    (data / "landing" / "lebak").symlink_to(elsewhere, target_is_directory=True)
    (data / "landing" / "inside").mkdir()
    registry = _broken(data, lambda d: _feed(d, LEBAK).update(path="landing/lebak/*.csv"))
    (problem,) = _problems(registry)
    assert problem.startswith(f"{registry}: feed '{LEBAK}': field 'path' is "
                              "'landing/lebak/*.csv': its folder")
    assert f"resolves to {elsewhere}, outside the landing root {data}" in problem
    # a symlink that stays inside the root is fine
    (data / "landing" / "also-inside").symlink_to(data / "landing" / "inside")
    registry = _broken(data, lambda d: _feed(d, LEBAK).update(path="landing/also-inside/*"))
    assert _feed_of(registry, LEBAK).landing_root == data


def _feed_of(registry, feed_id):
    return next(f for f in load_registry(registry).feeds if f.id == feed_id)


def test_files_resolving_outside_the_landing_root_are_skipped_and_named(tmp_path):
    """A symlink planted after the registry was checked: never read, and named so that
    the pipeline can say so."""
    secret = tmp_path / "secret" / "passwd.csv"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0\n")
    data = tmp_path / "data"
    landing = data / "landing" / "36.02" / "penduduk"
    landing.mkdir(parents=True)
    (landing / "penduduk_2024s2.csv").write_text("a;b\n1;2\n")
    (landing / "a_copy.csv").symlink_to(landing / "penduduk_2024s2.csv")   # inside: kept
    (landing / "zz_passwd.csv").symlink_to(secret)                        # outside
    registry = _broken(data, lambda d: _feed(d, LEBAK).update(
        path="landing/36.02/penduduk/*.csv"))
    feed = _feed_of(registry, LEBAK)
    found = feed.landing_files()
    assert [p.name for p in found.files] == ["a_copy.csv", "penduduk_2024s2.csv"]
    assert found.outside == [landing / "zz_passwd.csv"]
    assert feed.files() == found.files


@pytest.mark.parametrize("entry, problem", [
    ("https://data.example.org", "'https://data.example.org' is not a host; write a host "
                                 "name or address, optionally with :port (not a URL)"),
    ("data.example.org:0", "'data.example.org:0': the port must be a number from 1 to 65535"),
    ("data example.org", "is not a host"),
])
def test_allowed_hosts_entries_are_hosts_with_an_optional_port(tmp_path, entry, problem):
    registry = _broken(tmp_path, lambda d: d.update(allowed_hosts=["ok.example.org", entry]))
    problems = _problems(registry)
    assert [p for p in problems if p.startswith(f"{registry}: allowed_hosts[1]: ")
            and problem in p], problems


def test_schedules_come_from_the_registry_or_the_frequency() -> None:
    """A deployment runs on its dataset's `schedule`; without one, on its frequency's
    default; the deployment's name says how often."""
    from flows.common.datasets import DatasetSpec
    from flows.deploy import cadence_of, cron_of, deployment_specs

    specs = {
        "harian": DatasetSpec("harian", (), (), frequency="R/P1D"),
        "mingguan": DatasetSpec("mingguan", (), (), frequency="R/P1W"),
        "tahunan": DatasetSpec("tahunan", (), (), frequency="R/P1Y"),
        "dijadwal": DatasetSpec("dijadwal", (), (), frequency="R/P1Y", schedule="15 5 1 1 *"),
    }
    assert [cron_of(s) for s in specs.values()] == [
        "30 6 * * *", "0 6 * * 1", "0 9 1 * *", "15 5 1 1 *"]
    assert [cadence_of(cron_of(s)) for s in specs.values()] == [
        "daily", "weekly", "monthly", "yearly"]
    names = {d.name: d.cron for d in deployment_specs(specs)}
    assert names["dijadwal-yearly"] == "15 5 1 1 *" and names["harian-daily"] == "30 6 * * *"


def test_a_schedule_that_is_not_a_cron_expression_is_refused(tmp_path) -> None:
    text = (PROJECT_ROOT / "data" / "feeds.yml").read_text(encoding="utf-8")
    bad = tmp_path / "feeds.yml"
    bad.write_text(text.replace('schedule: "0 7 1 * *"', 'schedule: "every month"'),
                   encoding="utf-8")
    for name in ("feeds_synthetic.yml",):
        (tmp_path / name).write_text((PROJECT_ROOT / "data" / name).read_text(encoding="utf-8"),
                                     encoding="utf-8")
    with pytest.raises(RegistryError, match="schedule"):
        load_registry(bad)
