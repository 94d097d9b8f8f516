"""Every route that takes an object id answers 404 to a user of another collective.

The test walks the whole URL map: a new route whose argument no factory in tests/factories can
provide fails here, and so does one that forgets its scope check.
"""

from __future__ import annotations

import pytest

from app.audit import trail
from app.extensions import db
from tests.conftest import token_for
from tests.factories import make_world

# Arguments that do not name an object of a collective, with the reason.
NOT_OBJECTS = {
    "code": "language code of the language switch",
    "filename": "static files",
}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _rules(app):
    return sorted(
        (r for r in app.url_map.iter_rules() if r.arguments - set(NOT_OBJECTS)),
        key=lambda r: r.rule,
    )


@pytest.fixture
def world_b(app, baseline):
    with app.app_context(), trail.acting(trail.AuditContext(actor="factory", role="system")):
        values = make_world(baseline.collective_b)
        db.session.commit()
    return values


@pytest.mark.authz
def test_every_object_route_is_404_for_another_collective(app, client, auth, world_b):
    token = token_for(app, "admin_a")
    auth.login("admin_a")
    failures = []
    checked = 0
    for rule in _rules(app):
        missing = rule.arguments - set(world_b) - set(NOT_OBJECTS)
        if missing:
            failures.append(f"{rule.rule}: no factory provides {sorted(missing)}")
            continue
        url = rule.build({k: world_b[k] for k in rule.arguments}, append_unknown=False)[1]
        for method in sorted(set(rule.methods) & set(METHODS)):
            headers = (
                {"Authorization": f"Bearer {token}"} if rule.endpoint.startswith("api.") else {}
            )
            r = client.open(
                url, method=method, headers=headers, json={} if method != "GET" else None
            )
            checked += 1
            if r.status_code != 404:
                failures.append(
                    f"{method} {url} ({rule.endpoint}) -> {r.status_code}, expected 404"
                )
    assert not failures, "\n".join(failures)
    assert checked >= 1


@pytest.mark.hostile
def test_ids_beyond_the_database_integer_are_404_not_500(app, client, auth):
    auth.login("bureau")
    failures = []
    for rule in _rules(app):
        if rule.endpoint.startswith("api.") or "GET" not in rule.methods:
            continue
        values = {a: 2**31 for a in rule.arguments}
        if set(values) & set(NOT_OBJECTS):
            continue
        url = f"{rule.rule}"
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", str(2**31)).replace(f"<{arg}>", str(2**31))
        r = client.get(url)
        if r.status_code != 404:
            failures.append(f"{url} -> {r.status_code}")
    assert not failures, failures


def _object_urls(app, world: dict) -> set[str]:
    """The URL of every object of ``world`` that some route shows."""
    urls = set()
    for rule in _rules(app):
        if "GET" not in rule.methods or rule.arguments - set(world):
            continue
        urls.add(rule.build({k: world[k] for k in rule.arguments}, append_unknown=False)[1])
    return urls


def _collective_ids(value) -> set:
    """Every value of a "collective_id" key anywhere in a JSON answer."""
    found = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "collective_id" and isinstance(item, int):
                found.add(item)
            found |= _collective_ids(item)
    elif isinstance(value, list):
        for item in value:
            found |= _collective_ids(item)
    return found


@pytest.mark.authz
def test_every_list_shows_nothing_of_another_collective(app, client, auth, baseline, world_b):
    """Lists (routes without an object in the URL) filter by the reader's reach: an
    administrator of collective A finds no object of collective B in any page or API list,
    also when the list is asked for collective B by name."""
    token = token_for(app, "admin_a")
    auth.login("admin_a")
    b_urls = _object_urls(app, world_b)
    assert len(b_urls) > 20
    lists = [
        r
        for r in app.url_map.iter_rules()
        if "GET" in r.methods and not r.arguments and r.endpoint not in ("static",)
    ]
    failures = []
    checked = 0
    for rule in lists:
        api = rule.endpoint.startswith("api.")
        headers = {"Authorization": f"Bearer {token}"} if api else {}
        for query in ({}, {"collective_id": baseline.collective_b}):
            r = client.get(rule.rule, headers=headers, query_string=query)
            checked += 1
            if r.status_code in (404, 422) and query:
                continue  # asking for another collective by name: not found
            if r.status_code >= 300:
                continue  # redirects (logout, language) and refusals show nothing
            if api and r.is_json:
                leaked = _collective_ids(r.get_json()) & {baseline.collective_b}
                if leaked:
                    failures.append(f"{rule.rule}?{query}: an item of collective B")
            elif r.mimetype == "text/html":
                page = r.get_data(as_text=True)
                shown = sorted(u for u in b_urls if f'href="{u}"' in page)
                if shown:
                    failures.append(f"{rule.rule}?{query}: links to {shown[:3]}")
    assert checked > 20
    assert not failures, "\n".join(failures)
