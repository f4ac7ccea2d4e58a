"""Scratch workload for one size: synthetic `aduan` submissions of all 8 regencies (in
their real shapes, written as CSV), the synthetic health facilities, and a feed registry
that also carries the real `penduduk` and `indikator` feeds (their files stay in the
repository's data/landing; `aduan_bulanan` needs `penduduk`)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from flows.settings import PROJECT_ROOT

DATA = PROJECT_ROOT / "data"
INCREMENT_REGENCY = "36.73"   # Kota Serang sends one new month (January 2025, ...)
INCREMENT_YEAR = 2025


@dataclass(frozen=True)
class Workload:
    size: int
    root: Path          # scratch folder of this size
    landing: Path
    feeds: Path         # the bench's registry
    files: list[Path]   # the aduan CSV files (96: 8 regencies x 12 months)
    bytes: int
    per_regency: dict[str, int]

    def regency_files(self) -> dict[str, list[Path]]:
        out: dict[str, list[Path]] = {}
        for p in self.files:
            out.setdefault(p.parent.parent.name, []).append(p)
        return out

    def home(self, name: str) -> Path:
        """A fresh SATUDATA_HOME under the scratch folder."""
        path = self.root / "homes" / name
        shutil.rmtree(path, ignore_errors=True)
        return path


def write_registry(root: Path, size: int, *, only_aduan: bool = False) -> Path:
    """`<root>/feeds.yml`: the real datasets and feeds of data/feeds.yml (their landing
    files copied under `<root>`: a feed's path must stay inside its registry's folder)
    including `<root>/feeds_synthetic.yml`, the generator's fragment for `size` rows as
    CSV."""
    from tools.generate import registry_fragment

    fragment = yaml.safe_load(registry_fragment(size, "csv"))
    if only_aduan:
        fragment["feeds"] = [f for f in fragment["feeds"] if f["dataset"] == "aduan"]
    (root / "feeds_synthetic.yml").write_text(
        yaml.safe_dump(fragment, sort_keys=False, allow_unicode=True), encoding="utf-8")
    doc = yaml.safe_load((DATA / "feeds.yml").read_text(encoding="utf-8"))
    doc = {k: v for k, v in doc.items() if not k.startswith("x-")}   # anchors: resolved
    doc["include"] = ["feeds_synthetic.yml"]
    if only_aduan:
        doc["feeds"] = []
    for feed in doc["feeds"]:
        if feed.get("path"):   # a few small files (population, indicators)
            folder = Path(feed["path"]).parent
            shutil.copytree(DATA / folder, root / folder, dirs_exist_ok=True)
    target = root / "feeds.yml"
    target.write_text("# Benchmark registry written by bench/data.py\n"
                      + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True),
                      encoding="utf-8")
    from flows.registry import load_registry

    load_registry(target)   # fail here, not inside the pipeline
    return target


def prepare(scratch: Path, size: int, *, months: range | None = None,
            only_aduan: bool = False) -> Workload:
    """Write the workload for `size` rows under `<scratch>/<size>/` (rewritten each time).
    `months` and `only_aduan` make the small smoke workload of tests/test_bench.py: the
    first months only, and no feed but aduan (every dataset is still declared)."""
    from tools.generate import write_aduan, write_fasilitas_kesehatan

    root = scratch / str(size)
    shutil.rmtree(root, ignore_errors=True)
    landing = root / "landing"
    res = write_aduan(landing, size=size, formats="csv", months=months)
    if set(res["formats"].values()) != {"csv"}:
        raise RuntimeError(f"expected CSV files only, got {res['formats']}")
    if not only_aduan:
        write_fasilitas_kesehatan(landing)
    feeds = write_registry(root, size, only_aduan=only_aduan)
    files = sorted(res["files"])
    return Workload(size, root, landing, feeds, files, sum(p.stat().st_size for p in files),
                    res["per_regency"])


def add_month(work: Workload, month: int) -> Path:
    """One regency sends one new month (INCREMENT_YEAR-<month>) at the same per-month
    scale as the workload. Returns the new file."""
    from tools.generate import write_aduan

    res = write_aduan(work.landing, size=work.size, formats="csv",
                      regencies=[INCREMENT_REGENCY], year=INCREMENT_YEAR,
                      months=range(month, month + 1))
    (path,) = res["files"]
    return path


def remove_added_months(work: Workload) -> None:
    folder = work.landing / INCREMENT_REGENCY / "aduan"
    for p in folder.glob(f"aduan_{INCREMENT_YEAR}_*.csv"):
        p.unlink()


def describe(work: Workload) -> Path:
    """`<root>/workload.json`: what the subprocesses need (the feed registry, and per
    regency its aduan files and CSV delimiter, as its feed declares it)."""
    import json

    from flows.registry import load_registry

    registry = load_registry(work.feeds)
    delimiter = {f.regency: str(f.options.get("delimiter", ","))
                 for f in registry.feeds if f.dataset == "aduan"}
    regencies = {code: {"files": [str(p) for p in files], "delimiter": delimiter[code]}
                 for code, files in sorted(work.regency_files().items())}
    target = work.root / "workload.json"
    target.write_text(json.dumps({"size": work.size, "feeds": str(work.feeds),
                                  "regencies": regencies, "bytes": work.bytes}, indent=1),
                      encoding="utf-8")
    return target
