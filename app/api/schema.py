"""One declaration per endpoint: what it takes, what it answers, who may call it.

Every API view is declared with :func:`operation`, naming pydantic models for its JSON body and
its query string and for each answer it gives. The same declaration

* parses and validates the request (strict JSON types: a number is not text, a date is
  ``YYYY-MM-DD``, unknown keys are refused) and hands the view typed objects;
* turns pydantic's complaint into the API's one error shape, in the caller's language
  (:func:`refusal`);
* documents the operation: :func:`document` builds ``/api/v1/openapi.json`` from the URL map
  and these declarations, and the test suite validates every answer the API gives against it,
  so the document cannot drift from what the code does.

Why pydantic with our own small decorator rather than spectree or flask-openapi3: the API keeps
its hardened JSON reader (``app.core.inputs.parse_json``), its error envelope and translated
messages, its 404-for-out-of-scope rule and its one document; those libraries would bring a
second error format and document route to override. The schemas themselves come from pydantic.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Flask, current_app, request
from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.json_schema import models_json_schema

from app.core.errors import DomainError
from app.core.inputs import parse_json

METHODS = ("get", "post", "put", "patch", "delete")
REF = "#/components/schemas/{model}"


class Body(BaseModel):
    """A request body: JSON types as written (strict), unknown keys refused."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Query(BaseModel):
    """A query string: values arrive as text and are converted; unknown arguments are ignored
    (browsers and proxies add their own)."""

    model_config = ConfigDict(extra="ignore")


class Form(Query):
    """The text fields of a multipart form (an upload): values arrive as text and are converted;
    the file parts are the view's (``request.files``)."""


class Answer(BaseModel):
    """An answer's shape, for the document and the tests: no key it does not name."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Operation:
    summary: str
    description: str | None = None
    body: type[BaseModel] | None = None
    body_optional: bool = False
    query: type[BaseModel] | None = None
    answers: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    refusals: dict[int, str] = field(default_factory=dict)
    public: bool = False
    content: str | tuple[str, ...] = "application/json"
    target: Callable[..., Any] | None = None
    form: type[BaseModel] | None = None
    files: tuple[str, ...] = ()


def operation(
    summary: str,
    *,
    answer: type[BaseModel] | None = None,
    status: int = 200,
    body: type[BaseModel] | None = None,
    body_optional: bool = False,
    query: type[BaseModel] | None = None,
    refusals: dict[int, str] | None = None,
    description: str | None = None,
    public: bool = False,
    content: str | tuple[str, ...] = "application/json",
    target: Callable[..., Any] | None = None,
    form: type[BaseModel] | None = None,
    files: tuple[str, ...] = (),
) -> Callable:
    """Declare an API view. The view receives ``body=`` and ``query=`` as validated models.

    ``answer`` is the model of the success answer given with ``status``; ``refusals`` names the
    4xx answers the operation gives for its own reasons (every operation may also give the
    generic ones, see :data:`GENERIC_REFUSAL`). ``content`` is the media type of a non-JSON
    success answer (a file), which then has no model.

    ``content`` may name several media types for a file answer (a download of PDF, JPEG or
    PNG). ``form`` declares a multipart upload: its text fields as a model (converted from
    text, like a query) handed to the view as ``form=``, and ``files`` names its file parts.

    ``target`` loads the object the URL names (called with the URL's arguments, it answers 404
    for what is out of the caller's reach) BEFORE the body is read, and hands it to the view as
    ``target=``: another collective's object is a 404 whatever the body says.
    """
    op = Operation(
        summary=summary,
        description=description,
        body=body,
        body_optional=body_optional,
        query=query,
        answers={status: answer},
        refusals=dict(refusals or {}),
        public=public,
        content=content,
        target=target,
        form=form,
        files=tuple(files),
    )

    def decorator(view: Callable) -> Callable:
        wants_target = "target" in inspect.signature(view).parameters

        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if op.target is not None:
                found = op.target(**kwargs)  # only the URL's arguments so far
                if wants_target:
                    kwargs["target"] = found
            if op.form is not None:
                kwargs["form"] = parse_form(op.form)
            if op.query is not None:
                kwargs["query"] = parse_query(op.query)
            if op.body is not None:
                kwargs["body"] = parse_body(op.body, optional=op.body_optional)
            return view(*args, **kwargs)

        wrapped.api_operation = op  # type: ignore[attr-defined]
        return wrapped

    return decorator


# --- parsing -------------------------------------------------------------------------------


def parse_body(model: type[BaseModel], *, optional: bool = False) -> Any:
    """The request's JSON body as ``model``, or a DomainError in the caller's language."""
    data = request.get_data(cache=True)
    if not data.strip():
        if not optional:
            raise DomainError("body", _("Send a JSON object as the request body."))
        data = b"{}"
    parsed = parse_json(data)  # finite numbers, bounded nesting, storable text
    if not isinstance(parsed, dict):
        raise DomainError("body", _("Send a JSON object as the request body."))
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise refusal(exc, where="body") from None


def parse_form(model: type[BaseModel]) -> Any:
    """A multipart form's text fields as ``model`` (the file parts are the view's)."""
    try:
        return model.model_validate(request.form.to_dict(flat=True))
    except ValidationError as exc:
        raise refusal(exc, where="body") from None


def parse_query(model: type[BaseModel]) -> Any:
    """The query string as ``model`` (the last value of a repeated argument wins)."""
    try:
        return model.model_validate(request.args.to_dict(flat=True))
    except ValidationError as exc:
        raise refusal(exc, where="query") from None


#: What pydantic adds to an error's location when a field accepts several types ("shares.str").
_UNION_TAGS = {"str", "int", "float", "bool", "decimal", "none", "list", "dict", "date"}


def refusal(exc: ValidationError, *, where: str) -> DomainError:
    """The first complaint of pydantic as the API's error, named by field, in plain words."""
    error = exc.errors(include_url=False)[0]
    loc = [
        str(part)
        for part in error.get("loc", ())
        if not isinstance(part, int) and str(part) not in _UNION_TAGS and "[" not in str(part)
    ]
    name = ".".join(loc) or where
    kind = error["type"]
    ctx = error.get("ctx") or {}
    code = "query" if where == "query" else "body"
    if kind == "missing":
        return DomainError("required", _("%(name)s is required.", name=name), field=name)
    if kind == "extra_forbidden":
        message = _("%(name)s is not a field of this request.", name=name)
    elif kind in ("int_type", "int_parsing", "int_from_float"):
        message = _("%(name)s must be a whole number.", name=name)
    elif kind == "id_unknown":
        return DomainError("unknown", _("No object has the %(name)s given.", name=name), field=name)
    elif kind in ("string_type", "string_unicode"):
        message = _("%(name)s must be text.", name=name)
    elif kind == "string_too_long":
        return DomainError(
            "too_long",
            _(
                "%(name)s may have at most %(n)s characters.",
                name=name,
                n=ctx.get("max_length"),
            ),
            field=name,
        )
    elif kind in ("bool_type", "bool_parsing"):
        message = _("%(name)s must be true or false.", name=name)
    elif kind.startswith("date") or kind.startswith("datetime"):
        return DomainError("date", _("Give the date as YYYY-MM-DD."), field=name)
    elif kind.startswith("decimal") or kind in ("float_type", "float_parsing", "finite_number"):
        message = _("%(name)s must be a number.", name=name)
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        message = _("%(name)s is out of range.", name=name)
    elif kind in ("literal_error", "enum"):
        choices = ctx.get("expected", "")
        message = _("%(name)s must be one of %(choices)s.", name=name, choices=choices)
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        message = _("%(name)s must be an object.", name=name)
    elif kind in ("list_type", "tuple_type", "set_type"):
        message = _("%(name)s must be a list.", name=name)
    elif kind in ("too_short", "too_long"):
        message = _("%(name)s has the wrong number of items.", name=name)
    elif kind == "value_error" and error.get("msg"):
        # Our own validators raise ValueError with a translated sentence.
        message = str(ctx.get("error") or error["msg"])
    else:
        message = _("%(name)s is not valid.", name=name)
    return DomainError(code, message, field=name)


# --- the document --------------------------------------------------------------------------

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
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
            "additionalProperties": False,
        }
    },
    "additionalProperties": False,
}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

#: Every operation may refuse a request for these reasons; the answer is the Error object.
GENERIC_REFUSAL = {
    "description": "Refused: unreadable input (400), no or a wrong token (401), not found "
    "or outside the caller's reach (404), wrong method (405), too large (413), "
    "not accepted (422), too many requests (429)",
    "content": _ERROR,
}

_PATH_PARAM = re.compile(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def _openapi_path(rule: str, prefix: str) -> tuple[str, list[dict]]:
    params = []
    for converter, name in _PATH_PARAM.findall(rule):
        schema: dict[str, Any] = {"type": "string"}
        if converter in ("int", "id"):
            schema = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _PATH_PARAM.sub(r"{\2}", rule[len(prefix) :]), params


def _query_params(model: type[BaseModel], defs: dict) -> list[dict]:
    schema = model.model_json_schema(ref_template=REF)
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            param["description"] = prop.pop("description")
        prop.pop("title", None)
        param["schema"] = prop
        out.append(param)
    return out


_FILE = {"type": "string", "format": "binary"}


def _form_schema(fields_ref: str, files: tuple[str, ...]) -> dict:
    """A multipart body: the form model's text fields and the file parts."""
    if not files:
        return {"$ref": fields_ref}
    return {
        "allOf": [
            {"$ref": fields_ref},
            {
                "type": "object",
                "required": [name for name in files if name == "file"],
                "properties": {name: _FILE for name in files},
            },
        ]
    }


def operations(app: Flask, blueprint: str = "api") -> list[tuple[str, str, str, Operation]]:
    """Every (path rule, method, endpoint, declaration) of the blueprint's routes; a route
    without a declaration is an error (the document must name every operation)."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(blueprint + "."):
            continue
        view = app.view_functions[rule.endpoint]
        op = getattr(view, "api_operation", None)
        if op is None:
            raise LookupError(f"API route {rule.rule} ({rule.endpoint}) has no @operation")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule.rule, method.lower(), rule.endpoint, op))
    return out


def document(app: Flask | None = None, *, prefix: str = "/api/v1", info: dict) -> dict:
    """The OpenAPI 3.1 document of every declared operation of the API blueprint."""
    app = app or current_app
    models: set[type[BaseModel]] = set()
    for _rule, _method, _endpoint, op in operations(app):
        models.update(m for m in (op.body, op.form, *op.answers.values()) if m is not None)
    refs, top = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__qualname__)],
        ref_template=REF,
    )

    def ref(model: type[BaseModel]) -> str:
        return refs[(model, "validation")]["$ref"]

    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA, **top.get("$defs", {})}
    paths: dict[str, dict] = {}
    for rule, method, endpoint, op in operations(app):
        path, params = _openapi_path(rule, prefix)
        if op.query is not None:
            params += _query_params(op.query, schemas)
        entry: dict[str, Any] = {"operationId": endpoint.split(".", 1)[1], "summary": op.summary}
        if op.description:
            entry["description"] = op.description
        if params:
            entry["parameters"] = params
        if op.public:
            entry["security"] = []
        if op.form is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {
                    "multipart/form-data": {"schema": _form_schema(ref(op.form), op.files)}
                },
            }
        if op.body is not None:
            entry["requestBody"] = {
                "required": not op.body_optional,
                "content": {"application/json": {"schema": {"$ref": ref(op.body)}}},
            }
        responses: dict[str, Any] = {}
        for status, model in op.answers.items():
            answer: dict[str, Any] = {"description": (model.__doc__ or "OK").strip().split("\n")[0]}
            media = (op.content,) if isinstance(op.content, str) else op.content
            if model is not None:
                answer["content"] = {m: {"schema": {"$ref": ref(model)}} for m in media}
            elif media != ("application/json",):
                answer["content"] = {m: {"schema": _FILE} for m in media}
            responses[str(status)] = answer
        for status, why in sorted(op.refusals.items()):
            responses[str(status)] = {"description": why, "content": _ERROR}
        responses["4XX"] = GENERIC_REFUSAL
        entry["responses"] = responses
        paths.setdefault(path, {})[method] = entry
    return {
        "openapi": "3.1.0",
        "info": info,
        "servers": [{"url": prefix}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": dict(sorted(schemas.items())),
        },
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
    }
