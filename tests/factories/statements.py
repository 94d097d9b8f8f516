"""A printed rights-retained statement of the people factory's person, for the walks over the URL
map (``statement_id``)."""

from __future__ import annotations

from types import SimpleNamespace


def make(collective_id: int, ctx: dict) -> dict:
    from app.registry import statements

    printer = SimpleNamespace(username="factory")
    made = statements.issue(ctx["person_uid"], printer)
    return {"statement_id": made.id}
