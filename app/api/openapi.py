"""The OpenAPI 3.1 document of /api/v1, built from every view's @operation declaration.

A test compares it with the URL map, and the test client validates every answer the API gives
against it (tests/conftest.py), so the document and the code cannot drift apart.
"""

from __future__ import annotations

from flask import current_app, jsonify

from app.api import bp
from app.api.schema import Answer, document, operation

INFO = {
    "title": "Sanquan registry API",
    "version": "1",
    "description": "County registry of rural households' three rights. Bearer tokens only. "
    "Exact decimals (shares) are answered as JSON strings with their fixed number of "
    'places ("12.5000"), never as floats; send them as strings to keep every digit. '
    "Request bodies are strict: numbers are JSON numbers, text is JSON text, dates are "
    '"YYYY-MM-DD", and a key the operation does not name is refused.',
}


class OpenApiDocument(Answer):
    """This document (OpenAPI 3.1)"""

    model_config = {"extra": "allow"}


@bp.get("/openapi.json")
@operation("This document", answer=OpenApiDocument, public=True)
def openapi():
    doc = current_app.extensions.get("sanquan_openapi")
    if doc is None:  # built once per app: the routes do not change while it runs
        doc = current_app.extensions["sanquan_openapi"] = document(current_app, info=INFO)
    return jsonify(doc)
