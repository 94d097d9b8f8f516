"""Homestead use rights (宅基地使用权): approval, disposal and the R9 eligibility test.

The rules of DOMAIN §5 that live here, each in one function:

* R7 一户一宅 and the Guangdong caps for new approvals: ``grant_homestead``.
* R8 a household that sold, leased or gave away its house gets no new homestead:
  ``grant_homestead`` (via ``_r08_barring_disposal``) and ``may_apply_for_homestead``.
* R9 a homestead goes only to a qualifying member household of the same collective, never to
  urban residents: ``may_apply_for_homestead`` is the one eligibility test, and
  ``transfer_homestead_check`` applies it to a proposed recipient. The marketplace calls these
  rather than repeating the rule.

Urban residence is read from the person's own hukou attribute (``Person.hukou_type``), never from
a settlement record (R12: rights actions do not read settlement events).

Services flush and never commit; the caller commits once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from flask_babel import gettext as _
from geoalchemy2.shape import from_shape
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from app.audit import trail
from app.core.codes import CodeError, validate_unit_number
from app.core.errors import DomainError
from app.core.spatial import registry_srid
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history
from app.registry.documents import citable_document
from app.registry.inputs import TEXT_LIMITS, require_reason
from app.registry.inputs import today_or as _today
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
DISPOSALS = ("sold", "leased", "gifted", "returned", "transferred")
#: R8 (土地管理法 Art. 62): after selling, leasing or gifting the house, no new homestead.
#: A voluntary return (交回) or a transfer recorded as such does not bar.
R8_BARRING = frozenset({"sold", "leased", "gifted"})

_EPS = 1e-9


@dataclass(frozen=True)
class Ineligibility:
    """Why a household may not take a homestead now: a stable code and a message."""

    code: str
    message: str


# --------------------------------------------------------------------------------------------
# Shared look-ups
# --------------------------------------------------------------------------------------------


#: Identifiers are 32-bit on PostgreSQL; a larger number can name nothing (and must not reach
#: the database, which would fail on it instead of answering "not found").
MAX_ID = 2**31 - 1


def is_id(value: Any) -> bool:
    """Whether ``value`` can be the id / uid of a stored object."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def current_household(household_uid: Any, *, lock: bool = False) -> Household:
    """The current version of a household, or a DomainError naming the field."""
    if not is_id(household_uid):
        raise DomainError("household_unknown", _("No such household."), field="household_uid")
    household = history.current_of(Household, household_uid, lock=lock)
    if household is None:
        raise DomainError("household_unknown", _("No such household."), field="household_uid")
    return household


def source_document(source_document_id: Any, collective_id: int) -> SourceDocument:
    """The cited source document, which every homestead and share change needs; which documents
    may be cited is ``documents.citable_document``'s rule."""
    if source_document_id in (None, "", 0):
        raise DomainError(
            "source_required",
            _("Every right and every change must cite a source document."),
            field="source_document_id",
        )
    doc = citable_document(source_document_id, collective_id)
    assert doc is not None  # an id was given
    return doc


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


def latest_version(model: type[V], uid: int) -> V | None:
    """The latest version of an object, current or ended (a disposed homestead, an emptied
    share holding): its page and history stay readable."""
    if not is_id(uid):
        return None
    return db.session.scalar(
        select(model).where(model.uid == uid).order_by(model.version.desc()).limit(1)
    )


def current_homestead_of(household_uid: int) -> Homestead | None:
    return db.session.scalar(
        select(Homestead).where(
            Homestead.household_uid == household_uid, Homestead.end_lifespan.is_(None)
        )
    )


def _r08_barring_disposal(household_uid: int) -> str | None:
    """R8: the first earlier disposal of this household that bars a new homestead, if any."""
    return db.session.scalar(
        select(Homestead.disposal)
        .where(
            Homestead.household_uid == household_uid,
            Homestead.disposal.in_(sorted(R8_BARRING)),
        )
        .limit(1)
    )


def _r08_message(disposal: str) -> str:
    messages = {
        "sold": _("This household sold its house before and may not have a new homestead."),
        "leased": _("This household leased out its house before and may not have a new homestead."),
        "gifted": _("This household gave its house away before and may not have a new homestead."),
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
# R9 eligibility
# --------------------------------------------------------------------------------------------


def _ineligibility(household: Household, day: date) -> Ineligibility | None:
    """Why this (current) household may not take a homestead on ``day``; None if it may.

    The single body of the R9 test; see may_apply_for_homestead for the rule itself.
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
        )
    barring = _r08_barring_disposal(household.uid)
    if barring is not None:
        return Ineligibility(
            "r08_barred",
            _r08_message(barring),
        )
    return None


def may_apply_for_homestead(household_uid: int, today: date | None = None) -> tuple[bool, str]:
    """R9 (with R7, R8): may this household apply for, or take over, a homestead?

    A qualifying household is a current household with at least one member on its collective's
    membership roll on the day, that holds no current homestead (R7) and has not sold, leased or
    given away a house before (R8). An urban-resident household, one ALL of whose members have
    urban hukou, never qualifies; a household in which some members settled in town but another
    is still rural does qualify (settling never costs the others their rights, R12).

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
    """R9: a homestead may go only to a qualifying member household of the same collective.

    Check only: the marketplace does the transfer. Returns the evidence of the check (who, when,
    which members were on the roll) for it to store (R15); raises DomainError(rule="R09").
    """
    day = _today(today)
    homestead = history.current_of(Homestead, homestead_uid) if is_id(homestead_uid) else None
    if homestead is None:
        raise DomainError("homestead_unknown", _("No such homestead."), field="homestead_uid")
    recipient = history.current_of(Household, to_household_uid) if is_id(to_household_uid) else None
    if recipient is None or recipient.collective_id != homestead.collective_id:
        # R9: only a household of the same collective; another collective's household gets the
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
    from app.registry.land import prepare_geometry

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
    """R7: Guangdong caps for new homestead approvals (广东省土地管理条例 Art. 42)."""
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
    """Register a newly approved homestead (宅基地批准书) for a household.

    R7: one homestead per household (一户一宅; also the partial unique index
    uq_homestead_household_current, which catches races) and the Guangdong caps for new
    approvals by terrain (TERRAIN_CAPS). R8: a household that sold, leased or gave away a house
    gets none. The unit number is a homestead (JC) unit of the collective's county. With
    ``area_m2=None`` the area is measured from the geometry.
    """
    day = _today(today)
    household = current_household(household_uid, lock=True)
    collective = db.session.get(Collective, household.collective_id)
    doc = source_document(source_document_id, household.collective_id)
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
    if not approval_number or len(approval_number) > TEXT_LIMITS["code"]:
        raise DomainError(
            "approval_number",
            _(
                "Give the number of the homestead approval (at most %(n)s characters).",
                n=TEXT_LIMITS["code"],
            ),
            field="approval_number",
        )
    if not isinstance(approved_on, date) or approved_on > day:
        raise DomainError(
            "approved_on",
            _("Give the approval date; it cannot be in the future."),
            field="approved_on",
        )
    geom = None
    measured = None
    if geometry is not None and geometry != "":
        geom, measured = homestead_geometry(geometry, crs)
    if area_m2 is None and measured is not None:
        area_m2 = round(measured, 2)
    area_m2 = _positive_area(area_m2, "area_m2")
    if floor_area_m2 is not None:
        floor_area_m2 = _positive_area(floor_area_m2, "floor_area_m2", allow_zero=True)
    reason = require_reason(reason)
    check_terrain_cap(terrain, area_m2)
    if current_homestead_of(household.uid) is not None:
        raise DomainError(
            "has_homestead",
            _("This household already holds a homestead (one homestead per household)."),
            field="household_uid",
            rule="R07",
        )
    barring = _r08_barring_disposal(household.uid)
    if barring is not None:
        raise DomainError(
            "r08_barred",
            _r08_message(barring),
            field="household_uid",
            rule="R08",
        )
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
    with trail.because("homestead.grant", reason=reason, source_sha256=doc.sha256):
        try:
            with db.session.begin_nested():
                homestead = history.create(
                    Homestead,
                    reason=reason,
                    source_document_id=doc.id,
                    effective_on=history.natural_date(approved_on),  # the approval's date
                    unit_number=unit_number,
                    household_uid=household.uid,
                    collective_id=household.collective_id,
                    approval_number=approval_number,
                    approved_on=approved_on,
                    terrain=terrain,
                    area_m2=area_m2,
                    floor_area_m2=floor_area_m2,
                    geom=geom,
                )
        except IntegrityError:
            # Another request granted this household a homestead between our check and insert.
            raise DomainError(
                "has_homestead",
                _("This household already holds a homestead (one homestead per household)."),
                field="household_uid",
                rule="R07",
            ) from None
    return homestead


def dispose_homestead(
    homestead_uid: int, disposal: str, reason: str, source_document_id: int
) -> Homestead:
    """End the current homestead version, recording how it went (sold, leased, gifted, …).

    The recorded disposal is what R8 reads later: sold / leased / gifted bar the household from a
    new homestead; returned / transferred do not.
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
                "Choose how the homestead was disposed of: sold, leased, gifted, returned or "
                "transferred."
            ),
            field="disposal",
        )
    doc = source_document(source_document_id, homestead.collective_id)
    with trail.because("homestead.dispose", reason=reason, source_sha256=doc.sha256):
        return history.end(
            homestead,
            reason=reason,
            source_document_id=doc.id,
            disposal=disposal,
        )
