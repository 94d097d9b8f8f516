"""A marketplace listing (a draft transfer of the land factory's contract), for the scope matrix
and the other walks over the URL map (``listing_id``)."""

from __future__ import annotations

from types import SimpleNamespace


def make(collective_id: int, ctx: dict) -> dict:
    """The collective's staff prepare a draft listing of the household's contract (as staff do for
    a witnessed listing); nothing is published."""
    from app.market.listings import create_listing

    staff = SimpleNamespace(
        role="collective_admin", collective_ids={collective_id}, username="factory"
    )
    listing = create_listing(
        staff,
        "land_contract",
        ctx["contract_uid"],
        deal_kind="transfer",
        method="negotiated",
        asking_price_fen=2_000_000,
        description="工厂挂牌",
    )
    return {"listing_id": listing.id}
