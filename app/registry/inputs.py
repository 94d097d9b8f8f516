"""Checks every registry service applies to its arguments the same way.

Services are called from forms, the JSON API, the command line and jobs, so they cannot trust
their arguments' types: a reason may be missing, a date may arrive as text, a "name" may be
five megabytes long.

The maximum length of every kind of free text lives here, once (``TEXT_LIMITS``). The services
check them with ``text`` / ``require_reason``; the WTForms ``Length`` validators of the pages are
built from the same numbers (``app.registry.views.common.length``), so a page and the API refuse
the same input with the same words.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, overload

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.calendar import county_today
from app.core.errors import DomainError

#: Characters allowed per kind of free text. Names follow the person/household columns
#: (String(80)); titles, places and addresses their String(200) columns; a reason is a sentence
#: or a short paragraph; notes are the long texts (an objection, its resolution, a remark).
TEXT_LIMITS: dict[str, int] = {
    "reason": 1000,
    "name": 80,
    "address": 200,
    "place": 200,
    "title": 200,
    "label": 100,  # plot names, boundary descriptions (四至), land-use codes typed by hand
    "code": 64,  # numbers typed by hand: certificate, approval and national codes
    "note": 4000,  # objections, resolutions, decisions, remarks
    "search": 80,
}

#: What each kind is called in the message (the field's label is not always at hand).
_KIND_WORDS = {
    "reason": _l("The reason"),
    "name": _l("The name"),
    "address": _l("The address"),
    "place": _l("The place"),
    "title": _l("The title"),
    "label": _l("This text"),
    "code": _l("The number"),
    "note": _l("This text"),
    "search": _l("The search text"),
}

REASON_MAX = TEXT_LIMITS["reason"]
NAME_MAX = TEXT_LIMITS["name"]
SEARCH_MAX = TEXT_LIMITS["search"]
#: What a stored change reason may hold: the user's reason plus the notes services append to it
#: (a geometry repair, "[ended] …"). Checked as the last guard in ``history``.
STORED_REASON_MAX = 2 * REASON_MAX


def too_long_message(kind: str) -> str:
    """The message for text beyond its kind's limit, in the user's language."""
    return _(
        "%(what)s may have at most %(n)s characters.",
        what=_KIND_WORDS[kind],
        n=TEXT_LIMITS[kind],
    )


def too_long(kind: str, field: str) -> DomainError:
    """The refusal for text beyond its kind's limit (code ``too_long``)."""
    return DomainError("too_long", too_long_message(kind), field=field)


@overload
def text(value: Any, field: str, kind: str, *, required: Literal[True]) -> str: ...
@overload
def text(value: Any, field: str, kind: str, *, required: bool = False) -> str | None: ...
def text(value: Any, field: str, kind: str, *, required: bool = False) -> str | None:
    """Free text of ``kind``: stripped, at most ``TEXT_LIMITS[kind]`` characters; ``None`` when
    empty and not required. Anything that is not text is refused like empty text."""
    if value is not None and not isinstance(value, str):
        raise DomainError("text", _("Give this as text."), field=field)
    cleaned = (value or "").strip()
    if len(cleaned) > TEXT_LIMITS[kind]:
        raise too_long(kind, field)
    if not cleaned:
        if required:
            raise DomainError("required", _("This field is required."), field=field)
        return None
    return cleaned


def today_or(today: date | None) -> date:
    """The day the rules are judged on: given (tests, back-dated entries) or today."""
    return today or county_today()


def require_reason(reason: Any) -> str:
    """Every change to the registry says why (R16), in at most ``REASON_MAX`` characters."""
    if not isinstance(reason, str) or not reason.strip():
        raise DomainError("reason_required", _("Give a reason for the change."), field="reason")
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise too_long("reason", "reason")
    return reason


def require_date(value: Any, name: str) -> date:
    """A date, or an ISO date string (YYYY-MM-DD) as forms and JSON send it."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise DomainError("date_required", _("Give a valid date (YYYY-MM-DD)."), field=name)


#: Identifiers are 32-bit on PostgreSQL; a larger number can name nothing (and must not reach
#: the database, which would fail on it instead of answering "not found").
MAX_ID = 2**31 - 1


def is_id(value: Any) -> bool:
    """Whether ``value`` can be the id / uid of a stored object."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID
