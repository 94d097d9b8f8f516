"""Homesteads for the scope matrix, plus small builders the homestead and share tests share.

The builders write registry rows through app.registry.history directly, so these tests do not
depend on how the people area's services evolve. They run inside the caller's audit context.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import date, timedelta

from sqlalchemy import func, select

from app.core.codes import id_number_check_char
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history
from app.registry.models import (
    Household,
    HouseholdMember,
    Membership,
    Person,
    SourceDocument,
)

_seq = itertools.count(1)


def id_number() -> str:
    """A valid, unique Shixing ID number (region 440222)."""
    n = next(_seq)
    born = date(1970, 1, 1) + timedelta(days=n % 9000)
    first17 = f"440222{born:%Y%m%d}{n % 1000:03d}"
    return first17 + id_number_check_char(first17)


def person(
    collective_id: int | None,
    *,
    name: str = "张三",
    hukou: str = "rural",
    since: date = date(2000, 1, 1),
    until: date | None = None,
) -> int:
    """A person; with a collective, also a membership of it from ``since`` (ended ``until``)."""
    p = history.create(
        Person,
        reason="test",
        name=name,
        id_number=id_number(),
        sex="M",
        birth_date=date(1980, 1, 1),
        hukou_type=hukou,
    )
    if collective_id is not None:
        m = history.create(
            Membership,
            reason="test",
            person_uid=p.uid,
            collective_id=collective_id,
            since=since,
            basis="birth",
        )
        if until is not None:  # ended the way the people services end one
            history.end(m, reason="test", until=until, end_reason="death")
    return p.uid


def household(
    collective_id: int,
    *,
    members: list[int] | None = None,
    name: str = "李四户",
    hukou: str = "rural",
) -> int:
    """A household of the collective. Without ``members``, one rural member on the roll."""
    collective = db.session.get(Collective, collective_id)
    if members is None:
        members = [person(collective_id, name=name[:2], hukou=hukou)]
    top = db.session.scalar(
        select(func.max(Household.cbfbm)).where(Household.collective_id == collective_id)
    )
    h = history.create(
        Household,
        reason="test",
        cbfbm=f"{collective.fbfbm}{int(top[14:]) + 1 if top else 1:04d}",
        collective_id=collective_id,
        name=name,
    )
    for i, person_uid in enumerate(members):
        history.create(
            HouseholdMember,
            reason="test",
            household_uid=h.uid,
            person_uid=person_uid,
            collective_id=collective_id,
            relation="02" if i == 0 else "10",
            is_co_holder=True,
        )
    return h.uid


def document(collective_id: int | None, title: str = "宅基地批准书") -> int:
    """A source document (no stored file; only its hash matters here)."""
    doc = SourceDocument(
        collective_id=collective_id,
        kind="approval",
        title=title,
        sha256=hashlib.sha256(f"{title}-{next(_seq)}".encode()).hexdigest(),
    )
    db.session.add(doc)
    db.session.flush()
    return doc.id


def unit_number(collective_id: int, parcel: int | None = None) -> str:
    """A homestead unit number (JC) in the collective's county."""
    collective = db.session.get(Collective, collective_id)
    parcel = next(_seq) % 99999 + 1 if parcel is None else parcel
    return f"{collective.fbfbm[:6]}102005JC{parcel:05d}F00010001"


def make(collective_id: int, ctx: dict) -> dict:
    """A homestead of the collective's household (the people factory's, or one made here)."""
    from app.registry.homesteads import grant_homestead

    household_uid = ctx.get("household_uid") or household(collective_id)
    source_document_id = ctx.get("source_document_id") or document(collective_id)
    h = grant_homestead(
        household_uid,
        unit_number(collective_id),
        "plain",
        78.5,
        approval_number="始兴宅批〔2020〕001号",
        approved_on=date(2020, 5, 1),
        floor_area_m2=120.0,
        source_document_id=source_document_id,
        reason="factory",
    )
    return {"homestead_uid": h.uid}
