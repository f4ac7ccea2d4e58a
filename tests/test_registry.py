"""The feed registry says exactly which entry and field is wrong."""

from __future__ import annotations

import pytest
import yaml

from flows.registry import RegistryError, load_registry
from tests.helpers import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "data" / "feeds.yml"


def test_bundled_registry_loads_with_every_regency():
    registry = load_registry(SAMPLE)
    assert {f.regency for f in registry.feeds} == {
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
    import subprocess
    import sys
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
    assert "valid: 4 datasets, 32 feeds" in good.stdout
