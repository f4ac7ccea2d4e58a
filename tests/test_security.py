"""Security: the catalogue's search box and filters are safe from SQL injection, the
officials' view needs a login, and no secret is in the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app import site_reader
from tests.helpers import PROJECT_ROOT
from tests.site_fixture import write_site

APP = str(PROJECT_ROOT / "app" / "catalogue.py")
PAYLOADS = [
    "' OR '1'='1",
    "'; DROP TABLE penduduk; --",
    '" OR 1=1 --',
    "1; SELECT * FROM read_csv('/etc/passwd')",
    "') UNION SELECT * FROM read_text('/etc/passwd') --",
    "%' AND 1=0 UNION SELECT 1,2,3 --",
    "\\'; COPY (SELECT 1) TO '/tmp/pwned.csv'; --",
]


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    site_dir = tmp_path / "site"
    write_site(site_dir)
    monkeypatch.setenv("SATUDATA_SITE", str(site_dir))
    monkeypatch.delenv("SATUDATA_INTERNAL", raising=False)   # the tree beside the site
    st.cache_data.clear()
    yield site_dir
    st.cache_data.clear()


def _listed_titles(at) -> str:
    return " ".join(str(getattr(e, "label", None) or e.value)
                    for kind in ("subheader", "button", "markdown") for e in at.get(kind))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_search_box_treats_sql_as_text(site, payload):
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert "Jumlah Penduduk per Kabupaten/Kota" in _listed_titles(at)
    at.text_input(key="q").set_value(payload).run()
    assert not at.exception
    assert "Jumlah Penduduk per Kabupaten/Kota" not in _listed_titles(at)  # nothing matched
    assert not Path("/tmp/pwned.csv").exists()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_dataset_param_with_sql_is_just_an_unknown_dataset(site, payload):
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["dataset"] = payload
    at.run()
    assert not at.exception


@pytest.mark.parametrize("payload", PAYLOADS)
def test_filters_bind_values(site, payload):
    parquet = next(site.glob("datasets/*/latest/*.parquet"))
    values = site_reader.distinct_values(parquet, "kode_wilayah", where_column="kode_wilayah",
                                         where_value=payload)
    assert values == []
    assert site_reader.count_rows(parquet) > 0        # the file is untouched


def test_officials_view_refuses_access_without_login(site):
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["page"] = "officials"
    at.secrets["officials"] = {"users": {"walidata": "pbkdf2_sha256$1$AAAA$AAAA"}}
    at.run()
    assert not at.exception
    text = " ".join(str(e.value) for kind in ("markdown", "dataframe", "table")
                    for e in at.get(kind))
    assert "quarantine" not in text.lower() and "karantina" not in text.lower()
    assert not at.dataframe


SECRET_PATTERNS = [
    re.compile(r"pbkdf2_sha256\$\d+\$[A-Za-z0-9+/=]{8,}\$[A-Za-z0-9+/=]{16,}"),
    re.compile(r"-----BEGIN (RSA |EC |OPENSSH )?PRIVATE KEY-----"),
    re.compile(r"(?i)(api[_-]?key|secret|token|password)\s*[:=]\s*['\"][^'\"\s]{12,}['\"]"),
    re.compile(r"AKIA[0-9A-Z]{16}"),
]


def test_no_secret_in_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    hits = []
    for name in files:
        path = PROJECT_ROOT / name
        if path.suffix in (".xlsx", ".parquet", ".png") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        for pattern in SECRET_PATTERNS:
            for m in pattern.finditer(text):
                if "test" in name:     # test fixtures hash throwaway passwords at run time
                    continue
                hits.append(f"{name}: {m.group(0)[:40]}")
    assert hits == []
    assert not any(n.endswith("secrets.toml") for n in files)
