"""A regency's web feed on 127.0.0.1: static files, error pages, and a small CKAN
Action API (`package_show`, `datastore_search` with limit/offset paging)."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RegencyServer:
    def __init__(self):
        self.files: dict[str, tuple[bytes, str]] = {}  # path -> (body, content type)
        self.failures: dict[str, int] = {}  # path -> 500s still to send
        self.hits: dict[str, int] = {}
        self.slow: dict[str, float] = {}  # path -> seconds before answering
        self.truncate: set[str] = set()  # paths whose body is cut short
        self.redirects: dict[str, str] = {}
        self.ckan: dict[str, dict] = {}  # resource id -> {fields, records}
        self.packages: dict[str, list[dict]] = {}  # package -> resources
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):  # noqa: N802 - http.server's name
                parsed = urllib.parse.urlparse(self.path)
                path = parsed.path
                server.hits[path] = server.hits.get(path, 0) + 1
                if path in server.slow:
                    time.sleep(server.slow[path])
                if server.failures.get(path, 0) > 0:
                    server.failures[path] -= 1
                    return self._send(500, b"Internal Server Error", "text/plain")
                if path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[path])
                    self.end_headers()
                    return None
                if path.endswith("/package_show"):
                    pkg = urllib.parse.parse_qs(parsed.query)["id"][0]
                    if pkg not in server.packages:
                        return self._json(
                            404, {"success": False, "error": {"message": "Not found"}}
                        )
                    return self._json(
                        200,
                        {
                            "success": True,
                            "result": {"name": pkg, "resources": server.packages[pkg]},
                        },
                    )
                if path.endswith("/datastore_search"):
                    q = urllib.parse.parse_qs(parsed.query)
                    res = server.ckan[q["resource_id"][0]]
                    limit, offset = int(q.get("limit", ["100"])[0]), int(q.get("offset", ["0"])[0])
                    records = [{"_id": i + 1, **r} for i, r in enumerate(res["records"])]
                    return self._json(
                        200,
                        {
                            "success": True,
                            "result": {
                                "resource_id": q["resource_id"][0],
                                "fields": [{"id": "_id", "type": "int"}] + res["fields"],
                                "records": records[offset : offset + limit],
                                "total": len(records),
                                "limit": limit,
                                "offset": offset,
                            },
                        },
                    )
                if path not in server.files:
                    return self._send(404, b"<html><body>Not found</body></html>", "text/html")
                body, ctype = server.files[path]
                if path in server.truncate:
                    self.send_response(200)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return None
                return self._send(200, body, ctype)

            def _json(self, code, doc):
                return self._send(code, json.dumps(doc).encode(), "application/json")

            def _send(self, code, body, ctype):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
