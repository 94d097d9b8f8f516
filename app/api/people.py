"""JSON API for people and households: the same services and serialisation as the HTML pages.

The rules (R01 members and co-holders, deaths, guardians, splits, mergers, households dying out)
live in app.registry.people and what each reader may see in app.registry.present; these
endpoints translate JSON to those calls and back, and commit once. The models here (a change's
reason and document, a person's place in a household) serve app.api.members too.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from flask import abort, jsonify
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import AfterValidator, Field, WithJsonSchema

from app.api import bp
from app.api.fields import (
    AddressText,
    CodeText,
    DecimalText,
    Id,
    NameText,
    Page,
    Paged,
    PlaceText,
    QueryId,
    Reason,
    SearchText,
    page_of,
)
from app.api.schema import Answer, Body, Query, operation
from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.registry import people, present
from app.registry.lookup import load_current_or_404
from app.registry.models import Household, HouseholdMember, Person

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)
SEARCHERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)

Sex = Literal[tuple(sorted(people.SEXES))]  # type: ignore[valid-type]
HukouType = Literal[tuple(sorted(people.HUKOU_TYPES))]  # type: ignore[valid-type]
HukouKind = Literal[tuple(sorted(people.HUKOU_KINDS))]  # type: ignore[valid-type]
HukouOrigin = Annotated[
    Literal[tuple(sorted(people.HUKOU_ORIGINS))],  # type: ignore[valid-type]
    Field(description="The agricultural / non-agricultural label before 2014"),
]
MembershipBasis = Literal[tuple(sorted(people.BASES))]  # type: ignore[valid-type]
RELATION_DOC = "Relation to the head of the household (GB/T 4761 code)"


def _uid_keys(value: dict[str, str]) -> dict[int, str]:
    """{"person uid": "relation code"}: JSON keys are text, the uids numbers."""
    if any(not (k.isascii() and k.isdigit() and len(k) < 11) for k in value):
        raise ValueError(_("%(name)s must be a whole number.", name="relations"))
    return {int(k): v for k, v in value.items()}


#: Relations to the head by person uid, for the members a split or merger moves.
Relations = Annotated[
    dict[str, CodeText],
    Field(max_length=200),
    AfterValidator(_uid_keys),
    WithJsonSchema(
        {
            "type": "object",
            "description": "Relation to the head (GB/T 4761 code) by person uid",
            "maxProperties": 200,
            "propertyNames": {"pattern": "^[0-9]{1,10}$"},
            "additionalProperties": {"type": "string", "maxLength": 64},
        }
    ),
]
Uids = Annotated[list[Id], Field(max_length=200)]


# --- answers


class PersonItem(Answer):
    """A person as the caller may see them"""

    uid: int
    version: int
    name: str
    id_number: str = Field(description="Masked unless you may see it in full")
    id_number_masked: bool
    sex: Sex
    sex_label: str
    birth_date: date | None = Field(
        description="Null where the ID number is masked (it would give the hidden digits)"
    )
    hukou_type: HukouType = Field(description="Where the hukou is registered: countryside or town")
    hukou_type_label: str
    hukou_kind: HukouKind = Field(description="居民户口")
    hukou_origin: HukouOrigin | None
    hukou_origin_label: str | None
    hukou_label: str
    hukou_place: str | None
    died_on: date | None
    phone: str | None = Field(description="Masked with the ID number")
    since: str = Field(description="When this version was recorded (UTC, to the second)")


class MembershipItem(Answer):
    """A membership of a collective"""

    uid: int
    collective_id: int
    since: date | None = Field(description="Null for a membership by birth seen masked")
    basis: str
    basis_label: str
    until: date | None
    end_reason: str | None
    end_reason_label: str | None
    open: bool


class HouseholdPlace(Answer):
    """A person's place in a household"""

    household_uid: int
    relation: str = Field(description=RELATION_DOC)
    is_co_holder: bool
    moved_out_on: date | None = Field(description="Moved out, co-holding kept (Art. 31)")


class PersonHousehold(HouseholdPlace):
    cbfbm: str


class PersonGuardian(Answer):
    guardianship_uid: int
    guardian_uid: int
    name: str
    since: date
    until: date | None


class SuccessionItem(Answer):
    """What became of a right of a dead person or of a household that died out"""

    on: date
    right_kind: str
    right_uid: int | None
    outcome: str
    outcome_label: str
    household_uid: int | None
    heir_person_uid: int | None
    heir_household_uid: int | None


class PersonRecord(PersonItem):
    """One person, with memberships, households, guardians and what became of their rights"""

    memberships: list[MembershipItem]
    households: list[PersonHousehold]
    guardians: list[PersonGuardian]
    succession: list[SuccessionItem]


class Persons(Page[PersonItem]):
    """Persons within your reach, by uid"""


class HouseholdItem(Answer):
    """A household"""

    uid: int
    version: int
    cbfbm: str
    name: str
    address: str | None
    collective_id: int


class HouseholdMemberItem(Answer):
    person: PersonItem
    relation: str = Field(description=RELATION_DOC)
    relation_label: str
    is_co_holder: bool
    moved_out_on: date | None


class RightsArea(Answer):
    m2: float | None
    mu: str | None = Field(description="亩, two decimals")


class RightsContract(Answer):
    uid: int
    cbhtbm: str
    term_start: date
    term_end: date
    status: str
    contract_area: RightsArea


class RightsPlot(Answer):
    uid: int
    dkbm: str
    name: str | None
    land_class: str
    is_basic_farmland: bool
    contract_area: RightsArea
    measured_area: RightsArea


class RightsHomestead(Answer):
    uid: int
    unit_number: str
    area: RightsArea
    floor_area: RightsArea
    terrain: str


class RightsHomesteadDetail(RightsHomestead):
    registration: str
    acquired_by: str
    note: str | None


class RightsShare(Answer):
    uid: int
    shares: DecimalText
    share_type: str
    certificate_number: str | None
    household_uid: int | None
    person_uid: int | None


class RightsSummary(Answer):
    contract: RightsContract | None
    plots: list[RightsPlot]
    plots_contract_area: RightsArea
    plots_measured_area: RightsArea
    homestead: RightsHomestead | None
    homesteads: list[RightsHomesteadDetail] = Field(
        description="Every current homestead: one that came by inheritance is kept (R08)"
    )
    shares: list[RightsShare]


class HouseholdRecord(HouseholdItem):
    """One household with members and a summary of its rights"""

    members: list[HouseholdMemberItem]
    rights: RightsSummary


class Households(Page[HouseholdItem]):
    """Households within your reach, by uid"""


class HouseholdEnded(Answer):
    """The household that died out"""

    uid: int
    cbfbm: str
    end_reason: str | None


class SearchHitItem(Answer):
    kind: Literal["person", "household", "plot", "contract", "homestead"]
    uid: int
    label: str
    code: str | None = Field(description="A person's ID number (as you may see it) or the code")
    collective_id: int | None
    household_uid: int | None
    person: PersonItem | None = Field(None, description="Persons only")


class SearchHits(Page[SearchHitItem]):
    """What the search found, persons and households by name, or the holder of a code"""


# --- queries and bodies


class PeopleListQuery(Paged):
    collective_id: QueryId = Field(None, description="Only this collective")


class SearchQuery(Query):
    q: SearchText = Field("", description="What to look for")
    cursor: QueryId = Field(None, description="The `next` value of the previous page")


class PeopleChange(Body):
    """What every change of people and households carries: why, and the document it rests on
    (the service says which kind of document a change needs)."""

    reason: Reason
    source_document_id: Id | None = None


class PersonFields(PeopleChange):
    """A person's own data, as registering and correcting a person take it."""

    name: NameText | None = None
    id_number: CodeText | None = Field(None, description="18 characters, GB 11643")
    sex: Sex | None = Field(
        None, description="Comes from the ID number: if given, with one, and agreeing with it"
    )
    birth_date: date | None = Field(
        None, description="Comes from the ID number: if given, with one, and agreeing with it"
    )
    hukou_type: HukouType | None = Field(None, description="Where the hukou is registered")
    hukou_origin: HukouOrigin | None = None
    hukou_place: PlaceText | None = None
    phone: CodeText | None = None


class PersonNew(PersonFields):
    """Registration: the person (hukou_type rural unless given) and their membership."""

    collective_id: Id
    name: NameText
    id_number: CodeText = Field(description="18 characters, GB 11643")
    since: date = Field(description="When the membership began")
    basis: MembershipBasis


class PersonCorrection(PersonFields):
    """Only the keys sent change."""

    hukou_kind: HukouKind | None = None


class HouseholdNew(PeopleChange):
    collective_id: Id
    cbfbm: CodeText | None = Field(
        None, description="FBFBM + 4 digits. Default: the next free code of the collective"
    )
    name: NameText | None = Field(None, description="Default: the head's name")
    address: AddressText | None = None
    head_person_uid: Id


class HouseholdMemberNew(PeopleChange):
    person_uid: Id
    relation: CodeText = Field(description=RELATION_DOC)
    is_co_holder: bool = True


class DeathRecord(PeopleChange):
    died_on: date
    heir_household_uid: Id | None = None
    income_heir_person_uid: Id | None = None
    continuing_household_uid: Id | None = None
    new_head_person_uid: Id | None = None


class GuardianAppointment(PeopleChange):
    guardian_uid: Id
    since: date


class GuardianshipEnd(PeopleChange):
    guardianship_uid: Id
    until: date


class HouseholdSplit(PeopleChange):
    members: Uids
    head_person_uid: Id
    plots: Uids = []
    cbfbm: CodeText | None = Field(None, description="Default: the next free code")
    name: NameText | None = None
    address: AddressText | None = None
    relations: Relations | None = None


class HouseholdMerge(PeopleChange):
    into_household_uid: Id
    relations: Relations | None = None


class HouseholdDissolve(PeopleChange):
    on: date
    income_heir_person_uid: Id | None = None
    continuing_household_uid: Id | None = None
    heir_household_uid: Id | None = None


NOT_FOUND = {404: "Not found or outside your reach"}
REFUSED = {**NOT_FOUND, 422: "Refused: a rule or a field check said no"}


def _editable_collective(collective_id: int) -> Collective:
    collective = load_or_404(Collective, collective_id)
    if not can_edit(current_user, collective):
        abort(404)
    return collective


def place_json(row: HouseholdMember) -> dict:
    """A person's place in a household (``HouseholdPlace``)."""
    return {
        "household_uid": row.household_uid,
        "relation": row.relation,
        "is_co_holder": bool(row.is_co_holder),
        "moved_out_on": row.moved_out_on.isoformat() if row.moved_out_on else None,
    }


def _household_json(household: Household) -> dict:
    members = people.household_members(household.uid)
    rights = people.household_rights(household.uid, [r.person.uid for r in members])
    return present.household_view(household, current_user, members=members, rights=rights)


def _person_json(person: Person) -> dict:
    out = present.person_view(person, current_user)
    out["memberships"] = [
        present.membership_view(m, masked=out["id_number_masked"])
        for m in people.person_memberships(person.uid)
    ]
    out["households"] = [
        {**place_json(m), "cbfbm": hh.cbfbm} for m, hh in people.person_households(person.uid)
    ]
    out["guardians"] = [
        {
            "guardianship_uid": g.uid,
            "guardian_uid": p.uid,
            "name": p.name,
            "since": g.since.isoformat(),
            "until": g.until.isoformat() if g.until else None,
        }
        for g, p in people.guardians_of(person.uid)
    ]
    out["succession"] = [
        present.succession_view(row) for row in people.succession_of(person_uid=person.uid)
    ]
    return out


@bp.get("/persons")
@roles_required(*READERS)
@operation("Persons within your reach", query=PeopleListQuery, answer=Persons)
def list_persons(query: PeopleListQuery):
    rows = people.visible_persons(
        current_user,
        collective_id=query.collective_id,
        after=query.cursor,
        limit=query.limit + 1,
    )
    page = page_of(rows, query.limit, key=lambda p: p.uid)
    scopes = present.collective_ids_of(p.uid for p in page["items"])
    items = [present.person_view(p, current_user, scopes[p.uid]) for p in page["items"]]
    return jsonify({**page, "items": items})


@bp.post("/persons")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Register a person and admit them as a member of a collective",
    body=PersonNew,
    answer=PersonRecord,
    status=201,
    refusals=REFUSED,
)
def create_person(body: PersonNew):
    collective = _editable_collective(body.collective_id)
    person = people.register_person(
        body.name,
        body.id_number,
        body.sex,
        body.birth_date,
        body.hukou_type or "rural",
        body.hukou_place,
        body.phone,
        source_document_id=body.source_document_id,
        collective_id=collective.id,
        reason=body.reason,
        hukou_origin=body.hukou_origin,
    )
    people.admit_member(
        person.uid,
        collective.id,
        body.since,
        body.basis,
        body.reason,
        source_document_id=body.source_document_id,
    )
    db.session.commit()
    return jsonify(_person_json(person)), 201


@bp.get("/persons/<int:person_uid>")
@roles_required(*READERS)
@operation("One person, with memberships and households", answer=PersonRecord, refusals=NOT_FOUND)
def get_person(person_uid: int):
    return jsonify(_person_json(load_current_or_404(Person, person_uid)))


@bp.patch("/persons/<int:person_uid>")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Correct a person's data as a new version (a hukou change touches no right)",
    body=PersonCorrection,
    answer=PersonRecord,
    refusals=REFUSED,
    target=lambda person_uid, **_: load_current_or_404(Person, person_uid, edit=True),
)
def patch_person(person_uid: int, target: Person, body: PersonCorrection):
    """Correct a person's data: a new version, with a reason (history, never overwrite)."""
    person = target
    changes = body.model_dump(include=set(people.PERSON_FIELDS), exclude_unset=True)
    updated = people.update_person(
        person.uid,
        body.reason,
        source_document_id=body.source_document_id,
        **changes,
    )
    db.session.commit()
    return jsonify(_person_json(updated))


@bp.get("/households")
@roles_required(*READERS)
@operation("Households within your reach", query=PeopleListQuery, answer=Households)
def list_households(query: PeopleListQuery):
    rows = people.visible_households(
        current_user,
        collective_id=query.collective_id,
        after=query.cursor,
        limit=query.limit + 1,
    )
    page = page_of(rows, query.limit, key=lambda h: h.uid)
    return jsonify(
        {**page, "items": [present.household_view(h, current_user) for h in page["items"]]}
    )


@bp.post("/households")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Create a household with its head (R01)",
    body=HouseholdNew,
    answer=HouseholdRecord,
    status=201,
    refusals=REFUSED,
)
def create_household(body: HouseholdNew):
    collective = _editable_collective(body.collective_id)
    household = people.create_household(
        collective.id,
        body.cbfbm,
        body.name,
        body.address,
        body.head_person_uid,
        body.reason,
        source_document_id=body.source_document_id,
    )
    db.session.commit()
    return jsonify(_household_json(household)), 201


@bp.get("/households/<int:household_uid>")
@roles_required(*READERS)
@operation(
    "One household with members and a summary of its rights",
    answer=HouseholdRecord,
    refusals=NOT_FOUND,
)
def get_household(household_uid: int):
    return jsonify(_household_json(load_current_or_404(Household, household_uid)))


@bp.post("/households/<int:household_uid>/members")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Add a member of the collective to the household (R01)",
    body=HouseholdMemberNew,
    answer=HouseholdRecord,
    status=201,
    refusals=REFUSED,
    target=lambda household_uid, **_: load_current_or_404(Household, household_uid, edit=True),
)
def add_household_member(household_uid: int, target: Household, body: HouseholdMemberNew):
    household = target
    people.add_household_member(
        household.uid,
        body.person_uid,
        body.relation,
        body.is_co_holder,
        body.reason,
        source_document_id=body.source_document_id,
    )
    db.session.commit()
    return jsonify(_household_json(household)), 201


# --- life events: death, guardians, household split, merger and dying out


@bp.post("/persons/<int:person_uid>/death")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Record a death: memberships and co-holding end, rights go on by law",
    body=DeathRecord,
    answer=PersonRecord,
    refusals=REFUSED,
    target=lambda person_uid, **_: load_current_or_404(Person, person_uid, edit=True),
)
def record_death(person_uid: int, target: Person, body: DeathRecord):
    """A person's death: memberships and co-holding end; rights go as the law and charter say."""
    person = target
    dead = people.record_death(
        person.uid,
        body.died_on,
        body.reason,
        source_document_id=body.source_document_id,
        heir_household_uid=body.heir_household_uid,
        income_heir_person_uid=body.income_heir_person_uid,
        continuing_household_uid=body.continuing_household_uid,
        new_head_person_uid=body.new_head_person_uid,
    )
    db.session.commit()
    return jsonify(_person_json(dead))


@bp.post("/persons/<int:person_uid>/guardians")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Record the guardian of a minor",
    body=GuardianAppointment,
    answer=PersonRecord,
    status=201,
    refusals=REFUSED,
    target=lambda person_uid, **_: load_current_or_404(Person, person_uid, edit=True),
)
def appoint_guardian(person_uid: int, target: Person, body: GuardianAppointment):
    """Record the guardian (监护人) of a minor."""
    ward = target
    people.appoint_guardian(
        ward.uid,
        body.guardian_uid,
        body.since,
        body.reason,
        source_document_id=body.source_document_id,
    )
    db.session.commit()
    return jsonify(_person_json(ward)), 201


@bp.post("/persons/<int:person_uid>/guardians/end")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "End one of the person's guardianships",
    body=GuardianshipEnd,
    answer=PersonRecord,
    refusals=REFUSED,
    target=lambda person_uid, **_: load_current_or_404(Person, person_uid, edit=True),
)
def end_guardianship(person_uid: int, target: Person, body: GuardianshipEnd):
    """End one of the person's guardianships (``guardianship_uid``)."""
    ward = target
    uid = body.guardianship_uid
    if uid not in {g.uid for g, _p in people.guardians_of(ward.uid) if g.end_lifespan is None}:
        raise DomainError(
            "guardianship_unknown",
            _("There is no such guardianship."),
            field="guardianship_uid",
        )
    people.end_guardianship(
        uid,
        body.until,
        body.reason,
        source_document_id=body.source_document_id,
    )
    db.session.commit()
    return jsonify(_person_json(ward))


@bp.post("/households/<int:household_uid>/split")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Split a household with the collective's approval (分户)",
    body=HouseholdSplit,
    answer=HouseholdRecord,
    status=201,
    refusals=REFUSED,
    target=lambda household_uid, **_: load_current_or_404(Household, household_uid, edit=True),
)
def split_household(household_uid: int, target: Household, body: HouseholdSplit):
    """分户 with the collective's approval: chosen members and plots form a new household."""
    household = target
    new = people.split_household(
        household.uid,
        body.members,
        body.head_person_uid,
        body.reason,
        source_document_id=body.source_document_id,
        plot_uids=body.plots,
        cbfbm=body.cbfbm,
        name=body.name,
        address=body.address,
        relations=body.relations or {},
    )
    db.session.commit()
    return jsonify(_household_json(new)), 201


@bp.post("/households/<int:household_uid>/merge")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Merge this household into another with the collective's approval (合户)",
    body=HouseholdMerge,
    answer=HouseholdRecord,
    refusals=REFUSED,
    target=lambda household_uid, **_: load_current_or_404(Household, household_uid, edit=True),
)
def merge_household(household_uid: int, target: Household, body: HouseholdMerge):
    """合户 with the collective's approval: this household joins ``into_household_uid``."""
    household = target
    kept = people.merge_households(
        household.uid,
        body.into_household_uid,
        body.reason,
        source_document_id=body.source_document_id,
        relations=body.relations or {},
    )
    db.session.commit()
    return jsonify(_household_json(kept))


@bp.post("/households/<int:household_uid>/dissolve")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "A household nobody lives in any more dies out (户消亡)",
    body=HouseholdDissolve,
    answer=HouseholdEnded,
    refusals=REFUSED,
    target=lambda household_uid, **_: load_current_or_404(Household, household_uid, edit=True),
)
def dissolve_household(household_uid: int, target: Household, body: HouseholdDissolve):
    """户消亡: a household nobody lives in any more ends, and so do its rights."""
    household = target
    ended = people.dissolve_household(
        household.uid,
        body.on,
        body.reason,
        source_document_id=body.source_document_id,
        income_heir_person_uid=body.income_heir_person_uid,
        continuing_household_uid=body.continuing_household_uid,
        heir_household_uid=body.heir_household_uid,
    )
    db.session.commit()
    return jsonify({"uid": ended.uid, "cbfbm": ended.cbfbm, "end_reason": ended.end_reason})


@bp.get("/search")
@roles_required(*SEARCHERS)
@operation(
    "Search by name, full ID number or code (CBFBM, DKBM, CBHTBM, unit number)",
    query=SearchQuery,
    answer=SearchHits,
)
def search(query: SearchQuery):
    page = max(query.cursor or 1, 1)
    hits, more = people.search(current_user, query.q, page=page)
    scopes = present.collective_ids_of(h.uid for h in hits if h.kind == "person")
    items: list[dict[str, Any]] = []
    for h in hits:
        item: dict[str, Any] = {
            "kind": h.kind,
            "uid": h.uid,
            "label": h.label,
            "code": h.code,
            "collective_id": h.collective_id,
            "household_uid": h.household_uid,
        }
        if h.kind == "person":
            item["person"] = present.person_view(h.obj, current_user, scopes[h.uid])
            item["code"] = item["person"]["id_number"]
        items.append(item)
    return jsonify(items=items, next=str(page + 1) if more else None)
