"""Certificates (证书) of the three rights: issued, re-issued (补发), replaced (换发),
cancelled (注销).

A right has at most one valid certificate at a time; the database holds that too (the partial
unique index ``uq_certificate_valid``), so two clerks issuing at once still get one certificate.
A certificate is never edited into another: re-issue and replacement end the old one
("superseded") and issue a new one that points back at it, each with its reason and date, and every
step lands in the audit trail with the cited document's hash.

Numbers: where the number is ours it follows the registry codes (a land contract's certificate is
CBJYQZBM = CBHTBM = CBFBM + "J"; a share holding's is the holding's certificate number). A
homestead's certificate is the real-estate certificate (不动产权证书) issued by the real-estate
registry: its number is recorded as staff enter it, never made up here.

A certificate means what was issued: at issue, re-issue and replacement it stores a snapshot of what
it certified (holder, co-holders, plots with codes and areas, contract code and term; homestead unit
number, areas and approval; shares) as canonical JSON with its SHA-256. Its page shows the snapshot
and, when the registry has changed since, the differences in plain words: the holder should have it
replaced (换发). Certificates issued before snapshots existed (migration 0010) have none and say so.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from geoalchemy2.shape import to_shape
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from app.audit import trail
from app.auth.scope import can_edit
from app.core.errors import DomainError, NotFound
from app.divisions.models import Collective
from app.extensions import db
from app.registry import encumbrances, history, inputs
from app.registry.documents import check_source_document
from app.registry.homesteads import terrain_label
from app.registry.inputs import require_date as _date
from app.registry.inputs import require_reason as _reason
from app.registry.models import (
    LAND_CLASSES,
    RELATIONS,
    Certificate,
    GeometryFinding,
    Homestead,
    Household,
    HouseholdMember,
    LandContract,
    Person,
    Plot,
    PublicNotice,
    ShareHolding,
    ShareRegister,
)

# The models of the three rights (each versioned, each held by a household of a collective).
RightModel = type[LandContract] | type[Homestead] | type[ShareHolding]

RIGHT_MODELS: dict[str, RightModel] = {
    "land_contract": LandContract,
    "homestead": Homestead,
    "share_holding": ShareHolding,
}

RIGHT_LABELS = {
    "land_contract": _l("Land contract right"),
    "homestead": _l("Homestead use right"),
    "share_holding": _l("Collective income share"),
}

# The title printed on each kind of certificate.
CERTIFICATE_TITLES = {
    "land_contract": _l("Rural Land Contract Management Right Certificate"),
    "homestead": _l("Homestead Use Right Certificate"),
    "share_holding": _l("Share Certificate"),
}

STATUS_LABELS = {
    "valid": _l("Valid"),
    "superseded": _l("Superseded"),
    "cancelled": _l("Cancelled"),
}

ISSUE_KIND_LABELS = {
    "issue": _l("Issued"),
    "reissue": _l("Re-issued (lost or damaged)"),
    "replace": _l("Replaced (after a change)"),
}


def right_model(right_kind: str) -> RightModel:
    try:
        return RIGHT_MODELS[right_kind]
    except KeyError:
        raise DomainError("right_kind", _("Unknown kind of right."), field="right_kind") from None


def current_right(
    right_kind: str,
    right_uid: Any,
    *,
    lock: bool = False,
    editor: Any = None,
    collective_id: int | None = None,
) -> Any:
    """The current version of a right, or a 404-class error if there is none.

    With ``editor`` (a user), a right that user may not change, and with ``collective_id``, a
    right of another collective, gets the very same answer as one that does not exist, so a
    number of another collective's right tells nothing.
    """
    model = right_model(right_kind)
    try:
        uid = int(right_uid)
    except (TypeError, ValueError, OverflowError):
        uid = 0
    right = history.current_of(model, uid, lock=lock) if 0 < uid < 2**31 else None
    if (
        right is None
        or (editor is not None and not can_edit(editor, right))
        or (collective_id is not None and right.collective_id != collective_id)
    ):
        raise NotFound(
            "right_not_found", _("No current right with this number."), field="right_uid"
        )
    return right


def latest_right(right_kind: str, right_uid: int) -> Any | None:
    """The newest version of a right, current or ended (an ended right's certificate still
    shows)."""
    model = right_model(right_kind)
    return db.session.scalar(
        select(model).where(model.uid == right_uid).order_by(model.version.desc()).limit(1)
    )


def find_right(collective_id: int, right_kind: str, code: str) -> Any:
    """A current right of a collective by its code (CBHTBM, unit number, share certificate no.)."""
    model = right_model(right_kind)
    code = (code or "").strip().upper()
    column = {
        "land_contract": LandContract.cbhtbm,
        "homestead": Homestead.unit_number,
        "share_holding": ShareHolding.certificate_number,
    }[right_kind]
    right = db.session.scalar(
        select(model)
        .where(
            column == code,
            model.collective_id == collective_id,
            model.end_lifespan.is_(None),
        )
        .limit(1)
    )
    if right is None:
        raise NotFound("right_not_found", _("No current right with this code."), field="code")
    return right


# Certificate.number is String(40).
NUMBER_MAX = 40


def certificate_number(right_kind: str, right: Any) -> str | None:
    """The number printed on a certificate whose number is ours, taken from the right's own code.

    A homestead's certificate number is the real-estate registry's (不动产权证书号): ``None`` here,
    it is recorded as entered (``_number``).
    """
    if right_kind == "land_contract":
        return right.cbhtbm  # CBJYQZBM = CBHTBM = CBFBM + "J"
    if right_kind == "homestead":
        return None
    number = (right.certificate_number or "").strip()
    if not number:
        raise DomainError(
            "certificate_number",
            _("The share holding has no certificate number; record one first."),
            field="certificate_number",
        )
    return number


def _number(right_kind: str, right: Any, given: Any) -> str:
    """The certificate's number: ours where the code is ours; recorded where it is not.

    A homestead certificate's number is issued by the real-estate registry (不动产权证书号) and must
    be entered; a land contract's or share holding's is the right's code and is not typed in.
    """
    ours = certificate_number(right_kind, right)
    entered = inputs.text(given, "number", "code")
    if ours is not None:
        if entered is not None and entered.upper() != ours.upper():
            raise DomainError(
                "number_not_entered",
                _(
                    "This certificate's number is the right's own code (%(code)s); "
                    "it is not entered by hand.",
                    code=ours,
                ),
                field="number",
            )
        return ours
    if entered is None:
        raise DomainError(
            "number_required",
            _(
                "Enter the real-estate certificate number issued by the real-estate registry, "
                "as printed on the certificate."
            ),
            field="number",
        )
    if len(entered) > NUMBER_MAX:
        raise DomainError(
            "too_long",
            _("%(what)s may have at most %(n)s characters.", what=_("The number"), n=NUMBER_MAX),
            field="number",
        )
    return entered


def check_notice_confirmed(right_kind: str, right: Any, *, first_issue: bool = True) -> None:
    """DOMAIN §6: a certificate follows confirmation after public notice, for every kind of right.

    Refused while the right is on notice; a land contract must be "confirmed" (confirmation after
    notice, or registered as confirmed from 确权 records noticed before the registry existed); a
    homestead or share holding needs a confirmed notice before its first certificate.
    """
    statuses = set(
        db.session.scalars(select(PublicNotice.status).where(PublicNotice.right_uid == right.uid))
    )
    if "open" in statuses:
        raise DomainError(
            "notice_open",
            _(
                "The registration is still on public notice: a certificate can be issued only "
                "after the notice is over and the registration confirmed."
            ),
        )
    if right_kind == "land_contract":
        if right.status != "confirmed":
            raise DomainError(
                "not_confirmed",
                _("The registration is not confirmed yet: finish the public notice first."),
            )
        return
    if first_issue and "confirmed" not in statuses:
        raise DomainError(
            "not_confirmed",
            _(
                "The registration has not been confirmed after a public notice: put it on "
                "public notice and confirm it first."
            ),
        )


class OpenOverlap(DomainError):
    """An open overlap finding on one of a right's plots (it names the plot and the finding)."""

    def __init__(self, finding: GeometryFinding, plot_uid: int, plot_code: str) -> None:
        super().__init__(
            "overlap_open",
            _(
                "Plot %(code)s overlaps another plot and the finding is still open: on the "
                "findings page, resolve it or accept it with a reason first.",
                code=plot_code,
            ),
        )
        self.finding_id = finding.id
        self.finding_collective_id = finding.collective_id
        self.plot_uid = plot_uid
        self.plot_code = plot_code

    def as_dict(self) -> dict:
        out = super().as_dict()
        out["finding_id"] = self.finding_id
        out["plot"] = self.plot_code
        return out


def check_no_open_overlap(right_kind: str, right_uid: int) -> None:
    """DOMAIN §6 (LADM/SOLA findings): a registration is not confirmed and a certificate not
    issued while an overlap finding on one of the right's current plots is open; the admin
    resolves it or accepts it with a reason first. Raises ``OpenOverlap``."""
    if right_kind != "land_contract":
        return  # findings are recorded on plots; only a land contract has plots
    codes = dict(
        db.session.execute(
            select(Plot.uid, Plot.dkbm).where(
                Plot.contract_uid == right_uid, Plot.end_lifespan.is_(None)
            )
        ).all()
    )
    if not codes:
        return
    finding = db.session.scalar(
        select(GeometryFinding)
        .where(
            GeometryFinding.kind == "overlap",
            GeometryFinding.state == "open",
            or_(
                GeometryFinding.plot_uid.in_(codes),
                GeometryFinding.other_plot_uid.in_(codes),
            ),
        )
        .order_by(GeometryFinding.id)
        .limit(1)
    )
    if finding is not None:
        plot_uid = finding.plot_uid if finding.plot_uid in codes else finding.other_plot_uid
        assert plot_uid is not None  # the query matched the finding by one of its two plots
        raise OpenOverlap(finding, plot_uid, codes[plot_uid])


def _valid_certificate_of(right_uid: int) -> Certificate | None:
    return db.session.scalar(
        select(Certificate).where(Certificate.right_uid == right_uid, Certificate.status == "valid")
    )


def _insert(cert: Certificate) -> Certificate:
    """Add a valid certificate; the database's one-valid-per-right index has the last word."""
    try:
        with db.session.begin_nested():
            db.session.add(cert)
            db.session.flush()
    except IntegrityError:
        raise DomainError(
            "certificate_exists",
            _("This right already has a valid certificate."),
        ) from None
    return cert


def _load(certificate_id: int, *, valid: bool = True) -> Certificate:
    cert = db.session.get(Certificate, certificate_id, with_for_update=True)
    if cert is None:
        raise NotFound("certificate", _("Not found."))
    if valid and cert.status != "valid":
        raise DomainError(
            "certificate_not_valid",
            _("Only a valid certificate can be re-issued, replaced or cancelled."),
        )
    return cert


def _stamp(cert: Certificate, right: Any) -> Certificate:
    """Write the snapshot of what ``cert`` certifies (the right as it is now) and its hash."""
    content = build_snapshot(cert.right_kind, right, cert.number)
    cert.snapshot = canonical_json(content)
    cert.snapshot_sha256 = snapshot_hash(content)
    return cert


def issue_refusal(right_kind: str, right_uid: int) -> DomainError | None:
    """Why ``issue_certificate`` would refuse this right's first certificate today, or None.

    The same checks in the same order, for pages that offer the form only when it can succeed
    and otherwise say why (the form's own fields aside)."""
    try:
        right = current_right(right_kind, right_uid)
        check_notice_confirmed(right_kind, right)
        check_no_open_overlap(right_kind, right.uid)
    except DomainError as exc:
        return exc
    if _valid_certificate_of(right.uid) is not None:
        return DomainError("certificate_exists", _("This right already has a valid certificate."))
    return None


def issue_certificate(
    right_kind: str,
    right_uid: int,
    *,
    issued_on: date,
    reason: str,
    source_document_id: int | None = None,
    number: str | None = None,
) -> Certificate:
    """Issue the first certificate of a confirmed right: one valid certificate per right.

    DOMAIN §6: only after the public notice is confirmed (``check_notice_confirmed``) and with no
    open overlap finding on its plots (``check_no_open_overlap``). A homestead's number is the
    real-estate registry's, recorded as given in ``number``. The certificate keeps a snapshot of
    what it certifies.
    """
    issued_on = _date(issued_on, "issued_on")
    reason = _reason(reason)
    right = current_right(right_kind, right_uid, lock=True)
    encumbrances.check_not_blocked(right_kind, right.uid, action="certificate")
    check_notice_confirmed(right_kind, right)
    check_no_open_overlap(right_kind, right.uid)
    number = _number(right_kind, right, number)
    sha = check_source_document(source_document_id, right.collective_id)
    if _valid_certificate_of(right.uid) is not None:
        raise DomainError("certificate_exists", _("This right already has a valid certificate."))
    with trail.because("certificate.issue", reason=reason, source_sha256=sha):
        return _insert(
            _stamp(
                Certificate(
                    right_kind=right_kind,
                    right_uid=right.uid,
                    collective_id=right.collective_id,
                    household_uid=right.household_uid,
                    number=number,
                    status="valid",
                    issue_kind="issue",
                    issued_on=issued_on,
                    reason=reason,
                    source_document_id=source_document_id,
                ),
                right,
            )
        )


def _successor(
    old: Certificate,
    issue_kind: str,
    event: str,
    *,
    reason: str,
    issued_on: date,
    source_document_id: int | None,
    number: str | None,
) -> Certificate:
    issued_on = _date(issued_on, "issued_on")
    reason = _reason(reason)
    if issued_on < old.issued_on:
        raise DomainError(
            "date_order",
            _("The new certificate cannot be dated before the one it replaces."),
            field="issued_on",
        )
    right = history.current_of(right_model(old.right_kind), old.right_uid, lock=True)
    if right is None:
        raise DomainError("right_ended", _("The right has ended: cancel its certificate instead."))
    encumbrances.check_not_blocked(old.right_kind, right.uid, action="certificate")
    check_notice_confirmed(old.right_kind, right, first_issue=False)
    check_no_open_overlap(old.right_kind, right.uid)
    number = _number(old.right_kind, right, number)
    sha = check_source_document(source_document_id, old.collective_id)
    with trail.because(event, reason=reason, source_sha256=sha):
        old.status = "superseded"
        old.ended_on = issued_on
        db.session.flush()  # the old one stops being valid before the new one is
        return _insert(
            _stamp(
                Certificate(
                    right_kind=old.right_kind,
                    right_uid=old.right_uid,
                    collective_id=right.collective_id,
                    household_uid=right.household_uid,
                    number=number,
                    status="valid",
                    issue_kind=issue_kind,
                    issued_on=issued_on,
                    reason=reason,
                    replaces_id=old.id,
                    source_document_id=source_document_id,
                ),
                right,
            )
        )


def reissue_certificate(
    certificate_id: int,
    reason: str,
    issued_on: date,
    *,
    source_document_id: int | None = None,
    number: str | None = None,
) -> Certificate:
    """补发: a lost or damaged certificate is superseded by a new copy of the same right.

    A homestead's new real-estate certificate number is recorded as given."""
    old = _load(certificate_id)
    return _successor(
        old,
        "reissue",
        "certificate.reissue",
        reason=reason,
        issued_on=issued_on,
        source_document_id=source_document_id,
        number=number,
    )


def replace_certificate(
    certificate_id: int,
    reason: str,
    issued_on: date,
    *,
    source_document_id: int | None = None,
    number: str | None = None,
) -> Certificate:
    """换发: after a change of the right, a new certificate shows (and snapshots) its current
    version. A homestead's new real-estate certificate number is recorded as given."""
    old = _load(certificate_id)
    return _successor(
        old,
        "replace",
        "certificate.replace",
        reason=reason,
        issued_on=issued_on,
        source_document_id=source_document_id,
        number=number,
    )


def cancel_certificate(
    certificate_id: int,
    reason: str,
    ended_on: date,
    *,
    source_document_id: int | None = None,
    number: str | None = None,
) -> Certificate:
    """注销: the certificate stops being valid (the right ended, or it was issued in error).

    ``number`` is accepted (and ignored) so that every certificate action takes the same
    arguments."""
    del number
    ended_on = _date(ended_on, "ended_on")
    reason = _reason(reason)
    cert = _load(certificate_id)
    if ended_on < cert.issued_on:
        raise DomainError(
            "date_order",
            _("A certificate cannot be cancelled before it was issued."),
            field="ended_on",
        )
    sha = check_source_document(source_document_id, cert.collective_id)
    with trail.because("certificate.cancel", reason=reason, source_sha256=sha):
        cert.status = "cancelled"
        cert.ended_on = ended_on
        cert.reason = f"{cert.reason or ''}\n[cancelled] {reason}".strip()
        db.session.flush()
    return cert


def after_conveyance(
    right_kind: str,
    right_uid: int,
    *,
    on: date,
    reason: str,
    source_document_id: int,
    new_holder: bool,
) -> tuple[Certificate | None, Certificate | None]:
    """The certificates that follow a registered transfer or exit of a right (R03: the old
    certificate is cancelled and a new one issued; DOMAIN §6 step 7). Returns (the certificate
    that stopped being valid, the one issued), either None.

    * The right ended (all of it went to the buyer or back to the collective): its valid
      certificate is cancelled.
    * The right continues with changed content (some plots or shares left it, or it gained
      them): the valid certificate is replaced (换发), showing the right as it now is.
    * A right the deal created (the buyer's new contract or holding) gets its first
      certificate: the listing's public notice and the approvals of the deal stand for the
      notice of a first registration; an open overlap finding still holds it back.
    * A homestead's certificate is the real-estate registry's (不动产权证书): the previous
      holder's is cancelled when the homestead changes hands (``new_holder``); the new one is
      recorded with its number when that registry issues it.
    """
    model = right_model(right_kind)
    right = history.current_of(model, right_uid, lock=True)
    old = _valid_certificate_of(right_uid)
    if right is None or (right_kind == "homestead" and new_holder):
        if old is None:
            return None, None
        return cancel_certificate(old.id, reason, on, source_document_id=source_document_id), None
    if right_kind == "homestead":
        return None, None
    if old is not None:
        new = replace_certificate(old.id, reason, on, source_document_id=source_document_id)
        return old, new
    check_no_open_overlap(right_kind, right.uid)
    number = _number(right_kind, right, None)
    sha = check_source_document(source_document_id, right.collective_id)
    with trail.because("certificate.issue", reason=reason, source_sha256=sha):
        new = _insert(
            _stamp(
                Certificate(
                    right_kind=right_kind,
                    right_uid=right.uid,
                    collective_id=right.collective_id,
                    household_uid=right.household_uid,
                    number=number,
                    status="valid",
                    issue_kind="issue",
                    issued_on=on,
                    reason=reason,
                    source_document_id=source_document_id,
                ),
                right,
            )
        )
    return None, new


# --- snapshots: what a certificate certified

SNAPSHOT_SCHEMA = 1


def _area(value: Any) -> str | None:
    """An area in m² as exact text with two decimals (the same from a float or a Decimal)."""
    if value is None:
        return None
    try:
        return str(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return str(value)


def _number_text(value: Any) -> str | None:
    """A number of shares as exact text without trailing zeros ("30", "2.5")."""
    if value is None:
        return None
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except InvalidOperation:
        return str(value)


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def canonical_json(content: dict) -> str:
    """The one byte-for-byte form of a snapshot: sorted keys, no spaces, UTF-8 text as is."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def snapshot_hash(content: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of a snapshot."""
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def _holders_of(right_kind: str, right: Any) -> list[dict]:
    household_uid = getattr(right, "household_uid", None)
    if household_uid:
        rows = db.session.execute(
            select(HouseholdMember, Person)
            .join(Person, Person.uid == HouseholdMember.person_uid)
            .where(
                HouseholdMember.household_uid == household_uid,
                HouseholdMember.end_lifespan.is_(None),
                HouseholdMember.is_co_holder.is_(True),
                Person.end_lifespan.is_(None),
            )
        ).all()
        people = [(p, m.relation) for m, p in rows]
    elif right_kind == "share_holding" and getattr(right, "person_uid", None):
        person = history.current_of(Person, right.person_uid)
        people = [(person, "01")] if person is not None else []
    else:
        people = []
    holders = [
        {"person_uid": p.uid, "name": p.name, "id_number": p.id_number, "relation": relation}
        for p, relation in people
    ]
    return sorted(holders, key=lambda h: (h["relation"], h["name"], h["person_uid"]))


def build_snapshot(right_kind: str, right: Any, number: str) -> dict:
    """What a certificate of ``right`` (this version) certifies, as plain JSON values.

    Numbers are exact decimal text and dates ISO text, so the hash is the same whatever the
    database returns them as.
    """
    collective = db.session.get(Collective, right.collective_id)
    household_uid = getattr(right, "household_uid", None)
    household = history.current_of(Household, household_uid) if household_uid else None
    content: dict[str, Any] = {
        "schema": SNAPSHOT_SCHEMA,
        "right_kind": right_kind,
        "right_uid": right.uid,
        "right_version": right.version,
        "number": number,
        "collective": {
            "fbfbm": collective.fbfbm if collective else None,
            "name": collective.name if collective else None,
        },
        "household": {
            "cbfbm": household.cbfbm,
            "name": household.name,
            "address": household.address,
        }
        if household is not None
        else None,
        "holders": _holders_of(right_kind, right),
    }
    if right_kind == "land_contract":
        content["right"] = {
            "cbhtbm": right.cbhtbm,
            "term_start": _day(right.term_start),
            "term_end": _day(right.term_end),
            "contract_area_m2": _area(right.contract_area_m2),
        }
        plots = db.session.scalars(
            select(Plot)
            .where(Plot.contract_uid == right.uid, Plot.end_lifespan.is_(None))
            .order_by(Plot.dkbm)
        )
        content["plots"] = [
            {
                "dkbm": p.dkbm,
                "name": p.name,
                "land_class": p.land_class,
                "is_basic_farmland": bool(p.is_basic_farmland),
                "contract_area_m2": _area(p.contract_area_m2),
                "measured_area_m2": _area(p.measured_area_m2),
                "east": p.east,
                "south": p.south,
                "west": p.west,
                "north": p.north,
            }
            for p in plots
        ]
    elif right_kind == "homestead":
        content["right"] = {
            "unit_number": right.unit_number,
            "approval_number": right.approval_number,
            "approved_on": _day(right.approved_on),
            "terrain": right.terrain,
            "area_m2": _area(right.area_m2),
            "floor_area_m2": _area(right.floor_area_m2),
        }
        # A homestead note (存量 over the cap, an inherited second one…) where the model has one.
        note = getattr(right, "note", None)
        if note:
            content["right"]["note"] = note
    else:
        register = db.session.get(ShareRegister, right.collective_id)
        content["right"] = {
            "certificate_number": right.certificate_number,
            "shares": _number_text(right.shares),
            "share_type": right.share_type,
            "collective_total": _number_text(register.total_shares) if register else None,
        }
    return content


def stored_snapshot(cert: Certificate) -> dict | None:
    """The snapshot written when ``cert`` was issued, or None (issued before snapshots)."""
    if not cert.snapshot:
        return None
    return json.loads(cert.snapshot)


def snapshot_intact(cert: Certificate) -> bool | None:
    """Whether the stored snapshot still has its hash (None: there is no snapshot)."""
    if not cert.snapshot:
        return None
    digest = hashlib.sha256(cert.snapshot.encode("utf-8")).hexdigest()
    return digest == cert.snapshot_sha256


# Labels of the fields a difference can name.
FIELD_LABELS = {
    "cbhtbm": _l("Contract code"),
    "term_start": _l("Contract term starts"),
    "term_end": _l("Contract term ends"),
    "contract_area_m2": _l("Contract area"),
    "measured_area_m2": _l("Measured area"),
    "unit_number": _l("Real-estate unit number"),
    "approval_number": _l("Approval no."),
    "approved_on": _l("Approved on"),
    "terrain": _l("Terrain"),
    "area_m2": _l("Use-right area"),
    "floor_area_m2": _l("House floor area"),
    "note": _l("Note"),
    "certificate_number": _l("Share certificate no."),
    "shares": _l("Shares held"),
    "share_type": _l("Type of shares"),
    "collective_total": _l("Collective total"),
    "name": _l("Name"),
    "land_class": _l("Class"),
    "is_basic_farmland": _l("Basic farmland"),
    "east": _l("East boundary"),
    "south": _l("South boundary"),
    "west": _l("West boundary"),
    "north": _l("North boundary"),
    "cbfbm": _l("Household code"),
    "address": _l("Address"),
    "fbfbm": _l("Collective code"),
}


def _shown(key: str, value: Any) -> str:
    """A snapshot value in plain words for a difference line."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if key.endswith("_m2"):
        return f"{value} m²"
    if key == "land_class":
        return str(LAND_CLASSES.get(value, value))
    if key == "relation":
        return str(RELATIONS.get(value, value))
    if key == "terrain":
        return terrain_label(value)
    return str(value)


def _field_changes(old: dict | None, new: dict | None, prefix: str = "") -> list[str]:
    out = []
    old, new = old or {}, new or {}
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            out.append(
                _(
                    "%(what)s: %(old)s → %(new)s",
                    what=prefix + str(FIELD_LABELS.get(key, key)),
                    old=_shown(key, old.get(key)),
                    new=_shown(key, new.get(key)),
                )
            )
    return out


def snapshot_changes(issued: dict, now: dict | None) -> list[str]:
    """What differs between a certificate's snapshot and the registry now, in plain words
    (a member added, a plot's area changed, …). ``now`` is None when the right has ended."""
    if now is None:
        return [_("The right has ended in the registry.")]
    out: list[str] = []
    out += _field_changes(issued.get("collective"), now.get("collective"))
    if (issued.get("household") or {}).get("cbfbm") != (now.get("household") or {}).get("cbfbm"):
        out.append(
            _(
                "The right now belongs to another household: %(new)s.",
                new=(now.get("household") or {}).get("name") or "—",
            )
        )
    else:
        out += _field_changes(issued.get("household"), now.get("household"), _("Household") + " ")
    before = {h["person_uid"]: h for h in issued.get("holders") or []}
    after = {h["person_uid"]: h for h in now.get("holders") or []}
    for uid, h in after.items():
        if uid not in before:
            out.append(_("%(name)s was added as a co-holder.", name=h["name"]))
    for uid, h in before.items():
        if uid not in after:
            out.append(_("%(name)s is no longer a co-holder.", name=h["name"]))
            continue
        n = after[uid]
        if n["name"] != h["name"]:
            out.append(
                _("A co-holder's name changed: %(old)s → %(new)s.", old=h["name"], new=n["name"])
            )
        if n["relation"] != h["relation"]:
            out.append(
                _(
                    "%(name)s's relation to the head changed: %(old)s → %(new)s.",
                    name=n["name"],
                    old=_shown("relation", h["relation"]),
                    new=_shown("relation", n["relation"]),
                )
            )
        if n["id_number"] != h["id_number"]:
            out.append(_("%(name)s's ID number changed.", name=n["name"]))
    out += _field_changes(issued.get("right"), now.get("right"))
    plots_before = {p["dkbm"]: p for p in issued.get("plots") or []}
    plots_after = {p["dkbm"]: p for p in now.get("plots") or []}
    for code in sorted(plots_after):
        if code not in plots_before:
            out.append(_("Plot %(code)s was added.", code=code))
    for code in sorted(plots_before):
        if code not in plots_after:
            out.append(_("Plot %(code)s is no longer part of the right.", code=code))
        else:
            out += _field_changes(
                plots_before[code], plots_after[code], _("Plot %(code)s", code=code) + " · "
            )
    return out


# --- reading


@dataclass
class CertificateView:
    """What a certificate page shows: what the certificate certified (its snapshot) and, when
    the registry has changed since, the differences; a certificate without a snapshot (issued
    before they were kept) shows the registry as it is now, marked as such."""

    certificate: Certificate
    right: Any
    content: dict
    has_snapshot: bool
    changes: list[str] = field(default_factory=list)
    intact: bool | None = None
    chain: list[Certificate] = field(default_factory=list)

    @property
    def changed_since_issue(self) -> bool:
        return bool(self.changes)


def certificate_view(cert: Certificate) -> CertificateView:
    """Load what the certificate page prints, in a fixed number of queries."""
    right = latest_right(cert.right_kind, cert.right_uid)
    current = history.current_of(right_model(cert.right_kind), cert.right_uid)
    now = build_snapshot(cert.right_kind, current, cert.number) if current is not None else None
    issued = stored_snapshot(cert)
    if issued is not None:
        content, changes = issued, snapshot_changes(issued, now)
    else:
        source = current if current is not None else right
        content = build_snapshot(cert.right_kind, source, cert.number) if source else {}
        changes = []
    chain = list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.right_uid == cert.right_uid)
            .order_by(Certificate.issued_on, Certificate.id)
        )
    )
    return CertificateView(
        certificate=cert,
        right=right,
        content=content,
        has_snapshot=issued is not None,
        changes=changes,
        intact=snapshot_intact(cert),
        chain=chain,
    )


def verification_code(cert: Certificate) -> str | None:
    """The code printed on a certificate's sheet: the first 16 hex digits of the SHA-256 of what
    it certified, in groups of four (``3F2A-…``). Staff compare it with the hash on the
    certificate's page to tell a genuine sheet from an altered one; a certificate issued before
    snapshots were kept has none."""
    digest = (cert.snapshot_sha256 or "").upper()
    if len(digest) < 16:
        return None
    return "-".join(digest[i : i + 4] for i in range(0, 16, 4))


def sketch_shapes(cert: Certificate, content: dict) -> list[tuple[str, Any]]:
    """What the certificate's sketch draws: (label, geometry) of each plot it lists (by DKBM,
    as the registry holds them now), or of the homestead; nothing for shares. One query."""
    if cert.right_kind == "land_contract":
        codes = [p["dkbm"] for p in content.get("plots") or [] if p.get("dkbm")]
        if not codes:
            return []
        rows = db.session.execute(
            select(Plot.dkbm, Plot.geom)
            .where(
                Plot.collective_id == cert.collective_id,
                Plot.dkbm.in_(codes),
                Plot.end_lifespan.is_(None),
                Plot.geom.is_not(None),
            )
            .order_by(Plot.dkbm)
        )
        return [(code, to_shape(geom)) for code, geom in rows]
    if cert.right_kind == "homestead":
        home = history.current_of(Homestead, cert.right_uid)
        if home is not None and home.geom is not None:
            return [(home.unit_number, to_shape(home.geom))]
    return []


def certificates_of_collective(
    collective_id: int, *, limit: int = 50, offset: int = 0
) -> list[Certificate]:
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.collective_id == collective_id)
            .order_by(Certificate.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def certificates_of_household(household_uid: int) -> list[Certificate]:
    """A household's certificates (what its farmer may see), valid ones first."""
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.household_uid == household_uid)
            .order_by((Certificate.status != "valid"), Certificate.id.desc())
        )
    )
