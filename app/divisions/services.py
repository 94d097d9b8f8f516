"""Collectives (发包方): creation with code checks."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import trail
from app.core.codes import CodeError, fbfbm_village_code, validate_collective_uscc, validate_fbfbm
from app.core.errors import DomainError
from app.core.numbers import to_decimal
from app.divisions.models import Collective, Division
from app.extensions import db


def create_collective(
    fbfbm: str,
    name: str,
    *,
    uscc: str | None = None,
    share_cap_percent: Decimal | float | str | None = None,
) -> Collective:
    """Register a collective economic organisation. FBFBM = village code (12) + group (2)."""
    try:
        fbfbm = validate_fbfbm(fbfbm)
    except CodeError as exc:
        raise DomainError.from_check(exc, field="fbfbm") from None
    village = db.session.get(Division, fbfbm_village_code(fbfbm))
    if village is None or village.level != "village":
        raise DomainError(
            "fbfbm_village",
            _(
                "The first 12 digits of %(code)s are not a village in the division list.",
                code=fbfbm,
            ),
            field="fbfbm",
        )
    if db.session.scalar(select(Collective.id).where(Collective.fbfbm == fbfbm)):
        raise DomainError(
            "fbfbm_taken", _("Collective %(code)s exists already.", code=fbfbm), field="fbfbm"
        )
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise DomainError(
            "name", _("Give the collective's name (at most 120 characters)."), field="name"
        )
    if uscc:
        try:
            uscc = validate_collective_uscc(uscc)
        except CodeError as exc:
            raise DomainError.from_check(exc, field="uscc") from None
    if share_cap_percent is not None:
        # R11's cap is exact: a percentage with at most two decimal places (NUMERIC(5, 2)).
        cap = to_decimal(share_cap_percent)
        if cap is None or not (0 < cap <= 100) or cap != cap.quantize(Decimal("0.01")):
            raise DomainError(
                "share_cap",
                _(
                    "The share cap is a percentage above 0 and at most 100, with at most two "
                    "decimal places."
                ),
            )
        share_cap_percent = cap
    collective = Collective(
        fbfbm=fbfbm,
        name=name,
        village_code=village.code,
        uscc=uscc or None,
        share_cap_percent=share_cap_percent,
    )
    with trail.because("collective.create"):
        db.session.add(collective)
        db.session.flush()
    return collective


def visible_collectives(user) -> list[Collective]:
    from app.auth.models import COUNTY_READERS, Role

    q = select(Collective).order_by(Collective.fbfbm)
    role = Role(user.role)
    if role not in COUNTY_READERS:
        q = q.where(Collective.id.in_(user.collective_ids or [-1]))
    return list(db.session.scalars(q))
