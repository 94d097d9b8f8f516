"""JSON API for the membership changes the pages offer too: end a membership, move a member to
another household, take a member off a household's list. The same people.* services as the
HTML forms (app/registry/views/member_views.py); the models a change and a household place
are written in come from app.api.people."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from flask import jsonify
from pydantic import Field, WithJsonSchema

from app.api import bp
from app.api.fields import Id
from app.api.people import (
    REFUSED,
    RELATION_DOC,
    CodeText,
    HouseholdPlace,
    MembershipItem,
    PeopleChange,
    place_json,
)
from app.api.schema import operation
from app.auth.models import Role
from app.auth.scope import roles_required
from app.extensions import db
from app.registry import people, present
from app.registry.lookup import load_current_or_404
from app.registry.models import Household, HouseholdMember, Membership, Person

#: Why a membership ends. Any text is taken, so that the service's own refusal says why
#: settling in town is not a reason (Art. 18) instead of a bare list of choices.
EndReason = Annotated[
    CodeText,
    WithJsonSchema(
        {
            "type": "string",
            "enum": sorted(people.END_REASONS),
            "description": "Art. 17 reasons; settling in town is not one (Art. 18)",
        }
    ),
]


class HouseholdMemberRow(HouseholdPlace):
    """A person's row on a household's member list"""

    person_uid: int
    current: bool = Field(description="False once the row has ended")


class MembershipEnd(PeopleChange):
    until: date
    end_reason: EndReason


class MemberMove(PeopleChange):
    to_household_uid: Id
    relation: CodeText = Field("10", description=RELATION_DOC + ", default 10 (spouse)")
    is_co_holder: bool = True
    keep_co_holding: bool = Field(
        True,
        description="Keep co-holding the household left; ends only on the certificate of land "
        "allocated at the new residence (R01, Art. 31)",
    )


class MemberRemoval(PeopleChange):
    """A co-holder comes off the list only on the certificate of land allocated where they now
    live (R01)."""


def _member_json(row: HouseholdMember) -> dict:
    return {**place_json(row), "person_uid": row.person_uid, "current": row.end_lifespan is None}


@bp.post("/memberships/<int:membership_uid>/end")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "End a membership (Art. 17 reasons; settling in town is not one)",
    body=MembershipEnd,
    answer=MembershipItem,
    refusals=REFUSED,
    target=lambda membership_uid, **_: load_current_or_404(Membership, membership_uid, edit=True),
)
def end_membership(membership_uid: int, target: Membership, body: MembershipEnd):
    membership = target
    ended = people.end_membership(
        membership.uid,
        body.until,
        body.end_reason,
        body.reason,
        source_document_id=body.source_document_id,
    )
    db.session.commit()
    return jsonify(present.membership_view(ended))


@bp.post("/persons/<int:person_uid>/move")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Move a member to another household (keeps co-holding by default, R01)",
    body=MemberMove,
    answer=HouseholdMemberRow,
    refusals=REFUSED,
    target=lambda person_uid, **_: load_current_or_404(Person, person_uid, edit=True),
)
def move_member(person_uid: int, target: Person, body: MemberMove):
    person = target
    row = people.move_member(
        person.uid,
        body.to_household_uid,
        body.reason,
        keep_co_holding=body.keep_co_holding,
        relation=body.relation or "10",
        is_co_holder=body.is_co_holder,
        source_document_id=body.source_document_id,
    )
    db.session.commit()
    return jsonify(_member_json(row))


@bp.post("/households/<int:household_uid>/members/<int:person_uid>/remove")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Take a person off a household's list (a co-holder needs a document, R01)",
    body=MemberRemoval,
    answer=HouseholdMemberRow,
    refusals=REFUSED,
    target=lambda household_uid, **_: load_current_or_404(Household, household_uid, edit=True),
)
def remove_household_member(
    household_uid: int, target: Household, person_uid: int, body: MemberRemoval
):
    household = target
    person = load_current_or_404(Person, person_uid)
    row = people.remove_household_member(
        household.uid,
        person.uid,
        body.reason,
        source_document_id=body.source_document_id,
    )
    db.session.commit()
    return jsonify(_member_json(row))
