"""The OpenAPI document describes exactly the API's routes."""

from __future__ import annotations

import re

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _routes(app) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len("/api/v1") :])
        out |= {(path, m.lower()) for m in rule.methods & METHODS}
    return out


def test_openapi_document_matches_the_routes(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    described = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    routes = _routes(app)
    assert described - routes == set(), "described but not routed"
    assert routes - described == set(), "routed but not described"


def test_every_operation_has_a_summary_and_responses(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), f"{method} {path}"
            assert op.get("responses"), f"{method} {path}"


def test_list_endpoints_refuse_out_of_range_numbers_clearly(app, client):
    """A query number beyond a database id is a 422 with a message, never a 500."""
    from tests.conftest import token_for

    headers = {"Authorization": f"Bearer {token_for(app, 'bureau')}"}
    for path in ["/api/v1/persons", "/api/v1/households", "/api/v1/contracts", "/api/v1/plots"]:
        for bad in ["99999999999", "-1", "abc"]:
            r = client.get(f"{path}?collective_id={bad}", headers=headers)
            assert r.status_code == 422, (path, bad, r.status_code)
            assert r.get_json()["error"]["field"] == "collective_id"
