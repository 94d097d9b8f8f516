"""Language: zh_CN by default, en on request (a cookie set by the language switch)."""

from __future__ import annotations

from flask import current_app, request


def select_locale() -> str:
    from flask import has_request_context

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get("lang")
    if chosen in languages:
        return chosen
    # API clients may ask with Accept-Language; browsers default to Chinese regardless.
    if request.path.startswith("/api/"):
        best = request.accept_languages.best_match(languages)
        if best:
            return best
    return current_app.config["BABEL_DEFAULT_LOCALE"]


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
