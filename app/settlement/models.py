"""A settlement record and its corrections: rows are only ever added (R16). A correction is a
new row naming the row it corrects; the record in force is the one no later row corrects."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import utcnow
from app.extensions import db


class SettlementRecord(db.Model):
    """落户登记: a person settled in a town on a day, through a channel, on a document."""

    __tablename__ = "settlement_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    settled_on: Mapped[date] = mapped_column(Date)
    city: Mapped[str] = mapped_column(String(60))
    district: Mapped[str] = mapped_column(String(60))
    # housing / employment / study / family / other
    channel: Mapped[str] = mapped_column(String(16))
    source_document_id: Mapped[int] = mapped_column(ForeignKey("source_document.id"))
    #: The record this row corrects (None for a first record); that row stays as it was.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("settlement_record.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    #: The police list row's 备注 (remarks), as the list gave it (``police.NOTE_MAX``).
    note: Mapped[str | None] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
