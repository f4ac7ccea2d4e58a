"""Channels: how a regency's file reaches the province.

- `landing`: files dropped in a folder (the feed's `path` glob).
- `http`: a file downloaded from a URL (HTTP or HTTPS).
- `ckan`: a resource of a regency's CKAN portal, read through the Action API
  (`package_show`, then `datastore_search` page by page) and kept as one
  `datastore_search`-shaped JSON file.

Network fetches raise `FetchError` (retried with backoff by the Prefect task). What is
contacted, the feed's URL and every redirect alike:

- its host must be in the registry's `allowed_hosts`, and its port too when the entry
  pins one (`host:port`; the URL's port is its own, else 80 for http and 443 for https);
- every address it is connected to is checked as it is connected to (the addresses the
  name resolves to, so a name that resolves elsewhere later cannot slip through): a
  loopback, private or link-local address (127.0.0.0/8, ::1, 10.0.0.0/8, 172.16.0.0/12,
  192.168.0.0/16, 169.254.0.0/16, fc00::/7, fe80::/10, 0.0.0.0/8, ::, and IPv4 ones
  written as IPv6) is refused unless that address itself is listed in `allowed_hosts`
  (with its port, if the entry pins one): a regency server on the provincial network is
  allowed by listing its address, e.g. `10.20.0.5` or `10.20.0.5:8080`. A name that is
  listed but resolves to such an address is refused unless the address is listed too.

Behind an HTTP(S) proxy (`https_proxy`...), the connection goes to the proxy, which is
the operator's own; the host and port checks still apply to every URL.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from flows.registry import Feed, host_allowed, normal_host, parse_host_entry, url_port

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


# Loopback, private and link-local ranges: contacted only when the address is listed.
INTERNAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
    "0.0.0.0/8", "::1/128", "::/128", "fc00::/7", "fe80::/10"))


class RefusedAddress(OSError):
    """An address the feed may not be connected to (raised before connecting)."""


def internal_address(address: str) -> bool:
    """Whether an IP address is loopback, private or link-local (`INTERNAL_NETWORKS`;
    an IPv4 address written as IPv6, ::ffff:127.0.0.1, counts as the IPv4 one)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])   # no IPv6 zone (fe80::1%eth0)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in INTERNAL_NETWORKS if net.version == ip.version)


def address_allowed(feed: Feed, address: str, port: int) -> bool:
    """Whether the feed may be connected to `address` on `port`: any public address
    (its name was checked against `allowed_hosts`), an internal one only if an
    `allowed_hosts` entry is that very address (and port, if the entry pins one)."""
    if not internal_address(address):
        return True
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    forms = {str(ip)} | ({str(ip.ipv4_mapped)} if ip.version == 6 and ip.ipv4_mapped else set())
    for entry in feed.allowed_hosts:
        try:
            host, pinned = parse_host_entry(entry)
        except ValueError:
            continue
        if host in forms and pinned in (None, port):
            return True
    return False


def check_url(feed: Feed, url: str) -> None:
    """The URL's host (and port, where an entry pins one) must be in `allowed_hosts`;
    raises FetchError otherwise. Its addresses are checked on connecting."""
    parsed = urllib.parse.urlparse(url)
    host = parsed.hostname or ""
    try:
        port = url_port(url)
    except ValueError:
        raise FetchError(f"feed {feed.id}: refusing {url}: not a valid port") from None
    if parsed.scheme not in ("http", "https") or not host_allowed(feed.allowed_hosts,
                                                                  host, port):
        raise FetchError(f"feed {feed.id}: refusing to contact '{normal_host(host)}' port "
                         f"{port} ({url}): it is not in the registry's allowed_hosts")


def _guarded_create_connection(feed: Feed):
    """`socket.create_connection` for one feed: resolves the host, refuses every
    internal address the feed may not reach (`address_allowed`) before connecting, and
    connects to the first allowed address that answers."""

    def create_connection(address, timeout=None, source_address=None):
        host, port = address
        refused, error = [], None
        for family, kind, proto, _, sockaddr in socket.getaddrinfo(
                host, port, 0, socket.SOCK_STREAM):
            if not address_allowed(feed, sockaddr[0], port):
                refused.append(sockaddr[0])
                continue
            sock = socket.socket(family, kind, proto)
            try:
                if isinstance(timeout, int | float):   # else the default (a sentinel)
                    sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)
                return sock
            except OSError as e:
                error = e
                sock.close()
        if error is not None:
            raise error
        raise RefusedAddress(
            f"refusing to contact '{host}' ({', '.join(dict.fromkeys(refused))}): a "
            "loopback, private or link-local address; list that address (optionally "
            "with :port) in the registry's allowed_hosts if this internal server is a "
            "trusted source")

    return create_connection


def _guarded(base: type[http.client.HTTPConnection], feed: Feed):
    """A connection class of `base` whose sockets go through the address check
    (http.client opens every socket, HTTPS's included, through `_create_connection`)."""
    create = _guarded_create_connection(feed)

    class Guarded(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = create

    return Guarded


def _proxied(req: urllib.request.Request) -> bool:
    """The request goes through a proxy: the connection is to the proxy, not the host."""
    return req.has_proxy() or req.host != urllib.parse.urlparse(req.full_url).netloc


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, feed: Feed):
        super().__init__()
        self.connection = _guarded(http.client.HTTPConnection, feed)

    def http_open(self, req):
        if _proxied(req):   # the proxy is contacted, not the host: the proxy's job
            return super().http_open(req)
        return self.do_open(self.connection, req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, feed: Feed):
        super().__init__()
        self.connection = _guarded(http.client.HTTPSConnection, feed)

    def https_open(self, req):
        if _proxied(req):   # through a proxy (CONNECT)
            return super().https_open(req)
        return self.do_open(self.connection, req, context=self._context)


class _AllowedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to an allowed host and port (no detours to internal
    addresses: those are refused again on connecting)."""

    def __init__(self, feed: Feed):
        self.feed = feed

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_url(self.feed, newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _open(feed: Feed, url: str):
    check_url(feed, url)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    opener = urllib.request.build_opener(_AllowedRedirects(feed), _GuardedHTTPHandler(feed),
                                         _GuardedHTTPSHandler(feed))
    try:
        return opener.open(request, timeout=feed.network_option("timeout_s"))
    except urllib.error.HTTPError as e:
        raise FetchError(f"feed {feed.id}: {url} answered HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, RefusedAddress):
            raise FetchError(f"feed {feed.id}: {url}: {reason}") from None
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
