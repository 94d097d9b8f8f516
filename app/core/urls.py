from urllib.parse import urlsplit

from app.core.inputs import has_control


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: never an open redirect.

    Control characters are refused before anything else: browsers drop tabs and newlines from
    a URL, so "/\\t/evil.example" would become "//evil.example", and a newline cannot go into a
    Location header at all.
    """
    if not target or has_control(target, allow_newlines=False):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target
