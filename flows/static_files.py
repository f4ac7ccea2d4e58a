"""The published site (`site/`) served at `/app/static/...`: whole files while a release is
published, and nothing that must stay private.

Whole files: Starlette's `FileResponse` takes the Content-Length from `stat(path)` and then
opens the path again to send the body. The publisher replaces `catalog.json`, `data.json`
and the `latest` links with one atomic rename each; a rename that falls between the two
calls sends the old length with the new file's bytes, and the client gets a broken download
(seen in the load test: `IncompleteRead(0 bytes read, 28519 more expected)` on catalog.json
while a release was published). `static_route` opens the file first and takes its length,
dates and body from that one open file (`OpenedFileResponse`): a request gets either the old
file or the new one, whole. Range requests keep working (Starlette's own handling, on the
opened file).

Refusals, each a plain 404 (the answer for a missing file, so a refusal tells nothing about
what exists): any path with a segment starting with "." (the publisher's temporary files,
`.git`, a stray `.env`, and `..` even when it stays inside), asked for or reached through a
symlink; any path that resolves outside the site folder, symlinks included (the internal
tree `$SATUDATA_HOME/internal/` lies beside `site/`); absolute paths and NUL bytes.
`unsafe_static_path` is checked by the server's outermost middleware (app/server.py), before
Streamlit's own path-security middleware would answer 400.

Plain functions and one Starlette route: app/server.py mounts them on `streamlit.App`;
nothing of Streamlit is patched. The URL prefix (`static_prefix`) is the site layout's
(flows/common/site_layout.py), re-exported here for the server.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from flows.common.site_layout import static_prefix

PATHSEND = "http.response.pathsend"
MAX_FILE_SIZE = 200 * 1024 * 1024      # Streamlit's limit for its app-static files


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


def unsafe_static_path(relative_path: str) -> bool:
    """Whether a path asked for under the static prefix is refused before any lookup:
    hidden segments (`..` included), absolute paths (`//etc/passwd`, `\\\\host\\share`,
    `C:`) and NUL bytes."""
    return (relative_path.startswith(("/", "\\")) or "\x00" in relative_path
            or (len(relative_path) > 1 and relative_path[1] == ":")
            or is_hidden(relative_path))


def safe_abspath(root: str, relative_path: str) -> str | None:
    """The real path of `relative_path` under the real folder `root` (symlinks resolved),
    or None when it lies outside `root` or is hidden once resolved."""
    path = os.path.realpath(os.path.join(root, relative_path))
    try:
        if os.path.commonpath([root, path]) != root:
            return None
    except ValueError:
        return None
    return None if is_hidden(os.path.relpath(path, root)) else path


def open_static(root: str, relative_path: str, max_size: int = MAX_FILE_SIZE
                ) -> tuple[int, str]:
    """Open `relative_path` under the real folder `root` for reading; (fd, resolved path).
    HTTP 404 for an unsafe or hidden path (asked for or resolved), a path that resolves
    outside `root` (symlinks included), a missing file, a folder or a file over
    `max_size`."""
    if unsafe_static_path(relative_path):
        raise _not_found()
    path = safe_abspath(root, relative_path)
    if path is None:
        raise _not_found()
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError):
        raise _not_found() from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > max_size:
        os.close(fd)
        detail = "File is too large" if stat.S_ISREG(info.st_mode) else "File not found"
        raise HTTPException(status_code=404, detail=detail)
    return fd, path


def guess_content_type(path: str) -> str:
    """The Content-Type of a file, by its suffix (as Streamlit's static route does)."""
    mime_type, encoding = mimetypes.guess_type(path)
    if encoding == "gzip":
        return "application/gzip"
    if encoding is not None or mime_type is None:
        return "application/octet-stream"
    return mime_type


def static_route(site_dir: str | os.PathLike[str], base_url_path: str | None = None) -> Route:
    """The GET (and HEAD) route serving `site_dir` at `static_prefix()`."""
    site = os.fspath(site_dir)

    async def endpoint(request: Request) -> Response:
        root = os.path.realpath(site)
        fd, path = await anyio.to_thread.run_sync(
            open_static, root, request.path_params.get("path", ""), MAX_FILE_SIZE)
        try:
            response = OpenedFileResponse(fd, path, media_type=guess_content_type(path))
        except BaseException:
            os.close(fd)
            raise
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    return Route(static_prefix(base_url_path) + "{path:path}", endpoint, methods=["GET"],
                 name="site")

