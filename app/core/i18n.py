"""Language: zh_CN by default, en on request (a cookie set by the language switch)."""

from __future__ import annotations

from typing import Any

from flask import current_app, request


def select_locale() -> str:
    from flask import has_request_context

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get("lang")
    if chosen is not None and chosen in languages:
        return chosen
    # API clients may ask with Accept-Language; browsers default to Chinese regardless.
    if request.path.startswith("/api/"):
        best = request.accept_languages.best_match(languages)
        if best:
            return best
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def translations() -> Any:
    """The request's message catalog, as ``flask_babel.get_translations()`` returns it, found
    once per request and language: a page translates some 150 texts, and Flask-Babel works the
    catalog out afresh for each (about 7 µs, a fifth of a rendered page's time).

    Kept on ``g`` beside the locale it was found for, and found again whenever Flask-Babel's
    locale for the request is another object (``force_locale``, ``refresh``, a new request)."""
    from flask import g, has_app_context
    from flask_babel import get_translations

    if not has_app_context():
        return get_translations()
    here = g._get_current_object()  # the proxy resolved once: this runs for every text
    locale = getattr(getattr(here, "_flask_babel", None), "babel_locale", None)
    kept = getattr(here, "_sanquan_translations", None)
    if locale is not None and kept is not None and kept[0] is locale:
        return kept[1]
    found = get_translations()
    here._sanquan_translations = (getattr(here._flask_babel, "babel_locale", None), found)
    return found


def current_language() -> str:
    from flask import has_request_context
    from flask_babel import get_locale

    if not has_request_context():
        return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh_CN"


def pick(message_zh: str, message_en: str) -> str:
    """Choose between a pair of messages made outside the catalog (code and geometry checks)."""
    return message_en if current_language().startswith("en") else message_zh


def local_time(value: Any, seconds: bool = False) -> str:
    """A stored time (naive UTC) as the county reads it: in its time zone (BABEL_DEFAULT_TIMEZONE),
    to the minute (or second), with the zone named: "2026-12-06 14:05（北京时间）". The one
    filter every page uses for a date-time (Jinja ``|local_time``)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from flask_babel import gettext as _

    if value is None or value == "":
        return ""
    if not isinstance(value, datetime):
        return str(value)
    zone_name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai"
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    local = aware.astimezone(ZoneInfo(zone_name))
    text = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    if zone_name in ("Asia/Shanghai", "Asia/Chongqing", "PRC"):
        return _("%(time)s (Beijing time)", time=text)
    return f"{text} ({zone_name})"


def install(app: Any) -> None:
    """Template filters of this module."""
    app.add_template_filter(local_time, "local_time")
