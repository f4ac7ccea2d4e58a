"""The catalogue's web server: one ASGI app (`streamlit.App`) that serves the Streamlit
catalogue (app/catalogue.py), the published site at `/app/static/...`
(flows/static_files.py) and security headers on every response.

`satudata serve` runs `streamlit run app/server.py <options>`: Streamlit finds the `App`
instance below (`app`) and runs it under uvicorn with the usual server options
(`--server.port`, `--server.address`, ...). This file sits beside catalogue.py so that
`app/.streamlit/config.toml` stays the script-level config. The site folder comes from
`SATUDATA_SITE` (set by `satudata serve`) or the settings.

Headers (`SecurityHeaders`): `X-Content-Type-Options: nosniff`, `Referrer-Policy:
strict-origin-when-cross-origin` and a `Content-Security-Policy` on every HTTP response.
Nothing is loaded from another origin, so every policy allows 'self' only:
- `APP_CSP`, the Streamlit app and its own routes: Streamlit's scripts, the one inline
  script of its index.html by hash, inline styles (emotion), blob: workers (pydeck maps),
  data:/blob: images and fonts; no eval (Vega runs with its CSP-safe interpreter).
- `DOCS_CSP`, HTML pages of the site (GX Data Docs, dbt docs): their inline scripts and
  styles, no eval (dbt docs' AngularJS falls back to its CSP mode), no workers.
- `FILE_CSP`, every other file of the site (CSV, JSON, Parquet, ...): nothing at all.
All include `frame-ancestors 'self'`, `object-src 'none'` and `base-uri`.

The officials' log-in and log-out pages (app/login_routes.py) are two more routes;
`OfficialsOnly` answers 404 on Streamlit's `/_stcore/metrics` without an officials'
session.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

import streamlit as st
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.login_routes import OfficialsOnly, login_routes
from flows import static_files

CATALOGUE = Path(__file__).resolve().with_name("catalogue.py")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def inline_script_hashes(index_html: Path | None = None) -> list[str]:
    """CSP source expressions ('sha256-...') for the inline scripts of Streamlit's
    index.html (read from the installed Streamlit, so an upgrade keeps them right)."""
    path = index_html or Path(st.__file__).with_name("static") / "index.html"
    text = path.read_text(encoding="utf-8")
    return [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
            for s in _INLINE_SCRIPT.findall(text)]


def _policy(**directives: str | None) -> str:
    return "; ".join(f"{name.replace('_', '-')} {value}"
                     for name, value in directives.items() if value is not None)


# What every HTML page of this origin may do; the app and the docs differ only in scripts,
# images, media and workers.
_PAGE = dict(default_src="'self'", script_src="'self'", style_src="'self' 'unsafe-inline'",
             img_src="'self' data:", font_src="'self' data:", connect_src="'self'",
             media_src=None, worker_src="'none'", child_src=None, frame_src="'self'",
             object_src="'none'", base_uri="'self'", form_action="'self'",
             frame_ancestors="'self'")
APP_CSP = _policy(**{**_PAGE,
                     "script_src": " ".join(["'self'", *inline_script_hashes()]),
                     "img_src": "'self' data: blob:", "media_src": "'self' data: blob:",
                     "worker_src": "'self' blob:", "child_src": "'self' blob:"})
DOCS_CSP = _policy(**{**_PAGE, "script_src": "'self' 'unsafe-inline'"})
FILE_CSP = _policy(
    default_src="'none'",
    object_src="'none'",
    base_uri="'none'",
    form_action="'none'",
    frame_ancestors="'self'",
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def policy_for(path: str, prefix: str) -> str:
    """The Content-Security-Policy of a response to `path` (`prefix`: the site's URL)."""
    if not path.startswith(prefix):
        return APP_CSP
    return DOCS_CSP if path.lower().endswith((".html", ".htm", "/")) else FILE_CSP


class SecurityHeaders:
    """Adds `HEADERS` and the path's Content-Security-Policy to every HTTP response
    (replacing any the inner app set). The outermost middleware: refusals get them too."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = policy_for(scope.get("path", ""), self.prefix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                headers["Content-Security-Policy"] = policy
            await send(message)

        await self.app(scope, receive, send_with_headers)


class StaticPathGuard:
    """404 for an unsafe path under the site's prefix (`..`, hidden, absolute), before
    Streamlit's path-security middleware answers 400: what is refused there looks like
    what does not exist. Other paths go on unchanged."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(self.prefix) and static_files.unsafe_static_path(
                path[len(self.prefix):]):
            await Response("File not found", status_code=404,
                           media_type="text/plain")(scope, receive, send)
            return
        await self.app(scope, receive, send)


def site_dir() -> Path:
    """The published site: `SATUDATA_SITE`, else the settings' site folder."""
    if os.environ.get("SATUDATA_SITE"):
        return Path(os.environ["SATUDATA_SITE"])
    from flows.settings import Settings

    return Settings.from_env().site_dir


def _base_url_path() -> str:
    return str(st.get_option("server.baseUrlPath") or "")


def metrics_path(base_url_path: str | None) -> str:
    """Streamlit's metrics endpoint (sessions, cache sizes): for officials only."""
    base = (base_url_path or "").strip("/")
    return f"/{base}/_stcore/metrics" if base else "/_stcore/metrics"


PREFIX = static_files.static_prefix(_base_url_path())

# Streamlit's `streamlit run` discovers this assignment (a module-level `app = st.App(...)`)
# and serves it with uvicorn.
app = st.App(
    CATALOGUE,
    routes=[static_files.static_route(site_dir(), _base_url_path()),
            *login_routes(_base_url_path())],
    middleware=[Middleware(SecurityHeaders, prefix=PREFIX),
                Middleware(StaticPathGuard, prefix=PREFIX),
                Middleware(OfficialsOnly, paths=(metrics_path(_base_url_path()),))],
)
