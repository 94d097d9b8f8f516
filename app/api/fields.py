"""The field types API declarations are written in, each with the same bound the services use.

A declaration says ``source_document_id: Id | None = None`` or ``reason: Text["reason"]`` and
gets, from one place, the parsing (strict JSON types), the limit (ids fit the database key, text
its column) and the documentation.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from app.api.schema import Answer, Query
from app.core.inputs import MAX_ID
from app.registry.inputs import TEXT_LIMITS, too_long

T = TypeVar("T")


def _id(value: int) -> int:
    if not 0 <= value <= MAX_ID:
        raise PydanticCustomError("id_unknown", "no object has this id")
    return value


#: A stored object's id: a whole number; one beyond the database key names nothing (422).
Id = Annotated[
    int,
    AfterValidator(_id),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": MAX_ID}),
]


def _text(kind: str) -> Any:
    """Free text of ``kind`` with the services' limit (``inputs.TEXT_LIMITS``), refused beyond
    it with the services' own words and code (``too_long``), as the pages refuse it. The
    refusal is a DomainError, which pydantic lets through as it is."""
    limit = TEXT_LIMITS[kind]

    def within(value: str, info: ValidationInfo) -> str:
        if len(value.strip()) > limit:
            raise too_long(kind, info.field_name or kind)
        return value

    return Annotated[
        str, AfterValidator(within), WithJsonSchema({"type": "string", "maxLength": limit})
    ]


#: Free text of each kind of ``app.registry.inputs.TEXT_LIMITS``, with the same limit the
#: services check (the services also strip it and refuse it empty where it is required).
Reason = _text("reason")
NameText = _text("name")
AddressText = _text("address")
PlaceText = _text("place")
TitleText = _text("title")
LabelText = _text("label")
CodeText = _text("code")
NoteText = _text("note")
SearchText = _text("search")

#: An exact decimal (shares), handed to the service as written: it parses it exactly (a string
#: keeps every digit; a JSON number is refused beyond 15 significant digits) with its own limits.
ExactNumber = Annotated[
    str | int | float,
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*$"},
                {"type": "number", "exclusiveMinimum": 0},
            ],
            "description": "A positive exact decimal. Send it as a decimal string to keep it "
            "exact; a JSON number is read as written and refused beyond 15 significant digits.",
        }
    ),
]

#: An exact decimal in an answer: a string with its fixed number of places ("12.5000").
DecimalText = Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$")]


def _clamp_limit(value: int) -> int:
    return max(1, min(value, MAX_PAGE_SIZE))


PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

#: ?limit=: how many items a page holds, 1 to 200 (beyond is taken as 200).
Limit = Annotated[
    int,
    AfterValidator(_clamp_limit),
    Field(description="Items per page, 1 to 200 (default 50)"),
]


def _cursor(value: Any) -> Any:
    return None if value in (None, "") else value


#: ?cursor=: the ``next`` of the previous page.
Cursor = Annotated[
    int | None,
    BeforeValidator(_cursor),
    AfterValidator(lambda v: v if v is None else _id(v)),
    Field(description="The `next` value of the previous page"),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]+$"}),
]

QueryId = Annotated[
    int | None,
    BeforeValidator(_cursor),
    AfterValidator(lambda v: v if v is None else _id(v)),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": MAX_ID}),
]


class Paged(Query):
    """The query of a list: page size and where the previous page ended."""

    limit: Limit = PAGE_SIZE
    cursor: Cursor = None


class Page(Answer, Generic[T]):
    """A page of a list, and the cursor of the next page (null on the last)."""

    items: list[T]
    next: str | None = None


def page_of(rows: list, limit: int, key: Any) -> dict:
    """``rows`` fetched with ``limit + 1``: the page's items and the cursor after the last one.

    ``key`` gives the value the next query starts after (a uid, or an offset for lists that are
    ordered by something else).
    """
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next": str(key(rows[-1])) if more and rows else None}
