"""Rights-retained statements (权益保留证明): what a settled person's household holds, printed with
a verification code that anyone can check without logging in.

R12: settling in town never changes a right. The statement proves it for one person: it lists
their household's contract and plots, homesteads and shares (with codes, areas and the version
of each record) as they stand when printed, and stores that content with its SHA-256 under a
random code. ``check`` recomputes the content from the registry: "valid" while every record is
as printed, "changed" once any of them has a new version, ended or gained a neighbour (a plot
added to the contract), "unknown" for a code never issued. The public answer carries no personal
data. The settlement package decides whom a statement is printed for; this module reads only the
registry (the registry never imports settlement).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select

from app.audit import trail
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.registry import history
from app.registry.models import (
    Homestead,
    Household,
    LandContract,
    Person,
    Plot,
    RightsStatement,
    ShareHolding,
)
from app.registry.people import resident_row

#: Unambiguous letters and digits for a code read aloud or typed from paper (no 0/O, 1/I/L).
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_CODE_LENGTH = 12


def _code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, _CODE_LENGTH, 4))


def normalise_code(text: Any) -> str | None:
    """A code as typed (lower case, spaces, missing dashes) in its printed form, or None."""
    if not isinstance(text, str):
        return None
    raw = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(raw) != _CODE_LENGTH or any(ch not in _ALPHABET for ch in raw):
        return None
    return "-".join(raw[i : i + 4] for i in range(0, _CODE_LENGTH, 4))


def _area(value: float | None) -> str:
    return f"{value or 0:.2f}"


def content_of(household_uid: int) -> dict[str, Any]:
    """What the household holds now, each record with its uid and version (canonical order)."""
    household = history.current_of(Household, household_uid)
    if household is None:
        raise NotFound("household_unknown", _("No such household."))
    contract = db.session.scalar(
        select(LandContract).where(
            LandContract.household_uid == household_uid, LandContract.end_lifespan.is_(None)
        )
    )
    plots = []
    if contract is not None:
        plots = [
            {
                "uid": p.uid,
                "version": p.version,
                "dkbm": p.dkbm,
                "name": p.name,
                "contract_area_m2": _area(p.contract_area_m2),
            }
            for p in db.session.scalars(
                select(Plot)
                .where(Plot.contract_uid == contract.uid, Plot.end_lifespan.is_(None))
                .order_by(Plot.dkbm)
            )
        ]
    homesteads = [
        {
            "uid": h.uid,
            "version": h.version,
            "unit_number": h.unit_number,
            "area_m2": _area(h.area_m2),
        }
        for h in db.session.scalars(
            select(Homestead)
            .where(Homestead.household_uid == household_uid, Homestead.end_lifespan.is_(None))
            .order_by(Homestead.unit_number)
        )
    ]
    members = _resident_uids(household_uid)
    holdings = [
        {
            "uid": s.uid,
            "version": s.version,
            "certificate_number": s.certificate_number,
            "shares": str(s.shares),
        }
        for s in db.session.scalars(
            select(ShareHolding)
            .where(
                ShareHolding.end_lifespan.is_(None),
                or_(
                    ShareHolding.household_uid == household_uid,
                    ShareHolding.person_uid.in_(members or [-1]),
                ),
            )
            .order_by(ShareHolding.uid)
        )
    ]
    return {
        "household": {"uid": household.uid, "cbfbm": household.cbfbm, "name": household.name},
        "contract": None
        if contract is None
        else {
            "uid": contract.uid,
            "version": contract.version,
            "cbhtbm": contract.cbhtbm,
            "term_start": contract.term_start.isoformat(),
            "term_end": contract.term_end.isoformat(),
            "contract_area_m2": _area(contract.contract_area_m2),
        },
        "plots": plots,
        "homesteads": homesteads,
        "shares": holdings,
    }


def _resident_uids(household_uid: int) -> list[int]:
    from app.registry.models import HouseholdMember

    return list(
        db.session.scalars(
            select(HouseholdMember.person_uid).where(
                HouseholdMember.household_uid == household_uid,
                HouseholdMember.end_lifespan.is_(None),
            )
        )
    )


def _canonical(content: dict[str, Any]) -> str:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def issue(person_uid: int, user: Any, *, collective_ids: set[int] | None = None) -> RightsStatement:
    """Print a statement for the person: their household's rights as they stand now.
    ``collective_ids``: the collectives the user acts in (None: the county); a person of another
    one is answered as a person that does not exist."""
    person = history.current_of(Person, person_uid) if isinstance(person_uid, int) else None
    row = resident_row(person.uid) if person is not None else None
    household = history.current_of(Household, row.household_uid) if row is not None else None
    if (
        person is None
        or household is None
        or (collective_ids is not None and household.collective_id not in collective_ids)
    ):
        raise NotFound("person_unknown", _("There is no such person."), field="person_uid")
    content = _canonical(
        {"person": {"uid": person.uid, "name": person.name}, **content_of(household.uid)}
    )
    statement = RightsStatement(
        code=_code(),
        collective_id=household.collective_id,
        person_uid=person.uid,
        household_uid=household.uid,
        content=content,
        content_sha256=hashlib.sha256(content.encode("utf-8")).hexdigest(),
        issued_by=user.username,
    )
    with trail.because("statement.issue"):
        db.session.add(statement)
        db.session.flush()
    return statement


def check(code: Any) -> str:
    """ "valid" (every record as printed), "changed" (any record changed since) or "unknown"."""
    printed = normalise_code(code)
    statement = (
        db.session.scalar(select(RightsStatement).where(RightsStatement.code == printed))
        if printed
        else None
    )
    if statement is None:
        return "unknown"
    stored = json.loads(statement.content)
    try:
        now = content_of(statement.household_uid)
    except DomainError:
        return "changed"
    person = history.current_of(Person, statement.person_uid)
    now = {"person": {"uid": statement.person_uid, "name": person.name if person else None}, **now}
    return "valid" if _canonical(now) == _canonical(stored) else "changed"


def printed(statement: RightsStatement) -> dict[str, Any]:
    return json.loads(statement.content)
