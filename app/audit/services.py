"""Reading the audit trail: verification against the database and export as JSON Lines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import Flask
from sqlalchemy import select

from app.audit import checkpoint
from app.audit import head as head_file
from app.audit.models import AuditEntry
from app.audit.verify import FIELDS, Problem, export_line, verify
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


@dataclass(frozen=True)
class HeadCheck:
    count: int
    problem: Problem | None  # the chain itself is broken
    lost: str | None  # the chain is whole but what the last check saw is gone: CUT or REWRITTEN
    seen: head_file.Head | None  # the head the last check recorded (None: first check)

    def describe(self) -> str | None:
        """What was lost, in plain words (English, for the command line and logs)."""
        if self.lost is None or self.seen is None:
            return None
        return head_file.describe(self.lost, self.seen, self.count)


def head_path(app: Flask) -> Path:
    """AUDIT_HEAD_FILE, by default instance/audit_head.json."""
    configured = app.config.get("AUDIT_HEAD_FILE")
    return Path(configured) if configured else Path(app.instance_path) / "audit_head.json"


def verify_against_head(path: Path, *, record: bool = True) -> HeadCheck:
    """R16: verify the chain, then compare it with the head the last verification saw at
    ``path`` (outside the database), so a cut or rewritten and re-hashed tail is found.

    With ``record``, a check that finds nothing records the new head (atomically); a failed
    one leaves the file as it was, so the next check fails too until someone looks. Raises
    ``head.HeadFileUnreadable`` when the file is damaged.
    """
    seen = head_file.read_head(path)
    watch = head_file.Watch(iter_entries(), seen)
    count, problem = verify(watch)
    if problem is not None:
        return HeadCheck(count, problem, None, seen)
    lost = head_file.lost(seen, count, watch.at_seen)
    if record and lost is None and watch.last is not None:
        latest = head_file.read_head(path)  # a check running beside this one may be further on
        if latest is None or latest.seq <= watch.last.seq:
            head_file.write_head(path, watch.last)
    return HeadCheck(count, None, lost, seen)


def export_jsonl(out: IO[str]) -> int:
    count = 0
    for entry in iter_entries():
        out.write(export_line(entry))
        count += 1
    return count


def recent(limit: int = 200, collective_id: int | None = None) -> list[AuditEntry]:
    q = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if collective_id is not None:
        q = q.where(AuditEntry.collective_id == collective_id)
    return list(db.session.scalars(q))


@dataclass(frozen=True)
class Signed:
    count: int
    problem: Problem | None  # the chain itself is broken: nothing was signed
    lost: str | None  # the last checkpoint's entry is gone (CUT) or changed (REWRITTEN)
    previous: dict | None  # the last checkpoint before this one
    path: Path | None = None  # the new checkpoint file
    body: dict | None = None


def sign_checkpoint(app: Flask) -> Signed:
    """R16: verify the chain and that it still holds the last checkpoint's entry, then sign its
    head with the key held outside the database and write the checkpoint file. A chain that fails
    either check is not signed."""
    previous = checkpoint.latest(app)
    seen = head_file.Head(previous["seq"], previous["hash"]) if previous else None
    watch = head_file.Watch(iter_entries(), seen)
    count, problem = verify(watch)
    if problem is not None:
        return Signed(count, problem, None, previous)
    lost = head_file.lost(seen, count, watch.at_seen) if seen and seen.seq else None
    if lost is not None:
        return Signed(count, None, lost, previous)
    path, body = checkpoint.sign_head(app, count, watch.last.hash if watch.last else None)
    return Signed(count, None, None, previous, path, body)
