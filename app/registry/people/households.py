"""Households (承包方/农户): creating one with its code (CBFBM), adding, removing and moving
members, and who co-holds its rights (R01).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.core.codes import (
    CodeError,
    validate_cbfbm,
)
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history, inputs
from app.registry.documents import citable_document
from app.registry.inputs import require_reason as _reason
from app.registry.inputs import today_or as _today
from app.registry.models import (
    Household,
    HouseholdMember,
    Person,
)
from app.registry.people._common import (
    HEAD,
    _collective,
    _household,
    _live_in,
    _member_of,
    _member_row,
    _relation,
    _require_no_household,
    _require_not_head,
    _source_sha,
    _writing,
    resident_row,
)

# Art. 31: the one document that ends a married-out woman's co-holding of her first household.
LAND_AT_NEW_RESIDENCE = "land_at_new_residence"


def next_cbfbm(collective: Collective) -> str:
    """The next free household code of the collective (CBFBM = FBFBM + 4-digit sequence): the
    code a new household gets when none is given, and the one the forms propose. It follows the
    highest code the collective ever gave, so the code of a household that ended is not reused."""
    top = db.session.scalar(
        select(func.max(Household.cbfbm)).where(Household.collective_id == collective.id)
    )
    seq = int(top[14:]) + 1 if top and top[14:].isdigit() else 1
    return f"{collective.fbfbm}{min(seq, 9999):04d}"


def _new_household_code(collective: Collective, cbfbm: Any) -> str:
    """R01: the code (承包方编码) of a household about to be created or split off: the one given,
    which must be the collective's FBFBM + a 4-digit sequence and free among current households,
    or the next free one (``next_cbfbm``) when none is given. The pages and the API only pass on
    what they were given; this is the one place that decides the code."""
    given = cbfbm or next_cbfbm(collective)
    try:
        code = validate_cbfbm(given if isinstance(given, str) else "", fbfbm=collective.fbfbm)
    except CodeError as exc:
        raise DomainError.from_check(exc, field="cbfbm") from None
    if db.session.scalar(
        select(Household.uid).where(Household.cbfbm == code, Household.end_lifespan.is_(None))
    ):
        raise DomainError(
            "cbfbm_taken",
            _("Household code %(code)s is in use already.", code=code),
            field="cbfbm",
        )
    return code


def create_household(
    collective_id: int,
    cbfbm: str | None,
    name: str | None,
    address: str | None,
    head_person_uid: int,
    reason: str,
    *,
    source_document_id: int | None = None,
    effective_on: date | None = None,
) -> Household:
    """Create a household (承包方) with its head as first member and co-holder.

    R01: the household belongs to the 发包方's collective and its head is a member of it. CBFBM is
    the collective's FBFBM + a 4-digit sequence and is unique among current households; with no
    ``cbfbm`` the household gets the next free one (``_new_household_code``).
    ``effective_on``: the day the household was established (default: today).
    """
    reason = _reason(reason)
    collective = _collective(collective_id)
    code = _new_household_code(collective, cbfbm)
    head = _member_of(head_person_uid, collective.id, field="head_person_uid")
    _require_no_household(head)
    name = inputs.text(name if isinstance(name, str) else None, "name", "name") or head.name
    address = inputs.text(address if isinstance(address, str) else None, "address", "address")
    sha = _source_sha(source_document_id, collective.id)
    with _writing("household.create", reason=reason, source_sha256=sha):
        household = history.create(
            Household,
            reason=reason,
            source_document_id=source_document_id,
            effective_on=effective_on,
            cbfbm=code,
            collective_id=collective.id,
            name=name,
            address=address or None,
        )
        history.create(
            HouseholdMember,
            reason=reason,
            source_document_id=source_document_id,
            effective_on=effective_on,
            household_uid=household.uid,
            person_uid=head.uid,
            collective_id=collective.id,
            relation=HEAD,
            is_co_holder=True,
        )
    return household


def add_household_member(
    household_uid: int,
    person_uid: int,
    relation: str,
    is_co_holder: bool,
    reason: str,
    *,
    source_document_id: int | None = None,
    effective_on: date | None = None,
) -> HouseholdMember:
    """Add a person to a household with their relation to the head and co-holder flag.

    R01: the person must be a current member of the household's collective (holders of contracted
    land are members of the 发包方's collective). A person lives in one household at a time; a
    household has one head. ``effective_on``: the day they joined (default: today).
    """
    reason = _reason(reason)
    household = _household(household_uid, lock=True)
    relation = _relation(relation)
    person = _member_of(person_uid, household.collective_id)
    if relation == HEAD and db.session.scalar(
        select(HouseholdMember.id).where(
            HouseholdMember.household_uid == household.uid,
            HouseholdMember.relation == HEAD,
            HouseholdMember.end_lifespan.is_(None),
            HouseholdMember.moved_out_on.is_(None),
        )
    ):
        raise DomainError("head_exists", _("This household has a head already."), field="relation")
    existing = _member_row(household.uid, person.uid)
    if existing is not None and existing.moved_out_on is None:
        raise DomainError(
            "member_already",
            _("%(name)s is in this household already.", name=person.name),
            field="person_uid",
        )
    _require_no_household(person)
    sha = _source_sha(source_document_id, household.collective_id)
    with _writing("household.member_add", reason=reason, source_sha256=sha):
        # Coming back to a household where co-holding was kept: live here again.
        return _live_in(
            household,
            person.uid,
            relation,
            is_co_holder,
            kept=existing,
            reason=reason,
            source_document_id=source_document_id,
            effective_on=effective_on,
        )


def remove_household_member(
    household_uid: int,
    person_uid: int,
    reason: str,
    *,
    source_document_id: int | None = None,
) -> HouseholdMember:
    """Take a person off a household's member list.

    R01 / 承包法 Art. 31: a co-holder's share in the household's rights is not taken away on a
    clerk's word, nor on any document: a co-holder comes off the list only on the evidence that
    they have contracted land where they now live (a ``land_at_new_residence`` document), as
    when moving on marriage or divorce. A death is recorded with ``record_death`` instead.
    """
    reason = _reason(reason)
    household = _household(household_uid, lock=True)
    row = _member_row(household.uid, person_uid)
    if row is None:
        raise DomainError(
            "not_in_household", _("The person is not in this household."), field="person_uid"
        )
    if row.is_co_holder:
        evidence = citable_document(source_document_id, household.collective_id)
        if evidence is None or evidence.kind != LAND_AT_NEW_RESIDENCE:
            raise DomainError(
                "land_evidence_required",
                _(
                    "A co-holder keeps their share of the household's land unless they have "
                    "contracted land where they now live: cite the certificate of land "
                    "allocated at the new residence. A death is recorded on the person's page."
                ),
                field="source_document_id",
                rule="R01",
            )
    sha = _source_sha(source_document_id, household.collective_id)
    with _writing("household.member_remove", reason=reason, source_sha256=sha):
        return history.end(row, reason=reason, source_document_id=source_document_id)


def move_member(
    person_uid: int,
    to_household_uid: int,
    reason: str,
    keep_co_holding: bool = True,
    *,
    relation: str = "10",
    is_co_holder: bool = True,
    source_document_id: int | None = None,
    today: date | None = None,
) -> HouseholdMember:
    """Move a person to another household, e.g. a woman on marriage (relation 10, spouse).

    R01 / 承包法 Art. 31: women keep their rights on marriage, divorce and widowhood. By default
    the person stays listed as co-holder of the household they leave (marked moved out). That
    co-holding ends (``keep_co_holding=False``) only on the evidence the law names: land
    allocated to the person where they now live, a document of kind ``land_at_new_residence``
    from the new place's collective; any other document (a consent form, say) is refused. The
    person must be a member of the new household's collective (R01).
    """
    reason = _reason(reason)
    relation = _relation(relation)
    if relation == HEAD:
        raise DomainError("head_exists", _("This household has a head already."), field="relation")
    target = _household(to_household_uid, lock=True)
    person = _member_of(person_uid, target.collective_id)
    current = resident_row(person.uid)
    if current is None:
        raise DomainError(
            "no_household",
            _("%(name)s does not belong to a household yet: add them instead.", name=person.name),
            field="person_uid",
        )
    if current.household_uid == target.uid:
        raise DomainError(
            "member_already",
            _("%(name)s is in this household already.", name=person.name),
            field="to_household_uid",
        )
    _require_not_head(current, "person_uid")
    if not keep_co_holding and current.is_co_holder:
        evidence = citable_document(
            source_document_id, {target.collective_id, current.collective_id}
        )
        if evidence is None or evidence.kind != LAND_AT_NEW_RESIDENCE:
            raise DomainError(
                "land_evidence_required",
                _(
                    "A person who moves keeps co-holding the land of the household they leave "
                    "unless they have contracted land where they now live: cite the certificate "
                    "of land allocated at the new residence, issued by that collective."
                ),
                field="source_document_id",
                rule="R01",
            )
    sha = _source_sha(source_document_id, {target.collective_id, current.collective_id})
    with _writing("household.member_move", reason=reason, source_sha256=sha):
        if keep_co_holding and current.is_co_holder:
            history.revise(
                current,
                reason=reason,
                source_document_id=source_document_id,
                moved_out_on=_today(today),
            )
        else:
            history.end(current, reason=reason, source_document_id=source_document_id)
        return _live_in(
            target,
            person.uid,
            relation,
            is_co_holder,
            kept=_member_row(target.uid, person.uid),  # co-holding kept from an earlier move
            reason=reason,
            source_document_id=source_document_id,
        )


def co_holders(household_uid: int) -> list[Person]:
    """R01: the persons who hold the household's rights together (是否共有人), including members who
    moved out but kept their co-holding (Art. 31). Current versions, head first."""
    rows = db.session.execute(
        select(Person, HouseholdMember.relation)
        .join(HouseholdMember, HouseholdMember.person_uid == Person.uid)
        .where(
            HouseholdMember.household_uid == household_uid,
            HouseholdMember.end_lifespan.is_(None),
            HouseholdMember.is_co_holder.is_(True),
            Person.end_lifespan.is_(None),
        )
        .order_by(HouseholdMember.relation, Person.uid)
    ).all()
    return [person for person, _rel in rows]
