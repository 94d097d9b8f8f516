"""Every link on every page, for every demo role, leads somewhere: no 404, no 500.

The demo county is seeded with the real `flask demo seed` code path. For each demo login the
walk starts at the landing page and follows, breadth-first, every link inside the app (the href
of each <a>, the target of each GET form with its default values). To stay bounded, at most a few
URLs of each shape (the path with its numbers replaced) are opened; that still reaches every kind
of page a role can get to. A bad link is reported with the page it was on.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import pytest

from app.demo.seed import PASSWORD, USERS
from tests.conftest import demo_county_app

PER_SHAPE = 3  # URLs opened per path shape (e.g. /plots/N)
MAX_PAGES = 400  # per role: a guard against a walk that never ends
# Links that end the session or change what the walk sees, not pages.
SKIP = re.compile(r"^/(logout|lang/)")


# Words a Chinese page must not show its reader (item 10: plain Chinese): stored codes of terrain,
# share types, import kinds and audit actions, file media types, command-line flags, rule ids.
RAW = re.compile(
    r"\b(hill|plain|mountain|population|parcels|households|insert|update|delete|"
    r"auth\.login|application/\w+|image/\w+|text/\w+|R\d{1,2})\b|--crs"
)
# …and what a farmer must not see either: the NY/T 2539 field codes staff labels carry.
FIELD_CODES = re.compile(r"\b(CBHTBM|CBJYQZBM|CBFBM|FBFBM|DKBM|DKLB|TDLYLX|HTZMJ|SCMJ)\b")
VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _Links(HTMLParser):
    """The hrefs of <a>, the URLs of GET forms (with their fields' default values), and the
    text a reader sees (outside scripts, styles and elements marked as codes for staff)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.text: list[str] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._hidden: list[bool] = []  # one per open element: is its text a code / not shown

    def handle_data(self, data: str) -> None:
        if not any(self._hidden):
            self.text.append(data)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag not in VOID:
            classes = (a.get("class") or "").split()
            self._hidden.append(tag in ("script", "style", "title") or "code" in classes)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form" and (a.get("method") or "get").lower() == "get":
            self._form = {"action": a.get("action") or "", "fields": {}}
        elif self._form is not None and tag in ("input", "select") and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if tag == "select":
                self._select = a["name"]
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form["fields"].setdefault(a["name"], a.get("value") or "on")
            elif kind not in ("submit", "button", "file"):
                self._form["fields"].setdefault(a["name"], a.get("value") or "")
        elif self._form is not None and tag == "option" and self._select:
            fields = self._form["fields"]
            if self._select not in fields or "selected" in a:
                fields[self._select] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self._hidden:
            self._hidden.pop()
        if tag == "select":
            self._select = None
        elif tag == "form" and self._form is not None:
            query = urlencode(self._form["fields"])
            self.links.append(self._form["action"].split("?")[0] + ("?" + query if query else ""))
            self._form = None


def _links(
    base: str, html: str, raw: list[str] | None = None, patterns: tuple = (RAW,)
) -> list[str]:
    parser = _Links()
    parser.feed(html)
    if raw is not None:
        shown = " ".join(parser.text)
        raw.extend(m.group(0) for pattern in patterns for m in pattern.finditer(shown))
    found = []
    for href in parser.links:
        if href.startswith(("mailto:", "tel:", "javascript:", "#")):
            continue
        url = urlsplit(urljoin("http://localhost" + base, href))
        if url.netloc != "localhost":
            continue
        found.append(url.path + ("?" + url.query if url.query else ""))
    return found


def _shape(url: str) -> str:
    path, _, query = url.partition("?")
    keys = sorted(k.split("=")[0] for k in query.split("&") if k)
    return re.sub(r"\d+", "N", path) + ("?" + "&".join(keys) if keys else "")


def walk(client, start: str = "/", patterns: tuple = (RAW,)) -> tuple[list, list, int]:
    """Breadth-first walk; returns bad links as (url, status, found on), pages showing raw
    codes as (url, words), and the number of pages opened."""
    seen = {start}
    shapes: Counter = Counter()
    queue = deque([(start, "(landing)")])
    bad: list[tuple[str, int, str]] = []
    unplain: list[tuple[str, list[str]]] = []
    opened = 0
    while queue and opened < MAX_PAGES:
        url, found_on = queue.popleft()
        response = client.get(url, follow_redirects=True)
        opened += 1
        if response.status_code in (404, 405) or response.status_code >= 500:
            bad.append((url, response.status_code, found_on))
            continue
        if response.mimetype != "text/html":
            continue
        here = response.request.path
        if response.request.query_string:
            here += "?" + response.request.query_string.decode()
        raw: list[str] = []
        for link in _links(here, response.get_data(as_text=True), raw, patterns):
            if link in seen or SKIP.match(link) or link.startswith("/static/"):
                continue
            seen.add(link)
            shape = _shape(link)
            if shapes[shape] >= PER_SHAPE:
                continue
            shapes[shape] += 1
            queue.append((link, here))
        if raw:
            unplain.append((here, sorted(set(raw))))
    return bad, unplain, opened


@pytest.fixture(scope="module")
def fresh_demo_walk(demo_template, tmp_path_factory):
    """The demo county as `./dev.sh serve` seeds it on first start (its own copy)."""
    with demo_county_app(demo_template, tmp_path_factory) as application:
        yield application


@pytest.mark.parametrize("username", [u[0] for u in USERS])
def test_every_link_a_demo_role_sees_opens(fresh_demo_walk, username):
    client = fresh_demo_walk.test_client()
    r = client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 302
    patterns = (RAW, FIELD_CODES) if username == "farmer" else (RAW,)
    bad, unplain, opened = walk(client, patterns=patterns)
    assert opened > 1 or username == "hukou"
    assert not bad, "\n".join(f"{status} {url}  (linked from {on})" for url, status, on in bad)
    assert not unplain, "\n".join(f"{url}: {', '.join(words)}" for url, words in unplain)
