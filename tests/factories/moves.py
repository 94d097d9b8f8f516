"""A pending move request (a share transfer by inheritance), for the scope matrix."""

from __future__ import annotations

from tests.factories import homesteads as builders


def make(collective_id: int, ctx: dict) -> dict:
    """Request that 5 of the shares factory's holding go to another member household."""
    from app.registry.moves import request_move

    move = request_move(
        "share_transfer",
        ctx["holding_uid"],
        basis="inheritance",
        source_document_id=ctx.get("source_document_id") or builders.document(collective_id),
        reason="继承",
        to_household_uid=builders.household(collective_id, name="继承户"),
        shares=5,
    )
    return {"move_id": move.id}
