"""The edge where raw request input is checked, once, before any of it reaches a service.

Every malformed value gets a clear 422 in the user's language instead of a 500 deep inside:

- text that a database cannot store (PostgreSQL refuses NUL in text) or that no person types
  (other control characters), in query strings, form fields, upload names and JSON bodies;
- numbers: ids are ASCII digits within the database INTEGER (``int()`` and ``\\d`` also accept
  Arabic-Indic or full-width digits, so ``１２`` would otherwise name object 12); JSON numbers are
  finite (no NaN or Infinity) and within ±2**53;
- JSON bodies nested deeper than any request of this API needs;
- and, as a last net, a value the database itself refuses (DataError: a number out of a column's
  range, an overlong text in a sized column) is a 422 with nothing saved, never a 500.

Pages and the API share these rules; ``app/api/core.py`` builds its body parsing on them.
"""

from __future__ import annotations

import json
import logging
import math
import re
from typing import Any

from flask import Flask, request
from flask_babel import gettext as _
from sqlalchemy.exc import DataError

from app.core.errors import DomainError
from app.core.web import _error
from app.extensions import db

log = logging.getLogger(__name__)

#: Ids are INTEGER columns: a larger number names nothing.
MAX_ID = 2**31 - 1
#: A JSON number beyond this is not a quantity of this registry (and loses precision as a float).
MAX_JSON_NUMBER = 2**53
#: No request body of this API nests deeper (a GeoJSON MultiPolygon is 5 levels inside it).
MAX_JSON_DEPTH = 32
#: Longest query-string value: searches, codes, dates and CRS names are short.
MAX_QUERY_VALUE = 1000
#: Highest page number a list goes to: any further only makes the database skip rows (and a huge
#: one would overflow OFFSET's BIGINT).
MAX_PAGE = 100_000

_ASCII_DIGITS = re.compile(r"[0-9]+")
# C0 controls and DEL, except tab, line feed and carriage return (multi-line reasons keep them).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f]")


def has_control(text: str, *, allow_newlines: bool = True) -> bool:
    """Whether ``text`` holds a character that no one types and a database may refuse."""
    pattern = _CONTROL if allow_newlines else _CONTROL_OR_NEWLINE
    return pattern.search(text) is not None


def parse_id(raw: Any) -> int | None:
    """An id written as ASCII digits within the database INTEGER, or None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 <= raw <= MAX_ID else None
    if not isinstance(raw, str) or not _ASCII_DIGITS.fullmatch(raw) or len(raw) > 10:
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def page_arg(name: str = "page") -> int:
    """A page number from the query string: 1 when absent or unusable, at most MAX_PAGE."""
    raw = request.args.get(name, "")
    if not _ASCII_DIGITS.fullmatch(raw) or len(raw) > 6:
        return 1
    return min(max(int(raw), 1), MAX_PAGE)


def id_arg(name: str, default: int | None = None) -> int | None:
    """An id from the query string (for pre-filling a form); ``default`` when unusable."""
    value = parse_id(request.args.get(name))
    return default if value is None else value


# --------------------------------------------------------------------------------------------
# JSON bodies
# --------------------------------------------------------------------------------------------


def _no_constant(name: str) -> float:
    raise DomainError("body", _("Numbers must be finite: NaN and Infinity are not accepted."))


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise DomainError("body", _("Numbers must be finite: NaN and Infinity are not accepted."))
    return value


def _check_json(value: Any, depth: int = 0, field: str | None = None) -> None:
    """Walk a parsed body; ``field`` names the top-level key a problem is under."""
    if depth > MAX_JSON_DEPTH:
        raise DomainError("body", _("The request body is nested too deeply."))
    if isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, field=field)
            _check_json(item, depth + 1, key if depth == 0 else field)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1, field)
    elif isinstance(value, str):
        _check_text(value, field=field)
    elif (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (abs(value) > MAX_JSON_NUMBER)
    ):
        raise DomainError("body", _("A number in the request is far too large."), field=field)


def _check_text(text: str | None, field: str | None = None) -> None:
    # A multipart part whose name cannot be read has the name None.
    if isinstance(text, str) and has_control(text):
        raise DomainError(
            "control_characters",
            _("The input contains control characters that cannot be stored."),
            field=field,
        )


def parse_json(data: bytes) -> Any:
    """Parse a request body strictly: finite numbers, bounded depth, storable text.

    Raises DomainError (422, the API's answer to any refused input) for anything that is not
    such JSON, with a message for the user.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DomainError("body", _("Send the request body as UTF-8 JSON.")) from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise DomainError("body", _("The request body is nested too deeply.")) from None
    except ValueError:
        raise DomainError("body", _("The request body is not valid JSON.")) from None
    _check_json(value)
    return value


# --------------------------------------------------------------------------------------------
# Every request
# --------------------------------------------------------------------------------------------


def check_request() -> None:
    """Refuse query strings, form fields and upload names that cannot be stored or read."""
    for key, value in request.args.items(multi=True):
        _check_text(key)
        _check_text(value, field=key)
        if len(value) > MAX_QUERY_VALUE:
            raise DomainError("query", _("A value in the address is too long."), field=key)
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    ):
        for key, value in request.form.items(multi=True):
            _check_text(key)
            _check_text(value, field=key)
        for key, upload in request.files.items(multi=True):
            if upload.filename and has_control(upload.filename, allow_newlines=False):
                raise DomainError(
                    "control_characters",
                    _("The input contains control characters that cannot be stored."),
                    field=key,
                )


def install(app: Flask) -> None:
    """Check every request's raw input first; turn a value the database refused into a 422."""
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)

    # OverflowError: SQLite's driver cannot bind an integer beyond 64 bits (not a DataError).
    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def _refused_by_database(e: Exception):
        db.session.rollback()
        log.warning("the database refused a value: %s", getattr(e, "orig", e))
        return _error(422, _("A value was too long or out of range. Nothing was saved."))
