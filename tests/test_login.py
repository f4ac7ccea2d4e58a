"""Officials' log-in: a signed, expiring session cookie that survives a refresh, log-out
that really ends the session, failed attempts limited per user name and per client
address across sessions (and logged), and Streamlit's metrics for officials only.

The routes are tested with Starlette's TestClient (fast), then once on a real
`satudata serve` over HTTP: many parallel guessers get at most 5 password checks.
"""

from __future__ import annotations

import concurrent.futures
import html
import http.client
import re
import urllib.parse
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app import auth, login_routes, sessions
from app.i18n import t
from tests.helpers import served_home
from tests.site_fixture import write_site

with warnings.catch_warnings():   # Starlette's TestClient runs on httpx and says so
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PASSWORD = "rahasia-banten-2026"
USERS = {"walidata": auth.hash_password(PASSWORD, iterations=1_000)}
TOKEN_FIELD = re.compile(r'name="form_token" value="([^"]+)"')


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limiter(clock: Clock) -> sessions.AttemptLimiter:
    return sessions.AttemptLimiter(clock=clock)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The user names whose password was checked (PBKDF2 run)."""
    seen: list[str] = []
    real = auth.check_login

    def spy(users, username, password):
        seen.append(username)
        return real(users, username, password)

    monkeypatch.setattr(auth, "check_login", spy)
    return seen


def make_app(limiter: sessions.AttemptLimiter, users: dict | None = None) -> Starlette:
    configured = USERS if users is None else users

    async def metrics(request):
        return PlainTextResponse("session_count 1")

    return Starlette(
        routes=[*login_routes.login_routes(None, users_of=lambda: configured, limiter=limiter),
                Route("/_stcore/metrics", metrics)],
        middleware=[Middleware(login_routes.OfficialsOnly, paths=("/_stcore/metrics",),
                               users_of=lambda: configured)],
    )


def client(app: Starlette, address: str = "10.0.0.1", https: bool = False) -> TestClient:
    return TestClient(app, client=(address, 50000), follow_redirects=False,
                      base_url="https://testserver" if https else "http://testserver")


def post_login(c: TestClient, user: str, password: str, lang: str = "id", **extra):
    page = c.get(f"/officials/login?lang={lang}")
    token = TOKEN_FIELD.search(page.text).group(1)
    data = {"form_token": token, "user": user, "password": password, **extra}
    return c.post(f"/officials/login?lang={lang}", data=data)


# --- the log-in page and the cookie -------------------------------------------------------


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_login_page_is_a_plain_form_in_the_visitors_language(limiter, lang) -> None:
    page = client(make_app(limiter)).get(f"/officials/login?lang={lang}")
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    for key in ("officials_title", "login_user", "login_password", "login_submit"):
        assert html.escape(t(key, lang=lang)) in page.text
    assert 'type="password"' in page.text and 'method="post"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert not re.search(r'name="user"[^>]*value=', page.text)   # no name suggested


def test_without_users_the_page_only_says_to_contact_the_walidata(limiter, checks) -> None:
    c = client(make_app(limiter, users={}))
    page = c.get("/officials/login")
    assert t("officials_no_users", lang="id") in page.text
    assert "<form" not in page.text
    refused = c.post("/officials/login", data={"user": "walidata", "password": PASSWORD})
    assert "set-cookie" not in refused.headers and checks == []


@pytest.mark.parametrize("https", [False, True])
def test_a_correct_login_sets_a_signed_httponly_strict_cookie(limiter, https) -> None:
    response = post_login(client(make_app(limiter), https=https), "walidata", PASSWORD,
                          lang="en")
    assert response.status_code == 303
    assert response.headers["location"] == "/?page=officials&lang=en"
    cookie = response.headers["set-cookie"]
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "max-age", "path", "samesite"} <= attributes
    assert "samesite=strict" in cookie.lower() and f"Max-Age={sessions.MAX_AGE}" in cookie
    assert ("secure" in attributes) is https      # Secure when served over TLS
    token = cookie.split(";")[0].split("=", 1)[1]
    assert sessions.user_of(token, USERS) == "walidata"
    assert PASSWORD not in cookie


def test_wrong_password_and_unknown_user_get_the_same_answer(limiter, checks) -> None:
    c = client(make_app(limiter))
    wrong = post_login(c, "walidata", "salah")
    unknown = post_login(c, "tamu", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert t("login_wrong", lang="id") in response.text
        assert "set-cookie" not in response.headers
    without_tokens = [TOKEN_FIELD.sub("", r.text) for r in (wrong, unknown)]
    assert without_tokens[0] == without_tokens[1]
    assert checks == ["walidata", "tamu"]         # both cost one password check


@pytest.mark.parametrize("form", [
    {"user": "walidata", "password": PASSWORD},                               # no token
    {"user": "walidata", "password": PASSWORD, "form_token": "forged.token"},
])
def test_a_login_post_without_the_pages_token_is_refused(limiter, checks, form) -> None:
    response = client(make_app(limiter)).post("/officials/login", data=form)
    assert response.status_code == 400 and "set-cookie" not in response.headers
    assert checks == []


def test_a_cross_site_login_post_is_refused(limiter, checks) -> None:
    c = client(make_app(limiter))
    c.headers["origin"] = "https://evil.example"
    response = post_login(c, "walidata", PASSWORD)
    assert response.status_code == 400 and checks == []


def test_logout_ends_the_session_even_if_the_cookie_is_replayed(limiter) -> None:
    c = client(make_app(limiter))
    token = post_login(c, "walidata", PASSWORD).cookies[sessions.COOKIE]
    assert sessions.user_of(token, USERS) == "walidata"
    c.cookies.set(sessions.COOKIE, token)
    response = c.get("/officials/logout?lang=en")
    assert response.status_code == 303
    assert response.headers["location"] == "/?page=officials&lang=en"
    assert re.search(r'satudata_session=""?;.*Max-Age=0', response.headers["set-cookie"])
    assert sessions.user_of(token, USERS) is None


def test_a_session_expires_and_ends_when_its_user_is_removed(monkeypatch) -> None:
    token = sessions.issue("walidata")
    assert sessions.user_of(token, USERS) == "walidata"
    assert sessions.user_of(token, {}) is None                 # user removed
    monkeypatch.setattr(sessions, "MAX_AGE", -1)
    assert sessions.user_of(token, USERS) is None              # expired


@given(st.text(max_size=300))
def test_no_made_up_token_opens_a_session(token: str) -> None:
    assert sessions.user_of(token, USERS) is None


# --- failed attempts ----------------------------------------------------------------------


def test_five_failures_for_a_user_name_lock_it_from_any_address(limiter, checks, clock,
                                                                caplog) -> None:
    app = make_app(limiter)
    with caplog.at_level("WARNING", logger="app.sessions"):
        for n in range(sessions.MAX_FAILURES):
            assert post_login(client(app, f"10.0.1.{n}"), "walidata", f"guess-{n}") \
                .status_code == 401
        refused = post_login(client(app, "10.0.2.1"), "walidata", PASSWORD)
    assert refused.status_code == 429
    assert t("login_locked_minutes", lang="id", minutes=15) in refused.text
    assert "set-cookie" not in refused.headers
    assert len(checks) == sessions.MAX_FAILURES               # the 6th cost no PBKDF2
    assert caplog.text.count("log-in failed: user 'walidata'") == sessions.MAX_FAILURES
    assert "10.0.1.4" in caplog.text and "is limited" in caplog.text
    clock.now += sessions.WINDOW_SECONDS                       # the window passes
    assert post_login(client(app, "10.0.2.1"), "walidata", PASSWORD).status_code == 303


def test_five_failures_from_an_address_lock_it_for_every_user_name(limiter, checks) -> None:
    app = make_app(limiter)
    for n in range(sessions.MAX_FAILURES):
        assert post_login(client(app, "10.0.3.9"), f"user{n}", "x").status_code == 401
    assert post_login(client(app, "10.0.3.9"), "walidata", PASSWORD).status_code == 429
    # another address is not held back by this one
    assert post_login(client(app, "10.0.3.10"), "walidata", PASSWORD).status_code == 303


def test_a_correct_login_clears_the_names_failures(limiter) -> None:
    app = make_app(limiter)
    for n in range(sessions.MAX_FAILURES - 1):
        post_login(client(app, f"10.0.4.{n}"), "walidata", "x")
    assert post_login(client(app, "10.0.5.1"), "walidata", PASSWORD).status_code == 303
    for n in range(sessions.MAX_FAILURES - 1):
        assert post_login(client(app, f"10.0.6.{n}"), "walidata", "x").status_code == 401


@given(st.lists(st.floats(min_value=0, max_value=3 * sessions.WINDOW_SECONDS), max_size=40))
def test_the_limit_counts_only_failures_inside_the_window(offsets: list[float]) -> None:
    clock = Clock()
    limiter = sessions.AttemptLimiter(clock=clock)
    times: list[float] = []
    for offset in sorted(offsets):
        clock.now = 1_000.0 + offset
        recent = [x for x in times if x > clock.now - sessions.WINDOW_SECONDS]
        allowed = limiter.attempt("walidata", "10.0.0.1") == 0
        assert allowed == (len(recent) < sessions.MAX_FAILURES)
        if allowed:
            times.append(clock.now)


# --- metrics ------------------------------------------------------------------------------


def test_streamlit_metrics_are_for_officials_only(limiter) -> None:
    c = client(make_app(limiter))
    assert c.get("/_stcore/metrics").status_code == 404
    c.cookies.set(sessions.COOKIE, sessions.issue("walidata", secret="y" * 40))  # forged
    assert c.get("/_stcore/metrics").status_code == 404
    c.cookies.clear()
    token = post_login(c, "walidata", PASSWORD).cookies[sessions.COOKIE]
    c.cookies.set(sessions.COOKIE, token)
    assert c.get("/_stcore/metrics").status_code == 200


# --- on the real server -------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    base = tmp_path_factory.mktemp("login")
    home = base / "home"
    write_site(home / "site", internal_dir=home / "internal")
    cwd = base / "cwd"
    (cwd / ".streamlit").mkdir(parents=True)
    (cwd / ".streamlit" / "secrets.toml").write_text(
        f'[officials]\nsession_secret = "{"k" * 48}"\n\n'
        f'[officials.users]\nwalidata = "{USERS["walidata"]}"\n', encoding="utf-8")
    with served_home(home, cwd=cwd, log=base / "server.log") as (port, _proc):
        yield {"port": port, "log": base / "server.log"}


def request(port: int, method: str, path: str, body: str | None = None,
            headers: dict | None = None) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        conn.close()


def http_login(port: int, user: str, password: str) -> tuple[int, dict[str, str]]:
    _, _, page = request(port, "GET", "/officials/login?lang=en")
    token = TOKEN_FIELD.search(page).group(1)
    body = urllib.parse.urlencode({"form_token": token, "user": user, "password": password})
    status, headers, _ = request(port, "POST", "/officials/login?lang=en", body,
                                 {"Content-Type": "application/x-www-form-urlencoded"})
    return status, headers


def test_the_served_app_logs_officials_in_limits_guessers_and_hides_metrics(
        server: dict) -> None:
    """On the real server: log-in sets the cookie, metrics need it, log-out ends it; then
    40 guesses from 8 clients at once (one address, many sessions) get exactly 5
    password checks, every other one is refused before any check, and each is logged."""
    port = server["port"]
    assert request(port, "GET", "/_stcore/metrics")[0] == 404
    status, headers = http_login(port, "walidata", PASSWORD)
    assert status == 303 and "HttpOnly" in headers["set-cookie"]
    assert "content-security-policy" in headers          # the app's headers apply here too
    cookie = headers["set-cookie"].split(";")[0]
    assert request(port, "GET", "/_stcore/metrics", headers={"Cookie": cookie})[0] == 200
    assert request(port, "GET", "/officials/logout", headers={"Cookie": cookie})[0] == 303
    assert request(port, "GET", "/_stcore/metrics", headers={"Cookie": cookie})[0] == 404

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda n: http_login(port, "kepala-dinas", f"tebak-{n}")[0],
                                 range(40)))
    assert statuses.count(401) == sessions.MAX_FAILURES
    assert statuses.count(429) == 40 - sessions.MAX_FAILURES
    log = Path(server["log"]).read_text(encoding="utf-8")
    assert log.count("log-in failed: user 'kepala-dinas' from 127.0.0.1") == 5
    assert "log-in refused: user 'kepala-dinas' from 127.0.0.1 is limited" in log


def test_made_up_user_names_do_not_grow_the_limiter_without_end(monkeypatch, clock) -> None:
    monkeypatch.setattr(sessions, "MAX_TRACKED", 50)
    limiter = sessions.AttemptLimiter(clock=clock)
    for n in range(200):
        clock.now += sessions.WINDOW_SECONDS / 20       # each name soon leaves the window
        limiter.attempt(f"user-{n}", f"10.9.{n // 250}.{n % 250}")
    assert len(limiter._failures) <= 50 + 2 * 21
