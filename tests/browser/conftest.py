"""Browser tests: a live server on loopback and Debian's Chromium driven by Playwright.

No browser is downloaded: Playwright launches the system Chromium (``/usr/bin/chromium``, which
``make test`` installs from Debian's package when it is missing). Tests take ``serve`` to run an
ASGI app on a free loopback port in a background thread and ``browser`` for a headless Chromium;
``screenshot(page, name)`` keeps a PNG under ``test-artifacts/screenshots/`` (CI keeps it).

Example::

    def test_home(serve, browser, screenshot):
        url = serve(create_app(home))
        page = browser.new_page()
        page.goto(url + "/")
        screenshot(page, "home")
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def chromium_path() -> str:
    """Debian's Chromium; a missing browser is an error, never a silent skip."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("Chromium is not installed: run `make browser-runtime` (Debian's chromium package)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Server(uvicorn.Server):  # type: ignore[misc]
    def install_signal_handlers(self) -> None:  # the test runner owns the signals
        pass


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """Start an ASGI app on 127.0.0.1 in a thread; returns its base URL. Stopped after the test."""
    servers: list[tuple[_Server, threading.Thread]] = []

    def start(app: Any) -> str:
        port = _free_port()
        server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("the test server did not start")
            time.sleep(0.05)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session (Debian's, no download)."""
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """Keep a full-page PNG of a page as a test artefact."""

    def take(page: Any, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
