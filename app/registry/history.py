"""Creating, revising and ending versions of registry objects. Nothing is overwritten.

Every service that changes a registry object does it through these three functions, so the
version chain, the lifespan dates, the reason and the cited source document are always set the
same way, and the audit trail (which sees the row writes) records each step.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import trail
from app.core.errors import DomainError
from app.core.models import utcnow
from app.extensions import db
from app.registry.inputs import STORED_REASON_MAX, too_long
from app.registry.versioning import Versioned, new_uid

V = TypeVar("V", bound=Versioned)


def _actor() -> str | None:
    ctx = trail.current()
    return ctx.actor if ctx else None


def _require_source(model: type, source_document_id: int | None) -> None:
    if getattr(model, "__requires_source__", False) and not source_document_id:
        raise DomainError(
            "source_required",
            _("Every right and every change must cite a source document."),
            field="source_document_id",
        )


def _check_reason(reason: str | None, *, required: bool) -> None:
    """The last guard on a stored change reason: present where required, never unbounded.

    Services check the user's reason with ``inputs.require_reason``; this backstop allows for the
    notes some services append (a geometry repair, "[ended] …") and catches any service that
    forgot, so that no path stores a megabyte of text."""
    if required and not (reason or "").strip():
        raise DomainError("reason_required", _("Give a reason for the change."), field="reason")
    if reason is not None and len(reason) > STORED_REASON_MAX:
        raise too_long("reason", "reason")


def create(
    model: type[V],
    *,
    reason: str | None = None,
    source_document_id: int | None = None,
    **fields: Any,
) -> V:
    """Version 1 of a new registry object."""
    _require_source(model, source_document_id)
    _check_reason(reason, required=False)
    obj = model(
        uid=new_uid(model.__kind__),
        version=1,
        begin_lifespan=utcnow(),
        change_reason=reason,
        source_document_id=source_document_id,
        changed_by=_actor(),
        **fields,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def _successor_time(current: Versioned) -> datetime:
    now = utcnow()
    # Lifespans must not overlap or be empty, even when two changes land within a clock tick.
    if now <= current.begin_lifespan:
        now = current.begin_lifespan + timedelta(microseconds=1)
    return now


def _check_current(current: Versioned) -> None:
    if current.end_lifespan is not None:
        raise DomainError(
            "stale_version",
            _("This record was changed in the meantime. Reload it and try again."),
        )


def revise(
    current: V,
    *,
    reason: str,
    source_document_id: int | None = None,
    **changes: Any,
) -> V:
    """End the current version and start the next one with ``changes`` applied."""
    _check_current(current)
    model = type(current)
    _require_source(model, source_document_id)
    _check_reason(reason, required=True)
    unknown = set(changes) - set(current.content())
    if unknown:
        raise ValueError(f"not fields of {model.__name__}: {sorted(unknown)}")
    content = current.content()
    if all(content.get(k) == v for k, v in changes.items()):
        raise DomainError("no_change", _("Nothing was changed."))
    when = _successor_time(current)
    current.end_lifespan = when
    db.session.flush()  # the old version stops being current before the new one starts
    content.update(changes)
    successor = model(
        uid=current.uid,
        version=current.version + 1,
        begin_lifespan=when,
        change_reason=reason,
        source_document_id=source_document_id,
        changed_by=_actor(),
        **content,
    )
    db.session.add(successor)
    db.session.flush()
    return successor


def end(current: V, *, reason: str, source_document_id: int | None = None, **last: Any) -> V:
    """End an object's life (a right cancelled, a membership closed) with no successor.

    ``last`` sets fields on the ending version itself, such as how a homestead was disposed of;
    nothing else of it changes.
    """
    _check_current(current)
    _require_source(type(current), source_document_id)
    _check_reason(reason, required=True)
    current.end_lifespan = _successor_time(current)
    for key, value in last.items():
        setattr(current, key, value)
    current.change_reason = f"{current.change_reason or ''}\n[ended] {reason}".strip()
    db.session.flush()
    return current


def current_of(model: type[V], uid: int, *, lock: bool = False) -> V | None:
    """The current version of an object; ``lock`` holds it for the transaction (row lock on
    PostgreSQL; on SQLite writers are already serialised by BEGIN IMMEDIATE)."""
    q = select(model).where(model.uid == uid, model.end_lifespan.is_(None))
    if lock:
        q = q.with_for_update()
    return db.session.scalar(q)


def versions(model: type[V], uid: int) -> list[V]:
    return list(db.session.scalars(select(model).where(model.uid == uid).order_by(model.version)))


def as_of(model: type[V], uid: int, when: datetime) -> V | None:
    return db.session.scalar(model.as_of(when).where(model.uid == uid))


def _geometry_wkb(value: Any) -> bytes | None:
    """Plain WKB of a geometry column value, whatever form it is in: SpatiaLite returns hex EWKB
    text, PostGIS EWKB bytes, and a freshly written value is plain WKB."""
    if value is None:
        return None
    from geoalchemy2.shape import to_shape

    return to_shape(value).wkb


def diff(older: Versioned | None, newer: Versioned) -> dict[str, tuple[Any, Any]]:
    """Fields that differ between two versions: {name: (before, after)}."""
    after = newer.content()
    before = older.content() if older is not None else {}
    out = {}
    for key, value in after.items():
        old = before.get(key)
        if key == "geom":
            if _geometry_wkb(old) != _geometry_wkb(value):
                out[key] = ("…", "…")
            continue
        if old != value:
            out[key] = (old, value)
    return out
