"""People and households: members (成员), memberships (成员资格), households (承包方/农户).

Each business rule lives in exactly one function here; the HTML views and the JSON API call these
same functions. Services flush, never commit. Every change goes through ``history`` (nothing is
overwritten) inside an audit context naming the event and the reason.

What is deliberately absent: nothing here reads a settlement record, and no function ends a
membership or a household membership because a person took urban hukou (进城落户). Settling in
town does not end membership (集体经济组织法 Arts. 17–18) and never changes a right (R12).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError

from app.audit import trail
from app.auth.models import COUNTY_READERS, Role
from app.core.codes import (
    CodeError,
    id_birth_date,
    id_sex,
    validate_cbfbm,
    validate_id_number,
)
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history, inputs
from app.registry.documents import citable_document
from app.registry.inputs import require_reason as _reason
from app.registry.inputs import today_or as _today
from app.registry.models import (
    RELATIONS,
    Homestead,
    Household,
    HouseholdMember,
    HukouType,
    LandContract,
    Membership,
    MembershipBasis,
    Person,
    Plot,
    ShareHolding,
)

HEAD = "02"  # 户主: relation code of the household's head (GB/T 4761)

SEXES = {"M": _l("Male"), "F": _l("Female")}
HUKOU_TYPES = {HukouType.RURAL.value: _l("Rural"), HukouType.URBAN.value: _l("Urban")}
BASES = {
    MembershipBasis.BIRTH.value: _l("Birth"),
    MembershipBasis.MARRIAGE.value: _l("Marriage"),
    MembershipBasis.ADOPTION.value: _l("Adoption"),
    MembershipBasis.ALLOCATION.value: _l("Allocation"),
    MembershipBasis.RESOLUTION.value: _l("Resolution"),
}
# Ways a membership ends (集体经济组织法 Art. 17). Settling in town is NOT one of them (Art. 18).
END_REASONS = {
    "death": _l("Death"),
    "nationality": _l("Lost Chinese nationality"),
    "other_collective": _l("Became a member of another collective"),
    "civil_servant": _l("Became a civil servant"),
    "renounced": _l("Gave up membership in writing"),
    "charter": _l("Other case named in the charter"),
}

PERSON_FIELDS = ("name", "id_number", "sex", "birth_date", "hukou_type", "hukou_place", "phone")
_PHONE = re.compile(r"^[0-9+\- ]{3,32}$")


# --- small checks shared by the services


@contextmanager
def _writing(event: str, *, reason: str, source_sha256: str | None) -> Iterator[None]:
    """Audit context for the writes; a unique index that a concurrent writer beat us to (one
    current person per ID number, one open membership, one household per person, one current
    CBFBM) becomes a clear refusal instead of a server error."""
    with trail.because(event, reason=reason, source_sha256=source_sha256):
        try:
            yield
        except IntegrityError:
            raise DomainError(
                "conflict",
                _("This was changed at the same time by someone else. Reload and try again."),
            ) from None


def _source_sha(
    source_document_id: int | None, collective_ids: int | Iterable[int] | None
) -> str | None:
    """The cited document's hash for the audit entry (``documents.citable_document``)."""
    doc = citable_document(source_document_id, collective_ids)
    return doc.sha256 if doc is not None else None


def _collective(collective_id: int) -> Collective:
    obj = db.session.get(Collective, collective_id)
    if obj is None:
        raise DomainError(
            "collective_unknown", _("There is no such collective."), field="collective_id"
        )
    return obj


def _person(person_uid: int, *, lock: bool = False) -> Person:
    person = history.current_of(Person, person_uid, lock=lock)
    if person is None:
        raise DomainError("person_unknown", _("There is no such person."), field="person_uid")
    return person


def _household(household_uid: int, *, lock: bool = False) -> Household:
    household = history.current_of(Household, household_uid, lock=lock)
    if household is None:
        raise DomainError(
            "household_unknown", _("There is no such household."), field="household_uid"
        )
    return household


def _as_date(value: Any, field_name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise DomainError("date", _("Give the date as YYYY-MM-DD."), field=field_name)


def open_membership(person_uid: int, collective_id: int) -> Membership | None:
    """The person's open membership of the collective, if any."""
    return db.session.scalar(
        select(Membership).where(
            Membership.person_uid == person_uid,
            Membership.collective_id == collective_id,
            Membership.end_lifespan.is_(None),
        )
    )


def resident_row(person_uid: int) -> HouseholdMember | None:
    """The person's row in the household they live in now (not a kept co-holding)."""
    return db.session.scalar(
        select(HouseholdMember).where(
            HouseholdMember.person_uid == person_uid,
            HouseholdMember.end_lifespan.is_(None),
            HouseholdMember.moved_out_on.is_(None),
        )
    )


def _member_row(household_uid: int, person_uid: int) -> HouseholdMember | None:
    return db.session.scalar(
        select(HouseholdMember).where(
            HouseholdMember.household_uid == household_uid,
            HouseholdMember.person_uid == person_uid,
            HouseholdMember.end_lifespan.is_(None),
        )
    )


def _member_of(person_uid: Any, collective_id: int, *, field: str = "person_uid") -> Person:
    """R1: the person, who must be a current member of the collective (everyone in a holder
    household is a member of the 发包方's collective).

    A person who does not exist and one who is not a member here (of another collective, say)
    get the same answer, naming nobody: what other collectives' rolls hold does not leak.
    """
    person = None
    if isinstance(person_uid, int) and not isinstance(person_uid, bool) and 0 < person_uid < 2**31:
        person = history.current_of(Person, person_uid)
    if person is None or open_membership(person.uid, collective_id) is None:
        raise DomainError(
            "person_unknown",
            _("There is no such member of this collective: admit the person as a member first."),
            field=field,
            rule="R1",
        )
    return person


def _require_no_household(person: Person) -> None:
    if resident_row(person.uid) is not None:
        raise DomainError(
            "in_household",
            _("%(name)s belongs to a household already.", name=person.name),
            field="person_uid",
        )


def _relation(relation: str | None) -> str:
    relation = (relation or "").strip()
    if relation not in RELATIONS:
        raise DomainError(
            "relation", _("Choose the relation to the head of household."), field="relation"
        )
    return relation


# --- persons


def _check_person_fields(
    fields: dict[str, Any], *, today: date | None, exclude_uid: int | None = None
) -> dict[str, Any]:
    """Normalise person fields; sex and birth date come from the ID number and must agree."""
    out = dict(fields)
    if "name" in out:
        name = out["name"] if isinstance(out["name"], str) else ""
        name = inputs.text(name, "name", "name")
        if not name:
            raise DomainError("name", _("Give the person's name."), field="name")
        out["name"] = name
    if "id_number" in out:
        raw = out["id_number"]
        if not isinstance(raw, str):
            raw = ""
        try:
            number = validate_id_number(raw, today=today)
        except CodeError as exc:
            raise DomainError.from_check(exc, field="id_number") from None
        out["id_number"] = number
        derived_sex, derived_birth = id_sex(number), id_birth_date(number, today=today)
        sex = out.get("sex")
        if sex not in (None, ""):
            if sex not in SEXES:
                raise DomainError("sex", _("Sex is M or F."), field="sex")
            if sex != derived_sex:
                raise DomainError(
                    "sex_mismatch",
                    _("The sex does not match the ID number (its 17th digit)."),
                    field="sex",
                )
        birth = _as_date(out.get("birth_date"), "birth_date")
        if birth is not None and birth != derived_birth:
            raise DomainError(
                "birth_mismatch",
                _("The birth date does not match the ID number (its 7th to 14th digits)."),
                field="birth_date",
            )
        out["sex"], out["birth_date"] = derived_sex, derived_birth
        taken = select(Person.uid).where(Person.id_number == number, Person.end_lifespan.is_(None))
        if exclude_uid is not None:
            taken = taken.where(Person.uid != exclude_uid)
        if db.session.scalar(taken) is not None:
            # The same answer whether the holder is on this collective's roll or another's (or
            # on none): no name, collective or link, only "see your roll or ask the county".
            raise DomainError(
                "id_number_taken",
                _(
                    "This ID number cannot be registered again. If the person is on your roll, "
                    "search for them there; otherwise the county agriculture bureau can check "
                    "the record."
                ),
                field="id_number",
            )
    elif "sex" in out or "birth_date" in out:
        # Without a new ID number, sex and birth date cannot drift from the stored one.
        raise DomainError(
            "derived_field",
            _("Sex and birth date come from the ID number: correct the ID number instead."),
            field="sex" if "sex" in out else "birth_date",
        )
    if "hukou_type" in out:
        if out["hukou_type"] not in HUKOU_TYPES:
            raise DomainError("hukou_type", _("Hukou type is rural or urban."), field="hukou_type")
        out["hukou_type"] = str(out["hukou_type"])
    if "hukou_place" in out:
        place = out["hukou_place"] if isinstance(out["hukou_place"], str) else None
        out["hukou_place"] = inputs.text(place, "hukou_place", "place")
    if "phone" in out:
        phone = (out["phone"] or "").strip() if isinstance(out["phone"], str) else ""
        if phone and not _PHONE.match(phone):
            raise DomainError(
                "phone", _("The phone number may hold digits, +, - and spaces."), field="phone"
            )
        out["phone"] = phone or None
    return out


def register_person(
    name: str,
    id_number: str,
    sex: str | None = None,
    birth_date: date | str | None = None,
    hukou_type: str = HukouType.RURAL.value,
    hukou_place: str | None = None,
    phone: str | None = None,
    *,
    source_document_id: int | None = None,
    collective_id: int | None = None,
    reason: str,
    today: date | None = None,
) -> Person:
    """Register a natural person (DOMAIN §3 Person).

    ``collective_id`` is the collective registering them (the one they are admitted to): a cited
    document must be its own or a county-wide one.

    The ID number must pass GB 11643 (length, region, birth date, check digit); sex and birth date
    are derived from it, and if given they must agree. One current person per ID number: a second
    registration would split one person's rights across two records.
    """
    reason = _reason(reason)
    fields = _check_person_fields(
        {
            "name": name,
            "id_number": id_number,
            "sex": sex,
            "birth_date": birth_date,
            "hukou_type": hukou_type or HukouType.RURAL.value,
            "hukou_place": hukou_place,
            "phone": phone,
        },
        today=today,
    )
    sha = _source_sha(source_document_id, collective_id)
    with _writing("person.register", reason=reason, source_sha256=sha):
        # Legal time: the day of registration, not the birth date, which the history would show
        # to readers who see the ID number masked. Memberships carry the dates that matter.
        return history.create(
            Person, reason=reason, source_document_id=source_document_id, **fields
        )


def update_person(
    uid: int,
    reason: str,
    *,
    source_document_id: int | None = None,
    today: date | None = None,
    **changes: Any,
) -> Person:
    """Correct or update a person's data as a new version (history, never overwrite).

    R12: a hukou change (e.g. to urban on settling in town) is just a new version of the person;
    it deliberately touches no membership, household membership or right.
    """
    reason = _reason(reason)
    unknown = set(changes) - set(PERSON_FIELDS)
    if unknown:
        raise DomainError(
            "field", _("These fields cannot be changed here: %(f)s", f=", ".join(sorted(unknown)))
        )
    person = _person(uid, lock=True)
    fields = _check_person_fields(changes, today=today, exclude_uid=uid)
    sha = _source_sha(source_document_id, person.scope_collective_ids)
    with _writing("person.update", reason=reason, source_sha256=sha):
        return history.revise(
            person, reason=reason, source_document_id=source_document_id, **fields
        )


# --- memberships


def admit_member(
    person_uid: int,
    collective_id: int,
    since: date | str,
    basis: str,
    reason: str,
    *,
    source_document_id: int | None = None,
    today: date | None = None,
) -> Membership:
    """Admit a person as a member of a collective (成员资格, 集体经济组织法 Arts. 11–12).

    A person may not hold two open memberships of the same collective; the date cannot lie in the
    future or before the person's birth.
    """
    reason = _reason(reason)
    collective = _collective(collective_id)
    person = _person(person_uid)
    since_d = _as_date(since, "since")
    if since_d is None:
        raise DomainError("since", _("Give the date the membership began."), field="since")
    if since_d > _today(today) or since_d < person.birth_date:
        raise DomainError(
            "since_range",
            _("The membership cannot begin before birth or in the future."),
            field="since",
        )
    if basis not in BASES:
        raise DomainError("basis", _("Choose the basis of the membership."), field="basis")
    if open_membership(person.uid, collective.id) is not None:
        raise DomainError(
            "member_already",
            _("%(name)s is a member of this collective already.", name=person.name),
            field="person_uid",
        )
    sha = _source_sha(source_document_id, collective.id)
    with _writing("membership.admit", reason=reason, source_sha256=sha):
        return history.create(
            Membership,
            reason=reason,
            source_document_id=source_document_id,
            effective_on=history.natural_date(since_d),
            person_uid=person.uid,
            collective_id=collective.id,
            since=since_d,
            basis=basis,
        )


def end_membership(
    membership_uid: int,
    until: date | str,
    end_reason: str,
    reason: str,
    *,
    source_document_id: int | None = None,
    today: date | None = None,
) -> Membership:
    """End a membership for one of the reasons of 集体经济组织法 Art. 17 (``END_REASONS``).

    Settling in town is not among them (Art. 18, R12), and no code path ends a membership because
    of a hukou change. The person's rights in households are left as they are: ending a membership
    is not a way to take land back (R6).
    """
    reason = _reason(reason)
    membership = history.current_of(Membership, membership_uid, lock=True)
    if membership is None:
        raise DomainError(
            "membership_unknown", _("There is no such open membership."), field="membership_uid"
        )
    until_d = _as_date(until, "until")
    if until_d is None or until_d < membership.since or until_d > _today(today):
        raise DomainError(
            "until_range",
            _("The end date lies between the start of the membership and today."),
            field="until",
        )
    if end_reason not in END_REASONS:
        raise DomainError(
            "end_reason",
            _("Choose why the membership ends. Settling in town is not a reason."),
            field="end_reason",
        )
    sha = _source_sha(source_document_id, membership.collective_id)
    with _writing("membership.end", reason=reason, source_sha256=sha):
        return history.end(
            membership,
            reason=reason,
            source_document_id=source_document_id,
            effective_on=history.natural_date(until_d, membership),
            until=until_d,
            end_reason=end_reason,
        )


# --- households


def create_household(
    collective_id: int,
    cbfbm: str,
    name: str | None,
    address: str | None,
    head_person_uid: int,
    reason: str,
    *,
    source_document_id: int | None = None,
    effective_on: date | None = None,
) -> Household:
    """Create a household (承包方) with its head as first member and co-holder.

    R1: the household belongs to the 发包方's collective and its head is a member of it. CBFBM is
    the collective's FBFBM + a 4-digit sequence and is unique among current households.
    ``effective_on``: the day the household was established (default: today).
    """
    reason = _reason(reason)
    collective = _collective(collective_id)
    try:
        code = validate_cbfbm(cbfbm if isinstance(cbfbm, str) else "", fbfbm=collective.fbfbm)
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

    R1: the person must be a current member of the household's collective (holders of contracted
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
        if existing is not None:
            # Coming back to a household where co-holding was kept: live here again.
            return history.revise(
                existing,
                reason=reason,
                source_document_id=source_document_id,
                effective_on=effective_on,
                moved_out_on=None,
                relation=relation,
                is_co_holder=bool(is_co_holder) or existing.is_co_holder,
            )
        return history.create(
            HouseholdMember,
            reason=reason,
            source_document_id=source_document_id,
            effective_on=effective_on,
            household_uid=household.uid,
            person_uid=person.uid,
            collective_id=household.collective_id,
            relation=relation,
            is_co_holder=bool(is_co_holder),
        )


def remove_household_member(
    household_uid: int,
    person_uid: int,
    reason: str,
    *,
    source_document_id: int | None = None,
) -> HouseholdMember:
    """Take a person off a household's member list.

    R1 / Art. 31: a co-holder's share in the household's rights is not taken away on a clerk's
    word: removing a co-holder needs a cited document (their written consent, or e.g. a death
    record).
    """
    reason = _reason(reason)
    household = _household(household_uid, lock=True)
    row = _member_row(household.uid, person_uid)
    if row is None:
        raise DomainError(
            "not_in_household", _("The person is not in this household."), field="person_uid"
        )
    if row.is_co_holder and not source_document_id:
        raise DomainError(
            "consent_required",
            _(
                "Removing a co-holder needs a document: their written consent, "
                "or the record of their death."
            ),
            field="source_document_id",
            rule="R1",
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

    R1 / Art. 31: women keep their rights on marriage, divorce and widowhood. By default the
    person stays listed as co-holder of the household they leave (marked moved out). Only with
    ``keep_co_holding=False`` *and* a cited written consent does that co-holding end. The person
    must be a member of the new household's collective (R1).
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
    if current.relation == HEAD:
        raise DomainError(
            "head_moves",
            _("The head of a household cannot move out before another member becomes head."),
            field="person_uid",
        )
    if not keep_co_holding and current.is_co_holder and not source_document_id:
        raise DomainError(
            "consent_required",
            _(
                "Co-holding of the former household ends only with the person's written "
                "consent: cite it as the source document."
            ),
            field="source_document_id",
            rule="R1",
        )
    sha = _source_sha(source_document_id, target.collective_id)
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
        kept = _member_row(target.uid, person.uid)  # co-holding kept there from an earlier move
        if kept is not None:
            return history.revise(
                kept,
                reason=reason,
                source_document_id=source_document_id,
                moved_out_on=None,
                relation=relation,
                is_co_holder=bool(is_co_holder) or kept.is_co_holder,
            )
        return history.create(
            HouseholdMember,
            reason=reason,
            source_document_id=source_document_id,
            household_uid=target.uid,
            person_uid=person.uid,
            collective_id=target.collective_id,
            relation=relation,
            is_co_holder=bool(is_co_holder),
        )


def co_holders(household_uid: int) -> list[Person]:
    """R1: the persons who hold the household's rights together (是否共有人), including members who
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


def farmer_can_act_for(user: Any, household_uid: int) -> bool:
    """Whether a farmer's account may act for the household (declare, list, consent, R13).

    Only the person's own account, and only while that person lives in the household and is a
    co-holder of its rights; staff never act through this.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role != Role.FARMER or user.person_uid is None:
        return False
    return (
        db.session.scalar(
            select(HouseholdMember.id).where(
                HouseholdMember.household_uid == household_uid,
                HouseholdMember.person_uid == user.person_uid,
                HouseholdMember.end_lifespan.is_(None),
                HouseholdMember.moved_out_on.is_(None),
                HouseholdMember.is_co_holder.is_(True),
            )
        )
        is not None
    )


# --- reading: what the pages and the API show


@dataclass
class MemberRow:
    member: HouseholdMember
    person: Person


@dataclass
class HouseholdRights:
    contract: LandContract | None = None
    plots: list[Plot] = field(default_factory=list)
    homestead: Homestead | None = None
    shares: list[ShareHolding] = field(default_factory=list)
    # All current homesteads: a second one that came by inheritance is kept (R8).
    homesteads: list[Homestead] = field(default_factory=list)

    @property
    def contract_area_m2(self) -> float:
        # Reserve land (机动地, class 22) is the collective's, never a household's (R01).
        return sum(p.contract_area_m2 or 0.0 for p in self.plots if p.land_class != "22")

    @property
    def measured_area_m2(self) -> float:
        return sum(p.measured_area_m2 or 0.0 for p in self.plots)


def household_members(household_uid: int) -> list[MemberRow]:
    """Current members (residents first, head first), with their current person versions."""
    rows = db.session.execute(
        select(HouseholdMember, Person)
        .join(Person, and_(Person.uid == HouseholdMember.person_uid, Person.end_lifespan.is_(None)))
        .where(
            HouseholdMember.household_uid == household_uid,
            HouseholdMember.end_lifespan.is_(None),
        )
        .order_by(HouseholdMember.moved_out_on.is_not(None), HouseholdMember.relation, Person.uid)
    ).all()
    return [MemberRow(member=m, person=p) for m, p in rows]


def household_rights(household_uid: int, person_uids: list[int] | None = None) -> HouseholdRights:
    """The household's current rights: land contract with plots, homestead, share holdings
    (of the household and of its members personally)."""
    contract = db.session.scalar(
        select(LandContract)
        .where(LandContract.household_uid == household_uid, LandContract.end_lifespan.is_(None))
        .order_by(LandContract.uid)
        .limit(1)
    )
    plots = list(
        db.session.scalars(
            select(Plot)
            .where(Plot.household_uid == household_uid, Plot.end_lifespan.is_(None))
            .order_by(Plot.dkbm)
        )
    )
    homesteads = list(
        db.session.scalars(
            select(Homestead)
            .where(Homestead.household_uid == household_uid, Homestead.end_lifespan.is_(None))
            .order_by(Homestead.uid)
        )
    )
    homestead = homesteads[0] if homesteads else None
    holder = ShareHolding.household_uid == household_uid
    if person_uids:
        holder = or_(holder, ShareHolding.person_uid.in_(person_uids))
    shares = list(
        db.session.scalars(
            select(ShareHolding)
            .where(holder, ShareHolding.end_lifespan.is_(None))
            .order_by(ShareHolding.uid)
        )
    )
    return HouseholdRights(
        contract=contract, plots=plots, homestead=homestead, shares=shares, homesteads=homesteads
    )


def person_memberships(person_uid: int) -> list[Membership]:
    """All memberships of a person, open ones first (ended ones are their last version)."""
    last = (
        select(Membership.uid, func.max(Membership.version).label("v"))
        .where(Membership.person_uid == person_uid)
        .group_by(Membership.uid)
        .subquery()
    )
    return list(
        db.session.scalars(
            select(Membership)
            .join(last, and_(Membership.uid == last.c.uid, Membership.version == last.c.v))
            .order_by(Membership.end_lifespan.is_not(None), Membership.since)
        )
    )


def person_households(person_uid: int) -> list[tuple[HouseholdMember, Household]]:
    """The households a person is in now (where they live, and where they kept co-holding)."""
    return list(
        db.session.execute(
            select(HouseholdMember, Household)
            .join(
                Household,
                and_(
                    Household.uid == HouseholdMember.household_uid,
                    Household.end_lifespan.is_(None),
                ),
            )
            .where(
                HouseholdMember.person_uid == person_uid,
                HouseholdMember.end_lifespan.is_(None),
            )
            .order_by(HouseholdMember.moved_out_on.is_not(None))
        ).all()
    )


def _scope_filter(user: Any, column: Any) -> Any:
    """SQL condition limiting ``column`` (a collective id) to what the user may read."""
    role = Role(user.role)
    if role in COUNTY_READERS:
        return true()
    if role == Role.COLLECTIVE_ADMIN:
        return column.in_(sorted(user.collective_ids) or [-1])
    return false()


def _person_scope(user: Any) -> Any:
    role = Role(user.role)
    if role in COUNTY_READERS:
        return true()
    return exists().where(
        Membership.person_uid == Person.uid,
        Membership.end_lifespan.is_(None),
        _scope_filter(user, Membership.collective_id),
    )


def visible_persons(
    user: Any, *, collective_id: int | None = None, after: int | None = None, limit: int = 50
) -> list[Person]:
    """Current persons in the user's reach, keyset-paged by uid (farmers: their households)."""
    q = select(Person).where(Person.end_lifespan.is_(None))
    if Role(user.role) == Role.FARMER:
        from app.auth.scope import farmer_household_ids

        ids = sorted(farmer_household_ids(user)) or [-1]
        q = q.where(
            exists().where(
                HouseholdMember.person_uid == Person.uid,
                HouseholdMember.end_lifespan.is_(None),
                HouseholdMember.household_uid.in_(ids),
            )
        )
    else:
        q = q.where(_person_scope(user))
    if collective_id is not None:
        q = q.where(
            exists().where(
                Membership.person_uid == Person.uid,
                Membership.end_lifespan.is_(None),
                Membership.collective_id == collective_id,
            )
        )
    if after is not None:
        q = q.where(Person.uid > after)
    return list(db.session.scalars(q.order_by(Person.uid).limit(limit)))


def visible_households(
    user: Any, *, collective_id: int | None = None, after: int | None = None, limit: int = 50
) -> list[Household]:
    """Current households in the user's reach, keyset-paged by uid."""
    q = select(Household).where(Household.end_lifespan.is_(None))
    if Role(user.role) == Role.FARMER:
        from app.auth.scope import farmer_household_ids

        q = q.where(Household.uid.in_(sorted(farmer_household_ids(user)) or [-1]))
    else:
        q = q.where(_scope_filter(user, Household.collective_id))
    if collective_id is not None:
        q = q.where(Household.collective_id == collective_id)
    if after is not None:
        q = q.where(Household.uid > after)
    return list(db.session.scalars(q.order_by(Household.uid).limit(limit)))


@dataclass
class SearchHit:
    kind: str  # person / household / contract / plot / homestead
    uid: int
    label: str
    code: str | None
    collective_id: int | None
    household_uid: int | None = None
    obj: Any = None


SEARCH_PAGE = 25


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(user: Any, q: str, *, page: int = 1, per_page: int = SEARCH_PAGE) -> tuple[list, bool]:
    """Find persons and households by name, a person by full ID number, or an object by its code
    (CBFBM, DKBM, CBHTBM, 28-char unit number), within the user's reach. Returns (hits, more).

    Outside the reach there is nothing: a full ID number or a code held by another collective
    finds exactly what a number held by nobody finds."""
    q = (q if isinstance(q, str) else "").strip().translate({0x3000: 0x20}).strip()
    if len(q) > inputs.SEARCH_MAX:
        raise inputs.too_long("search", "q")
    if not q:
        return [], False
    page = max(page, 1)
    code = q.upper()
    hits: list[SearchHit] = []
    exact = False
    if re.fullmatch(r"\d{17}[\dX]", code):
        exact = True
        for p in db.session.scalars(
            select(Person).where(
                Person.id_number == code, Person.end_lifespan.is_(None), _person_scope(user)
            )
        ):
            hits.append(SearchHit("person", p.uid, p.name, None, None, obj=p))
    if re.fullmatch(r"\d{18}", code):
        exact = True
        for h in db.session.scalars(
            select(Household).where(
                Household.cbfbm == code,
                Household.end_lifespan.is_(None),
                _scope_filter(user, Household.collective_id),
            )
        ):
            hits.append(SearchHit("household", h.uid, h.name, h.cbfbm, h.collective_id, h.uid, h))
    if re.fullmatch(r"\d{19}", code):
        exact = True
        for p in db.session.scalars(
            select(Plot).where(
                Plot.dkbm == code,
                Plot.end_lifespan.is_(None),
                _scope_filter(user, Plot.collective_id),
            )
        ):
            hits.append(
                SearchHit(
                    "plot", p.uid, p.name or p.dkbm, p.dkbm, p.collective_id, p.household_uid, p
                )
            )
    if re.fullmatch(r"\d{18}[JQ]", code):  # household (J) or other (Q) contracting
        exact = True
        for c in db.session.scalars(
            select(LandContract).where(
                LandContract.cbhtbm == code,
                LandContract.end_lifespan.is_(None),
                _scope_filter(user, LandContract.collective_id),
            )
        ):
            hits.append(
                SearchHit(
                    "contract", c.uid, c.cbhtbm, c.cbhtbm, c.collective_id, c.household_uid, c
                )
            )
    if re.fullmatch(r"\d{12}JC\d{5}[FLQW]\d{8}", code):
        exact = True
        for h in db.session.scalars(
            select(Homestead).where(
                Homestead.unit_number == code,
                Homestead.end_lifespan.is_(None),
                _scope_filter(user, Homestead.collective_id),
            )
        ):
            hits.append(
                SearchHit(
                    "homestead",
                    h.uid,
                    h.unit_number,
                    h.unit_number,
                    h.collective_id,
                    h.household_uid,
                    h,
                )
            )
    if exact:
        return (hits if page == 1 else []), False
    # A name: persons and households whose name contains the text, paged together.
    pattern = f"%{_escape_like(q)}%"
    offset = (page - 1) * per_page
    persons = list(
        db.session.scalars(
            select(Person)
            .where(
                Person.end_lifespan.is_(None),
                Person.name.like(pattern, escape="\\"),
                _person_scope(user),
            )
            .order_by(Person.name, Person.uid)
            .offset(offset)
            .limit(per_page + 1)
        )
    )
    households = list(
        db.session.scalars(
            select(Household)
            .where(
                Household.end_lifespan.is_(None),
                Household.name.like(pattern, escape="\\"),
                _scope_filter(user, Household.collective_id),
            )
            .order_by(Household.name, Household.uid)
            .offset(offset)
            .limit(per_page + 1)
        )
    )
    more = len(persons) > per_page or len(households) > per_page
    hits = [SearchHit("person", p.uid, p.name, None, None, obj=p) for p in persons[:per_page]]
    hits += [
        SearchHit("household", h.uid, h.name, h.cbfbm, h.collective_id, h.uid, h)
        for h in households[:per_page]
    ]
    return hits, more


@dataclass
class CollectiveOverview:
    households: int
    persons: int
    plots: int
    contract_area_m2: float
    measured_area_m2: float
    homesteads: int
    share_holdings: int
    shares: Decimal


def collective_overview(collective_id: int) -> CollectiveOverview:
    """Counts and totals of a collective's current registry (a handful of aggregate queries)."""

    def scalar(q: Any) -> Any:
        return db.session.scalar(q) or 0

    plot_row = db.session.execute(
        select(
            func.count(Plot.id),
            func.coalesce(func.sum(Plot.contract_area_m2), 0.0),
            func.coalesce(func.sum(Plot.measured_area_m2), 0.0),
        ).where(Plot.collective_id == collective_id, Plot.end_lifespan.is_(None))
    ).one()
    share_row = db.session.execute(
        select(func.count(ShareHolding.id), func.sum(ShareHolding.shares)).where(
            ShareHolding.collective_id == collective_id, ShareHolding.end_lifespan.is_(None)
        )
    ).one()
    return CollectiveOverview(
        households=scalar(
            select(func.count(Household.id)).where(
                Household.collective_id == collective_id, Household.end_lifespan.is_(None)
            )
        ),
        persons=scalar(
            select(func.count(func.distinct(Membership.person_uid))).where(
                Membership.collective_id == collective_id, Membership.end_lifespan.is_(None)
            )
        ),
        plots=plot_row[0] or 0,
        contract_area_m2=float(plot_row[1] or 0.0),
        measured_area_m2=float(plot_row[2] or 0.0),
        homesteads=scalar(
            select(func.count(Homestead.id)).where(
                Homestead.collective_id == collective_id, Homestead.end_lifespan.is_(None)
            )
        ),
        share_holdings=share_row[0] or 0,
        shares=share_row[1] or Decimal(0),
    )


def collective_households_page(
    collective_id: int, *, page: int = 1, per_page: int = 50
) -> tuple[list[tuple[Household, int]], bool]:
    """One page of a collective's current households with their resident member counts."""
    counts = (
        select(HouseholdMember.household_uid, func.count(HouseholdMember.id).label("n"))
        .where(
            HouseholdMember.collective_id == collective_id,
            HouseholdMember.end_lifespan.is_(None),
            HouseholdMember.moved_out_on.is_(None),
        )
        .group_by(HouseholdMember.household_uid)
        .subquery()
    )
    rows = db.session.execute(
        select(Household, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.household_uid == Household.uid)
        .where(Household.collective_id == collective_id, Household.end_lifespan.is_(None))
        .order_by(Household.cbfbm)
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    return [(h, n) for h, n in rows[:per_page]], len(rows) > per_page


def eligible_people(collective_id: int, limit: int = 2000) -> list[Person]:
    """Members of the collective who live in no household yet (candidates for head or member)."""
    return list(
        db.session.scalars(
            select(Person)
            .join(
                Membership,
                and_(
                    Membership.person_uid == Person.uid,
                    Membership.collective_id == collective_id,
                    Membership.end_lifespan.is_(None),
                ),
            )
            .where(
                Person.end_lifespan.is_(None),
                ~exists().where(
                    HouseholdMember.person_uid == Person.uid,
                    HouseholdMember.end_lifespan.is_(None),
                    HouseholdMember.moved_out_on.is_(None),
                ),
            )
            .order_by(Person.name, Person.uid)
            .limit(limit)
        )
    )
