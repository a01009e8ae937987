"""Real-browser fixtures: Debian's Chromium driven by Playwright against a live opskit.

No browser download: Playwright launches /usr/bin/chromium (``make test`` installs it with
apt-get). Every request the page makes is recorded; anything not addressed to 127.0.0.1 is
aborted and listed in ``page_guard.external`` so tests can assert nothing left the machine.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask

from opskit.server import build_server

CHROMIUM = os.environ.get("OPSKIT_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1"}


@pytest.fixture(scope="session")
def playwright_session() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_session) -> Iterator:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"{CHROMIUM} not found: run `make test` (installs Debian's chromium) "
            "or set OPSKIT_TEST_CHROMIUM"
        )
    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """opskit served by its production server (cheroot) on a free port.

    Not werkzeug's development server: when the browser closes a connection in the middle of a
    static file, that one leaves the file open (a ResourceWarning, an error in this suite).
    """
    server = build_server(app, "127.0.0.1", 0, threads=8)
    server.prepare()  # binds: bind_addr now holds the port the system chose
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.bind_addr[1]}"
    finally:
        server.stop()
        thread.join(timeout=10)


@dataclass
class PageGuard:
    requests: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)


def new_context(playwright_session, browser, device: str, locale: str = "zh-CN"):
    """A browser context emulating ``device`` whose every off-machine request is blocked."""
    settings = dict(playwright_session.devices[device])
    settings.pop("default_browser_type", None)
    return guarded_context(browser, settings, locale)


def guarded_context(browser, settings: dict, locale: str = "zh-CN"):
    """A browser context with these settings (viewport ...), off-machine requests blocked."""
    context = browser.new_context(**settings, locale=locale, timezone_id="Asia/Shanghai")
    guard = PageGuard()

    def route(route) -> None:
        url = route.request.url
        guard.requests.append(url)
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            guard.external.append(url)
            route.abort()

    context.route("**/*", route)
    return context, guard


@pytest.fixture
def ipad(playwright_session, browser) -> Iterator[tuple]:
    context, guard = new_context(playwright_session, browser, "iPad Mini landscape")
    page = context.new_page()
    yield page, guard
    context.close()


def screenshot(page, name: str, full_page: bool = True, at=None) -> Path:
    """docs/screenshots/<name>.png: the whole page, or (``full_page=False``) the window, with
    the locator ``at`` scrolled to its top (a long page such as /api-docs)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if at is not None:
        at.evaluate("element => element.scrollIntoView({block: 'start', behavior: 'instant'})")
    page.screenshot(path=str(path), full_page=full_page)
    return path
