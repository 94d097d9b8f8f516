"""Certificates (证书) of the three rights: issued, re-issued (补发), replaced (换发),
cancelled (注销).

A right has at most one valid certificate at a time; the database holds that too (the partial
unique index ``uq_certificate_valid``), so two clerks issuing at once still get one certificate.
A certificate is never edited into another: re-issue and replacement end the old one
("superseded") and issue a new one that points back at it, each with its reason and date, and every
step lands in the audit trail with the cited document's hash.

Numbers follow the registry codes: a land contract's certificate is CBJYQZBM = CBHTBM (CBFBM + "J"),
a homestead's is its real-estate unit number, a share holding's is the holding's certificate number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit import trail
from app.auth.scope import can_edit
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.registry import history
from app.registry.documents import check_source_document
from app.registry.inputs import require_date as _date
from app.registry.inputs import require_reason as _reason
from app.registry.models import (
    Certificate,
    Homestead,
    Household,
    HouseholdMember,
    LandContract,
    Person,
    Plot,
    ShareHolding,
    ShareRegister,
)

RIGHT_MODELS: dict[str, type] = {
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


def right_model(right_kind: str) -> type:
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


def certificate_number(right_kind: str, right: Any) -> str:
    """The number printed on the certificate, taken from the right's own code."""
    if right_kind == "land_contract":
        return right.cbhtbm  # CBJYQZBM = CBHTBM = CBFBM + "J"
    if right_kind == "homestead":
        return right.unit_number
    number = (right.certificate_number or "").strip()
    if not number:
        raise DomainError(
            "certificate_number",
            _("The share holding has no certificate number; record one first."),
            field="certificate_number",
        )
    return number


def _check_registered(right_kind: str, right: Any) -> None:
    """DOMAIN §6: a certificate follows confirmation, never a registration still under notice."""
    if right_kind == "land_contract" and right.status != "confirmed":
        raise DomainError(
            "not_confirmed",
            _("The registration is not confirmed yet: finish the public notice first."),
        )


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


def issue_certificate(
    right_kind: str,
    right_uid: int,
    *,
    issued_on: date,
    reason: str,
    source_document_id: int | None = None,
) -> Certificate:
    """Issue the first certificate of a confirmed right: one valid certificate per right."""
    issued_on = _date(issued_on, "issued_on")
    reason = _reason(reason)
    right = current_right(right_kind, right_uid, lock=True)
    _check_registered(right_kind, right)
    sha = check_source_document(source_document_id, right.collective_id)
    if _valid_certificate_of(right.uid) is not None:
        raise DomainError("certificate_exists", _("This right already has a valid certificate."))
    with trail.because("certificate.issue", reason=reason, source_sha256=sha):
        return _insert(
            Certificate(
                right_kind=right_kind,
                right_uid=right.uid,
                collective_id=right.collective_id,
                household_uid=right.household_uid,
                number=certificate_number(right_kind, right),
                status="valid",
                issue_kind="issue",
                issued_on=issued_on,
                reason=reason,
                source_document_id=source_document_id,
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
    _check_registered(old.right_kind, right)
    sha = check_source_document(source_document_id, old.collective_id)
    with trail.because(event, reason=reason, source_sha256=sha):
        old.status = "superseded"
        old.ended_on = issued_on
        db.session.flush()  # the old one stops being valid before the new one is
        return _insert(
            Certificate(
                right_kind=old.right_kind,
                right_uid=old.right_uid,
                collective_id=right.collective_id,
                household_uid=right.household_uid,
                number=certificate_number(old.right_kind, right),
                status="valid",
                issue_kind=issue_kind,
                issued_on=issued_on,
                reason=reason,
                replaces_id=old.id,
                source_document_id=source_document_id,
            )
        )


def reissue_certificate(
    certificate_id: int,
    reason: str,
    issued_on: date,
    *,
    source_document_id: int | None = None,
) -> Certificate:
    """补发: a lost or damaged certificate is superseded by a new copy of the same right."""
    old = _load(certificate_id)
    return _successor(
        old,
        "reissue",
        "certificate.reissue",
        reason=reason,
        issued_on=issued_on,
        source_document_id=source_document_id,
    )


def replace_certificate(
    certificate_id: int,
    reason: str,
    issued_on: date,
    *,
    source_document_id: int | None = None,
) -> Certificate:
    """换发: after a change of the right, a new certificate shows its current version."""
    old = _load(certificate_id)
    return _successor(
        old,
        "replace",
        "certificate.replace",
        reason=reason,
        issued_on=issued_on,
        source_document_id=source_document_id,
    )


def cancel_certificate(
    certificate_id: int,
    reason: str,
    ended_on: date,
    *,
    source_document_id: int | None = None,
) -> Certificate:
    """注销: the certificate stops being valid (the right ended, or it was issued in error)."""
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


# --- reading


@dataclass
class CoHolder:
    name: str
    relation: str
    person: Person
    is_co_holder: bool


@dataclass
class CertificateView:
    """What a printed certificate shows: the right (as now, or as it ended) and its holders."""

    certificate: Certificate
    right: Any
    household: Household | None
    holders: list[CoHolder] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)
    share_total: float | None = None
    chain: list[Certificate] = field(default_factory=list)


def certificate_view(cert: Certificate) -> CertificateView:
    """Load what the certificate page prints, in a fixed number of queries."""
    right = latest_right(cert.right_kind, cert.right_uid)
    household = None
    holders: list[CoHolder] = []
    household_uid = getattr(right, "household_uid", None) or cert.household_uid
    if household_uid:
        household = history.current_of(Household, household_uid) or db.session.scalar(
            select(Household)
            .where(Household.uid == household_uid)
            .order_by(Household.version.desc())
            .limit(1)
        )
        rows = db.session.execute(
            select(HouseholdMember, Person)
            .join(Person, Person.uid == HouseholdMember.person_uid)
            .where(
                HouseholdMember.household_uid == household_uid,
                HouseholdMember.end_lifespan.is_(None),
                HouseholdMember.is_co_holder.is_(True),
                Person.end_lifespan.is_(None),
            )
            .order_by(HouseholdMember.relation, Person.name)
        ).all()
        holders = [CoHolder(p.name, m.relation, p, bool(m.is_co_holder)) for m, p in rows]
    elif cert.right_kind == "share_holding" and right is not None and right.person_uid:
        person = history.current_of(Person, right.person_uid)
        if person is not None:
            holders = [CoHolder(person.name, "01", person, True)]
    plots: list[Plot] = []
    if cert.right_kind == "land_contract":
        plots = list(
            db.session.scalars(
                select(Plot)
                .where(Plot.contract_uid == cert.right_uid, Plot.end_lifespan.is_(None))
                .order_by(Plot.dkbm)
            )
        )
    share_total = None
    if cert.right_kind == "share_holding":
        register = db.session.get(ShareRegister, cert.collective_id)
        share_total = register.total_shares if register else None
    chain = list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.right_uid == cert.right_uid)
            .order_by(Certificate.issued_on, Certificate.id)
        )
    )
    return CertificateView(cert, right, household, holders, plots, share_total, chain)


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
