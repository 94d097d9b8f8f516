"""Reading the audit trail: verification against the database and export as JSON Lines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import IO

from flask import Flask
from sqlalchemy import func, select

from app.audit import browse, checkpoint, trail
from app.audit import head as head_file
from app.audit.models import AuditEntry
from app.audit.trail import canonical_json
from app.audit.verify import (
    FIELDS,
    GENESIS,
    RANGE_FORMAT,
    CheckpointFailed,
    Problem,
    check_signature,
    export_line,
    verify,
)
from app.extensions import db

_COLUMNS = [*FIELDS, "hash"]


def iter_entries(batch: int = 5000, *, first: int = 1, last: int | None = None) -> Iterator[dict]:
    """Every entry in chain order (from ``first`` to ``last``), streamed in batches (the log can
    be millions of rows)."""
    for rows in _batches(batch, first, last):
        for row in rows:
            yield dict(zip(_COLUMNS, row, strict=True))


def _batches(batch: int, first: int, last: int | None) -> Iterator[list]:
    cols = [AuditEntry.__table__.c[name] for name in _COLUMNS]
    after = first - 1
    while True:
        q = select(*cols).where(AuditEntry.seq > after)
        if last is not None:
            q = q.where(AuditEntry.seq <= last)
        rows = db.session.execute(q.order_by(AuditEntry.seq).limit(batch)).all()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def verify_database() -> tuple[int, Problem | None]:
    """R16: recompute the chain from the stored entries."""
    return verify(iter_entries())


@dataclass(frozen=True)
class HeadCheck:
    count: int
    problem: Problem | None  # the chain itself is broken
    lost: str | None  # the chain is whole but what the last check saw is gone: CUT or REWRITTEN
    seen: head_file.Head | None  # the head the last check recorded (None: first check)
    #: The same walk compared with a signed checkpoint, when one was given.
    against: AgainstCheckpoint | None = None

    def describe(self) -> str | None:
        """What was lost, in plain words (English, for the command line and logs)."""
        if self.lost is None or self.seen is None:
            return None
        return head_file.describe(self.lost, self.seen, self.count)


def head_path(app: Flask) -> Path:
    """AUDIT_HEAD_FILE, by default instance/audit_head.json."""
    configured = app.config.get("AUDIT_HEAD_FILE")
    return Path(configured) if configured else Path(app.instance_path) / "audit_head.json"


def verify_against_head(
    path: Path, *, record: bool = True, signed: dict | None = None
) -> HeadCheck:
    """R16: verify the chain, then compare it with the head the last verification saw at
    ``path`` (outside the database), so a cut or rewritten and re-hashed tail is found.

    With ``record``, a check that finds nothing records the new head (atomically); a failed
    one leaves the file as it was, so the next check fails too until someone looks. Raises
    ``head.HeadFileUnreadable`` when the file is damaged.
    """
    seen = head_file.read_head(path)
    watch = head_file.Watch(iter_entries(), seen)
    # One walk of the chain serves the signed checkpoint too (``against_checkpoint``).
    at_signed = head_file.Watch(watch, _signed_head(signed))
    count, problem = verify(at_signed)
    if problem is not None:
        return HeadCheck(count, problem, None, seen)
    against = None
    if signed is not None:
        signed_head = _signed_head(signed)
        against = AgainstCheckpoint(
            count,
            None,
            head_file.lost(signed_head, count, at_signed.at_seen) if signed["seq"] else None,
            signed,
        )
    lost = head_file.lost(seen, count, watch.at_seen)
    if record and lost is None and watch.last is not None and not (against and against.lost):
        latest = head_file.read_head(path)  # a check running beside this one may be further on
        if latest is None or latest.seq <= watch.last.seq:
            head_file.write_head(path, watch.last)
    return HeadCheck(count, None, lost, seen, against)


def export_jsonl(out: IO[str]) -> int:
    count = 0
    for entry in iter_entries():
        out.write(export_line(entry))
        count += 1
    return count


@dataclass(frozen=True)
class Range:
    """The contiguous run of entries a filtered export holds: from the first entry matching the
    filter to the last, every entry between (a hash chain verifies only over a whole run)."""

    first: int
    last: int
    anchor: str  # the hash of the entry before ``first`` (GENESIS for the first entry)

    @property
    def count(self) -> int:
        return self.last - self.first + 1


def find_range(filters: browse.Filters) -> Range | None:
    """The run from the first to the last entry matching ``filters``; None when none does."""
    bounds = db.session.execute(
        browse.query(filters).with_only_columns(func.min(AuditEntry.seq), func.max(AuditEntry.seq))
    ).first()
    if bounds is None or bounds[0] is None:
        return None
    first, last = bounds
    anchor = GENESIS
    if first > 1:
        anchor = db.session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == first - 1))
        anchor = anchor or GENESIS  # a gap: the verifier names it at the first line
    return Range(first, last, anchor)


def filter_words(filters: browse.Filters) -> dict:
    """The filter as the export's header records it (only what was set; dates as ISO days)."""
    out = {}
    for key, value in asdict(filters).items():
        if value is not None and value != "":
            out[key] = value.isoformat() if isinstance(value, date) else value
    return out


def range_header(filters: browse.Filters, run: Range) -> str:
    header = {
        "format": RANGE_FORMAT,
        "first": run.first,
        "last": run.last,
        "anchor": run.anchor,
        "filter": filter_words(filters),
        "exported_at": trail.timestamp(),
    }
    return canonical_json(header) + "\n"


def range_lines(filters: browse.Filters, run: Range, batch: int = 5000) -> Iterator[str]:
    """A range export, line by line (streamed: a batch of entries in memory at a time): the
    header, then every entry of ``run`` in chain order, each marked whether it matched."""
    yield range_header(filters, run)
    for rows in _batches(batch, run.first, run.last):
        low, high = rows[0][0], rows[-1][0]
        matched = set(
            db.session.scalars(
                browse.query(filters)
                .with_only_columns(AuditEntry.seq)
                .where(AuditEntry.seq >= low, AuditEntry.seq <= high)
            )
        )
        for row in rows:
            line = export_line(dict(zip(_COLUMNS, row, strict=True)))
            mark = "true" if row[0] in matched else "false"
            yield line[:-2] + ',"matched":' + mark + "}\n"


def record_range_export(filters: browse.Filters, run: Range) -> None:
    """An entry saying who exported which run of the log, with what filter (flushed, not
    committed: the caller commits before the file goes out)."""
    trail.record_event(
        db.session,
        "audit.export",
        "audit_entry",
        None,
        details={"first": run.first, "last": run.last, "filter": filter_words(filters)},
    )


def export_range(out: IO[str], filters: browse.Filters, run: Range) -> int:
    count = -1
    for line in range_lines(filters, run):
        out.write(line)
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


@dataclass(frozen=True)
class AgainstCheckpoint:
    count: int
    problem: Problem | None  # the chain itself is broken
    lost: str | None  # the checkpoint's entry is gone (CUT) or changed (REWRITTEN)
    checkpoint: dict

    def describe(self) -> str | None:
        """What was lost since the checkpoint was signed, in plain words (the command line)."""
        seq, when = self.checkpoint["seq"], self.checkpoint.get("signed_at", "")
        if self.lost == head_file.CUT:
            missing = seq - self.count
            return (
                f"the audit log ends at entry {self.count}, but the checkpoint signed {when} "
                f"covers {seq}: the last {missing} "
                f"{'entry has' if missing == 1 else 'entries have'} been removed"
            )
        if self.lost == head_file.REWRITTEN:
            return (
                f"entry {seq} is not the one the checkpoint signed {when}: entries up to it "
                "have been changed and the chain hashed again"
            )
        return None


def checkpoint_file(app: Flask, path: str | None) -> dict | None:
    """The checkpoint at ``path``, else the latest in AUDIT_CHECKPOINT_DIR (None: there is none),
    its signature checked against the keys this deployment publishes. Raises CheckpointFailed."""
    from app.audit.verify import read_checkpoint

    if path is None:
        found = checkpoint.latest(app)
        if found is None:
            return None
    else:
        found = read_checkpoint(path)
    key_file = checkpoint.checkpoint_dir(app) / "keys" / f"{found['key_id']}.pem"
    if not key_file.is_file():
        raise CheckpointFailed(
            f"the checkpoint was signed with key {found['key_id']}, which this deployment "
            "has never published"
        )
    check_signature(found, str(key_file))
    return found


def _signed_head(signed: dict | None) -> head_file.Head | None:
    if signed is None:
        return None
    return head_file.Head(signed["seq"], signed["hash"], str(signed.get("signed_at", "")))
