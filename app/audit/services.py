"""Reading the audit trail: verification against the database and export as JSON Lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.audit.verify import FIELDS, Problem, verify
from app.extensions import db

_COLUMNS = [*FIELDS, "hash"]


def iter_entries(batch: int = 5000) -> Iterator[dict]:
    """Every entry in chain order, streamed in batches (the log can be millions of rows)."""
    cols = [AuditEntry.__table__.c[name] for name in _COLUMNS]
    last = 0
    while True:
        rows = db.session.execute(
            select(*cols).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield dict(zip(_COLUMNS, row, strict=True))
        last = rows[-1][0]


def verify_database() -> tuple[int, Problem | None]:
    """R16: recompute the chain from the stored entries."""
    return verify(iter_entries())


def export_jsonl(out: IO[str]) -> int:
    count = 0
    for entry in iter_entries():
        out.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count


def recent(limit: int = 200, collective_id: int | None = None) -> list[AuditEntry]:
    q = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if collective_id is not None:
        q = q.where(AuditEntry.collective_id == collective_id)
    return list(db.session.scalars(q))
