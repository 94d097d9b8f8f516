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
