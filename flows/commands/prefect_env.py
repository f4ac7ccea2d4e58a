"""The environment every command that starts Prefect sets first."""

from __future__ import annotations

import os


def quiet_prefect_defaults() -> None:
    # Keep the embedded Prefect server offline and quiet unless the user configured one;
    # DO_NOT_TRACK is the client side (Prefect's SDK telemetry, dbt's usage statistics).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")

