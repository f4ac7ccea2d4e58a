"""Channels: how a regency's file reaches the province.

- `landing`: files dropped in a folder (the feed's `path` glob).
- `http`: a file downloaded from a URL (HTTP or HTTPS).
- `ckan`: a resource of a regency's CKAN portal, read through the Action API
  (`package_show`, then `datastore_search` page by page) and kept as one
  `datastore_search`-shaped JSON file.

Network fetches raise `FetchError` (retried with backoff by the Prefect task); only
hosts listed in the registry's `allowed_hosts` are ever contacted.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from flows.registry import Feed

USER_AGENT = "satudata-banten/0.1 (+walidata Provinsi Banten)"
MAX_BYTES = 2 * 1024**3
CHUNK = 1 << 20


class FetchError(RuntimeError):
    """A network feed could not be fetched (timeout, HTTP error, truncated body)."""


def _safe_name(name: str, default: str) -> str:
    """A file name from a URL, never a path: `../../etc/passwd` becomes `passwd`."""
    base = os.path.basename(urllib.parse.unquote(name or "").replace("\\", "/"))
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")
    return base or default


def _check_host(feed: Feed, url: str) -> None:
    host = (urllib.parse.urlparse(url).hostname or "").lower()
    if host not in feed.allowed_hosts:
        raise FetchError(f"feed {feed.id}: refusing to contact '{host}' ({url}): it is not in "
                         "the registry's allowed_hosts")


class _AllowedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to an allowed host (no detours to internal addresses)."""

    def __init__(self, feed: Feed):
        self.feed = feed

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        _check_host(self.feed, newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _open(feed: Feed, url: str):
    _check_host(feed, url)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    opener = urllib.request.build_opener(_AllowedRedirects(feed))
    try:
        return opener.open(request, timeout=feed.network_option("timeout_s"))
    except urllib.error.HTTPError as e:
        raise FetchError(f"feed {feed.id}: {url} answered HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise FetchError(f"feed {feed.id}: {url} could not be reached: {reason}") from None


def fetch_http(feed: Feed, dest_dir: Path) -> Path:
    """Download the feed's URL into `dest_dir`; the body is streamed to disk."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    url = feed.url or ""
    name = _safe_name(urllib.parse.urlparse(url).path, f"{feed.id}.{feed.format}")
    target = dest_dir / name
    with _open(feed, url) as response:
        expected = response.headers.get("Content-Length")
        received = 0
        try:
            with open(target, "wb") as out:
                while chunk := response.read(CHUNK):
                    received += len(chunk)
                    if received > MAX_BYTES:
                        raise FetchError(f"feed {feed.id}: {url} is larger than "
                                         f"{MAX_BYTES // 1024**2} MB; refusing it")
                    out.write(chunk)
        except TimeoutError:
            raise FetchError(f"feed {feed.id}: {url} timed out while downloading") from None
    if expected is not None and int(expected) != received:
        target.unlink(missing_ok=True)
        raise FetchError(
            f"feed {feed.id}: {url} sent {received} of {expected} bytes (connection cut)"
        )
    return target


def _action(feed: Feed, action: str, **params) -> dict:
    base = (feed.url or "").rstrip("/")
    url = f"{base}/{action}?{urllib.parse.urlencode(params)}"
    with _open(feed, url) as response:
        body = response.read()
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        head = body[:60].decode("utf-8", "replace")
        raise FetchError(f"feed {feed.id}: {action} did not answer JSON: {head!r}") from None
    if not isinstance(doc, dict) or not doc.get("success"):
        raise FetchError(f"feed {feed.id}: {action} failed: "
                         f"{(doc or {}).get('error') if isinstance(doc, dict) else doc}")
    return doc["result"]


def _resource_id(feed: Feed) -> str:
    wanted = feed.ckan.get("resource")
    package = feed.ckan.get("package")
    if not package:
        return str(wanted)
    result = _action(feed, "package_show", id=package)
    resources = result.get("resources") or []
    for r in resources:
        if wanted in (None, r.get("id"), r.get("name")) and r.get("datastore_active", True):
            return r["id"]
    names = [r.get("name") for r in resources]
    raise FetchError(
        f"feed {feed.id}: package '{package}' has no datastore resource "
        f"{wanted!r} (resources: {names})"
    )


def fetch_ckan(feed: Feed, dest_dir: Path) -> Path:
    """Read every record of the resource, page by page, into one JSON file."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    resource_id = _resource_id(feed)
    page_size = int(feed.ckan.get("page_size", 1000))
    target = dest_dir / f"{_safe_name(resource_id, feed.id)}.json"
    offset, total, fields = 0, None, None
    with open(target, "w", encoding="utf-8") as out:
        first = True
        while True:
            result = _action(feed, "datastore_search", resource_id=resource_id,
                             limit=page_size, offset=offset)
            if fields is None:
                fields = [f for f in result.get("fields") or [] if f.get("id") != "_id"]
                total = result.get("total")
                out.write('{"success": true, "result": {"resource_id": '
                          f"{json.dumps(resource_id)}, \"fields\": {json.dumps(fields)}, "
                          '"records": [')
            records = result.get("records") or []
            for r in records:
                r.pop("_id", None)
                out.write(("" if first else ",\n") + json.dumps(r, ensure_ascii=False))
                first = False
            offset += len(records)
            if not records or len(records) < page_size or (total is not None
                                                            and offset >= total):
                break
        out.write(f'], "total": {offset}}}}}\n')
    if total is not None and offset != total:
        raise FetchError(f"feed {feed.id}: datastore_search returned {offset} of {total} "
                         "records; the portal changed while paging, try again")
    return target


def fetch(feed: Feed, dest_dir: Path) -> Path:
    if feed.channel == "http":
        return fetch_http(feed, dest_dir)
    if feed.channel == "ckan":
        return fetch_ckan(feed, dest_dir)
    raise ValueError(f"feed {feed.id}: channel {feed.channel} is not fetched")
