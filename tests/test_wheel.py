"""The built wheel works outside the checkout (reliability: builds a wheel, installs it
into a new venv, then runs, serves and inits from an empty folder; ~5 min on 2 busy
cores).

The wheel is built from a copy of the working tree's files as git would see them
(tracked and untracked, without ignored ones), so the build leaves nothing in the checkout
(no build/, no egg-info) and ships no local state. Timings go to
tests/output/wheel_timings.json and are printed (`pytest -s`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from flows.settings import project_files
from tests.helpers import PROJECT_ROOT, free_port, stop_group, wait_healthy

DATASETS = {"aduan-masyarakat-bulanan", "fasilitas-kesehatan",
            "fasilitas-kesehatan-kabupaten-kota", "indikator-kabupaten-kota",
            "penduduk-kabupaten-kota"}
TIMINGS = PROJECT_ROOT / "tests" / "output" / "wheel_timings.json"


def _source_copy(dest: Path) -> Path:
    """The working tree's files (tracked or untracked, not ignored) copied to `dest`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = PROJECT_ROOT / name
        if src.is_file() and not src.is_symlink():      # a deleted, not yet committed file
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _clean_env(home: Path, venv: Path, **extra: str) -> dict[str, str]:
    """The environment of a user of the installed wheel: nothing of the checkout's
    (no SATUDATA_*, PYTHONPATH, VIRTUAL_ENV, DBT_*, PREFECT_API_URL), SATUDATA_HOME set."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SATUDATA_", "DBT_"))
           and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PREFECT_API_URL")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', os.defpath)}"
    env["SATUDATA_HOME"] = str(home)
    env.update(extra)
    return env


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 900
         ) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (f"{' '.join(argv)} exited {proc.returncode}\n"
                                  f"{(proc.stdout + proc.stderr)[-4000:]}")
    return proc


def _published(home: Path) -> dict[str, dict]:
    catalog = json.loads((home / "site" / "catalog.json").read_text(encoding="utf-8"))
    return {d["slug"]: d for d in catalog["datasets"]}


@pytest.fixture
def scratch(tmp_path):
    """tmp_path, without its venv (~1 GB) and source copy once the test is done."""
    yield tmp_path
    for name in ("venv", "src"):
        shutil.rmtree(tmp_path / name, ignore_errors=True)


@pytest.mark.reliability
def test_the_wheel_runs_serves_and_inits_outside_the_checkout(scratch):
    tmp_path = scratch
    timings: dict[str, float] = {}

    def timed(step: str, started: float) -> None:
        timings[step] = round(time.monotonic() - started, 1)

    # Build.
    started = time.monotonic()
    src = _source_copy(tmp_path / "src")
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)],
         tmp_path, dict(os.environ))
    (wheel,) = dist.glob("satudata_banten-*.whl")
    timed("wheel build", started)
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    bundled = {n.removeprefix("flows/_project/") for n in names
               if n.startswith("flows/_project/")}
    assert bundled == {p.as_posix() for p in project_files(PROJECT_ROOT)}
    package_files = {p.relative_to(src).as_posix() for top in ("flows", "app")
                     for p in (src / top).rglob("*") if p.is_file()}
    assert package_files - names == set(), "files of the packages missing from the wheel"

    # Install into a new venv (the registry's packages, pinned, through pip's cache), as a
    # user would (pip byte-compiles; --no-compile was no faster overall: the runs then
    # compile what they import).
    started = time.monotonic()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py, satudata = str(venv / "bin" / "python"), str(venv / "bin" / "satudata")
    install = subprocess.run(
        [py, "-m", "pip", "install", "-q", "-c", str(PROJECT_ROOT / "constraints.txt"),
         str(wheel)], capture_output=True, text=True, timeout=1800)
    assert install.returncode == 0, install.stderr[-4000:]
    timed("venv install", started)
    # `satudata run` in an empty folder, only SATUDATA_HOME set.
    empty = tmp_path / "empty"
    empty.mkdir()
    home = tmp_path / "home"
    env = _clean_env(home, venv)
    site_packages = Path(_run([py, "-c", "import flows; print(flows.__file__)"], empty,
                              env).stdout.strip()).parent.parent
    bundle = site_packages / "flows" / "_project"
    before = sorted(p.relative_to(bundle) for p in bundle.rglob("*"))
    where = _run([py, "-c", "import app, flows.settings as s; print(s.project_dir()); "
                  "print(app.__file__)"], empty, env).stdout.split()
    assert where == [str(bundle), str(site_packages / "app" / "__init__.py")]
    started = time.monotonic()
    _run([satudata, "run"], empty, env)
    timed("satudata run", started)
    published = _published(home)
    assert set(published) == DATASETS
    assert sorted(p.relative_to(bundle) for p in bundle.rglob("*")) == before, \
        "the run wrote into the installed package"

    # `satudata serve`: health, and a published CSV under /app/static/.
    csv = next(f["path"] for f in published["penduduk-kabupaten-kota"]["versions"][0]["files"]
               if f["path"].endswith(".csv"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    proc = subprocess.Popen(
        [satudata, "serve", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.fileWatcherType", "none"],
        cwd=empty, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        wait_healthy(url, proc, timeout=90)
        timed("serve healthy", started)
        with urllib.request.urlopen(f"{url}/app/static/{csv}", timeout=10) as response:
            assert response.status == 200
            assert response.read().decode("utf-8").startswith("kode_wilayah")
    finally:
        stop_group(proc)

    # `satudata init DIR`, then a run on it (its own files: a title changed there shows).
    project = tmp_path / "starter"
    started = time.monotonic()
    _run([satudata, "init", str(project)], empty, env)
    assert (project / "README.txt").is_file()
    assert {p.relative_to(project) for p in project.rglob("*") if p.is_file()} \
        == {Path("README.txt"), *(Path(n) for n in bundled)}
    again = subprocess.run([satudata, "init", str(project)], cwd=empty, env=env,
                           capture_output=True, text=True)
    assert again.returncode == 2 and "not empty" in again.stderr
    model = project / "dbt" / "models" / "marts" / "penduduk_kabupaten_kota.yml"
    model.write_text(model.read_text(encoding="utf-8").replace(
        "en: Population by Regency/City", "en: Population by Regency/City (starter)"),
        encoding="utf-8")
    home2 = tmp_path / "home2"
    _run([satudata, "run"], project, _clean_env(home2, venv, SATUDATA_PROJECT="."))
    timed("init + satudata run", started)
    published = _published(home2)
    assert set(published) == DATASETS
    assert published["penduduk-kabupaten-kota"]["title"]["en"] \
        == "Population by Regency/City (starter)"

    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    TIMINGS.write_text(json.dumps(timings, indent=1), encoding="utf-8")
    print(f"\nwheel test timings (s): {timings}")
