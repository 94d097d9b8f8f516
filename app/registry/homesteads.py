"""Homestead use rights (宅基地使用权): approval, disposal and the R09 eligibility test.

The rules of DOMAIN §5 that live here, each in one function:

* R07 一户一宅 and the Guangdong caps for new approvals, checked on the area measured from the
  outline (``checked_area``): ``grant_homestead``.
* R08 a household that sold or transferred (出卖/转让), leased or gave away its house gets no new
  homestead, nor after a paid exit (有偿退出) where the county says so
  (``r08_barring_disposals``). Existing homesteads (存量) over the cap, or a second one that came
  by inheritance, are registered as they are with a note: ``register_existing_homestead``.
* R09 a homestead goes only to a qualifying member household of the same collective, never to
  urban residents; the same test applies to every new grant: ``_ineligibility`` is the one
  eligibility test, called by ``grant_homestead``, ``may_apply_for_homestead`` and
  ``transfer_homestead_check``. The marketplace calls these rather than repeating the rule.

Urban residence is read from the person's own hukou attribute (``Person.hukou_type``), never from
a settlement record (R12: rights actions do not read settlement events).

Services flush and never commit; the caller commits once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from geoalchemy2.shape import from_shape
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from app.audit import trail
from app.core.codes import CodeError, validate_id_number, validate_unit_number
from app.core.errors import DomainError
from app.core.spatial import registry_srid
from app.divisions.models import Collective
from app.extensions import db
from app.registry import encumbrances, history, moves
from app.registry.documents import source_document

# The homestead and share pages of the API read objects as homesteads.latest_version.
from app.registry.history import latest_version  # noqa: F401
from app.registry.inputs import TEXT_LIMITS, is_id, require_reason, text
from app.registry.inputs import today_or as _today
from app.registry.land import prepare_geometry
from app.registry.models import (
    TERRAIN_CAPS,
    Homestead,
    Household,
    HouseholdMember,
    HukouType,
    Membership,
    Person,
    SourceDocument,
)
from app.registry.versioning import Versioned

V = TypeVar("V", bound=Versioned)

#: How a homestead version can end. "corrected" is reserved for data fixes, not a disposal.
DISPOSALS = ("sold", "leased", "gifted", "returned", "transferred", "paid_exit")
#: R08 (土地管理法 Art. 62): after selling or transferring the house with its homestead
#: (出卖/转让), leasing or gifting it, no new homestead. A voluntary return (交回) does not bar;
#: a paid exit (有偿退出) bars where the county says so (see r08_barring_disposals).
R8_BARRING = frozenset({"sold", "transferred", "leased", "gifted"})

#: How a homestead was registered: granted now (新批) or an existing one (存量) as it is.
REGISTRATIONS = ("new", "existing")
#: How the household came by it. An inherited one (继承, with the house) is not counted by
#: 一户一宅 (R08: kept and noted).
ACQUISITIONS = ("approval", "inheritance", "other")

_EPS = 1e-9


@dataclass(frozen=True)
class Ineligibility:
    """Why a household may not take a homestead now: a stable code and a message."""

    code: str
    message: str
    rule: str = "R09"


# --------------------------------------------------------------------------------------------
# Shared look-ups
# --------------------------------------------------------------------------------------------


def current_household(household_uid: Any, *, lock: bool = False) -> Household:
    """The current version of a household, or a DomainError naming the field."""
    if not is_id(household_uid):
        raise DomainError("household_unknown", _("No such household."), field="household_uid")
    household = history.current_of(Household, household_uid, lock=lock)
    if household is None:
        raise DomainError("household_unknown", _("No such household."), field="household_uid")
    return household


def members_on_roll(collective_id: int, person_uids: list[int] | set[int], day: date) -> set[int]:
    """Those of ``person_uids`` whose membership of the collective is in force on ``day``.

    R15: eligibility is judged against the membership roll on the day of the deal. A membership
    is in force from ``since`` (inclusive) until ``until`` (exclusive). Settling in town does not
    end a membership, so it plays no part here (R12).
    """
    if not person_uids:
        return set()
    rows = db.session.scalars(
        select(Membership.person_uid).where(
            Membership.collective_id == collective_id,
            Membership.person_uid.in_(list(person_uids)),
            # the open version, or the last version of an ended membership (it carries until)
            Membership.end_lifespan.is_(None) | Membership.until.is_not(None),
            Membership.since <= day,
            Membership.until.is_(None) | (Membership.until > day),
        )
    )
    return set(rows)


def household_people(household_uid: int) -> list[tuple[int, str]]:
    """(person_uid, hukou_type) of the people living in the household now, in one query.

    Members who moved out (e.g. married into another household) but keep co-holding this
    household's rights are left out: they live, and qualify, elsewhere.
    """
    rows = db.session.execute(
        select(Person.uid, Person.hukou_type)
        .join(HouseholdMember, HouseholdMember.person_uid == Person.uid)
        .where(
            HouseholdMember.household_uid == household_uid,
            HouseholdMember.end_lifespan.is_(None),
            HouseholdMember.moved_out_on.is_(None),
            Person.end_lifespan.is_(None),
        )
    ).all()
    return [(uid, hukou) for uid, hukou in rows]


def current_homestead_of(household_uid: int) -> Homestead | None:
    return db.session.scalar(
        select(Homestead).where(
            Homestead.household_uid == household_uid, Homestead.end_lifespan.is_(None)
        )
    )


def r08_barring_disposals() -> frozenset[str]:
    """R08: the disposals after which a household gets no new homestead in this county: sold or
    transferred (出卖/转让), leased, gifted, and a paid exit (有偿退出) when the county setting
    HOMESTEAD_PAID_EXIT_BARS says so."""
    if current_app.config.get("HOMESTEAD_PAID_EXIT_BARS", True):
        return R8_BARRING | {"paid_exit"}
    return R8_BARRING


def _r08_barring_disposal(household_uid: int) -> str | None:
    """R08: the first earlier disposal of this household that bars a new homestead, if any."""
    return db.session.scalar(
        select(Homestead.disposal)
        .where(
            Homestead.household_uid == household_uid,
            Homestead.disposal.in_(sorted(r08_barring_disposals())),
        )
        .limit(1)
    )


def _r08_message(disposal: str) -> str:
    messages = {
        "sold": _("This household sold its house before and may not have a new homestead."),
        "transferred": _(
            "This household transferred its house with the homestead before and may not have a "
            "new homestead."
        ),
        "leased": _("This household leased out its house before and may not have a new homestead."),
        "gifted": _("This household gave its house away before and may not have a new homestead."),
        "paid_exit": _(
            "This household gave up its homestead for compensation before and may not have a new "
            "homestead."
        ),
    }
    return messages[disposal]


def terrain_label(terrain: str) -> str:
    labels = {
        "plain": _("plain or city outskirts"),
        "hill": _("hills"),
        "mountain": _("mountains"),
    }
    return labels.get(terrain, terrain)


# --------------------------------------------------------------------------------------------
# R09 eligibility
# --------------------------------------------------------------------------------------------


def _ineligibility(household: Household, day: date) -> Ineligibility | None:
    """Why this (current) household may not take a homestead on ``day``; None if it may.

    The single body of the R09 test (with R07's 一户一宅 and R08's bars), for every new grant
    (grant_homestead) and every transfer (transfer_homestead_check); see may_apply_for_homestead
    for the rule itself. ``rule`` names the rule that says no.
    """
    people = household_people(household.uid)
    on_roll = members_on_roll(household.collective_id, {uid for uid, _h in people}, day)
    if not on_roll:
        return Ineligibility(
            "not_member_household",
            _("No member of this household is on the collective's membership roll."),
        )
    if all(hukou == HukouType.URBAN for _uid, hukou in people):
        return Ineligibility(
            "urban_household",
            _("All members of this household are urban residents."),
        )
    if current_homestead_of(household.uid) is not None:
        return Ineligibility(
            "has_homestead",
            _("This household already holds a homestead (one homestead per household)."),
            "R07",
        )
    barring = _r08_barring_disposal(household.uid)
    if barring is not None:
        return Ineligibility("r08_barred", _r08_message(barring), "R08")
    return None


def may_apply_for_homestead(household_uid: int, today: date | None = None) -> tuple[bool, str]:
    """R09 (with R07, R08): may this household apply for, or take over, a homestead?

    A qualifying household is a current household with at least one member on its collective's
    membership roll on the day, that holds no current homestead (R07, an inherited one included)
    and has not sold, transferred, leased or given away a house before, nor given one up for
    compensation where the county says that bars (R08). An urban-resident household, one ALL of
    whose members have urban hukou, never qualifies; a household in which some members settled
    in town but another is still rural does qualify (settling never costs the others their
    rights, R12).

    Returns (True, "") or (False, reason). This is the one eligibility test: the marketplace and
    transfer_homestead_check call it instead of repeating the rule.
    """
    household = history.current_of(Household, household_uid) if is_id(household_uid) else None
    if household is None:
        return False, _("No such household.")
    why = _ineligibility(household, _today(today))
    return (True, "") if why is None else (False, why.message)


def transfer_homestead_check(
    homestead_uid: int, to_household_uid: int, today: date | None = None
) -> dict[str, Any]:
    """R09: a homestead may go only to a qualifying member household of the same collective.

    Check only: the marketplace does the transfer. Returns the evidence of the check (who, when,
    which members were on the roll) for it to store (R15); raises DomainError(rule="R09").
    """
    day = _today(today)
    homestead = history.current_of(Homestead, homestead_uid) if is_id(homestead_uid) else None
    if homestead is None:
        raise DomainError("homestead_unknown", _("No such homestead."), field="homestead_uid")
    recipient = history.current_of(Household, to_household_uid) if is_id(to_household_uid) else None
    if recipient is None or recipient.collective_id != homestead.collective_id:
        # R09: only a household of the same collective; another collective's household gets the
        # answer of one that does not exist, so its existence does not leak.
        raise DomainError("household_unknown", _("No such household."), field="to_household_uid")
    if recipient.uid == homestead.household_uid:
        raise DomainError(
            "same_household",
            _("The homestead already belongs to this household."),
            field="to_household_uid",
            rule="R09",
        )
    why = _ineligibility(recipient, day)
    if why is not None:
        raise DomainError(why.code, why.message, field="to_household_uid", rule="R09")
    people = household_people(recipient.uid)
    return {
        "homestead_uid": homestead.uid,
        "to_household_uid": recipient.uid,
        "collective_id": recipient.collective_id,
        "checked_on": day.isoformat(),
        "members_on_roll": sorted(
            members_on_roll(recipient.collective_id, {uid for uid, _h in people}, day)
        ),
    }


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------


def homestead_geometry(geometry: Any, crs: Any) -> tuple[Any, float]:
    """Parse, check and reproject a homestead outline into the registry CRS.

    The very same rules as plots (app.registry.land.prepare_geometry): the CRS must be named or
    declared (never guessed), the outline must be a valid polygon inside the registry CRS's area.
    Returns (stored geometry element, area in m²).
    """
    prepared = prepare_geometry(geometry, crs)
    return from_shape(prepared.geom, srid=registry_srid()), float(prepared.geom.area)


# --------------------------------------------------------------------------------------------
# Writes
# --------------------------------------------------------------------------------------------


def _positive_area(value: Any, field: str, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise DomainError(
            "area", _("Give the area in square metres as a positive number."), field=field
        )
    return float(value)


def check_terrain_cap(terrain: str, area_m2: float) -> None:
    """R07: Guangdong caps for new homestead approvals (广东省土地管理条例 Art. 42)."""
    cap = TERRAIN_CAPS[terrain]
    if area_m2 > cap + _EPS:
        raise DomainError(
            "over_cap",
            _(
                "A new homestead on %(terrain)s may be at most %(cap)s m²; %(area)s m² was given.",
                terrain=terrain_label(terrain),
                cap=f"{cap:g}",
                area=f"{area_m2:g}",
            ),
            field="area_m2",
            rule="R07",
        )


def checked_area(area_m2: Any, geometry: Any, crs: Any) -> tuple[Any, float]:
    """R07: the homestead's area, measured from its outline when one is given.

    With an outline, the area is the one measured from it (in the registry's projected CRS) and
    that is what the cap is checked on: a declared area that differs from it by more than
    HOMESTEAD_AREA_TOLERANCE_M2 is refused with both figures, so a small figure cannot carry a
    large outline past the cap. Without an outline, the declared area. Returns (stored
    geometry or None, area in m² to two decimals).
    """
    if geometry is None or geometry == "":
        return None, _positive_area(area_m2, "area_m2")
    geom, measured = homestead_geometry(geometry, crs)
    measured = round(measured, 2)
    if area_m2 is None:
        return geom, _positive_area(measured, "area_m2")
    declared = _positive_area(area_m2, "area_m2")
    tolerance = float(current_app.config.get("HOMESTEAD_AREA_TOLERANCE_M2", 2.0))
    if abs(declared - measured) > tolerance + _EPS:
        raise DomainError(
            "area_mismatch",
            _(
                "The declared area of %(declared)s m² does not match the area of "
                "%(measured)s m² measured from the outline (they may differ by at most "
                "%(tolerance)s m²).",
                declared=f"{declared:.2f}",
                measured=f"{measured:.2f}",
                tolerance=f"{tolerance:g}",
            ),
            field="area_m2",
            rule="R07",
        )
    return geom, _positive_area(measured, "area_m2")


@dataclass(frozen=True)
class _Fields:
    """The checked fields of a homestead to register (new or existing)."""

    unit_number: str
    terrain: str
    approval_number: str | None
    approved_on: date | None
    floor_area_m2: float | None
    reason: str


def _checked_fields(
    collective: Collective,
    unit_number: Any,
    terrain: Any,
    approval_number: Any,
    approved_on: Any,
    floor_area_m2: Any,
    reason: Any,
    *,
    day: date,
    approval_required: bool,
) -> _Fields:
    """Codes, terrain, approval, floor area and reason, the same for new and existing ones.

    The unit number is a homestead (JC) unit of the collective's county.
    """
    if not isinstance(unit_number, str):
        raise DomainError(
            "unit_number", _("Give the real-estate unit number."), field="unit_number"
        )
    try:
        unit_number = validate_unit_number(unit_number, county_code=collective.fbfbm[:6])
    except CodeError as exc:
        raise DomainError.from_check(exc, field="unit_number") from None
    if terrain not in TERRAIN_CAPS:
        raise DomainError(
            "terrain", _("Choose the terrain: plain, hill or mountain."), field="terrain"
        )
    approval_number = approval_number.strip() if isinstance(approval_number, str) else ""
    if (approval_required and not approval_number) or len(approval_number) > TEXT_LIMITS["code"]:
        raise DomainError(
            "approval_number",
            _(
                "Give the number of the homestead approval (at most %(n)s characters).",
                n=TEXT_LIMITS["code"],
            ),
            field="approval_number",
        )
    if (approved_on is not None or approval_required) and (
        not isinstance(approved_on, date) or approved_on > day
    ):
        raise DomainError(
            "approved_on",
            _("Give the approval date; it cannot be in the future."),
            field="approved_on",
        )
    if floor_area_m2 is not None:
        floor_area_m2 = _positive_area(floor_area_m2, "floor_area_m2", allow_zero=True)
    return _Fields(
        unit_number=unit_number,
        terrain=terrain,
        approval_number=approval_number or None,
        approved_on=approved_on,
        floor_area_m2=floor_area_m2,
        reason=require_reason(reason),
    )


def _require_unit_free(unit_number: str) -> None:
    taken = db.session.scalar(
        select(
            exists().where(Homestead.unit_number == unit_number, Homestead.end_lifespan.is_(None))
        )
    )
    if taken:
        raise DomainError(
            "unit_taken",
            _("Real-estate unit %(unit)s is registered already.", unit=unit_number),
            field="unit_number",
        )


def _has_homestead_error() -> DomainError:
    return DomainError(
        "has_homestead",
        _("This household already holds a homestead (one homestead per household)."),
        field="household_uid",
        rule="R07",
    )


def _insert(
    event: str,
    household: Household,
    fields: _Fields,
    doc: SourceDocument,
    *,
    area_m2: float,
    geom: Any,
    registration: str,
    acquired_by: str,
    heir_person_uid: int | None = None,
    note: str | None = None,
) -> Homestead:
    """Write the homestead's first version; the partial unique index catches a racing grant."""
    _require_unit_free(fields.unit_number)
    with trail.because(event, reason=fields.reason, source_sha256=doc.sha256):
        try:
            with db.session.begin_nested():
                return history.create(
                    Homestead,
                    reason=fields.reason,
                    source_document_id=doc.id,
                    # in effect in law from the approval (an existing one without: from today)
                    effective_on=history.natural_date(fields.approved_on),
                    unit_number=fields.unit_number,
                    household_uid=household.uid,
                    collective_id=household.collective_id,
                    approval_number=fields.approval_number,
                    approved_on=fields.approved_on,
                    terrain=fields.terrain,
                    area_m2=area_m2,
                    floor_area_m2=fields.floor_area_m2,
                    geom=geom,
                    registration=registration,
                    acquired_by=acquired_by,
                    heir_person_uid=heir_person_uid,
                    note=note,
                )
        except IntegrityError:
            # Another request gave this household a homestead between our check and insert.
            raise _has_homestead_error() from None


def grant_homestead(
    household_uid: int,
    unit_number: str,
    terrain: str,
    area_m2: float | None,
    *,
    approval_number: str,
    approved_on: date,
    floor_area_m2: float | None = None,
    geometry: Any = None,
    crs: Any = None,
    source_document_id: int,
    reason: str,
    today: date | None = None,
) -> Homestead:
    """Register a newly approved homestead (新批, 宅基地批准书) for a household.

    R07: the Guangdong caps for new approvals by terrain (TERRAIN_CAPS), checked on the area
    measured from the outline when one is given (``checked_area``: a declared area that
    disagrees with the outline is refused). R09 (with R07's 一户一宅 and R08's bars): the household
    must qualify, by the one eligibility test ``_ineligibility``, on the day of the approval:
    a member on the roll, not all urban residents, no current homestead (the partial unique
    index uq_homestead_household_current also catches races), no barring disposal before.
    With ``area_m2=None`` the area is measured from the geometry. An existing homestead (存量)
    is registered with ``register_existing_homestead`` instead.
    """
    day = _today(today)
    household = current_household(household_uid, lock=True)
    collective = db.session.get_one(Collective, household.collective_id)
    doc = source_document(source_document_id, household.collective_id)
    fields = _checked_fields(
        collective,
        unit_number,
        terrain,
        approval_number,
        approved_on,
        floor_area_m2,
        reason,
        day=day,
        approval_required=True,
    )
    geom, area_m2 = checked_area(area_m2, geometry, crs)
    check_terrain_cap(fields.terrain, area_m2)
    assert fields.approved_on is not None
    why = _ineligibility(household, fields.approved_on)
    if why is not None:
        raise DomainError(why.code, why.message, field="household_uid", rule=why.rule)
    return _insert(
        "homestead.grant",
        household,
        fields,
        doc,
        area_m2=area_m2,
        geom=geom,
        registration="new",
        acquired_by="approval",
    )


def _outside_heir(household: Household, heir: Person | None, day: date) -> bool:
    """Whether the holder is an heir who is no member household of the collective: the heir
    named in person is off the roll or an urban resident; or, holding through the household,
    none of its people is on the roll or all of them are urban residents."""
    if heir is not None:
        on_roll = members_on_roll(household.collective_id, {heir.uid}, day)
        return not on_roll or heir.hukou_type == HukouType.URBAN
    people = household_people(household.uid)
    on_roll = members_on_roll(household.collective_id, {uid for uid, _h in people}, day)
    return not on_roll or all(hukou == HukouType.URBAN for _uid, hukou in people)


def existing_homestead_notes(
    household: Household,
    terrain: str,
    area_m2: float,
    acquired_by: str,
    heir: Person | None,
    day: date,
) -> list[str]:
    """R08: what the registry notes (附记) on an existing homestead registered as it is, in the
    registry's language (the note is part of the record and of its certificate)."""
    cap = TERRAIN_CAPS[terrain]
    second = acquired_by == "inheritance" and current_homestead_of(household.uid) is not None
    outside = acquired_by == "inheritance" and _outside_heir(household, heir, day)
    notes = []
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")):
        if area_m2 > cap + _EPS:
            notes.append(
                _(
                    "Existing homestead %(excess)s m² over the cap of %(cap)s m² for new "
                    "approvals on %(terrain)s; registered as it is.",
                    excess=f"{area_m2 - cap:.2f}",
                    cap=f"{cap:g}",
                    terrain=terrain_label(terrain),
                )
            )
        if second:
            notes.append(
                _("Second homestead of the household, acquired by inheritance; kept as it is.")
            )
        if outside:
            # The wording the Ministry of Natural Resources prescribes for the register and the
            # certificate (不动产登记操作规范; 自然资办函〔2020〕1344号).
            notes.append(
                _(
                    "The right holder is the lawful heir of the house of a former member of "
                    "this rural collective economic organization."
                )
            )
    return notes


def _person_by_id_number(value: Any) -> int:
    """The registered person (member anywhere or not) with this ID number."""
    if not isinstance(value, str):
        raise DomainError("text", _("Give this as text."), field="heir_id_number")
    try:
        number = validate_id_number(value.strip())
    except CodeError as exc:
        raise DomainError.from_check(exc, field="heir_id_number") from None
    uid = db.session.scalar(
        select(Person.uid).where(Person.id_number == number, Person.end_lifespan.is_(None))
    )
    if uid is None:
        raise DomainError(
            "person_unknown",
            _("No one with this ID number is registered: register the heir as a person first."),
            field="heir_id_number",
        )
    return uid


def register_existing_homestead(
    household_uid: int,
    unit_number: str,
    terrain: str,
    area_m2: float | None,
    *,
    acquired_by: str = "approval",
    approval_number: str | None = None,
    approved_on: date | None = None,
    floor_area_m2: float | None = None,
    geometry: Any = None,
    crs: Any = None,
    heir_person_uid: int | None = None,
    heir_id_number: str | None = None,
    remark: str | None = None,
    source_document_id: int,
    reason: str,
    today: date | None = None,
) -> Homestead:
    """Register an existing homestead (存量) as it is, with the notes the law asks for (R08).

    R08: the cap and 一户一宅 (R07) apply to new grants; an existing homestead over the cap is
    registered with the excess noted; a second one that came by inheritance (继承, with the
    house) is kept and noted, and is not counted by the one-per-household index. Any other
    second homestead is refused (R07). An heir who is no member household of the collective
    (urban hukou, or from outside) is recorded as holder with the note of 自然资源部: in person
    (``heir_person_uid`` or ``heir_id_number``, any registered person, member or not) on the
    household the house came from, or
    through a household of the collective all of whose people are urban residents. R09's
    eligibility and R08's bars do not apply: nothing new is granted. The outline, when given,
    fixes the area as for a grant (``checked_area``).
    """
    day = _today(today)
    household = current_household(household_uid, lock=True)
    collective = db.session.get_one(Collective, household.collective_id)
    doc = source_document(source_document_id, household.collective_id)
    if acquired_by not in ACQUISITIONS:
        raise DomainError(
            "acquired_by",
            _("Choose how the household came by the homestead."),
            field="acquired_by",
        )
    fields = _checked_fields(
        collective,
        unit_number,
        terrain,
        approval_number,
        approved_on,
        floor_area_m2,
        reason,
        day=day,
        approval_required=False,
    )
    geom, area_m2 = checked_area(area_m2, geometry, crs)
    heir = None
    if heir_id_number not in (None, ""):
        heir_person_uid = _person_by_id_number(heir_id_number)
    if heir_person_uid not in (None, "", 0):
        if acquired_by != "inheritance":
            raise DomainError(
                "heir_not_inheritance",
                _("An heir is named only for a homestead acquired by inheritance."),
                field="heir_person_uid",
            )
        heir = history.current_of(Person, heir_person_uid) if is_id(heir_person_uid) else None
        if heir is None:
            raise DomainError(
                "person_unknown", _("There is no such person."), field="heir_person_uid"
            )
    remark = text(remark, "remark", "note")
    if acquired_by != "inheritance":
        held = db.session.scalar(
            select(
                exists().where(
                    Homestead.household_uid == household.uid,
                    Homestead.end_lifespan.is_(None),
                    Homestead.acquired_by != "inheritance",
                )
            )
        )
        if held:
            raise DomainError(
                "has_homestead",
                _(
                    "This household already holds a homestead; a second one can be registered "
                    "only if it came by inheritance."
                ),
                field="household_uid",
                rule="R07",
            )
    notes = existing_homestead_notes(household, fields.terrain, area_m2, acquired_by, heir, day)
    if remark:
        notes.append(remark)
    return _insert(
        "homestead.register_existing",
        household,
        fields,
        doc,
        area_m2=area_m2,
        geom=geom,
        registration="existing",
        acquired_by=acquired_by,
        heir_person_uid=heir.uid if heir is not None else None,
        note="\n".join(notes) or None,
    )


def dispose_homestead(
    homestead_uid: int,
    disposal: str,
    reason: str,
    source_document_id: int,
    *,
    basis: str | None = None,
) -> Homestead:
    """End the current homestead version, recording how it went (sold, leased, gifted, …).

    The recorded disposal is what R08 reads later (``r08_barring_disposals``): sold / transferred
    / leased / gifted bar the household from a new homestead, a paid exit does where the county
    says so; returned (交回) does not.

    A sale, lease, gift or transfer of the house is recorded here only with a legal basis
    (``moves.check_disposal_basis``: a correction recording a past transaction, or a court
    ruling); a sale today goes through the marketplace, and a transfer to another household of
    the registry is a countersigned move (``moves.request_move("homestead_transfer", …)``).
    """
    homestead = (
        history.current_of(Homestead, homestead_uid, lock=True) if is_id(homestead_uid) else None
    )
    if homestead is None:
        raise DomainError("homestead_unknown", _("No such homestead."), field="homestead_uid")
    reason = require_reason(reason)
    if disposal not in DISPOSALS:
        raise DomainError(
            "disposal",
            _(
                "Choose how the homestead was disposed of: sold, leased, gifted, returned, "
                "transferred or given up for compensation."
            ),
            field="disposal",
        )
    moves.check_disposal_basis(disposal, basis)
    encumbrances.check_not_blocked("homestead", homestead.uid, action="move")
    doc = source_document(source_document_id, homestead.collective_id)
    with trail.because("homestead.dispose", reason=reason, source_sha256=doc.sha256):
        return history.end(
            homestead,
            reason=reason,
            source_document_id=doc.id,
            disposal=disposal,
        )
