"""The audit trail (R16): one append-only, hash-chained entry per written row."""

from __future__ import annotations

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import BigId
from app.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __audit__ = False  # the log does not log itself

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(String(32))  # ISO-8601 UTC, exactly as hashed
    actor: Mapped[str] = mapped_column(String(80))
    actor_id: Mapped[int | None]
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))  # insert / update / delete / event
    event: Mapped[str | None] = mapped_column(String(80))  # what the user did, e.g. user.create
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    collective_id: Mapped[int | None]
    before: Mapped[str | None] = mapped_column(Text)  # canonical JSON, byte-exact as hashed
    after: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        Index("ix_audit_entry_object", "object_type", "object_id"),
        Index("ix_audit_entry_collective_id", "collective_id"),
    )

    def as_dict(self) -> dict:
        return {c.name: getattr(self, c.name) for c in self.__table__.columns}
