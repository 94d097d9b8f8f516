"""Membership objects for tests: the open membership of the person the people factory made."""

from __future__ import annotations

from app.registry import people


def make(collective_id: int, ctx: dict) -> dict:
    """The uid of the open membership of ``ctx["person_uid"]`` in the collective (the end
    membership page and API name it)."""
    return {"membership_uid": people.open_membership(ctx["person_uid"], collective_id).uid}
