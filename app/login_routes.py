"""The officials' log-in and log-out: two plain HTTP routes beside the Streamlit app.

A Streamlit script cannot set an HttpOnly cookie (it talks over a websocket), so the
log-in form is a small server-rendered page (`GET <base>/officials/login`), posted to
itself; on success it sets the signed session cookie (app/sessions.py) and redirects to
the officials' page, which reads the cookie from `st.context.cookies`. A refresh or a
new tab keeps the session; `<base>/officials/logout` ends it (the token is revoked on
the server, the cookie deleted).

Protections: the password check (PBKDF2, ~0.1-0.3 s) runs in a worker thread, never on
the event loop, so guesses cannot slow the public's downloads; failed attempts are
limited per user name and client address (`sessions.LIMITER`) and a refused attempt
costs no PBKDF2 at all; the form carries a signed, expiring token (no cross-site log-in
posts) and a cross-site `Origin` is refused; the page never says whether a user name
exists. Without configured users the page shows only the "contact the walidata" notice.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from app import auth, sessions
from app.i18n import DEFAULT_LANG, normalize_lang, t

FORM_TOKEN_MAX_AGE = 3600
MAX_FORM_BYTES = 4096
_FORM_SALT = "satudata-officials-login-form"

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
background:#f7f8fa;color:#1f2933}
main{max-width:420px;margin:8vh auto;padding:2rem;background:#fff;border-radius:.75rem;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin:0 0 .5rem}p{line-height:1.5}
label{display:block;margin:1rem 0 .3rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;border:1px solid #9aa5b1;
border-radius:.4rem}
button{margin-top:1.3rem;width:100%;padding:.7rem;font-size:1rem;border:0;border-radius:.4rem;
background:#b91c1c;color:#fff;cursor:pointer}
.error{background:#fde2e1;color:#7f1d1d;padding:.6rem;border-radius:.4rem}
nav{margin-top:1.2rem;font-size:.9rem}
"""


def route_paths(base_url_path: str | None) -> tuple[str, str, str]:
    base = (base_url_path or "").strip("/")
    root = f"/{base}" if base else ""
    return f"{root}/officials/login", f"{root}/officials/logout", f"{root}/"


def _form_tokens() -> URLSafeTimedSerializer:
    return sessions.signer(_FORM_SALT)


def client_address(request: Request) -> str:
    """The client's address as the server saw it (uvicorn applies X-Forwarded-For only
    from proxies it trusts: `--forwarded-allow-ips`)."""
    return request.client.host if request.client else "unknown"


def _page(lang: str, action: str, home: str, *, users: bool, error: str = "",
          status: int = 200) -> HTMLResponse:
    e = html.escape
    other = "en" if lang == "id" else "id"
    if users:
        token = _form_tokens().dumps("login")
        body = (
            f"<p>{e(t('officials_login_needed', lang=lang))}</p>"
            + (f'<p class="error" role="alert">{e(error)}</p>' if error else "")
            + f'<form method="post" action="{e(action)}?lang={lang}">'
            f'<input type="hidden" name="form_token" value="{e(token)}">'
            f'<label for="user">{e(t("login_user", lang=lang))}</label>'
            f'<input id="user" name="user" autocomplete="username" required maxlength="128">'
            f'<label for="password">{e(t("login_password", lang=lang))}</label>'
            f'<input id="password" name="password" type="password" required '
            f'autocomplete="current-password" maxlength="1024">'
            f'<button type="submit">{e(t("login_submit", lang=lang))}</button></form>'
        )
    else:
        body = f"<p>{e(t('officials_no_users', lang=lang))}</p>"
    page = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="robots" content="noindex">'
        f"<title>{e(t('login_title', lang=lang))} · Satu Data Banten</title>"
        f"<style>{_STYLE}</style></head><body><main>"
        f"<h1>{e(t('officials_title', lang=lang))}</h1>{body}"
        f'<nav><a href="{e(home)}?lang={lang}">Satu Data Banten</a> · '
        f'<a href="{e(action)}?lang={other}" lang="{other}">'
        f"{'English' if other == 'en' else 'Bahasa Indonesia'}</a></nav>"
        f"</main></body></html>"
    )
    return HTMLResponse(page, status_code=status,
                        headers={"Cache-Control": "no-store"})


def _cross_site(request: Request) -> bool:
    """Whether the browser says the form was posted from another site (`Origin`)."""
    origin = request.headers.get("origin")
    if origin is None:
        return False            # not sent by every client; the form token still holds
    return origin == "null" or origin.split("://", 1)[-1] != request.headers.get("host", "")


def login_routes(base_url_path: str | None = None,
                 users_of=auth.configured_users,
                 limiter: sessions.AttemptLimiter | None = None) -> list[Route]:
    """The log-in and log-out routes under `base_url_path` (Streamlit's
    `server.baseUrlPath`). `users_of` returns `{user: hash}` (tests pass their own)."""
    login_path, logout_path, home = route_paths(base_url_path)
    officials_page = f"{home}?page=officials"

    def limiter_() -> sessions.AttemptLimiter:
        return limiter or sessions.LIMITER

    async def login(request: Request) -> Response:
        lang = normalize_lang(request.query_params.get("lang", DEFAULT_LANG))
        users: Mapping[str, str] = users_of()
        if request.method == "GET" or not users:
            return _page(lang, login_path, home, users=bool(users))
        body = await request.body()
        if len(body) > MAX_FORM_BYTES or _cross_site(request):
            return _page(lang, login_path, home, users=True,
                         error=t("login_wrong", lang=lang), status=400)
        form = await request.form()
        user = str(form.get("user") or "").strip()[:128]
        password = str(form.get("password") or "")[:1024]
        try:
            _form_tokens().loads(str(form.get("form_token") or ""),
                                 max_age=FORM_TOKEN_MAX_AGE)
        except BadSignature:      # stale or forged form: show a fresh one
            return _page(lang, login_path, home, users=True,
                         error=t("login_wrong", lang=lang), status=400)
        address = client_address(request)
        wait = limiter_().attempt(user, address)
        if wait:
            sessions.log.warning("officials' log-in refused: user %r from %s is limited "
                                 "for %d s", user[:64], address, wait)
            minutes = max(1, round(wait / 60))
            return _page(lang, login_path, home, users=True, status=429,
                         error=t("login_locked_minutes", lang=lang, minutes=minutes))
        ok = bool(user and password) and await run_in_threadpool(
            auth.check_login, users, user, password)
        if not ok:
            limiter_().failed(user, address)
            return _page(lang, login_path, home, users=True, status=401,
                         error=t("login_wrong", lang=lang))
        limiter_().succeeded(user, address)
        response = RedirectResponse(f"{officials_page}&lang={lang}", status_code=303)
        response.set_cookie(
            sessions.COOKIE, sessions.issue(user), max_age=sessions.MAX_AGE,
            path=home, httponly=True, samesite="strict",
            secure=request.url.scheme == "https",
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    async def logout(request: Request) -> Response:
        lang = normalize_lang(request.query_params.get("lang", DEFAULT_LANG))
        sessions.revoke(request.cookies.get(sessions.COOKIE))
        response = RedirectResponse(f"{officials_page}&lang={lang}", status_code=303)
        response.delete_cookie(sessions.COOKIE, path=home, httponly=True,
                               samesite="strict", secure=request.url.scheme == "https")
        response.headers["Cache-Control"] = "no-store"
        return response

    return [Route(login_path, login, methods=["GET", "POST"]),
            Route(logout_path, logout, methods=["GET", "POST"])]


class OfficialsOnly:
    """404 for `paths` (Streamlit's `/_stcore/metrics`) unless the request carries a
    valid officials' session cookie: what the server does is not public."""

    def __init__(self, app, paths: tuple[str, ...], users_of=auth.configured_users) -> None:
        self.app = app
        self.paths = paths
        self.users_of = users_of

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("path", "").rstrip("/") in self.paths:
            request = Request(scope)
            if sessions.user_of(request.cookies.get(sessions.COOKIE),
                                self.users_of()) is None:
                await Response("Not found", status_code=404,
                               media_type="text/plain")(scope, receive, send)
                return
        await self.app(scope, receive, send)
