"""Public notice (公示) of a registration, objections, and confirmation (DOMAIN §6).

Registration runs: import → validation → public notice (objections recorded) → confirmation →
certificate issued. A notice runs from ``starts_on`` to ``ends_on`` inclusive (the policy's
PUBLIC_NOTICE_DAYS, 7 by default). Villagers may object while it runs; a clerk records each
objection with the objector's name. The registration is confirmed only after the last day has
passed and every objection has been decided; an upheld objection means the registration was wrong,
so it must be corrected and noticed again instead of confirmed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.audit import trail
from app.core.calendar import county_today
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.registry import history, inputs
from app.registry.certificates import (
    build_snapshot,
    check_no_open_overlap,
    current_right,
    latest_right,
    right_model,
)
from app.registry.inputs import require_date as _date
from app.registry.models import LandContract, Objection, PublicNotice

NOTICE_STATUS_LABELS = {
    "open": _l("On notice"),
    "confirmed": _l("Confirmed"),
    "withdrawn": _l("Withdrawn"),
}
OBJECTION_STATUS_LABELS = {
    "open": _l("Awaiting decision"),
    "upheld": _l("Upheld"),
    "dismissed": _l("Dismissed"),
}
MAX_NOTICE_DAYS = 90


def notice_days() -> int:
    """The policy's notice period (DOMAIN §6, policy choice: 7 days)."""
    return int(current_app.config.get("PUBLIC_NOTICE_DAYS") or 7)


def _notice(notice_id: int, *, lock: bool = False) -> PublicNotice:
    notice = db.session.get(PublicNotice, notice_id, with_for_update=lock)
    if notice is None:
        raise NotFound("notice", _("Not found."))
    return notice


def _require_open(notice: PublicNotice) -> None:
    if notice.status != "open":
        raise DomainError("notice_closed", _("This public notice is no longer open."))


def open_notice(
    right_kind: str,
    right_uid: int,
    starts_on: date,
    days: int | None = None,
    *,
    today: date | None = None,
) -> PublicNotice:
    """Put a registration on public notice for at least the policy's number of days.

    DOMAIN §6: a notice cannot start in the past (``today``, by default the real day): villagers
    must have the whole period to object. A land contract is noticed while it is still
    "pending"; a right has one open notice at a time.
    """
    starts_on = _date(starts_on, "starts_on")
    today = inputs.today_or(today)
    if starts_on < today:
        raise DomainError(
            "notice_in_past",
            _(
                "A public notice cannot start in the past: choose %(today)s or a later day, "
                "so that villagers have the whole period to object.",
                today=today.isoformat(),
            ),
            field="starts_on",
        )
    minimum = notice_days()
    if days is None:
        days = minimum
    if (
        not isinstance(days, int)
        or isinstance(days, bool)
        or not minimum <= days <= MAX_NOTICE_DAYS
    ):
        raise DomainError(
            "notice_days",
            _(
                "A public notice runs between %(min)s and %(max)s days.",
                min=minimum,
                max=MAX_NOTICE_DAYS,
            ),
            field="days",
        )
    right = current_right(right_kind, right_uid, lock=True)
    if right_kind == "land_contract" and right.status != "pending":
        raise DomainError(
            "not_pending",
            _("Only a registration that is still pending can be put on public notice."),
        )
    already = db.session.scalar(
        select(func.count())
        .select_from(PublicNotice)
        .where(PublicNotice.right_uid == right.uid, PublicNotice.status == "open")
    )
    if already:
        raise DomainError("notice_exists", _("This right is already on public notice."))
    ends_on = starts_on + timedelta(days=days - 1)
    with trail.because("notice.open"):
        notice = PublicNotice(
            collective_id=right.collective_id,
            right_kind=right_kind,
            right_uid=right.uid,
            starts_on=starts_on,
            ends_on=ends_on,
            status="open",
        )
        db.session.add(notice)
        db.session.flush()
    return notice


def lodge_objection(notice_id: int, lodged_by: str, text: str, lodged_on: date) -> Objection:
    """Record a villager's objection (异议), only while the notice runs."""
    lodged_on = _date(lodged_on, "lodged_on")
    lodged_by = inputs.text(lodged_by, "lodged_by", "name", required=True)
    text = inputs.text(text, "text", "note", required=True)
    notice = _notice(notice_id, lock=True)
    _require_open(notice)
    if not notice.starts_on <= lodged_on <= notice.ends_on:
        raise DomainError(
            "notice_not_running",
            _(
                "Objections are accepted only while the notice runs (%(start)s to %(end)s).",
                start=notice.starts_on.isoformat(),
                end=notice.ends_on.isoformat(),
            ),
            field="lodged_on",
        )
    with trail.because("notice.objection", reason=text):
        objection = Objection(
            notice_id=notice.id,
            collective_id=notice.collective_id,
            lodged_by=lodged_by,
            lodged_on=lodged_on,
            text=text,
            status="open",
        )
        db.session.add(objection)
        db.session.flush()
    return objection


def resolve_objection(
    objection_id: int, status: str, resolution: str, resolved_on: date
) -> Objection:
    """Decide an objection: "upheld" (the registration is wrong) or "dismissed", with reasons."""
    if status not in ("upheld", "dismissed"):
        raise DomainError(
            "objection_status", _("Decide the objection: upheld or dismissed."), field="status"
        )
    resolved_on = _date(resolved_on, "resolved_on")
    resolution = inputs.text(resolution, "resolution", "note", required=True)
    objection = db.session.get(Objection, objection_id, with_for_update=True)
    if objection is None:
        raise NotFound("objection", _("Not found."))
    if objection.status != "open":
        raise DomainError("objection_decided", _("This objection has already been decided."))
    _require_open(_notice(objection.notice_id))
    if resolved_on < objection.lodged_on:
        raise DomainError(
            "date_order",
            _("An objection cannot be decided before it was lodged."),
            field="resolved_on",
        )
    with trail.because("notice.objection_resolved", reason=resolution):
        objection.status = status
        objection.resolution = resolution
        objection.resolved_on = resolved_on
        db.session.flush()
    return objection


def objections_of(notice_id: int) -> list[Objection]:
    return list(
        db.session.scalars(
            select(Objection).where(Objection.notice_id == notice_id).order_by(Objection.id)
        )
    )


def confirm_registration(
    notice_id: int,
    today: date | None = None,
    *,
    reason: str | None = None,
    source_document_id: int | None = None,
) -> PublicNotice:
    """Confirm a registration after its notice: the period is over and no objection is open.

    DOMAIN §6: refused while an overlap finding on one of the right's plots is open
    (``check_no_open_overlap``: the admin resolves or accepts it with a reason first).
    A pending land contract becomes "confirmed" as a new version (history, never overwrite),
    citing the given document or the one the registration cited. A certificate may follow.
    """
    today = today or county_today()
    notice = _notice(notice_id, lock=True)
    _require_open(notice)
    if today <= notice.ends_on:
        raise DomainError(
            "notice_running",
            _(
                "The public notice runs until %(end)s; confirm it after that day.",
                end=notice.ends_on.isoformat(),
            ),
        )
    states = dict(
        db.session.execute(
            select(Objection.status, func.count())
            .where(Objection.notice_id == notice.id)
            .group_by(Objection.status)
        ).all()
    )
    if states.get("open"):
        raise DomainError(
            "objection_open",
            _("An objection is still open: decide every objection before confirming."),
        )
    if states.get("upheld"):
        raise DomainError(
            "objection_upheld",
            _(
                "An objection was upheld: correct the registration, withdraw this notice "
                "and open a new one."
            ),
        )
    reason = inputs.text(reason, "reason", "reason") or _(
        "Confirmed after public notice from %(start)s to %(end)s without open objections.",
        start=notice.starts_on.isoformat(),
        end=notice.ends_on.isoformat(),
    )
    right = current_right(notice.right_kind, notice.right_uid, lock=True)
    check_no_open_overlap(notice.right_kind, right.uid)
    with trail.because("notice.confirm", reason=reason):
        if isinstance(right, LandContract) and right.status != "confirmed":
            history.revise(
                right,
                reason=reason,
                source_document_id=source_document_id or right.source_document_id,
                status="confirmed",
            )
        notice.status = "confirmed"
        db.session.flush()
    return notice


def withdraw_notice(notice_id: int, reason: str) -> PublicNotice:
    """Withdraw an open notice (the registration is to be corrected, or was noticed in error)."""
    reason = inputs.require_reason(reason)
    notice = _notice(notice_id, lock=True)
    _require_open(notice)
    with trail.because("notice.withdraw", reason=reason):
        notice.status = "withdrawn"
        db.session.flush()
    return notice


def notices_of_collective(
    collective_id: int, *, limit: int = 50, offset: int = 0
) -> list[PublicNotice]:
    return list(
        db.session.scalars(
            select(PublicNotice)
            .where(PublicNotice.collective_id == collective_id)
            .order_by(PublicNotice.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def pending_contracts(collective_id: int, *, limit: int = 50) -> list[LandContract]:
    """Pending land contracts of a collective that are not on notice now (ready to notice)."""
    on_notice = select(PublicNotice.right_uid).where(PublicNotice.status == "open")
    return list(
        db.session.scalars(
            select(LandContract)
            .where(
                LandContract.collective_id == collective_id,
                LandContract.end_lifespan.is_(None),
                LandContract.status == "pending",
                LandContract.uid.not_in(on_notice),
            )
            .order_by(LandContract.cbhtbm)
            .limit(limit)
        )
    )


_CODE_COLUMNS = {
    "land_contract": "cbhtbm",
    "homestead": "unit_number",
    "share_holding": "certificate_number",
}


def right_codes(items: list[Any]) -> dict[int, str | None]:
    """The codes of the rights that notices or certificates are about: {right_uid: code}.

    One query per kind of right, whatever the number of items.
    """
    wanted: dict[str, set[int]] = {}
    for item in items:
        wanted.setdefault(item.right_kind, set()).add(item.right_uid)
    out: dict[int, str | None] = {}
    for kind, uids in wanted.items():
        model = right_model(kind)
        column = getattr(model, _CODE_COLUMNS[kind])
        rows = db.session.execute(
            select(model.uid, column).where(model.uid.in_(uids)).order_by(model.version)
        )
        out.update(dict(rows.all()))  # the newest version's code wins
    return out


def notice_content(notice: PublicNotice) -> dict[str, Any]:
    """What the posted notice (公示) lists: the right as the registry holds it now (its newest
    version): the holder household, its co-holders by name and relation, the contract's code,
    term and plots, or the homestead's unit and areas, or the shares. No ID numbers: the sheet is
    put up for the whole village to read. Empty when the right is no longer on record."""
    right = latest_right(notice.right_kind, notice.right_uid)
    if right is None:
        return {}
    content = build_snapshot(notice.right_kind, right, "")
    content["holders"] = [
        {"name": h["name"], "relation": h["relation"]} for h in content.get("holders") or []
    ]
    return content
