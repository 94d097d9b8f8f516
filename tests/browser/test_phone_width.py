"""Every page of every demo role fits a 390-pixel-wide phone: no sideways scrolling.

For each demo login the crawl starts on the landing page and follows, breadth-first, every
same-origin link (GET) a browser would, at most one URL of each shape (the path with its numbers
replaced, and its query's keys), skipping logout, the language switch and downloads. Each page
is laid out by Chromium at 390x844 and must be no wider than the screen; every page that is, is
reported with the width it needs and the widest thing on it.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

from app.demo.seed import USERS
from tests.browser.conftest import too_wide

MAX_PAGES = 100  # per role: the widest walk (a village administrator) opens about 66
SKIP = re.compile(r"^/(logout|lang/|static/|api/)|\.(xlsx|csv|pdf|json|zip|svg|png)$|[?&]format=")

# (an <a> inside an SVG map has no string .href: its attribute, resolved against the page)
LINKS = """() => Array.from(document.querySelectorAll('a[href]'),
  a => new URL(a.getAttribute('href'), document.baseURI).href)"""

pytestmark = pytest.mark.browser


def _shape(path_and_query: str) -> str:
    path, _, query = path_and_query.partition("?")
    keys = sorted({k.split("=")[0] for k in query.split("&") if k})
    return re.sub(r"\d+", "N", path) + ("?" + "&".join(keys) if keys else "")


def crawl(page, origin: str) -> tuple[list[str], int]:
    """Open every page reachable from the current one (bounded); return the too-wide ones."""
    start = urlsplit(page.url)
    first = start.path + ("?" + start.query if start.query else "")
    shapes = {_shape(first)}
    queue = deque([first])
    wide: list[str] = []
    opened = 0
    while queue and opened < MAX_PAGES:
        url = queue.popleft()
        try:
            response = page.goto(url)
        except PlaywrightError as e:  # a link that downloads a file is not a page
            if "Download is starting" in str(e):
                continue
            raise
        opened += 1
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        problem = too_wide(page)
        if problem:
            wide.append(f"{url}: {problem}")
        for href in page.evaluate(LINKS):
            parts = urlsplit(href)
            if f"{parts.scheme}://{parts.netloc}" != origin:
                continue
            link = parts.path + ("?" + parts.query if parts.query else "")
            if SKIP.search(link):
                continue
            shape = _shape(link)
            if shape in shapes:
                continue
            shapes.add(shape)
            queue.append(link)
    return wide, opened


@pytest.mark.parametrize("username", [u[0] for u in USERS])
def test_every_page_of_a_demo_role_fits_a_390px_phone(login, fresh_demo_server, username):
    page = login(username)
    wide, opened = crawl(page, fresh_demo_server)
    assert opened >= 1
    assert not wide, f"{len(wide)} of {opened} pages scroll sideways at 390 px:\n" + "\n".join(wide)
