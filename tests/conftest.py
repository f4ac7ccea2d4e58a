"""Shared fixtures: one Prefect test harness per session, and one real pipeline run on
the bundled sample data that several tests read from."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from tests.helpers import PROJECT_ROOT

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

# Property tests (tests/test_readers_properties.py): "fast" by default, "reliability" with
# HYPOTHESIS_PROFILE=reliability. No example database: it would be written into the
# shared checkout; a failure prints its example, and `@reproduce_failure` replays it.
settings.register_profile("fast", max_examples=40, deadline=None, database=None,
                          print_blob=True)
settings.register_profile("reliability", max_examples=1000, deadline=None, database=None,
                          print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


@pytest.fixture(scope="session")
def prefect_harness():
    """A temporary Prefect API for the whole session (it takes ~20 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def satudata_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("SATUDATA_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def sample_run(prefect_harness, tmp_path_factory):
    """The real flow, run once on the bundled sample data in a fresh SATUDATA_HOME."""
    from flows.pipeline import pipeline
    from flows.settings import Settings

    home = tmp_path_factory.mktemp("sample-home")
    saved = os.environ.get("SATUDATA_HOME")
    os.environ["SATUDATA_HOME"] = str(home)
    try:
        first = pipeline()
        second = pipeline()
    finally:
        if saved is None:
            os.environ.pop("SATUDATA_HOME", None)
        else:
            os.environ["SATUDATA_HOME"] = saved
    settings = Settings(home=home, feeds_file=PROJECT_ROOT / "data" / "feeds.yml")
    return {"settings": settings, "first": first, "second": second}
