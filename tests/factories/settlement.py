"""A settlement record of the collective's person, for the scope matrix."""

from __future__ import annotations

from datetime import date

from app.extensions import db
from app.settlement.models import SettlementRecord


def make(collective_id: int, ctx: dict) -> dict:
    """Record that the people factory's person settled in town (written directly: the factory
    acts as the system, not as the settlement officer)."""
    record = SettlementRecord(
        person_uid=ctx["person_uid"],
        settled_on=date(2025, 6, 1),
        city="韶关市",
        district="浈江区",
        channel="housing",
        source_document_id=ctx["document_id"],
        recorded_by="factory",
    )
    db.session.add(record)
    db.session.flush()
    return {"settlement_id": record.id}
