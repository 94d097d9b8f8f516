"""A lease listing's terms and who may offer for it (R05, issue 14 part 3).

A holder may list some plots of their contract to lease the land-management right (deal_kind
``lease``): the contract stays theirs. The listing asks terms (method, use, start, end, rent per
亩 per year, payment schedule); each offer carries its own (rent, term, use). Offers come from
member households of the collective (R15, checked by ``eligibility``) and, on lease listings
only, from outsiders (a person or household of another collective, a cooperative, a company or
another organisation) recorded by the collective's administrator with their ID number or USCC.

The rules of the lease itself (R02's remaining term, agricultural use, the written contract,
filing, the qualification review) belong to ``app.leases.services``: this module only checks what
a listing or an offer must say before the leases are asked, and builds the lessee they record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _

from app.core import codes
from app.core.errors import DomainError
from app.leases import models as lease_models
from app.leases import services as leases
from app.registry import history
from app.registry.land import contracts
from app.registry.models import LandContract

#: How rent is paid (leases' schedules).
SCHEDULES = ("annual", "semiannual", "once")
#: Lessees from outside the collective: they have no login; staff record their offers.
OUTSIDE_KINDS = tuple(k for k in lease_models.LESSEE_KINDS if k not in leases.MEMBER_KINDS)
#: Outsiders named by a resident ID number (the person, or the household's head).
BY_ID_NUMBER = frozenset({"outside_person", "outside_household"})
MAX_FEN = 10**15


@dataclass(frozen=True)
class Terms:
    """What a lease offer (or the listing) proposes: the term and the use."""

    starts_on: date
    ends_on: date
    use: str


@dataclass(frozen=True)
class Outsider:
    """An offer's lessee from outside the collective, as staff recorded it."""

    kind: str
    name: str
    id_number: str | None = None
    uscc: str | None = None
    contact: str | None = None


def check_rent(rent_fen: Any, field: str = "rent") -> int:
    """Rent per 亩 per year in whole fen, more than zero."""
    if isinstance(rent_fen, bool) or not isinstance(rent_fen, int) or not 0 < rent_fen < MAX_FEN:
        raise DomainError(
            "rent", _("Give the rent per mu per year in yuan, more than zero."), field=field
        )
    return rent_fen


def check_terms(contract_uid: int, terms: Any, *, today: date) -> Terms:
    """The term and use of a lease listing or offer: an agricultural use (R05); a start before
    the end; an end within the contract's remaining term (R02)."""
    if not isinstance(terms, Terms):
        raise DomainError("terms", _("Give the lease's start, end and use."), field="starts_on")
    if terms.use not in leases.USES:
        raise DomainError(
            "use_not_agricultural",
            _("Choose an agricultural use: leased land stays farmland."),
            field="use",
            rule="R05",
        )
    if not isinstance(terms.starts_on, date) or not isinstance(terms.ends_on, date):
        raise DomainError("dates", _("Give the lease's first and last day."), field="starts_on")
    if terms.ends_on <= terms.starts_on:
        raise DomainError(
            "dates", _("The lease must end after it starts."), field="ends_on", rule="R02"
        )
    contracts.check_within_term(contract_uid, terms.ends_on, today=today)
    return terms


def check_listing_terms(
    contract_uid: int,
    *,
    method: Any,
    terms: Terms,
    rent_fen: Any,
    schedule: Any,
    today: date,
) -> None:
    """What a lease listing asks: the way of leasing, the term and use, the rent and how it is
    paid."""
    if method not in lease_models.METHODS:
        raise DomainError("lease_method", _("Choose how the land is leased."), field="lease_method")
    check_terms(contract_uid, terms, today=today)
    check_rent(rent_fen)
    if schedule not in SCHEDULES:
        raise DomainError(
            "payment_schedule", _("Choose how the rent is paid."), field="payment_schedule"
        )


def check_outsider(outsider: Any) -> Outsider:
    """An outsider's offer names who they are: a person or household by the ID number (GB
    11643), a cooperative, company or organisation by its USCC (GB 32100)."""
    if not isinstance(outsider, Outsider) or outsider.kind not in OUTSIDE_KINDS:
        raise DomainError("lessee_kind", _("Choose who is offering to lease."), field="lessee_kind")
    name = (outsider.name or "").strip()
    if not name or len(name) > 120:
        raise DomainError(
            "lessee_name",
            _("Give the name of who is offering (at most 120 characters)."),
            field="lessee_name",
        )
    contact = (outsider.contact or "").strip() or None
    if contact is not None and len(contact) > 120:
        raise DomainError(
            "lessee_contact",
            _("The contact is at most 120 characters."),
            field="lessee_contact",
        )
    id_number = uscc = None
    try:
        if outsider.kind in BY_ID_NUMBER:
            field = "lessee_id_number"
            if not (outsider.id_number or "").strip():
                raise DomainError(
                    "id_number_required",
                    _("Give the person's resident ID number."),
                    field=field,
                )
            id_number = codes.validate_id_number(outsider.id_number or "")
        else:
            field = "lessee_uscc"
            if not (outsider.uscc or "").strip():
                raise DomainError(
                    "uscc_required",
                    _("Give the organisation's unified social credit code."),
                    field=field,
                )
            uscc = codes.validate_uscc(outsider.uscc or "")
    except codes.CodeError as exc:
        raise DomainError.from_check(exc, field=field) from exc
    return Outsider(outsider.kind, name, id_number, uscc, contact)


def contract_document(collective_id: int, offer: Any, contract_document_id: Any) -> int | None:
    """The signed lease contract a lease deal cites, or None: the leases' own rule
    (``leases.check_written_contract``, R05) says whether the lease's term needs one (more than
    one year) and that a document given is one of the collective's."""
    if offer is None or offer.lease_starts_on is None or offer.lease_ends_on is None:
        raise DomainError("no_deal", _("No lessee has been found for this listing yet."))
    return leases.check_written_contract(
        offer.lease_starts_on,
        offer.lease_ends_on,
        contract_document_id if contract_document_id not in (None, "", 0) else None,
        collective_id,
    )


def matches(member: Any, chosen: Any) -> bool:
    """R05, equal terms: a member's offer matches the chosen outsider's when its rent is the
    same or higher and its term and use are the same."""
    return (
        member.amount_fen >= chosen.amount_fen
        and member.lease_starts_on == chosen.lease_starts_on
        and member.lease_ends_on == chosen.lease_ends_on
        and member.lease_use == chosen.lease_use
    )


def plots_problem(
    contract_uid: int, plot_uids: list[int], starts_on: Any, ends_on: Any, *, today: date
) -> DomainError | None:
    """Why these plots of the contract cannot be leased for these dates, or None: the leases'
    own plot rule (``leases.check_plots``): current plots of the contract, not reserve land,
    nothing weighing on them that blocks a lease (a court freeze, a dispute, an open objection),
    not in another lease awaiting its review or in force over the same days."""
    contract = history.current_of(LandContract, contract_uid)
    if contract is None:
        return DomainError("contract_not_current", _("The land contract is no longer in force."))
    try:
        leases.check_plots(
            contract.collective_id, contract, plot_uids, starts_on, ends_on, today, None
        )
    except DomainError as exc:
        return exc
    return None
