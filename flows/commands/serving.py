"""`satudata serve`: the catalogue and the published site (app/server.py) under uvicorn."""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec
from pathlib import Path

from flows.settings import Settings

# The ASGI app (the catalogue and the site), beside the installed `app` package: found,
# not imported (the CLI never imports the app's modules).
SERVER = Path(find_spec("app").origin).with_name("server.py")


def streamlit_argv(extra: list[str]) -> list[str]:
    """`streamlit run app/server.py` with our defaults for the options not in `extra`.
    app/server.py holds the catalogue's ASGI app (`streamlit.App`), which serves the site
    itself: Streamlit's own static serving stays off."""
    defaults = {
        "--server.port": "8501",
        "--server.headless": "true",
        "--server.enableStaticServing": "false",
        "--browser.gatherUsageStats": "false",
    }
    given = {a.split("=", 1)[0] for a in extra if a.startswith("--")}
    argv = ["streamlit", "run", str(SERVER)]
    for k, v in defaults.items():
        if k not in given:
            argv += [k, v]
    return argv + extra


def cmd_serve(extra: list[str]) -> int:
    """The catalogue and the published site (at /app/static/), one ASGI app under uvicorn
    (app/server.py); `extra` are Streamlit server options (`--server.port 8502`)."""
    settings = Settings.from_env()
    settings.site_dir.mkdir(parents=True, exist_ok=True)
    os.environ["SATUDATA_SITE"] = str(settings.site_dir)
    # The officials' view reads the internal tree on the server, after login.
    os.environ["SATUDATA_INTERNAL"] = str(settings.internal_dir)
    if (settings.site_dir / "meta").exists():
        # Older versions published the officials' files there; the next run removes it.
        print(f"warning: {settings.site_dir / 'meta'} holds officials' status files "
              "published by an older version and is served to anyone: run `satudata run` "
              "(which removes it) or delete it", file=sys.stderr, flush=True)
    from streamlit.web import cli as stcli

    sys.argv = streamlit_argv(extra)
    print(f"Satu Data Banten catalogue: http://localhost:"
          f"{_port(sys.argv)} (site: {settings.site_dir})", flush=True)
    return stcli.main()


def _port(argv: list[str]) -> str:
    for i, a in enumerate(argv):
        if a == "--server.port":
            return argv[i + 1]
        if a.startswith("--server.port="):
            return a.split("=", 1)[1]
    return "8501"

