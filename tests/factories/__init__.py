"""Objects of every kind in one collective, for scope tests over the whole URL map.

Each part of the registry has a module here with ``make(collective_id) -> dict`` that creates
its objects in the given collective (inside the caller's audit context and transaction) and
returns {url argument name: value}, e.g. {"household_uid": 12}. The scope matrix test builds
every URL of the app from these; a route whose argument no factory provides fails that test.
"""

from __future__ import annotations

from tests.factories import (
    accounts,
    documents,
    encumbrances,
    entrusted,
    homesteads,
    imports,
    land,
    leases,
    market,
    members,
    moves,
    people,
    settlement,
    shares,
    statements,
)

AREAS = (
    people,
    members,
    land,
    homesteads,
    shares,
    moves,
    documents,
    imports,
    accounts,
    market,
    statements,
    settlement,
    encumbrances,
    leases,
    entrusted,
)


def make_world(collective_id: int) -> dict[str, object]:
    out: dict[str, object] = {"collective_id": collective_id}
    ctx: dict[str, object] = {"collective_id": collective_id}
    for area in AREAS:
        made = area.make(collective_id, ctx)
        ctx.update(made)
        out.update(made)
    return out
