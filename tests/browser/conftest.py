"""A real browser on the real app: the demo county served over HTTP, Debian's Chromium driven by
Playwright (marker ``browser``).

The app runs in a thread of the test process (werkzeug's threaded server) on a database of its
own, migrated and seeded with `flask demo seed` as `./dev.sh serve` does on first start, with CSRF
protection on as in production. Playwright drives the Chromium that Debian installs
(/usr/bin/chromium, `./dev.sh test` installs it): no browser is downloaded.

``login(username, phone=True)`` opens a new browser context (its own cookies) at a 390x844
viewport (a phone) or a desktop one, logs the demo user in through the login form and returns
the page, on the user's landing page. Screenshots go to tests/artifacts/ (kept by CI).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.demo.seed import PASSWORD
from tests.conftest import demo_county_app

CHROMIUM = os.environ.get("SANQUAN_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture(scope="session")
def fresh_demo_server(demo_template, tmp_path_factory) -> Iterator[str]:
    """The seeded demo county (its own copy) served on 127.0.0.1 (a free port); yields its base
    URL."""
    with demo_county_app(demo_template, tmp_path_factory, WTF_CSRF_ENABLED=True) as application:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
        server = make_server("127.0.0.1", 0, application, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="sanquan-browser", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(10)


@pytest.fixture(scope="session")
def fresh_browser():
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def login(fresh_demo_server, fresh_browser) -> Iterator[Callable]:
    """``login(username, phone=True)``: a page logged in as that demo user, on its landing page."""
    contexts = []

    def _login(username: str, phone: bool = True):
        context = fresh_browser.new_context(
            base_url=fresh_demo_server,
            viewport=PHONE if phone else DESKTOP,
            has_touch=phone,
            device_scale_factor=1,
            locale="zh-CN",
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("form button[type=submit]")
        assert "/login" not in page.url, f"{username} could not log in"
        return page

    yield _login
    for context in contexts:
        context.close()


# The page's width against the window's and, when it is wider, what sticks out: each element
# reaching past the right edge whose parent does not (so the cause, not all its ancestors), and
# not inside a box that scrolls or clips by itself.
MEASURE = """() => {
  const width = window.innerWidth;
  const doc = document.documentElement.scrollWidth;
  const out = [];
  const sticksOut = el => el.getBoundingClientRect().right > width + 1;
  const clipped = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  };
  if (doc > width) {
    for (const el of document.body.querySelectorAll('*')) {
      if (!sticksOut(el) || el.getBoundingClientRect().width === 0) continue;
      if (el.parentElement !== document.body && sticksOut(el.parentElement)) continue;
      if (clipped(el)) continue;
      const cls = typeof el.className === 'string' && el.className.trim()
        ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
      const text = (el.textContent || '').trim().slice(0, 30);
      const right = Math.round(el.getBoundingClientRect().right);
      out.push(`${el.tagName.toLowerCase()}${cls} to ${right}px "${text}"`);
    }
  }
  return {width, doc, out: out.slice(0, 4)};
}"""


def too_wide(page) -> str | None:
    """None if the page fits its window; else how wide it is and what sticks out."""
    m = page.evaluate(MEASURE)
    if m["doc"] <= m["width"]:
        return None
    return f"{m['doc']}px wide in a {m['width']}px window ({'; '.join(m['out'])})"


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot of ``page`` as tests/artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
