"""A fixed share register and one holding, for the scope matrix."""

from __future__ import annotations

from datetime import date

from tests.factories import homesteads as builders


def make(collective_id: int, ctx: dict) -> dict:
    """Fix a register of 1000 shares (if not fixed yet) and allocate 40 to the household."""
    from app.registry.shares import allocate_shares, fix_share_register, share_register

    household_uid = ctx.get("household_uid") or builders.household(collective_id)
    source_document_id = ctx.get("source_document_id") or builders.document(collective_id)
    if share_register(collective_id) is None:
        fix_share_register(collective_id, 1000, date(2019, 12, 31), "股权固化决议")
    holding = allocate_shares(
        collective_id,
        household_uid=household_uid,
        shares=40,
        share_type="population",
        certificate_number=f"GQ{collective_id:04d}0001",
        source_document_id=source_document_id,
        reason="factory",
    )
    return {"holding_uid": holding.uid}
