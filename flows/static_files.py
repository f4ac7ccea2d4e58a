"""Static downloads that stay whole while a release is published.

Streamlit serves `static/` (the published site) with Starlette's `FileResponse`, which
takes the Content-Length from `stat(path)` and then opens the path again to send the
body. The publisher replaces `catalog.json`, `data.json` and the `latest` links with
one atomic rename each; a rename that falls between the two calls sends the old length
with the new file's bytes, and the client gets a broken download (seen in the load
test: `IncompleteRead(0 bytes read, 28519 more expected)` on catalog.json while a
release was published).

`install()` replaces the GET handler of Streamlit's app-static route (same path, same
checks, same headers) by one that opens the file first and takes its length, dates and
body from that one open file: a request gets either the old file or the new one, whole.
Range requests keep working (Starlette's own handling, on the opened file).

The same handler refuses what must never be served, each with a plain 404 (the answer
for a missing file, so a refusal tells nothing about what exists): any path with a
segment starting with "." (the publisher's temporary files, `.git`, a stray `.env`),
asked for or reached through a symlink, and any path that resolves outside the site
folder, symlinks included (the internal tree `$SATUDATA_HOME/internal/` lies beside
`site/`). Streamlit's path-security middleware answers 400 to a path with `..` before
any route sees it; under the static route it answers 404 as well (`PathSecurity`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

PATHSEND = "http.response.pathsend"


class OpenedFileResponse(FileResponse):
    """A `FileResponse` for a file already opened (`fd`, owned and closed by it): the
    headers and the body describe the same file even if the path is replaced between."""

    def __init__(self, fd: int, path: str, **kwargs) -> None:
        self._fd = fd
        super().__init__(path, stat_result=os.fstat(fd), **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extensions = scope.get("extensions") or {}
        if PATHSEND in extensions:   # the server would open the path itself
            scope = dict(scope, extensions={k: v for k, v in extensions.items()
                                            if k != PATHSEND})
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        file = anyio.wrap_file(os.fdopen(os.dup(self._fd), "rb"))
        try:
            await file.seek(0)
            yield file
        finally:
            with anyio.CancelScope(shield=True):
                await file.aclose()


def _not_found() -> HTTPException:
    return HTTPException(status_code=404, detail="File not found")


def is_hidden(relative_path: str) -> bool:
    """Whether a path (relative to the site, "/" or "\\" separated) has a segment that
    starts with "." (hidden files and folders, "." and "..")."""
    return any(seg.startswith(".") for seg in relative_path.replace("\\", "/").split("/")
               if seg)


def open_static(root: str, relative_path: str, max_size: int) -> tuple[int, str]:
    """Open `relative_path` under `root` for reading; (fd, resolved path). HTTP 404 for a
    hidden path (asked for or resolved), a path that resolves outside `root` (symlinks
    included), a missing file, a folder or a file over `max_size`."""
    from streamlit.web.server.component_file_utils import build_safe_abspath

    if is_hidden(relative_path):
        raise _not_found()
    safe_path = build_safe_abspath(root, relative_path)
    # build_safe_abspath resolves symlinks: a link may lead outside `root` or to a
    # hidden file inside it; both are refused like a file that does not exist.
    if safe_path is None or is_hidden(os.path.relpath(safe_path, root)):
        raise _not_found()
    try:
        fd = os.open(safe_path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError):
        raise _not_found() from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > max_size:
        os.close(fd)
        detail = "File is too large" if stat.S_ISREG(info.st_mode) else "File not found"
        raise HTTPException(status_code=404, detail=detail)
    return fd, safe_path


def app_static_routes(main_script_path: str | None, base_url: str | None) -> list[BaseRoute]:
    """Streamlit's app-static routes with the GET handler serving opened files."""
    from streamlit import file_util
    from streamlit.web.server.component_file_utils import guess_content_type
    from streamlit.web.server.starlette import starlette_routes
    from streamlit.web.server.starlette.starlette_server_config import MAX_APP_STATIC_FILE_SIZE

    routes = starlette_routes.create_app_static_serving_routes(main_script_path, base_url)
    root = (os.path.realpath(file_util.get_app_static_dir(main_script_path))
            if main_script_path else None)

    async def endpoint(request: Request) -> Response:
        if not root:
            raise _not_found()
        fd, path = await anyio.to_thread.run_sync(
            open_static, root, request.path_params.get("path", ""), MAX_APP_STATIC_FILE_SIZE)
        try:
            response = OpenedFileResponse(fd, path, media_type=guess_content_type(path))
        except BaseException:
            os.close(fd)
            raise
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return [Route(r.path, endpoint, methods=["GET"])
            if isinstance(r, Route) and r.methods and "GET" in r.methods else r
            for r in routes]


def static_prefix() -> str:
    """The URL path under which the site is served: `/app/static/` (after
    `server.baseUrlPath` when one is set)."""
    from streamlit import config
    from streamlit.url_util import make_url_path
    from streamlit.web.server.starlette.starlette_routes import BASE_ROUTE_APP_STATIC

    return make_url_path(config.get_option("server.baseUrlPath") or "",
                         BASE_ROUTE_APP_STATIC).rstrip("/") + "/"


def path_security_middleware() -> type:
    """Streamlit's `PathSecurityMiddleware`, answering 404 instead of 400 to an unsafe
    path (`..`, absolute, UNC) under the static route: what is refused there looks like
    what does not exist. Other paths get Streamlit's own answer."""
    from streamlit.path_security import is_unsafe_path_pattern
    from streamlit.web.server.starlette.starlette_path_security_middleware import (
        PathSecurityMiddleware,
    )

    class PathSecurity(PathSecurityMiddleware):
        def __init__(self, app) -> None:
            super().__init__(app)
            self._static = static_prefix()

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "") if scope["type"] == "http" else ""
            if path.startswith(self._static):
                relative = path[len(self._static):]
                if relative.startswith(("/", "\\")) or is_unsafe_path_pattern(relative):
                    await Response("File not found", status_code=404)(scope, receive, send)
                    return
            await super().__call__(scope, receive, send)

    return PathSecurity


def install() -> None:
    """Make Streamlit's server (built after this call) use `app_static_routes` and
    `path_security_middleware`."""
    from streamlit.web.server.starlette import starlette_app

    starlette_app.create_app_static_serving_routes = app_static_routes
    starlette_app.PathSecurityMiddleware = path_security_middleware()
