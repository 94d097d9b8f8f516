"""Checks every registry service applies to its arguments the same way.

Services are called from forms, the JSON API, the command line and jobs, so they cannot trust
their arguments' types: a reason may be missing, a date may arrive as text.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _

from app.core.errors import DomainError


def today_or(today: date | None) -> date:
    """The day the rules are judged on: given (tests, back-dated entries) or today."""
    return today or date.today()


def require_reason(reason: Any) -> str:
    """Every change to the registry says why (R16)."""
    if not isinstance(reason, str) or not reason.strip():
        raise DomainError("reason_required", _("Give a reason for the change."), field="reason")
    return reason.strip()


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
