"""Every answer the API gives in the suite is checked against /api/v1/openapi.json.

``ContractClient`` is the test client of every app the suite makes: after each request to the
API it finds the operation in the document (by the URL rule that served it), the answer
documented for the status (or the generic 4XX), and validates the JSON body against that
schema, which names every key (``additionalProperties: false``). A key the document does not
name, a missing one, a wrong type or an undocumented status fails the test that made the
request, so the document cannot drift from the code.
"""

from __future__ import annotations

import re

import jsonschema_rs
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException

PREFIX = "/api/v1"
_PARAM = re.compile(r"<(?:[a-z]+(?:\([^)]*\))?:)?([A-Za-z_][A-Za-z0-9_]*)>")


class ContractViolation(AssertionError):
    pass


def _contract(app: Flask) -> dict:
    cached = app.extensions.get("test_api_contract")
    if cached is None:
        with app.test_request_context():
            from app.api.openapi import INFO
            from app.api.schema import document

            doc = document(app, info=INFO)
        cached = {"doc": doc, "validators": {}}
        app.extensions["test_api_contract"] = cached
    return cached


def check_answer(app: Flask, method: str, path: str, response) -> None:
    """Raise ContractViolation if ``response`` is not what the document says for the request."""
    if not path.startswith(PREFIX + "/"):
        return
    adapter = app.url_map.bind("localhost")
    try:
        rule, _args = adapter.match(path, method=method, return_rule=True)
    except HTTPException:  # no such route (404) or method (405): werkzeug's generic refusal
        return
    contract = _contract(app)
    doc_path = _PARAM.sub(r"{\1}", rule.rule[len(PREFIX) :])
    operation = contract["doc"]["paths"][doc_path][method.lower()]
    status = str(response.status_code)
    documented = operation["responses"].get(status)
    if documented is None and response.status_code >= 400 and response.status_code < 500:
        documented = operation["responses"].get("4XX")
    where = f"{method} {path} -> {status}"
    if documented is None:
        raise ContractViolation(f"{where}: status not in the document")
    content = documented.get("content") or {}
    mimetype = response.mimetype
    if response.status_code in (204, 304):
        return
    if mimetype not in content:
        raise ContractViolation(f"{where}: {mimetype} not documented ({sorted(content)})")
    schema = content[mimetype].get("schema")
    if schema is None or mimetype != "application/json":
        return
    key = (doc_path, method, status, mimetype)
    validator = contract["validators"].get(key)
    if validator is None:
        root = {**schema, "components": contract["doc"]["components"]}
        validator = jsonschema_rs.Draft202012Validator(root)
        contract["validators"][key] = validator
    errors = [str(e) for e in validator.iter_errors(response.get_json())]
    if errors:
        raise ContractViolation(f"{where}: answer not as documented: {errors[:3]}")


class ContractClient(FlaskClient):
    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        request = response.request
        if request is not None:
            check_answer(self.application, request.method, request.path, response)
        return response
