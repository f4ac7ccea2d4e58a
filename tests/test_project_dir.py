"""Where the project files are (`flows.settings.project_dir()`), which files they are
(`project_files`), and `satudata init DIR` (fast; the built wheel: tests/test_wheel.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import settings as settings_module
from flows.cli import main
from flows.settings import BUNDLED_PROJECT, Settings, project_dir, project_files
from tests.helpers import PROJECT_ROOT


@pytest.fixture(autouse=True)
def _no_project_env(monkeypatch):
    for name in ("SATUDATA_PROJECT", "SATUDATA_FEEDS"):
        monkeypatch.delenv(name, raising=False)


def test_the_checkout_is_the_project_when_flows_sits_in_it():
    assert project_dir() == PROJECT_ROOT
    settings = Settings.from_env()
    assert settings.feeds_file == PROJECT_ROOT / "data" / "feeds.yml"
    assert settings.reference_dir == PROJECT_ROOT / "data" / "reference"


def test_satudata_project_wins_and_is_made_absolute(monkeypatch, tmp_path):
    monkeypatch.setenv("SATUDATA_PROJECT", str(tmp_path))
    assert project_dir() == tmp_path.resolve()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SATUDATA_PROJECT", ".")
    assert project_dir() == tmp_path.resolve()
    settings = Settings.from_env()
    assert settings.feeds_file == tmp_path.resolve() / "data" / "feeds.yml"
    assert settings.reference_dir == tmp_path.resolve() / "data" / "reference"


def test_outside_a_checkout_the_installed_copy(monkeypatch, tmp_path):
    # site-packages: no pyproject.toml beside flows/ (dbt/ there would be dbt-core's).
    (tmp_path / "dbt").mkdir()
    (tmp_path / "dbt" / "dbt_project.yml").write_text("name: x\n")
    (tmp_path / "expectations").mkdir()
    monkeypatch.setattr(settings_module, "PROJECT_ROOT", tmp_path)
    assert project_dir() == BUNDLED_PROJECT == Path(settings_module.__file__).parent / "_project"


def test_project_files_leave_out_dbt_output_and_dot_files(tmp_path):
    for name in ("dbt/dbt_project.yml", "dbt/profiles.yml", "dbt/models/a.sql",
                 "dbt/target/manifest.json", "dbt/logs/dbt.log", "dbt/.user.yml",
                 "dbt/models/.hidden.sql", "dbt/models/__pycache__/x.pyc",
                 "expectations/penduduk.yml", "data/feeds.yml", "data/make_samples.py",
                 "data/landing/36.01/penduduk/a.csv", "data/reference/r.csv", "var/x"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert [p.as_posix() for p in project_files(tmp_path)] == [
        "data/feeds.yml", "data/landing/36.01/penduduk/a.csv", "data/reference/r.csv",
        "dbt/dbt_project.yml", "dbt/models/a.sql", "dbt/profiles.yml",
        "expectations/penduduk.yml"]


def test_the_checkout_holds_what_a_project_needs():
    files = {p.as_posix() for p in project_files(PROJECT_ROOT)}
    assert {"dbt/dbt_project.yml", "dbt/profiles.yml", "data/feeds.yml",
            "data/feeds.schema.json", "data/feeds_synthetic.yml",
            "expectations/penduduk.yml", "data/reference/wilayah_kabupaten_kota.csv"} <= files
    assert any(f.startswith("dbt/tests/") for f in files)
    assert any(f.startswith("data/landing/") for f in files)


def test_init_writes_a_starter_project_and_never_overwrites(tmp_path, capsys):
    target = tmp_path / "proj"
    assert main(["init", str(target)]) == 0
    out = capsys.readouterr().out
    assert "export SATUDATA_PROJECT=." in out and "satudata run" in out
    written = {p.relative_to(target) for p in target.rglob("*") if p.is_file()}
    assert written == {Path("README.txt"), *project_files(PROJECT_ROOT)}
    assert (target / "data" / "feeds.yml").read_bytes() \
        == (PROJECT_ROOT / "data" / "feeds.yml").read_bytes()
    assert "SATUDATA_PROJECT=." in (target / "README.txt").read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["proj"]        # no staging left

    (target / "data" / "feeds.yml").write_text("mine")
    assert main(["init", str(target)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (target / "data" / "feeds.yml").read_text() == "mine"

    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert main(["init", str(a_file)]) == 2


def test_init_into_an_existing_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert main(["init", str(tmp_path / "empty")]) == 0
    assert (tmp_path / "empty" / "dbt" / "dbt_project.yml").is_file()


def test_the_worker_passes_an_absolute_project_dir(monkeypatch, tmp_path):
    from flows.deploy import worker_environment

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SATUDATA_PROJECT", ".")
    assert worker_environment()["SATUDATA_PROJECT"] == str(tmp_path.resolve())
    monkeypatch.delenv("SATUDATA_PROJECT")
    assert "SATUDATA_PROJECT" not in worker_environment()


def test_serve_runs_the_app_package_server():
    from flows.commands.serving import SERVER

    assert SERVER == PROJECT_ROOT / "app" / "server.py"
