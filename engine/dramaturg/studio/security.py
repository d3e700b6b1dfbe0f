"""The studio's guard: who may talk to it, and what a browser may do with its pages.

An ASGI middleware in front of every route:

- **Host allowlist** (against DNS rebinding): a request whose ``Host`` is not the address the
  studio listens on (or ``localhost`` at its port) gets 400.
- **Token, then cookie.** The URL printed at start holds a random token; the first load with it
  sets an HttpOnly, SameSite=Strict session cookie and redirects to the same page without the
  token (so it is not kept in the history or sent on). Any other request without the cookie gets
  403.
- **CSRF.** A request that changes state (anything but GET and HEAD) must also carry the header
  ``X-Dramaturg-CSRF`` with the page's CSRF value (a cross-site form cannot set a header, and
  a cross-site script cannot read the value).
- **Headers on every answer**: a strict Content-Security-Policy (scripts, styles and requests
  to the studio's own origin only; no inline script, no eval), no framing, no sniffing, no
  referrer, and ``no-store``.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "dramaturg_studio"
CSRF_HEADER = "x-dramaturg-csrf"
#: the pages' policy. ``frame-src 'self'``: the screenplay preview is the run's own
#: screenplay.html in a sandboxed frame (served with its own policy, see :data:`PREVIEW_CSP`)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
#: a run's own HTML files (the screenplay, the report): their inline CSS and data: images, no
#: script at all, in a sandbox (an opaque origin), framed only by the studio's pages
PREVIEW_CSP = (
    "default-src 'none'; img-src data:; font-src data:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; sandbox"
)
HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cache-control": "no-store",
}
SAFE_METHODS = {"GET", "HEAD"}


@dataclass(frozen=True)
class Secrets:
    """A studio's secrets, new at every start (never written anywhere)."""

    #: in the printed URL; exchanged for the cookie on first load
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    #: the cookie's value
    session: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    #: the header value state-changing requests carry (written into each page)
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))


def allowed_hosts(host: str, port: int, extra: tuple[str, ...] = ()) -> frozenset[str]:
    """The ``Host`` values the studio answers at ``host``:``port`` (``extra``: names it is also
    reached by, given with ``--allow-host``)."""
    names = {host, "localhost", "127.0.0.1", *extra}
    return frozenset(f"[{n}]:{port}" if ":" in n else f"{n}:{port}" for n in names)


class Guard:
    """The middleware (see the module's description)."""

    def __init__(self, app: ASGIApp, secrets_: Secrets, hosts: frozenset[str]) -> None:
        self.app = app
        self.secrets = secrets_
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if headers.get("host", "").lower() not in self.hosts:
            await _plain(send, 400, "unknown host: open the address the studio printed")
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get("token", [""])[0]
        if given:
            if not hmac.compare_digest(given, self.secrets.token):
                await _plain(send, 403, "this link's token is not this studio's")
                return
            await _welcome(send, scope, query, self.secrets.session)
            return
        if not hmac.compare_digest(_cookie(headers), self.secrets.session):
            await _plain(send, 403, "open the link the studio printed (it holds its token)")
            return
        if scope["method"] not in SAFE_METHODS and not hmac.compare_digest(
            headers.get(CSRF_HEADER, ""), self.secrets.csrf
        ):
            await _plain(send, 403, "a change must come from the studio's own page")
            return
        await self.app(scope, receive, _with_headers(send))


def _cookie(headers: dict[str, str]) -> str:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header: no session
        return ""
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else ""


def _with_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            raw = list(message.get("headers", []))
            have = {k.decode("latin-1").lower() for k, _ in raw}
            for name, value in [("content-security-policy", CSP), *HEADERS.items()]:
                if name not in have:
                    raw.append((name.encode(), value.encode()))
            if "x-frame-options" not in have:
                raw.append((b"x-frame-options", b"DENY"))
            message["headers"] = raw
        await send(message)

    return sending


async def _welcome(send: Send, scope: Scope, query: dict[str, list[str]], session: str) -> None:
    """The first load: the cookie, and the same page again without the token."""
    rest = urlencode({k: v for k, v in query.items() if k != "token"}, doseq=True)
    path = str(scope.get("path") or "/")
    if not path.startswith("/") or path[1:2] in ("/", "\\"):  # never to another host
        path = "/"
    where = path + (f"?{rest}" if rest else "")
    cookie = f"{COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/"
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", where.encode("latin-1")),
                (b"set-cookie", cookie.encode("latin-1")),
                (b"content-security-policy", CSP.encode()),
                *((k.encode(), v.encode()) for k, v in HEADERS.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def _plain(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"content-security-policy", CSP.encode()),
                *((k.encode(), v.encode()) for k, v in HEADERS.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
