"""The county's calendar: what day it is there, and counting days the way the county does.

A county may count a notice period in working days (工作日): Monday to Friday, less its public
holidays (``COUNTY_HOLIDAYS``), plus the weekend days it works instead (调休, ``COUNTY_WORKDAYS``).
Both lists are comma-separated ISO dates in the environment; a malformed one stops the app at
start (``check_settings``) rather than miscounting a deadline later.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

COUNTY_TIMEZONE = "Asia/Shanghai"


def county_timezone() -> ZoneInfo:
    """The county's time zone (BABEL_DEFAULT_TIMEZONE): legal dates are days of its calendar."""
    name = COUNTY_TIMEZONE
    if has_app_context():
        name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") or COUNTY_TIMEZONE
    return ZoneInfo(name)


def county_today() -> date:
    """Today in the county (in Beijing a new day starts eight hours before it does in UTC). Every
    rule judged "today" uses this day, never the machine's ``date.today()``."""
    return datetime.now(UTC).astimezone(county_timezone()).date()


def _days(config: Mapping[str, Any], setting: str) -> frozenset[date]:
    raw = config.get(setting) or ""
    try:
        return frozenset(date.fromisoformat(p.strip()) for p in raw.split(",") if p.strip())
    except ValueError as exc:
        raise RuntimeError(f"{setting}: give comma-separated dates as YYYY-MM-DD ({exc})") from None


def check_settings(config: Mapping[str, Any]) -> None:
    """Read both lists at start: a typo is an error now, not a wrong deadline later."""
    _days(config, "COUNTY_HOLIDAYS")
    _days(config, "COUNTY_WORKDAYS")


def is_working_day(day: date) -> bool:
    config = current_app.config
    if day in _days(config, "COUNTY_WORKDAYS"):
        return True
    return day.weekday() < 5 and day not in _days(config, "COUNTY_HOLIDAYS")


def period_end(start: date, days: int, *, working: bool) -> date:
    """The last day of a period of ``days`` days counted from the day after ``start``: in
    calendar days ``start + days``; in working days the ``days``-th working day after ``start``."""
    if not working:
        return start + timedelta(days=days)
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day
