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
    Certificate,
    Guardianship,
    Homestead,
    Household,
    HouseholdMember,
    HukouKind,
    HukouType,
    LandContract,
    Membership,
    MembershipBasis,
    Person,
    Plot,
    ShareHolding,
    SourceDocument,
    Succession,
)

HEAD = "02"  # 户主: relation code of the household's head (GB/T 4761)

SEXES = {"M": _l("Male"), "F": _l("Female")}
# Where the hukou is registered (the rural/urban character; other code reads ``hukou_type``).
HUKOU_TYPES = {
    HukouType.RURAL.value: _l("Countryside (rural)"),
    HukouType.URBAN.value: _l("Town (urban)"),
}
# The kind of hukou: one since the 2014 reform (国发〔2014〕25号).
HUKOU_KINDS = {HukouKind.RESIDENT.value: _l("Resident hukou")}
# The agricultural / non-agricultural label of before 2014, kept as a fact of the past.
HUKOU_ORIGINS = {
    "agricultural": _l("Agricultural hukou before 2014"),
    "non_agricultural": _l("Non-agricultural hukou before 2014"),
}
# What becomes of a dead member's shares, as the collective's charter says (生不增、死不减).
SHARE_INHERITANCE = {
    "heir": _l("They pass to the heir household"),
    "collective": _l("They return to the collective"),
}
# Kinds of source document that carry the collective's approval of a split or merger.
APPROVAL_KINDS = ("resolution", "approval")
# Art. 31: the one document that ends a married-out woman's co-holding of her first household.
LAND_AT_NEW_RESIDENCE = "land_at_new_residence"
ADULT_AGE = 18
# What became of a right when its holder died or its household died out (``Succession``).
SUCCESSION_OUTCOMES = {
    ("land_contract", "income_inherited"): _l("The contract's income is inherited"),
    ("land_contract", "returned"): _l("The contract ended; its land returned to the collective"),
    ("land_contract", "continued"): _l("The contract goes on in a co-holder's household"),
    ("share_holding", "to_heir"): _l("The shares passed to the heir household"),
    ("share_holding", "returned"): _l("The shares returned to the collective"),
    ("homestead", "pending"): _l(
        "The house is inherited with its homestead: record the heir on the homestead's page"
    ),
}
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

PERSON_FIELDS = (
    "name",
    "id_number",
    "sex",
    "birth_date",
    "hukou_type",
    "hukou_place",
    "phone",
    "hukou_kind",
    "hukou_origin",
)
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
    """R01: the person, who must be a current member of the collective (everyone in a holder
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
            rule="R01",
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


def hukou_label(person: Person) -> str:
    """The hukou in plain words, e.g. 居民户口（城镇）: the kind, then where it is registered."""
    kind = HUKOU_KINDS.get(person.hukou_kind or HukouKind.RESIDENT.value)
    place = {
        HukouType.RURAL.value: _l("countryside"),
        HukouType.URBAN.value: _l("town"),
    }.get(person.hukou_type)
    kind_text = str(kind) if kind is not None else (person.hukou_kind or "")
    if place is None:
        return kind_text
    return _("%(kind)s (%(place)s)", kind=kind_text, place=str(place))


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
            raise DomainError(
                "hukou_type",
                _("Choose where the hukou is registered: countryside or town."),
                field="hukou_type",
            )
        out["hukou_type"] = str(out["hukou_type"])
    if "hukou_kind" in out:
        if out["hukou_kind"] in (None, ""):
            out["hukou_kind"] = HukouKind.RESIDENT.value
        if out["hukou_kind"] not in HUKOU_KINDS:
            raise DomainError(
                "hukou_kind", _("Since 2014 every hukou is a resident hukou."), field="hukou_kind"
            )
    if "hukou_origin" in out:
        if out["hukou_origin"] in (None, ""):
            out["hukou_origin"] = None
        elif out["hukou_origin"] not in HUKOU_ORIGINS:
            raise DomainError(
                "hukou_origin",
                _("Choose the hukou's label before 2014: agricultural or non-agricultural."),
                field="hukou_origin",
            )
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
    hukou_origin: str | None = None,
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
            "hukou_origin": hukou_origin,
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
    is not a way to take land back (R06).
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

    R01: the household belongs to the 发包方's collective and its head is a member of it. CBFBM is
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
    if current.relation == HEAD:
        raise DomainError(
            "head_moves",
            _("The head of a household cannot move out before another member becomes head."),
            field="person_uid",
        )
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


# --- life events: death, a household dying out, split and merger (DOMAIN §3 Household)


def _approval(source_document_id: Any, collective_id: int) -> SourceDocument:
    """The collective's approval of a split or merger: a resolution or approval document."""
    doc = citable_document(source_document_id, collective_id)
    if doc is None or doc.kind not in APPROVAL_KINDS:
        raise DomainError(
            "approval_required",
            _(
                "A household splits or merges with the collective's approval: cite its "
                "resolution or approval document."
            ),
            field="source_document_id",
            rule="R01",
        )
    return doc


def _death_record(source_document_id: Any, collective_ids: Iterable[int]) -> SourceDocument:
    doc = citable_document(source_document_id, collective_ids)
    if doc is None:
        raise DomainError(
            "death_record_required",
            _("Cite the death record (a death certificate or the hukou cancellation)."),
            field="source_document_id",
        )
    return doc


def _is_uid(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31


def _same_collective_household(household_uid: Any, collective_id: int, field: str) -> Household:
    """A current household of the collective; any other number gets the same answer."""
    household = None
    if _is_uid(household_uid):
        household = history.current_of(Household, household_uid, lock=True)
    if household is None or household.collective_id != collective_id:
        raise DomainError(
            "household_unknown", _("There is no such household in this collective."), field=field
        )
    return household


def _residents(household_uid: int) -> list[HouseholdMember]:
    return list(
        db.session.scalars(
            select(HouseholdMember)
            .where(
                HouseholdMember.household_uid == household_uid,
                HouseholdMember.end_lifespan.is_(None),
                HouseholdMember.moved_out_on.is_(None),
            )
            .order_by(HouseholdMember.relation, HouseholdMember.person_uid)
        )
    )


def _kept_rows(household_uid: int) -> list[HouseholdMember]:
    """Rows of persons who moved out but kept co-holding this household's rights (Art. 31)."""
    return list(
        db.session.scalars(
            select(HouseholdMember)
            .where(
                HouseholdMember.household_uid == household_uid,
                HouseholdMember.end_lifespan.is_(None),
                HouseholdMember.moved_out_on.is_not(None),
            )
            .order_by(HouseholdMember.person_uid)
        )
    )


def next_cbfbm(collective: Collective) -> str:
    """The next free household code of the collective (CBFBM = FBFBM + 4-digit sequence)."""
    top = db.session.scalar(
        select(func.max(Household.cbfbm)).where(Household.collective_id == collective.id)
    )
    seq = int(top[14:]) + 1 if top and top[14:].isdigit() else 1
    return f"{collective.fbfbm}{min(seq, 9999):04d}"


def _check_new_cbfbm(collective: Collective, cbfbm: Any) -> str:
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
    return code


def _current_contract(household_uid: int) -> LandContract | None:
    return db.session.scalar(
        select(LandContract).where(
            LandContract.household_uid == household_uid, LandContract.end_lifespan.is_(None)
        )
    )


def contract_plots(contract_uid: int) -> list[Plot]:
    """The contract's current plots, by code."""
    return list(
        db.session.scalars(
            select(Plot)
            .where(Plot.contract_uid == contract_uid, Plot.end_lifespan.is_(None))
            .order_by(Plot.dkbm)
        )
    )


def _carry_plots(
    plots: list[Plot],
    source: LandContract,
    to_household: Household,
    *,
    reason: str,
    doc_id: int,
) -> LandContract:
    """Move plots of ``source`` into the contract of ``to_household`` (made with the same term
    and status when it has none), and bring both contracts' total areas (HTZMJ) up to date."""
    from app.registry.land import _sync_contract_area

    target = _current_contract(to_household.uid)
    if target is None:
        target = history.create(
            LandContract,
            reason=reason,
            source_document_id=doc_id,
            cbhtbm=to_household.cbfbm + "J",
            household_uid=to_household.uid,
            collective_id=to_household.collective_id,
            term_start=source.term_start,
            term_end=source.term_end,
            contract_area_m2=0.0,
            status=source.status,
        )
    for plot in plots:
        history.revise(
            plot,
            reason=reason,
            source_document_id=doc_id,
            contract_uid=target.uid,
            household_uid=to_household.uid,
        )
    _sync_contract_area(target.uid, source_document_id=doc_id, reason=reason)
    _sync_contract_area(source.uid, source_document_id=doc_id, reason=reason)
    return target


def _move_holding(holding: ShareHolding, household_uid: int, *, reason: str, doc_id: int) -> None:
    """Shares pass whole to a household: joined to its holding of the same type, or re-held.
    Nothing is created or destroyed, so the collective's total is conserved (R10)."""
    target = db.session.scalar(
        select(ShareHolding).where(
            ShareHolding.collective_id == holding.collective_id,
            ShareHolding.household_uid == household_uid,
            ShareHolding.share_type == holding.share_type,
            ShareHolding.end_lifespan.is_(None),
            ShareHolding.uid != holding.uid,
        )
    )
    if target is None:
        history.revise(
            holding,
            reason=reason,
            source_document_id=doc_id,
            household_uid=household_uid,
            person_uid=None,
        )
        return
    amount = holding.shares
    history.end(holding, reason=reason, source_document_id=doc_id)
    history.revise(target, reason=reason, source_document_id=doc_id, shares=target.shares + amount)


def _cancel_certificates(right_uid: int, day: date, reason: str, doc_id: int) -> None:
    """注销: the valid certificate of a right that ended stops being valid on that day."""
    for cert in db.session.scalars(
        select(Certificate).where(Certificate.right_uid == right_uid, Certificate.status == "valid")
    ).all():
        cert.status = "cancelled"
        cert.ended_on = max(day, cert.issued_on)
        cert.reason = f"{cert.reason or ''}\n[cancelled] {reason}".strip()
        if cert.source_document_id is None:
            cert.source_document_id = doc_id
    db.session.flush()


def _note(
    collective_id: int,
    day: date,
    right_kind: str,
    outcome: str,
    *,
    right_uid: int | None = None,
    deceased_uid: int | None = None,
    household_uid: int | None = None,
    heir_person_uid: int | None = None,
    heir_household_uid: int | None = None,
    note: str | None = None,
    doc_id: int | None = None,
) -> Succession:
    row = Succession(
        collective_id=collective_id,
        happened_on=day,
        right_kind=right_kind,
        right_uid=right_uid,
        outcome=outcome,
        deceased_uid=deceased_uid,
        household_uid=household_uid,
        heir_person_uid=heir_person_uid,
        heir_household_uid=heir_household_uid,
        note=note,
        source_document_id=doc_id,
    )
    db.session.add(row)
    db.session.flush()
    return row


def set_share_inheritance(collective_id: int, value: str, reason: str) -> Collective:
    """Record the charter's rule for a dead member's shares (生不增、死不减, R10): ``heir`` (they
    pass to the heir household) or ``collective`` (they return to the collective)."""
    reason = _reason(reason)
    collective = _collective(collective_id)
    if value not in SHARE_INHERITANCE:
        raise DomainError(
            "share_inheritance",
            _("Choose what the charter says becomes of a dead member's shares."),
            field="share_inheritance",
        )
    with _writing("collective.charter", reason=reason, source_sha256=None):
        collective.share_inheritance = value
        db.session.flush()
    return collective


def share_inheritance(collective: Collective) -> str:
    """The charter's answer to what becomes of a dead member's shares (default: the heir)."""
    return collective.share_inheritance or "heir"


def _pass_shares(
    holdings: list[ShareHolding],
    collective: Collective,
    heir_household_uid: int | None,
    *,
    day: date,
    reason: str,
    doc_id: int,
    deceased_uid: int | None = None,
    household_uid: int | None = None,
) -> None:
    """Shares of a dead member or a household that died out, as the charter says: passed whole
    to the heir household, or returned to the collective (生不增、死不减: the total stays)."""
    if not holdings:
        return
    if share_inheritance(collective) == "collective":
        for holding in holdings:
            history.end(holding, reason=reason, source_document_id=doc_id)
            _note(
                collective.id,
                day,
                "share_holding",
                "returned",
                right_uid=holding.uid,
                deceased_uid=deceased_uid,
                household_uid=household_uid,
                doc_id=doc_id,
            )
        return
    if heir_household_uid is None:
        raise DomainError(
            "heir_required",
            _(
                "The collective's charter passes the shares to the heir: choose the household "
                "that inherits them."
            ),
            field="heir_household_uid",
            rule="R10",
        )
    for holding in holdings:
        _move_holding(holding, heir_household_uid, reason=reason, doc_id=doc_id)
        _note(
            collective.id,
            day,
            "share_holding",
            "to_heir",
            right_uid=holding.uid,
            deceased_uid=deceased_uid,
            household_uid=household_uid,
            heir_household_uid=heir_household_uid,
            doc_id=doc_id,
        )


def _die_out(
    household: Household,
    day: date,
    *,
    reason: str,
    doc_id: int,
    deceased_uid: int | None,
    income_heir_person_uid: int | None,
    continuing_household: Household | None,
    heir_household: Household | None,
) -> Household:
    """The household's rights when it dies out (户消亡), then its end (``dissolve_household``)."""
    collective = _collective(household.collective_id)
    contract = _current_contract(household.uid)
    if contract is not None:
        if income_heir_person_uid is not None:
            _note(
                collective.id,
                day,
                "land_contract",
                "income_inherited",
                right_uid=contract.uid,
                deceased_uid=deceased_uid,
                household_uid=household.uid,
                heir_person_uid=income_heir_person_uid,
                doc_id=doc_id,
            )
        plots = contract_plots(contract.uid)
        if continuing_household is not None:
            target = _carry_plots(
                plots, contract, continuing_household, reason=reason, doc_id=doc_id
            )
            _note(
                collective.id,
                day,
                "land_contract",
                "continued",
                right_uid=target.uid,
                deceased_uid=deceased_uid,
                household_uid=household.uid,
                heir_household_uid=continuing_household.uid,
                doc_id=doc_id,
            )
        else:
            for plot in plots:  # back to the collective, held by no household
                history.revise(
                    plot,
                    reason=reason,
                    source_document_id=doc_id,
                    contract_uid=None,
                    household_uid=None,
                )
            _note(
                collective.id,
                day,
                "land_contract",
                "returned",
                right_uid=contract.uid,
                deceased_uid=deceased_uid,
                household_uid=household.uid,
                doc_id=doc_id,
            )
        contract = history.current_of(LandContract, contract.uid)
        if contract is not None:
            history.end(contract, reason=reason, source_document_id=doc_id)
            _cancel_certificates(contract.uid, day, reason, doc_id)
    homestead = db.session.scalar(
        select(Homestead).where(
            Homestead.household_uid == household.uid,
            Homestead.end_lifespan.is_(None),
            Homestead.disposal.is_(None),
        )
    )
    if homestead is not None:
        # The house is inherited and its homestead use with it (继承): who holds it is for the
        # homestead's own page, with the note the law asks for an heir from outside.
        _note(
            collective.id,
            day,
            "homestead",
            "pending",
            right_uid=homestead.uid,
            deceased_uid=deceased_uid,
            household_uid=household.uid,
            doc_id=doc_id,
        )
    holdings = list(
        db.session.scalars(
            select(ShareHolding).where(
                ShareHolding.household_uid == household.uid, ShareHolding.end_lifespan.is_(None)
            )
        )
    )
    heir = heir_household or continuing_household
    _pass_shares(
        holdings,
        collective,
        heir.uid if heir is not None else None,
        day=day,
        reason=reason,
        doc_id=doc_id,
        deceased_uid=deceased_uid,
        household_uid=household.uid,
    )
    for row in _kept_rows(household.uid):
        history.end(row, reason=reason, source_document_id=doc_id, end_reason="died_out")
    return history.end(household, reason=reason, source_document_id=doc_id, end_reason="died_out")


def _continuing(household: Household, continuing_household_uid: Any) -> Household | None:
    """承包法 Art. 32 with Art. 31: the contract of a household that died out goes on only in the
    household of one of its co-holders (e.g. a daughter who married out and kept co-holding)."""
    if continuing_household_uid in (None, "", 0):
        return None
    target = _same_collective_household(
        continuing_household_uid, household.collective_id, "continuing_household_uid"
    )
    allowed = set()
    for row in _kept_rows(household.uid):
        if row.is_co_holder:
            home = resident_row(row.person_uid)
            if home is not None:
                allowed.add(home.household_uid)
    if target.uid not in allowed:
        raise DomainError(
            "not_continuing",
            _(
                "Only the household of one of its co-holders can continue the contract; "
                "otherwise the land returns to the collective."
            ),
            field="continuing_household_uid",
            rule="R01",
        )
    return target


def _heir_household(value: Any, collective_id: int) -> Household | None:
    if value in (None, "", 0):
        return None
    return _same_collective_household(value, collective_id, "heir_household_uid")


def _heir_person(value: Any) -> int | None:
    if value in (None, "", 0):
        return None
    if not _is_uid(value) or history.current_of(Person, value) is None:
        raise DomainError(
            "person_unknown", _("There is no such person."), field="income_heir_person_uid"
        )
    return value


def dissolve_household(
    household_uid: int,
    on: date | str,
    reason: str,
    *,
    source_document_id: int,
    income_heir_person_uid: int | None = None,
    continuing_household_uid: int | None = None,
    heir_household_uid: int | None = None,
    today: date | None = None,
) -> Household:
    """户消亡: a household whose last member died or left ends, and so do its rights.

    - The contract income is inherited (承包法 Art. 32: 承包收益可继承): recorded, with the heir.
    - The household contract itself is not inherited: it ends and its plots return to the
      collective with no household, unless the household of one of its co-holders continues it
      by law (Arts. 31–32, R01), which then holds the plots in its own contract.
    - Household shares go as the collective's charter says (生不增、死不减): to the heir household
      (the continuing household unless another is named) or back to the collective (R10).
    - The homestead is inherited with the house: noted for its own page (R08).
    """
    reason = _reason(reason)
    household = _household(household_uid, lock=True)
    day = _as_date(on, "on")
    if day is None or day > _today(today):
        raise DomainError("on", _("Give a date that is not in the future."), field="on")
    if _residents(household.uid):
        raise DomainError(
            "household_alive",
            _("People still live in this household: it has not died out."),
            field="household_uid",
        )
    doc = citable_document(source_document_id, household.collective_id)
    if doc is None:
        raise DomainError(
            "source_required",
            _("Every right and every change must cite a source document."),
            field="source_document_id",
        )
    continuing = _continuing(household, continuing_household_uid)
    heir = _heir_household(heir_household_uid, household.collective_id)
    income_heir = _heir_person(income_heir_person_uid)
    with _writing("household.die_out", reason=reason, source_sha256=doc.sha256):
        return _die_out(
            household,
            day,
            reason=reason,
            doc_id=doc.id,
            deceased_uid=None,
            income_heir_person_uid=income_heir,
            continuing_household=continuing,
            heir_household=heir,
        )


def record_death(
    person_uid: int,
    died_on: date | str,
    reason: str,
    *,
    source_document_id: int,
    heir_household_uid: int | None = None,
    income_heir_person_uid: int | None = None,
    continuing_household_uid: int | None = None,
    new_head_person_uid: int | None = None,
    today: date | None = None,
) -> Person:
    """A person's death (date, death record) as a new version of the person.

    - Their memberships end (集体经济组织法 Art. 17, reason death), and so does their place in
      every household, co-holding included (R01).
    - A surviving spouse keeps everything (承包法 Art. 31, widowhood): no one else's row changes.
    - Shares they held personally go as the collective's charter says (生不增、死不减, R10): to
      the heir household (default: the household they lived in, if it goes on) or back to the
      collective.
    - If they were the head, ``new_head_person_uid`` (someone else living there) becomes head.
    - If they were the last person living in their household, it dies out (户消亡) with the same
      document: see ``dissolve_household`` for what becomes of its rights (承包法 Art. 32: 承包收益
      可继承; the contract is not).
    """
    reason = _reason(reason)
    person = _person(person_uid, lock=True)
    if person.died_on is not None:
        raise DomainError(
            "already_dead",
            _("The death of %(name)s is recorded already.", name=person.name),
            field="person_uid",
        )
    day = _as_date(died_on, "died_on")
    if day is None or day > _today(today) or day < person.birth_date:
        raise DomainError(
            "died_on",
            _("The date of death lies between the birth date and today."),
            field="died_on",
        )
    collectives = person.scope_collective_ids
    doc = _death_record(source_document_id, collectives)
    home = resident_row(person.uid)
    home_household = _household(home.household_uid, lock=True) if home is not None else None
    survivors = (
        [r for r in _residents(home_household.uid) if r.person_uid != person.uid]
        if home_household is not None
        else []
    )
    dies_out = home_household is not None and not survivors
    new_head = None
    if new_head_person_uid not in (None, "", 0):
        new_head = next((r for r in survivors if r.person_uid == new_head_person_uid), None)
        if new_head is None or home is None or home.relation != HEAD:
            raise DomainError(
                "new_head",
                _("The new head must be someone who lives in the household of the deceased head."),
                field="new_head_person_uid",
            )
    heir_collective = home_household.collective_id if home_household is not None else None
    memberships = list(
        db.session.scalars(
            select(Membership).where(
                Membership.person_uid == person.uid, Membership.end_lifespan.is_(None)
            )
        )
    )
    if heir_collective is None and memberships:
        heir_collective = memberships[0].collective_id
    heir = (
        _heir_household(heir_household_uid, heir_collective)
        if heir_collective is not None
        else None
    )
    continuing = _continuing(home_household, continuing_household_uid) if dies_out else None
    income_heir = _heir_person(income_heir_person_uid)
    own_holdings = list(
        db.session.scalars(
            select(ShareHolding).where(
                ShareHolding.person_uid == person.uid, ShareHolding.end_lifespan.is_(None)
            )
        )
    )
    with _writing("person.death", reason=reason, source_sha256=doc.sha256):
        # in law from the day of death (never before the version it changes: natural_date)
        dead = history.revise(
            person,
            reason=reason,
            source_document_id=doc.id,
            effective_on=history.natural_date(day, person),
            died_on=day,
        )
        for m in memberships:
            history.end(
                m,
                reason=reason,
                source_document_id=doc.id,
                effective_on=history.natural_date(day, m),
                until=max(day, m.since),
                end_reason="death",
            )
        for row in db.session.scalars(
            select(HouseholdMember).where(
                HouseholdMember.person_uid == person.uid, HouseholdMember.end_lifespan.is_(None)
            )
        ).all():
            history.end(row, reason=reason, source_document_id=doc.id, end_reason="death")
        if new_head is not None:
            history.revise(new_head, reason=reason, source_document_id=doc.id, relation=HEAD)
        for g in db.session.scalars(
            select(Guardianship).where(
                or_(Guardianship.ward_uid == person.uid, Guardianship.guardian_uid == person.uid),
                Guardianship.end_lifespan.is_(None),
            )
        ).all():
            history.end(g, reason=reason, source_document_id=doc.id, until=max(day, g.since))
        by_collective: dict[int, list[ShareHolding]] = {}
        for holding in own_holdings:
            by_collective.setdefault(holding.collective_id, []).append(holding)
        for collective_id, holdings in by_collective.items():
            target = heir or (continuing if dies_out else None)
            if target is None and home_household is not None and not dies_out:
                target = home_household
            if target is not None and target.collective_id != collective_id:
                target = None
            _pass_shares(
                holdings,
                _collective(collective_id),
                target.uid if target is not None else None,
                day=day,
                reason=reason,
                doc_id=doc.id,
                deceased_uid=person.uid,
            )
        if dies_out:
            _die_out(
                home_household,
                day,
                reason=reason,
                doc_id=doc.id,
                deceased_uid=person.uid,
                income_heir_person_uid=income_heir,
                continuing_household=continuing,
                heir_household=heir,
            )
    return dead


def split_household(
    household_uid: int,
    person_uids: list[int],
    head_person_uid: int,
    reason: str,
    *,
    source_document_id: int,
    plot_uids: Iterable[int] = (),
    cbfbm: str | None = None,
    name: str | None = None,
    address: str | None = None,
    relations: dict[int, str] | None = None,
    today: date | None = None,
) -> Household:
    """分户: some members leave to form a new household, with the collective's approval (a
    resolution or approval document), taking their share of the rights along.

    The new household gets the next free CBFBM (as creating a household does) and ``head``
    as its head; the chosen plots go to a new contract of the new household with the old
    contract's term. The movers stop co-holding the old household's remaining rights and
    co-hold the new household's (R01). One transaction: all of it, or nothing.
    """
    reason = _reason(reason)
    household = _household(household_uid, lock=True)
    collective = _collective(household.collective_id)
    doc = _approval(source_document_id, collective.id)
    if not isinstance(person_uids, list | tuple | set) or not person_uids:
        raise DomainError(
            "members_required", _("Choose the members who form the new household."), field="members"
        )
    residents = {r.person_uid: r for r in _residents(household.uid)}
    movers = []
    for uid in dict.fromkeys(person_uids):
        row = residents.get(uid) if isinstance(uid, int) else None
        if row is None:
            raise DomainError(
                "not_in_household",
                _("Only people who live in this household can move to the new one."),
                field="members",
            )
        if row.relation == HEAD:
            raise DomainError(
                "head_moves",
                _("The head of a household cannot move out before another member becomes head."),
                field="members",
            )
        movers.append(row)
    if head_person_uid not in {r.person_uid for r in movers}:
        raise DomainError(
            "head_required",
            _("The head of the new household must be one of the members who move."),
            field="head_person_uid",
        )
    relations = dict(relations or {})
    for uid, relation in relations.items():
        if uid != head_person_uid:
            relations[uid] = _relation(relation)
    code = _check_new_cbfbm(collective, cbfbm or next_cbfbm(collective))
    contract = _current_contract(household.uid)
    plots: list[Plot] = []
    wanted = list(dict.fromkeys(plot_uids or ()))
    if wanted:
        own = {p.uid: p for p in contract_plots(contract.uid)} if contract is not None else {}
        for uid in wanted:
            if uid not in own:
                raise DomainError(
                    "plot_unknown",
                    _("Only plots of this household's contract can go to the new household."),
                    field="plots",
                )
            plots.append(own[uid])
    head = _person(head_person_uid)
    name = inputs.text(name if isinstance(name, str) else None, "name", "name") or head.name
    address = inputs.text(address if isinstance(address, str) else None, "address", "address")
    with _writing("household.split", reason=reason, source_sha256=doc.sha256):
        new = history.create(
            Household,
            reason=reason,
            source_document_id=doc.id,
            cbfbm=code,
            collective_id=collective.id,
            name=name,
            address=address or household.address,
        )
        for row in movers:
            history.end(row, reason=reason, source_document_id=doc.id, end_reason="split")
            history.create(
                HouseholdMember,
                reason=reason,
                source_document_id=doc.id,
                household_uid=new.uid,
                person_uid=row.person_uid,
                collective_id=collective.id,
                relation=HEAD
                if row.person_uid == head_person_uid
                else relations.get(row.person_uid, row.relation),
                is_co_holder=row.is_co_holder or row.person_uid == head_person_uid,
            )
        if plots and contract is not None:
            _carry_plots(plots, contract, new, reason=reason, doc_id=doc.id)
    return new


def merge_households(
    from_household_uid: int,
    into_household_uid: int,
    reason: str,
    *,
    source_document_id: int,
    relations: dict[int, str] | None = None,
    today: date | None = None,
) -> Household:
    """合户: one household joins another with the collective's approval (a resolution or
    approval document), bringing its members and rights: its plots into the other's contract,
    its homestead and its shares (conserved, R10); it then ends. Members who had moved out and
    kept co-holding (Art. 31) keep it in the merged household. R07: a merger may not give one
    household two homesteads. Returns the household that goes on.
    """
    reason = _reason(reason)
    source = _household(from_household_uid, lock=True)
    target = _same_collective_household(
        into_household_uid, source.collective_id, "into_household_uid"
    )
    if target.uid == source.uid:
        raise DomainError(
            "same_household",
            _("Choose another household to merge with."),
            field="into_household_uid",
        )
    doc = _approval(source_document_id, source.collective_id)
    relations = {k: _relation(v) for k, v in (relations or {}).items()}
    if any(v == HEAD for v in relations.values()):
        raise DomainError("head_exists", _("This household has a head already."), field="relation")

    def homestead_of(uid: int) -> Homestead | None:
        return db.session.scalar(
            select(Homestead).where(
                Homestead.household_uid == uid,
                Homestead.end_lifespan.is_(None),
                Homestead.disposal.is_(None),
            )
        )

    moving_homestead = homestead_of(source.uid)
    if moving_homestead is not None and homestead_of(target.uid) is not None:
        raise DomainError(
            "two_homesteads",
            _(
                "Both households hold a homestead, and one household holds one homestead: "
                "settle one of them first."
            ),
            field="into_household_uid",
            rule="R07",
        )
    with _writing("household.merge", reason=reason, source_sha256=doc.sha256):
        for row in _residents(source.uid):
            history.end(row, reason=reason, source_document_id=doc.id, end_reason="merged")
            relation = relations.get(row.person_uid) or (
                "97" if row.relation == HEAD else row.relation
            )
            there = _member_row(target.uid, row.person_uid)
            if there is not None:  # co-holding kept here from an earlier move: live here again
                history.revise(
                    there,
                    reason=reason,
                    source_document_id=doc.id,
                    moved_out_on=None,
                    relation=relation,
                    is_co_holder=there.is_co_holder or row.is_co_holder,
                )
                continue
            history.create(
                HouseholdMember,
                reason=reason,
                source_document_id=doc.id,
                household_uid=target.uid,
                person_uid=row.person_uid,
                collective_id=target.collective_id,
                relation=relation,
                is_co_holder=row.is_co_holder,
            )
        for row in _kept_rows(source.uid):
            # Moved out but co-holding (Art. 31): they co-hold the rights where the rights go.
            history.end(row, reason=reason, source_document_id=doc.id, end_reason="merged")
            if _member_row(target.uid, row.person_uid) is not None:
                continue
            history.create(
                HouseholdMember,
                reason=reason,
                source_document_id=doc.id,
                household_uid=target.uid,
                person_uid=row.person_uid,
                collective_id=target.collective_id,
                relation=row.relation,
                is_co_holder=row.is_co_holder,
                moved_out_on=row.moved_out_on,
            )
        contract = _current_contract(source.uid)
        if contract is not None:
            _carry_plots(
                contract_plots(contract.uid), contract, target, reason=reason, doc_id=doc.id
            )
            history.end(
                history.current_of(LandContract, contract.uid),
                reason=reason,
                source_document_id=doc.id,
            )
            _cancel_certificates(contract.uid, _today(today), reason, doc.id)
        if moving_homestead is not None:
            history.revise(
                moving_homestead,
                reason=reason,
                source_document_id=doc.id,
                household_uid=target.uid,
            )
        for holding in db.session.scalars(
            select(ShareHolding).where(
                ShareHolding.household_uid == source.uid, ShareHolding.end_lifespan.is_(None)
            )
        ).all():
            _move_holding(holding, target.uid, reason=reason, doc_id=doc.id)
        history.end(source, reason=reason, source_document_id=doc.id, end_reason="merged")
    return history.current_of(Household, target.uid) or target


# --- minors and guardians (监护人)


def age_on(person: Person, day: date) -> int:
    """Completed years of age on ``day`` (a birthday counts on the day itself)."""
    years = day.year - person.birth_date.year
    if (day.month, day.day) < (person.birth_date.month, person.birth_date.day):
        years -= 1
    return years


def is_minor(person: Person, day: date) -> bool:
    """Under 18 on the day (民法典 Art. 17)."""
    return age_on(person, day) < ADULT_AGE


def appoint_guardian(
    ward_uid: int,
    guardian_uid: int,
    since: date | str,
    reason: str,
    *,
    source_document_id: int | None = None,
    today: date | None = None,
) -> Guardianship:
    """Record the guardian (监护人) of a minor, from ``since`` (民法典 Arts. 27–28).

    The ward is under 18 on that day and alive; the guardian is another living person who is
    an adult on that day. A minor may have more than one guardian (both parents)."""
    reason = _reason(reason)
    ward = _person(ward_uid, lock=True)
    guardian = None
    if _is_uid(guardian_uid):
        guardian = history.current_of(Person, guardian_uid)
    if guardian is None or guardian.uid == ward.uid:
        raise DomainError(
            "guardian_unknown", _("Choose another person as guardian."), field="guardian_uid"
        )
    since_d = _as_date(since, "since")
    if since_d is None or since_d > _today(today) or since_d < ward.birth_date:
        raise DomainError(
            "since_range",
            _("The guardianship begins between the birth date and today."),
            field="since",
        )
    if ward.died_on is not None or guardian.died_on is not None:
        raise DomainError("dead", _("The death of one of them is recorded."), field="guardian_uid")
    if not is_minor(ward, since_d):
        raise DomainError(
            "not_minor",
            _("%(name)s is 18 or older on that day and needs no guardian.", name=ward.name),
            field="since",
        )
    if is_minor(guardian, since_d):
        raise DomainError(
            "guardian_minor",
            _("A guardian must be 18 or older."),
            field="guardian_uid",
        )
    if db.session.scalar(
        select(Guardianship.id).where(
            Guardianship.ward_uid == ward.uid,
            Guardianship.guardian_uid == guardian.uid,
            Guardianship.end_lifespan.is_(None),
        )
    ):
        raise DomainError(
            "guardian_already",
            _("%(name)s is this person's guardian already.", name=guardian.name),
            field="guardian_uid",
        )
    collective_ids = sorted(ward.scope_collective_ids)
    if not collective_ids:
        raise DomainError(
            "person_unknown",
            _("There is no such member of this collective: admit the person as a member first."),
            field="ward_uid",
        )
    sha = _source_sha(source_document_id, collective_ids)
    with _writing("person.guardian", reason=reason, source_sha256=sha):
        return history.create(
            Guardianship,
            reason=reason,
            source_document_id=source_document_id,
            ward_uid=ward.uid,
            guardian_uid=guardian.uid,
            collective_id=collective_ids[0],
            since=since_d,
        )


def end_guardianship(
    guardianship_uid: int,
    until: date | str,
    reason: str,
    *,
    source_document_id: int | None = None,
    today: date | None = None,
) -> Guardianship:
    """A guardianship ends (a court's decision, another guardian appointed): until that day."""
    reason = _reason(reason)
    row = history.current_of(Guardianship, guardianship_uid, lock=True)
    if row is None:
        raise DomainError(
            "guardianship_unknown", _("There is no such guardianship."), field="guardianship_uid"
        )
    until_d = _as_date(until, "until")
    if until_d is None or until_d < row.since or until_d > _today(today):
        raise DomainError(
            "until_range",
            _("The end date lies between the start of the guardianship and today."),
            field="until",
        )
    sha = _source_sha(source_document_id, row.collective_id)
    with _writing("person.guardian_end", reason=reason, source_sha256=sha):
        return history.end(row, reason=reason, source_document_id=source_document_id, until=until_d)


def guardians_of(ward_uid: int, day: date | None = None) -> list[tuple[Guardianship, Person]]:
    """The ward's guardians on ``day`` (all recorded ones, open and ended, when no day is given),
    earliest appointed first."""
    q = (
        select(Guardianship, Person)
        .join(Person, and_(Person.uid == Guardianship.guardian_uid, Person.end_lifespan.is_(None)))
        .where(
            Guardianship.ward_uid == ward_uid,
            # an ended guardianship is its one row with ``until`` set
            or_(Guardianship.end_lifespan.is_(None), Guardianship.until.is_not(None)),
        )
        .order_by(Guardianship.since, Guardianship.uid)
    )
    if day is not None:
        q = q.where(
            Guardianship.since <= day,
            or_(Guardianship.until.is_(None), Guardianship.until >= day),
        )
    return [(g, p) for g, p in db.session.execute(q).all()]


def consenting_person(person_uid: int, day: date | None = None) -> Person:
    """Who gives consent for the person on ``day`` (R13, the marketplace asks this): the
    person themself when 18 or older, otherwise their guardian (民法典 Arts. 19–20, 27).

    Refused for a person whose death is recorded, and for a minor with no guardian on the day.
    """
    day = _today(day)
    person = _person(person_uid)
    if person.died_on is not None and person.died_on <= day:
        raise DomainError(
            "dead",
            _("The death of %(name)s is recorded: their heirs act for them.", name=person.name),
            field="person_uid",
        )
    if not is_minor(person, day):
        return person
    for _g, guardian in guardians_of(person.uid, day):
        if guardian.died_on is None and not is_minor(guardian, day):
            return guardian
    raise DomainError(
        "guardian_missing",
        _(
            "%(name)s is under 18 and has no guardian recorded: record the guardian first.",
            name=person.name,
        ),
        field="person_uid",
    )


def succession_of(
    *, person_uid: int | None = None, household_uid: int | None = None
) -> list[Succession]:
    """What became of the rights of a dead person or a household that died out."""
    q = select(Succession)
    if person_uid is not None:
        q = q.where(Succession.deceased_uid == person_uid)
    if household_uid is not None:
        q = q.where(
            or_(
                Succession.household_uid == household_uid,
                Succession.heir_household_uid == household_uid,
            )
        )
    return list(db.session.scalars(q.order_by(Succession.id)))


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
    # All current homesteads: a second one that came by inheritance is kept (R08).
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
    # An open membership in reach, or (a person whose death is recorded) the one they died in.
    return exists().where(
        Membership.person_uid == Person.uid,
        or_(Membership.end_lifespan.is_(None), Membership.end_reason == "death"),
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
