"""A studio served for real (uvicorn in a thread, on a free loopback port) and Debian's chromium
driven by playwright's async API: one browser for the test run, one page per test, each page
guarded (every request to the studio's own address; no Content-Security-Policy violation)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from dramaturg.studio.app import Studio, build_app

#: records the page's policy violations where the test can read them (playwright runs init
#: scripts outside the page's CSP)
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@dataclass
class Served:
    studio: Studio
    base: str

    @property
    def url(self) -> str:
        return f"{self.base}/?token={self.studio.secrets.token}"


@contextmanager
def served(studio: Studio) -> Iterator[Served]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    app = build_app(studio, host="127.0.0.1", port=port)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the studio did not start")
        time.sleep(0.02)
    try:
        yield Served(studio, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class Guard:
    """What a page did that it must not: requests elsewhere, CSP violations, script errors."""

    base: str
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def request(self, request: Any) -> None:
        if not (request.url.startswith(self.base + "/") or request.url.startswith("data:")):
            self.foreign.append(request.url)

    def console(self, message: Any) -> None:
        text = message.text
        if message.type == "error" and ("Content Security Policy" in text or "Refused to" in text):
            self.errors.append(text)

    def page_error(self, error: Any) -> None:
        self.errors.append(f"script error: {error}")

    async def check(self, page: Any) -> None:
        violations = await page.evaluate("() => window.__violations || []")
        assert not self.foreign, f"requests to other hosts: {self.foreign}"
        assert not violations, f"CSP violations: {violations}"
        assert not self.errors, f"errors on the page: {self.errors}"


@asynccontextmanager
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError("Debian's chromium is not installed (the test command installs it)")
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=path)
        try:
            yield b
        finally:
            await b.close()


@asynccontextmanager
async def guarded_page(b: Any, site: Served) -> AsyncIterator[tuple[Any, Guard]]:
    context = await b.new_context(viewport={"width": 1400, "height": 900})
    await context.add_init_script(WATCH)
    page = await context.new_page()
    guard = Guard(site.base)
    page.on("request", guard.request)
    page.on("console", guard.console)
    page.on("pageerror", guard.page_error)
    try:
        yield page, guard
        await guard.check(page)
    finally:
        await context.close()
