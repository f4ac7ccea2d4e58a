"""`satudata init DIR`: write a starter project into DIR.

The project files (`PROJECT_FILES` in flows/settings.py: the dbt project, the suites, the
sample feed registry with its landing files and reference data) copied from
`project_dir()` (the installed copy, or the checkout), and a README.txt saying what to
edit and how to run. An existing non-empty DIR is never touched; the files are written
into a folder beside DIR, renamed into place when complete.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from flows.settings import project_dir, project_files

README = """\
Satu Data Banten: a starter project, written by `satudata init`.

What is here
  data/feeds.yml            the feed registry: one entry per regency x dataset (its
                            format: the comments at its top; data/feeds.schema.json)
  data/feeds_synthetic.yml  feeds of the synthetic sample datasets, included by feeds.yml
  data/landing/             the files the regencies sent (paths in feeds.yml are
                            relative to data/)
  data/reference/           reference data: regions, boundaries, population
  expectations/             the quality rules, one suite per dataset (expectations/README.md)
  dbt/                      the dbt project that builds the published tables (models/)

What to edit
  A regency's feed: an entry in data/feeds.yml and its files under data/landing/. Check
  the registry with `satudata feeds validate`; try a regency's file with
  `satudata feeds try FILE --dataset penduduk --regency 36.04`.
  Quality rules: expectations/<dataset>.yml. Published tables: dbt/models/.

How to run, from this folder
  export SATUDATA_PROJECT=.   # the project files are here
  satudata run                # ingest, check, build and publish into ./var
  satudata serve              # the catalogue on http://localhost:8501

State (warehouse, snapshots, published site) goes to $SATUDATA_HOME, default ./var.
"""


def cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.dir).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        print(f"satudata init: {args.dir} exists and is not empty; nothing written "
              "(choose a new or empty folder)", file=sys.stderr)
        return 2
    source = project_dir()
    files = project_files(source)
    if Path("data/feeds.yml") not in files:
        print(f"satudata init: no project files in {source} (is SATUDATA_PROJECT right?)",
              file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for rel in files:
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / rel, staging / rel)
        (staging / "README.txt").write_text(README, encoding="utf-8")
        staging.chmod(0o777 & ~_umask())
        os.replace(staging, target)          # onto a missing or empty folder
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    print(f"Wrote a starter project ({len(files)} files) into {target}. Run it with:\n"
          f"  cd {shlex.quote(str(target))}\n"
          "  export SATUDATA_PROJECT=.\n"
          "  satudata run\n"
          "  satudata serve\n"
          "What to edit: README.txt there.")
    return 0


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
