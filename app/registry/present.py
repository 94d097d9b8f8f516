"""What each audience may see of people and households: the one place that decides.

ID numbers (and phone numbers) are personal data. They are shown in full only to
- the collective admin of one of the person's collectives (they keep the roll),
- auditors (they check everything), and
- the person themself (a farmer account linked to that person);
everyone else (bureau reviewers, settlement officers, farmers looking at the rest of their
household) sees them masked. Pages and the API both serialise through here, so the rule cannot
be kept in one and forgotten in the other.

A masked ID number would be rebuilt from whatever else on the page carries the same digits, so
for a masking viewer:
- the ID number shows only its last 4 characters (``mask_id_number``): nothing of the region
  code (usually the county's own) or of the birth date;
- the birth date is not shown at all, not even as an age or a year: the 8 hidden digits are
  exactly the birth date, and a year or an age band would leave a few dozen candidates, which
  the check character narrows further;
- a membership "by birth" does not show its start date (it is the birth date);
- the sex is shown: it is the parity of the 17th character, which the last 4 show anyway;
- the phone number shows only its last 4 digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import select

from app.auth.models import Role
from app.auth.scope import can_read
from app.core.codes import format_mu, mask_id_number
from app.extensions import db
from app.registry.models import (
    RELATIONS,
    Household,
    Membership,
    MembershipBasis,
    Person,
    Plot,
    Succession,
)
from app.registry.people import (
    BASES,
    END_REASONS,
    HUKOU_ORIGINS,
    HUKOU_TYPES,
    SEXES,
    SUCCESSION_OUTCOMES,
    HouseholdRights,
    MemberRow,
    hukou_label,
)


def collective_ids_of(person_uids: Iterable[int]) -> dict[int, set[int]]:
    """Open memberships of many persons in one query: {person_uid: {collective_id, …}}."""
    uids = sorted(set(person_uids))
    out: dict[int, set[int]] = {uid: set() for uid in uids}
    if not uids:
        return out
    rows = db.session.execute(
        select(Membership.person_uid, Membership.collective_id).where(
            Membership.person_uid.in_(uids), Membership.end_lifespan.is_(None)
        )
    )
    for person_uid, collective_id in rows:
        out[person_uid].add(collective_id)
    return out


class PersonIds(Protocol):
    """What the ID-number rule reads of a person: a ``Person`` row, or a co-holder as a
    certificate's snapshot keeps them (``SnapshotPerson``)."""

    @property
    def uid(self) -> int: ...
    @property
    def id_number(self) -> str: ...
    @property
    def scope_collective_ids(self) -> set[int]: ...


@dataclass(frozen=True)
class SnapshotPerson:
    """A co-holder in a certificate's snapshot, with the collectives they are a member of now."""

    uid: int
    id_number: str
    scope_collective_ids: set[int]


def sees_personal_data(
    viewer: Any, person: PersonIds, collective_ids_of_person: Iterable[int] | None = None
) -> bool:
    """Whether ``viewer`` may see this person's ID number and phone in full."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return False
    role = Role(viewer.role)
    if role == Role.AUDITOR:
        return True
    if role == Role.FARMER:
        return viewer.person_uid is not None and viewer.person_uid == person.uid
    if role == Role.COLLECTIVE_ADMIN:
        ids = (
            set(collective_ids_of_person)
            if collective_ids_of_person is not None
            else person.scope_collective_ids
        )
        return not ids.isdisjoint(viewer.collective_ids)
    return False


def show_id_number(
    viewer: Any, person: PersonIds, collective_ids_of_person: Iterable[int] | None = None
) -> str:
    """The ID number as ``viewer`` may see it: in full or masked (first 6 + last 4)."""
    if sees_personal_data(viewer, person, collective_ids_of_person):
        return person.id_number
    return mask_id_number(person.id_number)


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def label(table: dict, key: Any) -> str:
    value = table.get(key)
    return str(value) if value is not None else (key or "")


def person_view(
    person: Person, viewer: Any, collective_ids_of_person: Iterable[int] | None = None
) -> dict:
    """A person as ``viewer`` may see them (masked: no birth date, see the module's note)."""
    full = sees_personal_data(viewer, person, collective_ids_of_person)
    return {
        "uid": person.uid,
        "version": person.version,
        "name": person.name,
        "id_number": person.id_number if full else mask_id_number(person.id_number),
        "id_number_masked": not full,
        "sex": person.sex,
        "sex_label": label(SEXES, person.sex),
        "birth_date": person.birth_date.isoformat() if full and person.birth_date else None,
        "hukou_type": person.hukou_type,
        "hukou_type_label": label(HUKOU_TYPES, person.hukou_type),
        "hukou_kind": person.hukou_kind,
        "hukou_origin": person.hukou_origin,
        "hukou_origin_label": label(HUKOU_ORIGINS, person.hukou_origin)
        if person.hukou_origin
        else None,
        "hukou_label": hukou_label(person),
        "hukou_place": person.hukou_place,
        "died_on": person.died_on.isoformat() if person.died_on else None,
        "phone": person.phone if full else mask_phone(person.phone),
        "since": person.begin_lifespan.isoformat(timespec="seconds"),
    }


def membership_view(m: Membership, *, masked: bool = False) -> dict:
    """A membership; ``masked`` (the viewer sees the person masked) hides the start of a
    membership by birth, which is the person's birth date."""
    hide_since = masked and m.basis == MembershipBasis.BIRTH.value
    return {
        "uid": m.uid,
        "collective_id": m.collective_id,
        "since": None if hide_since else m.since.isoformat(),
        "basis": m.basis,
        "basis_label": label(BASES, m.basis),
        "until": m.until.isoformat() if m.until else None,
        "end_reason": m.end_reason,
        "end_reason_label": label(END_REASONS, m.end_reason) if m.end_reason else None,
        "open": m.end_lifespan is None,
    }


def succession_view(row: Succession) -> dict:
    """What became of one right of a dead person or of a household that died out."""
    text = SUCCESSION_OUTCOMES.get((row.right_kind, row.outcome))
    return {
        "on": row.happened_on.isoformat(),
        "right_kind": row.right_kind,
        "right_uid": row.right_uid,
        "outcome": row.outcome,
        "outcome_label": str(text) if text is not None else row.outcome,
        "household_uid": row.household_uid,
        "heir_person_uid": row.heir_person_uid,
        "heir_household_uid": row.heir_household_uid,
    }


def area_view(m2: float | None) -> dict:
    """An area as m² (the master value) and 亩 (two decimals)."""
    if m2 is None:
        return {"m2": None, "mu": None}
    return {"m2": round(float(m2), 2), "mu": format_mu(float(m2))}


def rights_view(rights: HouseholdRights) -> dict:
    """A summary of the household's rights with codes and areas."""
    contract = rights.contract
    homestead = rights.homestead
    return {
        "contract": None
        if contract is None
        else {
            "uid": contract.uid,
            "cbhtbm": contract.cbhtbm,
            "term_start": contract.term_start.isoformat(),
            "term_end": contract.term_end.isoformat(),
            "status": contract.status,
            "contract_area": area_view(contract.contract_area_m2),
        },
        "plots": [
            {
                "uid": p.uid,
                "dkbm": p.dkbm,
                "name": p.name,
                "land_class": p.land_class,
                "is_basic_farmland": bool(p.is_basic_farmland),
                "contract_area": area_view(p.contract_area_m2),
                "measured_area": area_view(p.measured_area_m2),
            }
            for p in rights.plots
        ],
        "plots_contract_area": area_view(rights.contract_area_m2),
        "plots_measured_area": area_view(rights.measured_area_m2),
        "homestead": None
        if homestead is None
        else {
            "uid": homestead.uid,
            "unit_number": homestead.unit_number,
            "area": area_view(homestead.area_m2),
            "floor_area": area_view(homestead.floor_area_m2),
            "terrain": homestead.terrain,
        },
        # every current homestead: a second one that came by inheritance is kept (R08)
        "homesteads": [
            {
                "uid": hs.uid,
                "unit_number": hs.unit_number,
                "area": area_view(hs.area_m2),
                "floor_area": area_view(hs.floor_area_m2),
                "terrain": hs.terrain,
                "registration": hs.registration,
                "acquired_by": hs.acquired_by,
                "note": hs.note,
            }
            for hs in rights.homesteads
        ],
        "shares": [
            {
                "uid": s.uid,
                "shares": s.shares,
                "share_type": s.share_type,
                "certificate_number": s.certificate_number,
                "household_uid": s.household_uid,
                "person_uid": s.person_uid,
            }
            for s in rights.shares
        ],
    }


def member_view(row: MemberRow, viewer: Any, collective_ids_of_person: Iterable[int]) -> dict:
    m = row.member
    return {
        "person": person_view(row.person, viewer, collective_ids_of_person),
        "relation": m.relation,
        "relation_label": label(RELATIONS, m.relation),
        "is_co_holder": bool(m.is_co_holder),
        "moved_out_on": m.moved_out_on.isoformat() if m.moved_out_on else None,
    }


def household_view(
    household: Household,
    viewer: Any,
    members: list[MemberRow] | None = None,
    rights: HouseholdRights | None = None,
) -> dict:
    """A household as ``viewer`` may see it; members and rights when given."""
    out: dict[str, Any] = {
        "uid": household.uid,
        "version": household.version,
        "cbfbm": household.cbfbm,
        "name": household.name,
        "address": household.address,
        "collective_id": household.collective_id,
    }
    if members is not None:
        scopes = collective_ids_of(r.person.uid for r in members)
        out["members"] = [member_view(r, viewer, scopes[r.person.uid]) for r in members]
    if rights is not None:
        out["rights"] = rights_view(rights)
    return out


def readable_plot_codes(viewer: Any, uids: Iterable[int | None]) -> dict[int, str]:
    """Current codes (DKBM) of those of ``uids`` the viewer may read, in one query.

    An overlap finding may name a plot of another collective (the overlap check is county-wide,
    as it must be); to a viewer who may not read that plot it stays unnamed, so a finding does
    not become a way to learn another collective's plots.
    """
    wanted = sorted({u for u in uids if u})
    if not wanted:
        return {}
    rows = db.session.execute(
        select(Plot.uid, Plot.dkbm, Plot.collective_id, Plot.household_uid).where(
            Plot.uid.in_(wanted), Plot.end_lifespan.is_(None)
        )
    )
    return {
        uid: dkbm
        for uid, dkbm, collective_id, household_uid in rows
        if can_read(
            viewer,
            SimpleNamespace(scope_collective_id=collective_id, scope_household_id=household_uid),
        )
    }


#: An ID number inside free text: 17 digits and a digit or X (also full-width), standing alone.
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z０-９])[0-9０-９]{17}[0-9０-９XxＸｘ](?![0-9A-Za-z０-９])")


def mask_ids_in_text(text: str | None, viewer: Any) -> str | None:
    """Free text (a change reason, a note) as ``viewer`` may see it.

    People type ID numbers into reasons ("更正身份证号 …"); a page showing the reason to someone
    who sees that person masked would undo the mask. Every ID-shaped number in free text is
    therefore masked for everyone but auditors, whatever person it belongs to.
    """
    if not text:
        return text
    role = getattr(viewer, "role", None) if getattr(viewer, "is_authenticated", False) else None
    if role == Role.AUDITOR:
        return text
    return _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), text)


def certificate_content_for(viewer: Any, content: dict) -> dict:
    """A certificate's snapshot as ``viewer`` may see it: the co-holders' ID numbers shown in
    full or masked by the same rule as on the person pages (the snapshot keeps them in full)."""
    holders = content.get("holders") or []
    collectives = collective_ids_of(h["person_uid"] for h in holders)
    shown = [
        {
            **h,
            "id_number": show_id_number(
                viewer,
                SnapshotPerson(
                    h["person_uid"], h["id_number"], collectives.get(h["person_uid"], set())
                ),
                collectives.get(h["person_uid"], set()),
            ),
        }
        for h in holders
    ]
    return {**content, "holders": shown}
