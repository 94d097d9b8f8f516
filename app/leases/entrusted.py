"""委托流转: the collective leases many households' plots to one lessee on their behalf (R05,
issue 14 part 4; 农村土地经营权流转管理办法 Art. 17).

The collective's administrator opens the entrusted lease with its one lessee and its terms (and,
for a lessee outside the collective, the notice to members that gives them their priority),
adds the households and the plots each one entrusts, and records each household's written
mandate (委托书, a source document of the collective). Concluding it records one lease per
household WITH a mandate through ``services.record_lease`` (channel ``entrusted``): a missing
mandate blocks that household's plots, not the whole lease. Everything else is one transaction:
if a mandated household's lease is refused (a frozen plot, a term past its contract), nothing
is leased and the refusal names the household.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import trail
from app.core.errors import DomainError, NotFound
from app.core.models import utcnow
from app.extensions import db
from app.leases import services
from app.leases.models import EntrustedLease, Lease, LeaseMandate
from app.registry import history, land
from app.registry.documents import source_document
from app.registry.inputs import is_id, require_date, text, today_or
from app.registry.models import Household, Plot

#: Lessee kinds an entrusted lease may have: one lessee taking many households' land. A member
#: taking it in their own name is recorded as their household.
KINDS = (
    "member_household",
    "outside_person",
    "outside_household",
    "cooperative",
    "company",
    "other_org",
)
STATES = ("open", "concluded", "abandoned")
#: Households in one entrusted lease at most (a village's worth).
MAX_HOUSEHOLDS = 500
MAX_PLOTS = 200


def _recorder() -> trail.AuditContext:
    ctx = trail.current()
    if ctx is None:
        raise trail.AuditContextMissing("no actor: set an audit context before writing")
    if ctx.role not in services.RECORDERS:
        raise DomainError(
            "lease_recorder", _("Leases are recorded by the collective's administrator.")
        )
    return ctx


def _choice(value: Any, table: Any, field: str, message: str) -> str:
    if not isinstance(value, str) or value not in table:
        raise DomainError(field, message, field=field)
    return value


def _rent(value: Any) -> int:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < 0
        or value > services.MAX_RENT_FEN_PER_MU
    ):
        raise DomainError(
            "rent",
            _("Give the rent per mu per year as an amount of money, not below zero."),
            field="rent_fen_per_mu_year",
        )
    return value


def _lessee(lessee: Any, collective_id: int, day: date) -> services.Lessee:
    """The one lessee: a member household of the collective (on the roll today), or an outsider
    with a valid ID number or unified social credit code; the leases' own check. (The rest of
    R05 is checked again for each household's lease when the entrusted lease is concluded.)"""
    if isinstance(lessee, services.Lessee) and lessee.kind not in KINDS:
        raise DomainError(
            "lessee_kind", _("Choose who takes the land from the list."), field="lessee_kind"
        )
    return services.check_lessee(lessee, collective_id, None, day)


def _notice(evidence: Any, lessee: services.Lessee, collective_id: int) -> str | None:
    """The notice to members (its document and first day) for a lessee outside the
    collective; whether it has run long enough is judged when the lease is concluded."""
    if lessee.kind in services.MEMBER_KINDS:
        return None
    if not isinstance(evidence, dict):
        evidence = {}
    doc = evidence.get("notice_document_id")
    if doc is None:
        raise DomainError(
            "priority_notice_required",
            _(
                "The lessee is not a member of the collective: members have priority on equal "
                "terms, so give the notice to members (the document and its first day)."
            ),
            field="priority_evidence",
            rule="R05",
        )
    notice = source_document(doc, collective_id)
    first = require_date(evidence.get("notice_from"), "notice_from")
    return json.dumps(
        {"notice_document_id": notice.id, "notice_from": first.isoformat()}, sort_keys=True
    )


def open_entrusted_lease(
    collective_id: Any,
    *,
    title: Any,
    lessee: Any,
    method: Any,
    use: Any,
    starts_on: Any,
    ends_on: Any,
    rent_fen_per_mu_year: Any,
    payment_schedule: Any,
    contract_document_id: Any = None,
    priority_evidence: Any = None,
    on: date | None = None,
) -> EntrustedLease:
    """R05 (委托流转): the collective opens a lease on households' behalf to one lessee, with
    the terms every household's lease will have. Nothing is leased until it is concluded."""
    ctx = _recorder()
    day = today_or(on)
    if not is_id(collective_id):
        raise NotFound("collective_not_found", _("Not found."))
    title_text = text(title, "title", "title", required=True)
    if len(title_text) > 120:
        raise DomainError(
            "too_long", _("The title may have at most 120 characters."), field="title"
        )
    who = _lessee(lessee, collective_id, day)
    method = _choice(
        method, services.METHOD_LABELS, "method", _("Choose how the land is leased from the list.")
    )
    use = services.check_use(use)
    schedule = _choice(
        payment_schedule,
        services.SCHEDULES,
        "payment_schedule",
        _("Choose how the rent is paid from the list."),
    )
    start = require_date(starts_on, "starts_on")
    end = require_date(ends_on, "ends_on")
    if end <= start:
        raise DomainError(
            "dates", _("The lease must end after it starts."), field="ends_on", rule="R02"
        )
    rent = _rent(rent_fen_per_mu_year)
    document = services.check_written_contract(start, end, contract_document_id, collective_id)
    row = EntrustedLease(
        collective_id=collective_id,
        title=title_text,
        method=method,
        lessee_kind=who.kind,
        lessee_name=who.name,
        lessee_household_uid=who.household_uid,
        lessee_id_number=who.id_number,
        lessee_uscc=who.uscc,
        lessee_contact=who.contact,
        use=use,
        starts_on=start,
        ends_on=end,
        rent_fen_per_mu_year=rent,
        payment_schedule=schedule,
        contract_document_id=document,
        priority_evidence=_notice(priority_evidence, who, collective_id),
        state="open",
        recorded_by=ctx.actor,
        recorded_at=utcnow(),
    )
    with trail.because("entrusted_lease.open"):
        db.session.add(row)
        db.session.flush()
    return row


def _open(entrusted_id: Any, *, lock: bool = False) -> EntrustedLease:
    row = None
    if is_id(entrusted_id):
        q = select(EntrustedLease).where(EntrustedLease.id == entrusted_id)
        row = db.session.scalar(q.with_for_update() if lock else q)
    if row is None:
        raise NotFound("entrusted_lease_not_found", _("Not found."))
    if row.state != "open":
        raise DomainError(
            "entrusted_lease_closed",
            _("This entrusted lease is no longer open: it was concluded or abandoned."),
        )
    return row


def _plots_of(household: Household, value: Any) -> list[int]:
    if not isinstance(value, list | tuple) or not value:
        raise DomainError("plots_required", _("Choose at least one plot."), field="plot_uids")
    if len(value) > MAX_PLOTS or not all(is_id(v) for v in value):
        raise DomainError("plots_required", _("Choose the plots from the list."), field="plot_uids")
    contract = land.contract_of_household(household.uid)
    if contract is None:
        raise DomainError(
            "no_contract",
            _("%(name)s holds no land contract: there is nothing to lease.", name=household.name),
            field="household_uid",
        )
    uids = sorted(set(value))
    for uid in uids:
        plot = history.current_of(Plot, uid)
        if plot is None or plot.contract_uid != contract.uid:
            raise DomainError(
                "plot_not_in_contract",
                _("Choose plots of this household's contract."),
                field="plot_uids",
            )
    return uids


def add_household(entrusted_id: Any, household_uid: Any, plot_uids: Any) -> LeaseMandate:
    """A household whose plots the collective asks to lease (its mandate not given yet: until
    it is, these plots stay out of the lease)."""
    ctx = _recorder()
    row = _open(entrusted_id, lock=True)
    household = history.current_of(Household, household_uid) if is_id(household_uid) else None
    if household is None or household.collective_id != row.collective_id:
        raise NotFound(
            "household_not_found",
            _("No such household in this collective."),
            field="household_uid",
        )
    uids = _plots_of(household, plot_uids)
    existing = db.session.scalar(
        select(LeaseMandate).where(
            LeaseMandate.entrusted_lease_id == row.id,
            LeaseMandate.household_uid == household.uid,
        )
    )
    if existing is not None:
        raise DomainError(
            "household_already_added",
            _("%(name)s is already in this entrusted lease.", name=household.name),
            field="household_uid",
        )
    count = db.session.scalar(
        select(db.func.count(LeaseMandate.id)).where(LeaseMandate.entrusted_lease_id == row.id)
    )
    if (count or 0) >= MAX_HOUSEHOLDS:
        raise DomainError(
            "too_many_households",
            _("An entrusted lease may take at most %(n)s households.", n=MAX_HOUSEHOLDS),
            field="household_uid",
        )
    mandate = LeaseMandate(
        entrusted_lease_id=row.id,
        collective_id=row.collective_id,
        household_uid=household.uid,
        plot_uids=json.dumps(uids),
        recorded_by=ctx.actor,
        recorded_at=utcnow(),
    )
    with trail.because("entrusted_lease.add_household"):
        db.session.add(mandate)
        db.session.flush()
    return mandate


def record_mandate(
    entrusted_id: Any,
    household_uid: Any,
    *,
    document_id: Any,
    given_on: Any,
    on: date | None = None,
) -> LeaseMandate:
    """R05: the household's written mandate (委托书), a source document of the collective, given
    on a day not in the future. Written once."""
    _recorder()
    row = _open(entrusted_id, lock=True)
    mandate = (
        db.session.scalar(
            select(LeaseMandate).where(
                LeaseMandate.entrusted_lease_id == row.id,
                LeaseMandate.household_uid == household_uid,
            )
        )
        if is_id(household_uid)
        else None
    )
    if mandate is None:
        raise NotFound(
            "household_not_found",
            _("This household is not in the entrusted lease."),
            field="household_uid",
        )
    if mandate.document_id is not None:
        raise DomainError(
            "mandate_recorded",
            _("This household's mandate is already recorded."),
            field="household_uid",
        )
    document = source_document(document_id, row.collective_id)
    given = require_date(given_on, "given_on")
    if given > today_or(on):
        raise DomainError(
            "future_date", _("The mandate cannot be dated in the future."), field="given_on"
        )
    mandate.document_id = document.id
    mandate.given_on = given
    with trail.because("entrusted_lease.mandate", source_sha256=document.sha256):
        db.session.flush()
    return mandate


@dataclass
class Concluded:
    entrusted: EntrustedLease
    leases: list[Lease]
    #: Households without a written mandate: their plots were not leased.
    missing: list[LeaseMandate]


def plot_uids(mandate: LeaseMandate) -> list[int]:
    return list(json.loads(mandate.plot_uids))


def mandates(entrusted_id: int) -> list[LeaseMandate]:
    return list(
        db.session.scalars(
            select(LeaseMandate)
            .where(LeaseMandate.entrusted_lease_id == entrusted_id)
            .order_by(LeaseMandate.id)
        )
    )


def lessee_of(row: EntrustedLease) -> services.Lessee:
    return services.Lessee(
        kind=row.lessee_kind,
        name=row.lessee_name,
        household_uid=row.lessee_household_uid,
        id_number=row.lessee_id_number,
        uscc=row.lessee_uscc,
        contact=row.lessee_contact,
    )


def conclude_entrusted_lease(entrusted_id: Any, *, on: date | None = None) -> Concluded:
    """R05 (委托流转): one lease per household that gave its written mandate, through
    ``services.record_lease`` (channel ``entrusted``); the households without one are reported
    and their plots are not leased. All or nothing for the rest: a household's lease refused
    refuses the conclusion, naming the household."""
    _recorder()
    row = _open(entrusted_id, lock=True)
    given = [m for m in mandates(row.id) if m.document_id is not None]
    missing = [m for m in mandates(row.id) if m.document_id is None]
    if not given:
        raise DomainError(
            "no_mandate",
            _(
                "No household has given its written mandate yet: there is nothing the "
                "collective may lease on their behalf."
            ),
            rule="R05",
        )
    names = household_names([m.household_uid for m in given])
    evidence = json.loads(row.priority_evidence) if row.priority_evidence else None
    made: list[Lease] = []
    with db.session.begin_nested():
        for mandate in given:
            contract = land.contract_of_household(mandate.household_uid)
            try:
                if contract is None:
                    raise DomainError(
                        "no_contract", _("The household holds no land contract any more.")
                    )
                made.append(
                    services.record_lease(
                        row.collective_id,
                        contract.uid,
                        plot_uids(mandate),
                        lessee=lessee_of(row),
                        method=row.method,
                        use=row.use,
                        starts_on=row.starts_on,
                        ends_on=row.ends_on,
                        rent_fen_per_mu_year=row.rent_fen_per_mu_year,
                        payment_schedule=row.payment_schedule,
                        contract_document_id=row.contract_document_id,
                        channel="entrusted",
                        priority_evidence=evidence,
                        entrusted_lease_id=row.id,
                        on=on,
                    )
                )
            except DomainError as err:
                raise DomainError(
                    err.code,
                    _(
                        "The lease of %(name)s's plots cannot be recorded: %(why)s",
                        name=names.get(mandate.household_uid, ""),
                        why=err.message,
                    ),
                    field=err.field,
                    rule=err.rule,
                ) from err
        row.state = "concluded"
        with trail.because("entrusted_lease.conclude"):
            db.session.flush()
    return Concluded(row, made, missing)


def abandon_entrusted_lease(entrusted_id: Any) -> EntrustedLease:
    """The collective gives the entrusted lease up before concluding it: nothing is leased."""
    _recorder()
    row = _open(entrusted_id, lock=True)
    row.state = "abandoned"
    with trail.because("entrusted_lease.abandon"):
        db.session.flush()
    return row


def household_names(uids: list[int]) -> dict[int, str]:
    """Each household's current name (one query)."""
    if not uids:
        return {}
    return dict(
        db.session.execute(
            select(Household.uid, Household.name).where(
                Household.uid.in_(sorted(set(uids))), Household.end_lifespan.is_(None)
            )
        ).all()
    )


def entrusted_leases(collective_ids: set[int] | None) -> list[EntrustedLease]:
    """The entrusted leases of the collectives (None: the county), newest first."""
    q = select(EntrustedLease).order_by(EntrustedLease.id.desc()).limit(200)
    if collective_ids is not None:
        q = q.where(EntrustedLease.collective_id.in_(sorted(collective_ids) or [-1]))
    return list(db.session.scalars(q))


def leases_of(entrusted_id: int) -> list[Lease]:
    return list(
        db.session.scalars(
            select(Lease).where(Lease.entrusted_lease_id == entrusted_id).order_by(Lease.id)
        )
    )
