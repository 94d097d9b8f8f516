"""Creating, revising and ending versions of registry objects. Nothing is overwritten.

Every service that changes a registry object does it through these three functions, so the
version chain, the lifespan dates, the reason and the cited source document are always set the
same way, and the audit trail (which sees the row writes) records each step.

Each takes ``effective_on``, the day the change took legal effect (the signing, the approval, the
date on the source document); without it the change takes effect on the day it is recorded, in
the county's calendar. Record time (the lifespans) is always the clock's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import trail
from app.core.calendar import COUNTY_TIMEZONE as COUNTY_TIMEZONE
from app.core.calendar import county_timezone as county_timezone
from app.core.calendar import county_today as county_today
from app.core.errors import DomainError
from app.core.models import utcnow
from app.extensions import db
from app.registry.inputs import STORED_REASON_MAX, is_id, too_long
from app.registry.versioning import Versioned, new_uid

V = TypeVar("V", bound=Versioned)


def _effective(effective_on: date | None, current: Versioned | None = None) -> date:
    """The legal date of a change: given, or today. Refused in the future (the registry records
    what has happened) and before the legal start of the version it changes (legal intervals
    of one object follow each other; a correction takes effect when the corrected version did).
    """
    today = county_today()
    if effective_on is None:
        effective_on = today
        if current is not None and current.valid_from > today:  # a clock set back: keep order
            effective_on = current.valid_from
    if isinstance(effective_on, datetime) or not isinstance(effective_on, date):
        raise TypeError("effective_on must be a date")
    if effective_on > today:
        raise DomainError(
            "effective_in_future",
            _("The date the change takes effect cannot be in the future."),
            field="effective_on",
        )
    if current is not None and effective_on < current.valid_from:
        raise DomainError(
            "effective_before_current",
            _(
                "The change cannot take effect before %(date)s, the day the record it changes "
                "took effect.",
                date=current.valid_from.isoformat(),
            ),
            field="effective_on",
        )
    return effective_on


def legal_date(effective_on: date | None) -> date:
    """The legal date of something new (a version 1, an imported batch): given and not in the
    future, or today in the county. For writers that do not go through ``create``."""
    return _effective(effective_on)


def natural_date(day: date | None, current: Versioned | None = None) -> date | None:
    """A date the record itself carries (a signing, an approval, a birth, a membership's start
    or end) as the legal date of a change, for services to pass as ``effective_on``: not after
    today (a term that starts next year was still signed by now) and not before the legal start
    of the version it changes (rows from before legal time have their record date)."""
    if day is None:
        return None
    day = min(day, county_today())
    if current is not None and day < current.valid_from:
        day = current.valid_from
    return day


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
    effective_on: date | None = None,
    **fields: Any,
) -> V:
    """Version 1 of a new registry object, in legal effect from ``effective_on`` (or today)."""
    _require_source(model, source_document_id)
    _check_reason(reason, required=False)
    valid_from = _effective(effective_on)
    obj = model(
        uid=new_uid(model.__kind__),
        version=1,
        begin_lifespan=utcnow(),
        valid_from=valid_from,
        valid_to=None,
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
    effective_on: date | None = None,
    **changes: Any,
) -> V:
    """End the current version and start the next one with ``changes`` applied.

    The change takes legal effect on ``effective_on`` (default: today): the old version's legal
    interval ends and the new one's begins that day. A correction, effective on the day the
    current version took effect, leaves the old version an empty legal interval: as now known it
    was never in effect. An effective date in the future or before the current version's is
    refused."""
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
    valid_from = _effective(effective_on, current)
    when = _successor_time(current)
    current.end_lifespan = when
    current.valid_to = valid_from
    db.session.flush()  # the old version stops being current before the new one starts
    content.update(changes)
    successor = model(
        uid=current.uid,
        version=current.version + 1,
        begin_lifespan=when,
        valid_from=valid_from,
        valid_to=None,
        change_reason=reason,
        source_document_id=source_document_id,
        changed_by=_actor(),
        **content,
    )
    db.session.add(successor)
    db.session.flush()
    return successor


def end(
    current: V,
    *,
    reason: str,
    source_document_id: int | None = None,
    effective_on: date | None = None,
    **last: Any,
) -> V:
    """End an object's life (a right cancelled, a membership closed) with no successor.

    Its legal effect ends on ``effective_on`` (default: today; not in the future, not before it
    began). ``last`` sets fields on the ending version itself, such as how a homestead was
    disposed of; nothing else of it changes.
    """
    _check_current(current)
    _require_source(type(current), source_document_id)
    _check_reason(reason, required=True)
    valid_to = _effective(effective_on, current)
    current.end_lifespan = _successor_time(current)
    current.valid_to = valid_to
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


def require_current(model: type[V], uid: int, *, lock: bool = False) -> V:
    """``current_of`` for an object the caller has just found current (a check ran, a lock is
    held). Should a concurrent change have ended it meanwhile, the user is told to reload."""
    obj = current_of(model, uid, lock=lock)
    if obj is None:
        raise DomainError(
            "conflict",
            _("This was changed at the same time by someone else. Reload and try again."),
        )
    return obj


def versions(model: type[V], uid: int) -> list[V]:
    return list(db.session.scalars(select(model).where(model.uid == uid).order_by(model.version)))


def as_of(model: type[V], uid: int, when: date | datetime, *, recorded: bool = False) -> V | None:
    """The version of one object in legal effect on the day ``when`` or, with ``recorded``, the
    one the registry showed as current at the instant ``when`` (naive UTC)."""
    if recorded:
        if not isinstance(when, datetime):
            raise TypeError("a record-time as-of is an instant")
        q = model.recorded_as_of(when)
    else:
        if isinstance(when, datetime):
            raise TypeError("a legal as-of is a day")
        q = model.as_of(when)
    # A legal interval is empty for a corrected version, so at most one version matches.
    return db.session.scalar(q.where(model.uid == uid).order_by(model.version.desc()).limit(1))


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
    out: dict[str, tuple[Any, Any]] = {}
    for key, value in after.items():
        old = before.get(key)
        if key == "geom":
            if _geometry_wkb(old) != _geometry_wkb(value):
                out[key] = ("…", "…")
            continue
        if old != value:
            out[key] = (old, value)
    return out


def latest_version(model: type[V], uid: int) -> V | None:
    """The latest version of an object, current or ended (a disposed homestead, an emptied
    share holding): its page and history stay readable."""
    if not is_id(uid):
        return None
    return db.session.scalar(
        select(model).where(model.uid == uid).order_by(model.version.desc()).limit(1)
    )
