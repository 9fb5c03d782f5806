"""Real-browser tests: a real ``tocsin serve`` (``tests.web.server``) on each backend, and Debian's
Chromium driven by Playwright (never ``playwright install``: the browser comes from apt, as in
``.ci/run``). Any console error or uncaught page error fails the test that caused it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from tests.web.server import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
DESKTOP, PHONE = 1280, 390
Scheme = Literal["light", "dark"]


# Module scope, not session: Playwright's sync API keeps an event loop marked running in this
# thread while it is open, and tests elsewhere call asyncio.run(), which refuses to run then.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (as .ci/run does)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def live_server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("web"), db_url).start()
    yield server
    server.stop()


@dataclass
class Browsing:
    """Pages of one test; every page's console errors and page errors are collected, and the
    test fails at its end if there are any."""

    browser: Browser
    base_url: str
    errors: list[str] = field(default_factory=list)
    _contexts: list[Any] = field(default_factory=list)
    _refusals: set[str] = field(default_factory=set)  # documents expected to answer 4xx

    def open(
        self,
        path: str,
        *,
        width: int = DESKTOP,
        scheme: Scheme = "light",
        status: int = 200,
        cookies: dict[str, str] | None = None,
    ) -> Page:
        """``path`` in a new browser context; ``status`` is the answer the test expects (Chromium
        logs a console error for a document answered 4xx, which only then is not a failure);
        ``cookies`` are set first (a signed-in session: ``tests.web.signed_in``)."""
        context = self.browser.new_context(
            base_url=self.base_url,
            viewport={"width": width, "height": 844 if width == PHONE else 900},
            color_scheme=scheme,
            device_scale_factor=2 if width == PHONE else 1,
        )
        self._contexts.append(context)
        if cookies:
            context.add_cookies([{"name": k, "value": v, "url": self.base_url} for k, v in cookies.items()])
        page = context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        if status >= 400:
            self._refusals.add(self.base_url + path)
        response = page.goto(path)
        assert response is not None and response.status == status, (
            f"{path} answered {response and response.status}"
        )
        return page

    def _console(self, message: ConsoleMessage) -> None:
        expected = (
            message.text.startswith("Failed to load resource") and message.location["url"] in self._refusals
        )
        if message.type == "error" and not expected:
            self.errors.append(f"console error: {message.text} at {message.location}")

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture
def browsing(browser: Browser, live_server: LiveServer) -> Iterator[Browsing]:
    session = Browsing(browser, live_server.url)
    yield session
    session.close()
    assert session.errors == [], "the browser reported errors:\n" + "\n".join(session.errors)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2 A/AA rules and
    axe's best practices)."""
    page.add_script_tag(path=str(AXE))
    results: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["html"] for n in v["nodes"]]}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def assert_axe_clean(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe-core found serious or critical violations: {violations}"


def assert_no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    viewport = page.evaluate("() => window.innerWidth")
    assert width <= viewport, f"the page scrolls sideways: {width}px wide in a {viewport}px window"


def background_is_dark(page: Page) -> bool:
    """Whether the page's body background is dark (luminance of its computed colour)."""
    rgb = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(part) for part in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue < 80


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot, in ``TOCSIN_SCREENSHOTS`` when set (to look at), else beside the test's
    temporary files."""
    folder = Path(os.environ.get("TOCSIN_SCREENSHOTS", "/tmp/tocsin-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
