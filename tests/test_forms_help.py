"""Forms that help (issue 15, item 6): every form a demo role can reach is usable with a screen
reader and a keyboard, never asks for an internal id, carries its CSRF token, and chooses land
use and land class by name; a refused form keeps what was typed and says what is wrong beside
the field; every action that succeeds says so.

The crawl seeds the demo county (as `./dev.sh serve` does, with CSRF on) and, for each demo login,
opens with the test client every same-origin page reachable from the landing page (a few URLs of
each shape), then reads every <form method=post> on it.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from app.demo.seed import PASSWORD, USERS
from app.extensions import db
from tests.conftest import demo_county_app

PER_SHAPE = 2  # URLs opened per path shape (e.g. /plots/N)
MAX_PAGES = 300  # per role: a guard against a walk that never ends
SKIP = re.compile(r"^/(logout|lang/|static/|api/)|\.(xlsx|csv|pdf|json|zip|svg|png)$|[?&]format=")
VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
NOT_TYPED = {"hidden", "submit", "button", "reset", "image"}
TYPED = {"text", "number", "search", "tel", ""}
# A field that names an internal record: its number must be picked, never typed.
INTERNAL_ID = re.compile(r"(^|_)u?id$", re.IGNORECASE)
LAND_WORDS = re.compile(r"土地用途|土地利用类型|地力等级|地类|地块类别|land use|land class", re.I)
LAND_NAMES = re.compile(r"(^|_)(land_(use|class|type)|use)$")


class _Forms(HTMLParser):
    """The post forms of a page: their fields (with what names them), their CSRF token, and
    the page's links and GET forms (for the crawl)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[dict] = []
        self.label_for: dict[str, str] = {}  # id -> the text of its <label for=…>
        self.ids: set[str] = set()
        self._form: dict | None = None
        self._labels: list[dict] = []  # open <label>s: their text and the fields inside
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None
        self._hidden: list[list] = []  # open elements marked hidden: [tag, depth]

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if a.get("id"):
            self.ids.add(a["id"])
        for h in self._hidden:
            if h[0] == tag and tag not in VOID:
                h[1] += 1
        if "hidden" in a and tag not in VOID:
            self._hidden.append([tag, 1])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            method = (a.get("method") or "get").lower()
            self._form = {"method": method, "action": a.get("action") or "", "fields": []}
            self.forms.append(self._form)
        elif tag == "label":
            self._labels.append({"for": a.get("for"), "text": [], "fields": []})
        elif tag in ("input", "select", "textarea") and self._form is not None:
            kind = (a.get("type") or ("text" if tag == "input" else tag)).lower()
            field = {
                "tag": tag,
                "type": kind,
                "name": a.get("name") or "",
                "id": a.get("id") or "",
                "value": a.get("value") or "",
                "aria": a.get("aria-label") or a.get("aria-labelledby") or "",
                "invalid": a.get("aria-invalid") == "true",
                "describedby": a.get("aria-describedby") or "",
                "checked": "checked" in a,
                "multiple": "multiple" in a,
                "options": [],  # a select's: [value, selected]
                "wrapped": None,  # the text of the label around it
                "visible": kind not in NOT_TYPED and "hidden" not in a and not self._hidden,
            }
            self._form["fields"].append(field)
            if self._labels:
                self._labels[-1]["fields"].append(field)
            if tag == "select":
                self._select = field
            elif tag == "textarea":
                self._textarea = field
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": "", "selected": "selected" in a}
            self._select["options"].append(self._option)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = self._option = None
        elif tag == "option":
            self._option = None
        elif tag == "textarea":
            self._textarea = None
        for h in list(self._hidden):
            if h[0] == tag:
                h[1] -= 1
                if h[1] == 0:
                    self._hidden.remove(h)
        if tag == "form":
            self._form = None
        elif tag == "label" and self._labels:
            label = self._labels.pop()
            text = " ".join("".join(label["text"]).split())
            if label["for"]:
                self.label_for[label["for"]] = text
            for field in label["fields"]:
                field["wrapped"] = text

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea["value"] += data
        if self._option is not None:
            self._option["text"] += data
        for label in self._labels:
            label["text"].append(data)


def submitted(form: dict) -> list[tuple[str, str]]:
    """What a browser sends for the form left as it is shown."""
    out = []
    for f in form["fields"]:
        if not f["name"] or f["type"] in ("submit", "button", "reset", "image", "file"):
            continue
        if f["tag"] == "select":
            options = [(o["value"] if o["value"] is not None else o["text"]) for o in f["options"]]
            chosen = [
                o["value"] if o["value"] is not None else o["text"]
                for o in f["options"]
                if o["selected"]
            ]
            if not chosen and options and not f["multiple"]:
                chosen = options[:1]
            out.extend((f["name"], v) for v in chosen)
        elif f["type"] in ("checkbox", "radio"):
            if f["checked"]:
                out.append((f["name"], f["value"] or "on"))
        else:
            out.append((f["name"], f["value"]))
    return out


def _problems(url: str, html: str) -> list[str]:
    """What is wrong with the post forms of one page."""
    parser = _Forms()
    parser.feed(html)
    found = []
    for form in parser.forms:
        if form["method"] != "post":
            continue
        where = f"{url} (form → {form['action'] or 'itself'})"
        # (a form with a prefix names it "<prefix>-csrf_token")
        if not any(
            re.fullmatch(r"([\w-]+-)?csrf_token", f["name"]) and f["value"] for f in form["fields"]
        ):
            found.append(f"{where}: no csrf_token")
        for f in form["fields"]:
            if not f["visible"]:
                continue
            label = f["wrapped"] or parser.label_for.get(f["id"] or None)
            if not (label or f["aria"]):
                found.append(f"{where}: <{f['tag']} name={f['name']!r}> has no label")
            if f["tag"] == "input" and f["type"] in TYPED and INTERNAL_ID.search(f["name"]):
                found.append(f"{where}: {f['name']!r} is an internal id typed by hand")
            if (LAND_NAMES.search(f["name"]) or LAND_WORDS.search(label or "")) and f[
                "tag"
            ] != "select":
                found.append(f"{where}: {f['name']!r} (land use / class) is not a choice of names")
    return found


def _shape(url: str) -> str:
    path, _, query = url.partition("?")
    keys = sorted(k.split("=")[0] for k in query.split("&") if k)
    return re.sub(r"\d+", "N", path) + ("?" + "&".join(keys) if keys else "")


def crawl(client) -> tuple[list[str], int]:
    """Breadth-first from the landing page; the problems of every page with a post form, and
    the number of pages with one."""
    seen = {"/"}
    shapes: Counter = Counter()
    queue = deque(["/"])
    problems: list[str] = []
    with_forms = opened = 0
    while queue and opened < MAX_PAGES:
        url = queue.popleft()
        response = client.get(url, follow_redirects=True)
        opened += 1
        if response.mimetype != "text/html" or response.status_code != 200:
            continue
        html = response.get_data(as_text=True)
        here = response.request.path
        if response.request.query_string:
            here += "?" + response.request.query_string.decode()
        if re.search(r"<form[^>]*method=\"?post", html, re.IGNORECASE):
            with_forms += 1
            problems.extend(_problems(here, html))
        parser = _Forms()
        parser.feed(html)
        gets = [
            form["action"].split("?")[0] + "?" + urlencode(submitted(form))
            for form in parser.forms
            if form["method"] == "get"
        ]
        for href in parser.links + gets:
            parts = urlsplit(urljoin("http://localhost" + here, href))
            if parts.netloc != "localhost" or parts.scheme not in ("http", "https"):
                continue
            link = parts.path + ("?" + parts.query if parts.query else "")
            if link in seen or SKIP.search(link):
                continue
            seen.add(link)
            shape = _shape(link)
            if shapes[shape] >= PER_SHAPE:
                continue
            shapes[shape] += 1
            queue.append(link)
    return problems, with_forms


@pytest.fixture(scope="module")
def fresh_demo_forms(demo_template, tmp_path_factory):
    """The demo county as `./dev.sh serve` seeds it, CSRF protection on as in production (its
    own copy: the name starts with fresh_, so no test transaction wraps it)."""
    with demo_county_app(demo_template, tmp_path_factory, WTF_CSRF_ENABLED=True) as application:
        yield application


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no csrf_token on the page"
    return match.group(1)


def log_in(application, username: str):
    client = application.test_client()
    page = client.get("/login").get_data(as_text=True)
    r = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": _token(page)}
    )
    assert r.status_code == 302, username
    return client


@pytest.mark.parametrize("username", [u[0] for u in USERS])
def test_every_post_form_a_demo_role_sees_is_labelled_picked_and_protected(
    fresh_demo_forms, username
):
    client = log_in(fresh_demo_forms, username)
    problems, with_forms = crawl(client)
    assert with_forms >= 1  # at least the logout button
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


# --- refused forms: nothing typed is lost, the error is beside its field and named by it


def _form_posting_to(html: str, action_part: str | None) -> dict:
    parser = _Forms()
    parser.feed(html)
    posts = [f for f in parser.forms if f["method"] == "post" and f["action"] != "/logout"]
    posts = [f for f in posts if "logout" not in f["action"]]
    if action_part:
        posts = [f for f in posts if action_part in f["action"]]
    assert posts, f"no such form (→ {action_part})"
    return posts[0]


def _field(html: str, name: str) -> dict:
    parser = _Forms()
    parser.feed(html)
    for form in parser.forms:
        for f in form["fields"]:
            if f["name"] == name:
                return {**f, "ids": parser.ids, "html": html}
    raise AssertionError(f"no field {name!r} on the page")


def refuse(client, url: str, blank: str, typed: dict[str, str], action: str | None = None):
    """Open the form at ``url``, type ``typed``, leave ``blank`` empty and send it: the form
    comes back refused, with what was typed, and ``blank`` marked invalid and described by
    its error, shown on the page."""
    page = client.get(url)
    assert page.status_code == 200, url
    form = _form_posting_to(page.get_data(as_text=True), action)
    data = [(k, v) for k, v in submitted(form) if k != blank and k not in typed]
    data += [*typed.items(), (blank, "")]
    target = urljoin("http://localhost" + url, form["action"] or url)
    r = client.post(
        urlsplit(target).path + ("?" + urlsplit(target).query if urlsplit(target).query else ""),
        data=MultiDict(data),
    )
    assert r.status_code in (200, 422), (url, r.status_code)
    html = r.get_data(as_text=True)
    for name, value in typed.items():
        assert _field(html, name)["value"].strip() == value, f"{url}: {name} lost what was typed"
    field = _field(html, blank)
    assert field["invalid"], f"{url}: {blank} is not marked aria-invalid"
    described = field["describedby"].split()
    assert described and all(i in field["ids"] for i in described), (url, blank, described)
    at = html.index(f'id="{described[0]}"')
    said = re.sub(r"<[^>]*>", "", html[html.index(">", at) + 1 :][:400]).split()
    assert said, f"{url}: the error of {blank} says nothing"
    return html


def _ids(app) -> dict:
    """Things of the demo county the forms below are about."""
    from sqlalchemy import select

    from app.divisions.models import Collective
    from app.leases import services as lease_services
    from app.market.models import Listing
    from app.registry.models import Certificate, HouseholdMember, Person

    with app.app_context():
        collective = db.session.scalar(
            select(Collective.id).where(Collective.fbfbm == "44022210020501")
        )
        person = db.session.scalar(
            select(Person.uid)
            .join(HouseholdMember, HouseholdMember.person_uid == Person.uid)
            .where(Person.end_lifespan.is_(None), HouseholdMember.end_lifespan.is_(None))
            .order_by(Person.uid)
        )
        certificate = db.session.scalar(
            select(Certificate.id)
            .where(
                Certificate.collective_id == collective,
                Certificate.status == "valid",
                Certificate.right_kind == "land_contract",
            )
            .order_by(Certificate.id)
        )
        return {
            "certificate": certificate,
            "collective": collective,
            "holder": lease_services.holder_households(collective)[0][0],
            "person": person,
            "listings": list(
                db.session.scalars(
                    select(Listing.id).where(Listing.state == "published").order_by(Listing.id)
                )
            ),
        }


def test_refused_forms_keep_what_was_typed_and_say_why_beside_the_field(fresh_demo_forms):
    ids = _ids(fresh_demo_forms)
    c = ids["collective"]
    admin = log_in(fresh_demo_forms, "village_admin")
    refuse(
        admin,
        f"/collectives/{c}/households/new",
        "reason",
        {"name": "王家新户", "address": "东湖坪村12号"},
    )
    refuse(
        admin,
        f"/collectives/{c}/plots/new",
        "geometry",
        {
            "dkbm": "4402221002050199999",
            "name": "河边田",
            "east": "小河",
            "contract_area_m2": "666.7",
            "reason": "新开荒地登记",
        },
    )
    refuse(
        admin,
        f"/leases/new/{c}?household_uid={ids['holder']}",
        "rent",
        {"lessee_name": "始兴县绿野农业合作社", "lessee_contact": "13800000000"},
    )

    farmer = log_in(fresh_demo_forms, "farmer")
    refuse(farmer, "/market/new", "right", {"description": "靠河边，水源好"})

    member = log_in(fresh_demo_forms, "member")
    offered = False
    for listing in ids["listings"]:
        if member.get(f"/market/{listing}/offer").status_code == 200:
            refuse(member, f"/market/{listing}/offer", "amount", {})
            offered = True
            break
    assert offered, "no listing the member may make an offer on"

    hukou = log_in(fresh_demo_forms, "hukou")
    refuse(
        hukou,
        f"/settlement/people/{ids['person']}",
        "channel",
        {"settled_on": "2025-06-01", "city": "韶关市", "district": "浈江区"},
    )

    it = log_in(fresh_demo_forms, "itadmin")
    refuse(it, "/admin/users/new", "username", {"display_name": "张三"})


def test_a_certificate_is_reissued_citing_a_document_picked_by_title(fresh_demo_forms):
    """The certificate's actions pick their source document by title; refused, the form keeps
    its date; done, the page says so."""
    ids = _ids(fresh_demo_forms)
    url = f"/certificates/{ids['certificate']}"
    admin = log_in(fresh_demo_forms, "village_admin")
    admin.get("/lang/en")
    html = refuse(admin, url, "reissue-reason", {"reissue-on": "2026-11-30"}, action="reissue")
    picker = _field(html, "reissue-source_document_id")
    assert picker["tag"] == "select"
    titles = [o["text"] for o in picker["options"] if o["value"] not in ("0", None)]
    assert titles and all(not t.strip().isdigit() for t in titles)

    page = admin.get(url).get_data(as_text=True)
    form = _form_posting_to(page, "reissue")
    data = MultiDict(submitted(form))
    data["reissue-reason"] = "证书遗失"
    data["reissue-source_document_id"] = next(
        o["value"] for o in picker["options"] if o["value"] not in ("0", None)
    )
    r = admin.post(form["action"], data=data)
    assert r.status_code == 302
    done = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert re.search(r'class="flash ok" role="status">The certificate was re-issued\.', done)
