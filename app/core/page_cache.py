"""Pages kept for a moment, never stale: a rendered page is reused only for the same session,
the same address and language, the same county day and the same state of the data.

Every write in the county goes through the audit trail in its own transaction, and writers are
serialised on the chain's head (app.audit.trail): the head's sequence number grows by at least
one with every committed write, in commit order. So "the head I see now" names the data a page
was rendered from exactly, and a page rendered at head N is the page anyone in the same session
would render at head N. A write anywhere moves the head and every kept page misses from then on
(a county writes rarely and reads often, so nothing finer is worth its risk).

What else a page depends on is in the key too: the server-side session (the user, their role
and collectives, and the CSRF token the page's forms carry, so those forms still post), the
language, the county's date (deadlines and "days left") and the full path with its query.
A page is not kept or served while a flashed message waits (that message belongs to the next
page only), nor for anything but a plain 200.

Only views that opt in (``@cached_page``) are kept, and only views whose content comes from the
audited tables, the session and the day; a page that shows non-audited counters (an import's
progress) must not opt in. Each worker process keeps its own bounded store (``PAGE_CACHE_SIZE``
pages for at most ``PAGE_CACHE_SECONDS``; 0 turns it off), so several workers or machines stay
correct without sharing anything: each reads the head from the database.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Flask, Response, current_app, g, request, session

#: What the key needs beyond the request: the data's version and the server-side session's id.
#: Set by create_app (the core imports no feature).


@dataclass
class Sources:
    version: Callable[[], Any] | None = None
    session_id: Callable[[], Any] | None = None
    today: Callable[[], Any] | None = None
    language: Callable[[], str] | None = None


@dataclass
class Store:
    """A bounded LRU of values that expire, by key, safe across a worker's threads."""

    size: int
    entries: OrderedDict[str, tuple[float, Any]] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    hits: int = 0
    misses: int = 0

    def get(self, key: str) -> Any:
        now = time.monotonic()
        with self.lock:
            found = self.entries.get(key)
            if found is None or found[0] <= now:
                if found is not None:
                    del self.entries[key]
                self.misses += 1
                return None
            self.entries.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: str, value: Any, seconds: float) -> None:
        with self.lock:
            self.entries[key] = (time.monotonic() + seconds, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


def install(app: Flask, **sources: Callable[[], Any]) -> None:
    app.extensions["sanquan_page_cache"] = (
        Sources(**sources),
        Store(size=int(app.config.get("PAGE_CACHE_SIZE", 512))),
    )


def store(app: Flask | None = None) -> Store | None:
    found = (app or current_app).extensions.get("sanquan_page_cache")
    return found[1] if found else None


def _key(sources: Sources) -> str | None:
    if sources.version is None or sources.session_id is None:
        return None
    sid = sources.session_id()
    if sid is None:
        return None
    parts = [
        request.endpoint or "",
        request.full_path,
        str(sid),
        # The raw CSRF token the page's forms are signed with (Flask-WTF keeps it in the
        # cookie session): a new one means new tokens on the page. (A client whose cookie holds
        # none gets the page rendered for that state; a browser keeps the token from then on.)
        str(session.get("csrf_token", "")),
        sources.language() if sources.language else "",
        str(sources.today()) if sources.today else "",
        str(sources.version()),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


_PLAIN_HEADERS = {"content-type", "content-length"}


def cached_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve the view's page from the store when nothing it depends on has changed."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        found = current_app.extensions.get("sanquan_page_cache")
        seconds = float(current_app.config.get("PAGE_CACHE_SECONDS") or 0)
        if found is None or seconds <= 0 or request.method != "GET" or session.get("_flashes"):
            return view(*args, **kwargs)
        sources, kept = found
        key = _key(sources)
        if key is None:
            return view(*args, **kwargs)
        hit = kept.get(key)
        if hit is not None:
            g.page_cache = "hit"
            return Response(hit[0], mimetype=hit[1])
        result = view(*args, **kwargs)
        response = current_app.make_response(result)
        # The first page of a session makes its CSRF token while rendering: keep the page under
        # the key of the session it leaves (with the token it carries), or the next view would
        # render it again.
        key = _key(sources) or key
        if (
            response.status_code == 200
            and not response.direct_passthrough
            and not session.get("_flashes")
            # nothing but the body and its type is kept: a page that sets a cookie or a header
            # of its own is rendered every time
            and {k.lower() for k, _v in response.headers.items()} <= _PLAIN_HEADERS
        ):
            kept.put(key, (response.get_data(), response.mimetype or "text/html"), seconds)
        g.page_cache = "miss"
        return response

    return wrapped
