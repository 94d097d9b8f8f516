"""Collectives (发包方): creation with code checks."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import trail
from app.auth.models import COUNTY_READERS, Role
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
    """Register a collective economic organisation (发包方) at its level.

    FBFBM = division code (12) + group (2): a village's code + ``00`` for the village
    collective, + ``01``-``99`` for a villager group's; a township's code + ``00`` for a
    township-level collective. The USCC, if given, must be the one of that level (GB 32100:
    N3 township, N2 village, N1 group).
    """
    try:
        fbfbm = validate_fbfbm(fbfbm)
    except CodeError as exc:
        raise DomainError.from_check(exc, field="fbfbm") from None
    village = db.session.get(Division, fbfbm_village_code(fbfbm))
    if village is not None and village.level == "town" and fbfbm[12:] != "00":
        raise DomainError(
            "fbfbm_township_group",
            _(
                "%(code)s starts with a township's code: a township collective's code ends in 00.",
                code=fbfbm,
            ),
            field="fbfbm",
        )
    if village is None or village.level not in ("village", "town"):
        raise DomainError(
            "fbfbm_village",
            _(
                "The first 12 digits of %(code)s are not a village or township in the division "
                "list.",
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
        level = Collective.level_of(village.level, fbfbm)
        try:
            uscc = validate_collective_uscc(uscc, level)
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
    q = select(Collective).order_by(Collective.fbfbm)
    role = Role(user.role)
    if role not in COUNTY_READERS:
        q = q.where(Collective.id.in_(user.collective_ids or [-1]))
    return list(db.session.scalars(q))
