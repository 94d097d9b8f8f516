"""The auditor's view of the log: paged and filtered, each entry's change in words.

Filters: the county days from and to (an entry's time is stored in UTC; a county day runs from
16:00 UTC the day before), who acted (their account name), their role, what kind of record,
which record (its id), and what was done (the user's action, or added / changed / removed).
Pages run newest first by the entry's number (a keyset cursor: ``before`` is the last number
shown), so a page costs the same at the start of the log and a million entries in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select

from app.audit import labels
from app.audit.models import AuditEntry
from app.core.calendar import county_timezone
from app.extensions import db

PAGE = 100
#: Fields every version row carries that say nothing to an auditor reading a change.
#: (``uid`` names the object across its versions: the page names the record beside the entry.)
_PLUMBING = {"id", "uid", "begin_lifespan", "end_lifespan", "row_version"}


@dataclass(frozen=True)
class Filters:
    since: date | None = None
    until: date | None = None
    actor: str | None = None
    role: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    event: str | None = None


def _utc_stamp(day: date, *, end: bool) -> str:
    """The stored timestamp (ISO UTC) at the start of a county day, or at the start of the next."""
    local = datetime.combine(day + timedelta(days=1) if end else day, time(0), county_timezone())
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def query(filters: Filters) -> Select[tuple[AuditEntry]]:
    q = select(AuditEntry)
    f = filters
    if f.since is not None:
        q = q.where(AuditEntry.ts >= _utc_stamp(f.since, end=False))
    if f.until is not None:
        q = q.where(AuditEntry.ts < _utc_stamp(f.until, end=True))
    if f.actor:
        q = q.where(AuditEntry.actor == f.actor)
    if f.role:
        q = q.where(AuditEntry.role == f.role)
    if f.object_type:
        q = q.where(AuditEntry.object_type == f.object_type)
    if f.object_id:
        q = q.where(AuditEntry.object_id == f.object_id)
    if f.event:
        if f.event in ("insert", "update", "delete"):
            q = q.where(AuditEntry.action == f.event)
        else:
            q = q.where(AuditEntry.event == f.event)
    return q


def page(
    filters: Filters, *, before: int | None = None, limit: int = PAGE
) -> tuple[list[AuditEntry], int | None]:
    """Entries newest first; and the cursor of the next page (None on the last)."""
    q = query(filters)
    if before is not None:
        q = q.where(AuditEntry.seq < before)
    rows = list(db.session.scalars(q.order_by(AuditEntry.seq.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].seq if more and rows else None)


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _previous_version(entry: AuditEntry, after: dict) -> dict:
    """For a new version of a registry object (history never overwrites: a change ends the
    current row and inserts the next), the content of the version it replaced: the row whose
    end was written, in the same transaction just before, at this version's beginning."""
    if not isinstance(after.get("version"), int) or after["version"] < 2:
        return {}
    began = after.get("begin_lifespan")
    ended = db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.seq < entry.seq,
            AuditEntry.seq >= entry.seq - 50,
            AuditEntry.object_type == entry.object_type,
            AuditEntry.action == "update",
        )
        .order_by(AuditEntry.seq.desc())
    )
    for candidate in ended:
        if json.loads(candidate.after or "{}").get("end_lifespan") == began:
            inserted = db.session.scalar(
                select(AuditEntry.after).where(
                    AuditEntry.object_type == entry.object_type,
                    AuditEntry.object_id == candidate.object_id,
                    AuditEntry.action == "insert",
                )
            )
            return json.loads(inserted) if inserted else {}
    return {}


_VERSION_FIELDS = _PLUMBING | {"version", "valid_from", "valid_to", "change_reason", "changed_by"}


_ABSENT = object()


def _changed(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    """(field, stored value before or _ABSENT, stored value after) for each field changed."""
    before = json.loads(entry.before) if entry.before else {}
    after = json.loads(entry.after) if entry.after else {}
    if entry.action == "insert" and isinstance(after, dict):
        previous = _previous_version(entry, after)
        if previous:
            before = {k: v for k, v in previous.items() if k not in _VERSION_FIELDS}
            after = {k: v for k, v in after.items() if k not in _VERSION_FIELDS}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    fields = sorted((set(before) | set(after)) - _PLUMBING)
    return [
        (name, before.get(name, _ABSENT), after.get(name))
        for name in fields
        if name not in before or name not in after or before[name] != after[name]
    ]


def changes(entry: AuditEntry) -> list[tuple[str, str, str]]:
    """(field, before, after) for each field the entry changed, as stored: an added record
    lists what it was added with, a removed one what it held; a new version of a registry
    object is compared with the version it replaced."""
    return [
        (name, "" if before is _ABSENT else _shown(before), _shown(after))
        for name, before, after in _changed(entry)
    ]


def changes_in_words(entry: AuditEntry) -> list[tuple[str, str, str]]:
    """``changes`` as the auditor reads them: each field by its name and each value in words
    (labels, dates, amounts with their units, people by name), never a stored code."""
    record = entry.object_type
    words = []
    for name, before, after in _changed(entry):
        shown_before = "" if before is _ABSENT else labels.value_words(record, name, before)
        shown_after = "" if entry.action == "delete" else labels.value_words(record, name, after)
        words.append((labels.field_name(record, name), shown_before, shown_after))
    return words
