"""The OpenAPI 3.1 document of /api/v1, assembled from each API module's OPENAPI_PATHS.

A test compares it with the URL map, so a route without a description (or a description of a
route that is gone) fails the suite.
"""

from __future__ import annotations

import importlib
import pkgutil

from flask import jsonify

import app.api as api_package
from app.api import bp

ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string", "description": "In the caller's language"},
                "field": {"type": "string"},
                "rule": {"type": "string", "description": "Rule id of DOMAIN.md, e.g. R07"},
            },
        }
    },
}


#: Every operation may refuse a request; the answer is always the Error object, in the caller's
#: language (Accept-Language: en or zh). Added where an operation does not name the code itself.
REFUSALS = {
    "4XX": {
        "description": "Refused: unreadable input (400), no or a wrong token (401), not found "
        "or outside the caller's reach (404), wrong method (405), too large (413), "
        "not accepted (422), too many requests (429)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
}


def document() -> dict:
    paths: dict[str, dict] = {}
    for info in pkgutil.iter_modules(api_package.__path__):
        module = importlib.import_module(f"app.api.{info.name}")
        for path, operations in getattr(module, "OPENAPI_PATHS", {}).items():
            paths.setdefault(path, {}).update(operations)
    for operations in paths.values():
        for operation in operations.values():
            operation["responses"] = {**operation.get("responses", {}), **REFUSALS}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sanquan registry API",
            "version": "1",
            "description": "County registry of rural households' three rights. Bearer tokens only. "
            "Exact decimals (shares) are answered as JSON strings with their fixed number of "
            'places ("12.5000"), never as floats; send them as strings to keep every digit.',
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR},
        },
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
