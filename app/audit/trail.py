"""The one place writes become audit entries (R16).

A SQLAlchemy ``after_flush`` hook turns every inserted, updated or deleted row of every model into
an entry, inside the same transaction as the write, so a write and its entry commit or roll back
together and no service can forget to log. Who is acting, and why, comes from an ``AuditContext``
that the request (or CLI command, or job) sets; a write with no context is refused.

Entries are chained: the hash of each covers the previous one's. Writers are serialised around the
chain's head (an advisory lock on PostgreSQL; BEGIN IMMEDIATE already does it on SQLite).
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, inspect, select, text
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.audit.verify import GENESIS, entry_hash
from app.core.models import iso

_CHAIN_LOCK_KEY = 0x53414E51  # "SANQ": pg_advisory_xact_lock key guarding the chain head


class AuditContextMissing(RuntimeError):
    """A write was attempted with nobody named as its actor."""


@dataclass(frozen=True)
class AuditContext:
    actor: str
    role: str
    actor_id: int | None = None
    event: str | None = None
    reason: str | None = None
    source_sha256: str | None = None


_ctx: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar("audit", default=None)

SYSTEM = AuditContext(actor="system", role="system")


def current() -> AuditContext | None:
    return _ctx.get()


def set_context(ctx: AuditContext | None) -> None:
    _ctx.set(ctx)


@contextmanager
def acting(ctx: AuditContext) -> Iterator[AuditContext]:
    token = _ctx.set(ctx)
    try:
        yield ctx
    finally:
        _ctx.reset(token)


@contextmanager
def because(
    event: str, reason: str | None = None, source_sha256: str | None = None
) -> Iterator[AuditContext]:
    """Name what the current actor is doing for the writes inside the block."""
    base = _ctx.get()
    if base is None:
        raise AuditContextMissing("no actor: set an audit context before writing")
    with acting(
        replace(
            base,
            event=event,
            reason=reason if reason is not None else base.reason,
            source_sha256=source_sha256 if source_sha256 is not None else base.source_sha256,
        )
    ) as ctx:
        yield ctx


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _column_value(obj: Any, attr: Any, value: Any) -> Any:
    info = attr.columns[0].info if getattr(attr, "columns", None) else {}
    if info.get("audit") == "redact":
        return "[redacted]" if value is not None else None
    return _plain(value)


def _plain(value: Any) -> Any:
    data = getattr(value, "data", None)  # GeoAlchemy2 WKBElement / WKTElement
    if data is not None and hasattr(value, "srid"):
        return {"wkb_sha256": hashlib.sha256(_canonical_wkb(data)).hexdigest(), "srid": value.srid}
    return iso(value)


def _canonical_wkb(data: Any) -> bytes:
    """The same bytes for the same shape, whether it came as WKB, hex EWKB text or WKT."""
    import shapely

    if isinstance(data, str):
        try:
            geom = shapely.from_wkb(bytes.fromhex(data))
        except ValueError:
            geom = shapely.from_wkt(data.split(";", 1)[-1])
    else:
        geom = shapely.from_wkb(bytes(data))
    return shapely.to_wkb(geom, include_srid=False, byte_order=1)


def _snapshot(obj: Any, *, committed: bool) -> dict[str, Any]:
    state = inspect(obj)
    out: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if committed:
            if hist.deleted:
                value = hist.deleted[0]
            elif hist.unchanged:
                value = hist.unchanged[0]
            elif hist.added:
                continue  # newly set, had no value before
            else:
                value = None
        else:
            value = state.dict.get(attr.key)  # never lazy-load in the middle of a flush
        out[attr.key] = _column_value(obj, attr, value)
    # Rows of an association table (a user's collectives) are written by the ORM without an
    # object of their own: the owner's entry names the related rows by primary key.
    for rel in state.mapper.relationships:
        if rel.secondary is None or not rel.uselist:
            continue
        hist = state.attrs[rel.key].history
        if committed:
            if not (hist.unchanged or hist.deleted or hist.added) and rel.key not in state.dict:
                continue  # not loaded, not changed: nothing to say
            related = list(hist.unchanged) + list(hist.deleted)
        else:
            if rel.key not in state.dict:
                continue
            related = list(state.dict[rel.key])
        out[rel.key] = sorted(_related_key(o) for o in related)
    return out


def _related_key(obj: Any) -> Any:
    values = inspect(obj).mapper.primary_key_from_instance(obj)
    return values[0] if len(values) == 1 else list(values)


def _diff_keys(before: dict, after: dict) -> set[str]:
    return {k for k in after if before.get(k) != after.get(k)}


def _object_id(obj: Any) -> str | None:
    # The identity key is not assigned yet inside after_flush; the primary key values are.
    ident = inspect(obj).mapper.primary_key_from_instance(obj)
    if not ident or any(v is None for v in ident):
        return None
    return "/".join(str(v) for v in ident)


def _collective_id(obj: Any) -> int | None:
    value = getattr(obj, "audit_collective_id", None)
    return value() if callable(value) else value


def _rows(session: Session) -> list[tuple[str, Any, dict | None, dict | None]]:
    rows: list[tuple[str, Any, dict | None, dict | None]] = []
    for obj in session.new:
        if getattr(obj, "__audit__", True):
            rows.append(("insert", obj, None, _snapshot(obj, committed=False)))
    for obj in session.dirty:
        if not getattr(obj, "__audit__", True) or not session.is_modified(obj):
            continue
        before = _snapshot(obj, committed=True)
        after = _snapshot(obj, committed=False)
        changed = _diff_keys(before, after)
        if not changed:
            continue
        rows.append(
            (
                "update",
                obj,
                {k: before.get(k) for k in sorted(changed)},
                {k: after[k] for k in sorted(changed)},
            )
        )
    for obj in session.deleted:
        if getattr(obj, "__audit__", True):
            rows.append(("delete", obj, _snapshot(obj, committed=True), None))
    return rows


def _chain_head(session: Session) -> tuple[int, str]:
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK_KEY})
    last = conn.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (last[0], last[1]) if last else (0, GENESIS)


_HEAD = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)


def head_version(session: Session) -> str:
    """The chain head as this session sees it now: its sequence number and hash ("" for an
    empty trail).

    Writers chain under the head's lock until they commit, so the head moves with every
    committed write, in commit order: it names the version of the data a reader sees
    (app.core.page_cache). The hash, not only the number, so that a database restored from a
    backup (or emptied by a test) never repeats a version a running worker has seen.
    """
    found = session.connection().execute(_HEAD).first()
    return f"{found[0]}:{found[1]}" if found else ""


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_HELD = "audit_held"


def hold(session: Session) -> None:
    """Keep the entries of ``session``'s writes aside until ``release``.

    For a long bulk transaction (an import promoted while its file is still being read): chaining
    an entry takes the chain head's lock until the transaction ends, which would make every other
    audited write in the county wait for the whole import. Held entries are chained by
    ``release`` just before the commit, in the same transaction, so nothing is written without
    its entry and the lock is held for moments.
    """
    session.info.setdefault(_HELD, [])


def release(session: Session) -> list[dict[str, Any]]:
    """Chain the entries held for ``session`` (stamped now: chain order stays time order)."""
    entries = session.info.pop(_HELD, [])
    now = timestamp()
    return append(session, [dict(e, ts=now) for e in entries])


def append(session: Session, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chain and insert entries (dicts of the FIELDS but seq/prev_hash/hash)."""
    if not entries:
        return []
    if _HELD in session.info:
        session.info[_HELD].extend(entries)
        return []
    seq, prev = _chain_head(session)
    rows = []
    for entry in entries:
        seq += 1
        row = dict(entry, seq=seq, prev_hash=prev)
        row["hash"] = prev = entry_hash(row)
        rows.append(row)
    session.connection().execute(insert(AuditEntry.__table__), rows)
    return rows


def _entry(ctx: AuditContext, action: str, obj_type: str, obj_id: str | None, **kw: Any) -> dict:
    return {
        "ts": timestamp(),
        "actor": ctx.actor,
        "actor_id": ctx.actor_id,
        "role": ctx.role,
        "action": action,
        "event": ctx.event,
        "object_type": obj_type,
        "object_id": obj_id,
        "collective_id": kw.get("collective_id"),
        "before": canonical_json(kw["before"]) if kw.get("before") is not None else None,
        "after": canonical_json(kw["after"]) if kw.get("after") is not None else None,
        "reason": ctx.reason,
        "source_sha256": ctx.source_sha256,
    }


def record_event(
    session: Session,
    event_name: str,
    object_type: str,
    object_id: str | None = None,
    *,
    details: dict | None = None,
    collective_id: int | None = None,
    ctx: AuditContext | None = None,
) -> None:
    """An entry for something that is not a row change (a login, an export, a verification)."""
    ctx = ctx or _ctx.get()
    if ctx is None:
        raise AuditContextMissing("no actor for audit event " + event_name)
    ctx = replace(ctx, event=event_name)
    append(
        session,
        [
            _entry(
                ctx,
                "event",
                object_type,
                object_id,
                after=details,
                collective_id=collective_id,
            )
        ],
    )


def _after_flush(session: Session, _flush_context: Any) -> None:
    rows = _rows(session)
    if not rows:
        return
    ctx = _ctx.get()
    if ctx is None:
        names = ", ".join(sorted({type(o).__name__ for _, o, _, _ in rows}))
        raise AuditContextMissing(f"write to {names} with no actor named")
    entries = [
        _entry(
            ctx,
            action,
            obj.__tablename__,
            _object_id(obj),
            before=before,
            after=after,
            collective_id=_collective_id(obj),
        )
        for action, obj, before, after in rows
    ]
    append(session, entries)


def install() -> None:
    """Hook every ORM session (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
