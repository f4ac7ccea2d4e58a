"""Helpers shared by the tests."""

from __future__ import annotations

import shutil
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def copy_sample_data(dest: Path) -> Path:
    """A private copy of data/ (feed registry, landing files, reference) for a test that
    adds or changes submissions; returns the copied registry's path."""
    shutil.copytree(PROJECT_ROOT / "data", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest / "feeds.yml"
