"""JSON API for the ledger of leases (流转台账) and the collective's leasing on households' behalf
(委托流转, R05).

The rules live in app.leases.ledger and app.leases.entrusted; these endpoints translate JSON to
those calls and back, and commit once. Another collective's entrusted lease is a 404; the ledger
covers what the caller reads (an administrator's collectives, or the county).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Literal

from flask import jsonify, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field

from app.api import bp
from app.api.fields import CodeText, DecimalText, Id, LabelText, TitleText
from app.api.schema import Answer, Body, Query, operation
from app.auth.models import Role
from app.auth.scope import collective_reach, load_or_404, roles_required
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.leases import entrusted, ledger, services
from app.leases.models import LESSEE_KINDS, EntrustedLease

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
_NOT_FOUND = {404: "Not found or out of reach"}
LesseeKind = Literal[tuple(LESSEE_KINDS)]  # type: ignore[valid-type]
EntrustedKind = Literal[tuple(entrusted.KINDS)]  # type: ignore[valid-type]
Method = Literal[tuple(services.METHOD_LABELS)]  # type: ignore[valid-type]
Schedule = Literal[tuple(services.SCHEDULES)]  # type: ignore[valid-type]
Use = Literal[tuple(services.USES)]  # type: ignore[valid-type]
MAX_RENT = services.MAX_RENT_FEN_PER_MU


# --------------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------------


class LedgerQuery(Query):
    as_of: date | None = Field(None, description="The day (the county's today when absent)")
    township: str | None = Field(
        None, max_length=12, description="A township's 9-digit division code (the whole reach)"
    )


class LedgerFigures(Answer):
    leases: int
    area_mu: DecimalText = Field(description="Area in mu, two decimals")
    rent_fen_per_year: int = Field(description="Yearly rent, whole fen")
    rent_yuan_per_year: DecimalText
    mean_term_years: DecimalText | None


class LedgerKind(Answer):
    lessee_kind: LesseeKind
    label: str
    figures: LedgerFigures


class LedgerLease(Answer):
    lease_id: int
    number: str
    holder: str
    lessee: str
    lessee_kind: LesseeKind
    method: str
    use: str
    starts_on: date
    ends_on: date
    term_years: DecimalText
    area_mu: DecimalText
    rent_fen_per_mu_year: int
    rent_fen_per_year: int


class LedgerVillage(Answer):
    collective_id: int
    name: str
    kinds: list[LedgerKind]
    subtotal: LedgerFigures
    leases: list[LedgerLease]


class LedgerTownship(Answer):
    code: str
    name: str
    villages: list[LedgerVillage]
    subtotal: LedgerFigures


class LedgerOut(Answer):
    """Leases in force on a day by township, village and lessee type, with subtotals"""

    as_of: date
    township: str | None
    townships: list[LedgerTownship]
    kinds: list[LedgerKind] = Field(description="The total by lessee type")
    total: LedgerFigures


def _figures(f: ledger.Figures) -> dict:
    mean = f.mean_term_years
    return {
        "leases": f.leases,
        "area_mu": str(f.area_mu),
        "rent_fen_per_year": f.rent_fen_per_year,
        "rent_yuan_per_year": str(f.rent_yuan),
        "mean_term_years": None if mean is None else str(mean),
    }


def _kinds(rows: list[ledger.KindRow]) -> list[dict]:
    return [{"lessee_kind": k.kind, "label": k.label, "figures": _figures(k.figures)} for k in rows]


def ledger_json(result: ledger.Ledger) -> dict:
    return {
        "as_of": result.as_of.isoformat(),
        "township": result.township_code,
        "townships": [
            {
                "code": t.code,
                "name": t.name,
                "subtotal": _figures(t.subtotal),
                "villages": [
                    {
                        "collective_id": v.collective_id,
                        "name": v.name,
                        "kinds": _kinds(v.kinds),
                        "subtotal": _figures(v.subtotal),
                        "leases": [
                            {
                                "lease_id": line.lease_id,
                                "number": line.number,
                                "holder": line.holder,
                                "lessee": line.lessee,
                                "lessee_kind": line.lessee_kind,
                                "method": line.method,
                                "use": line.use,
                                "starts_on": line.starts_on.isoformat(),
                                "ends_on": line.ends_on.isoformat(),
                                "term_years": str(line.term_years),
                                "area_mu": str(line.area_mu),
                                "rent_fen_per_mu_year": line.rent_fen_per_mu_year,
                                "rent_fen_per_year": line.rent_fen_per_year,
                            }
                            for line in v.lines
                        ],
                    }
                    for v in t.villages
                ],
            }
            for t in result.townships
        ],
        "kinds": _kinds(result.kinds),
        "total": _figures(result.total),
    }


@bp.get("/lease-ledger")
@roles_required(*READERS)
@operation(
    "The ledger of leases in force on a day (流转台账): by township, village and lessee type, "
    "with counts, areas in mu, terms and yearly rents, subtotals and the total",
    query=LedgerQuery,
    answer=LedgerOut,
    refusals={422: "A day in the future, or a township not in the caller's reach"},
)
def get_lease_ledger(query: LedgerQuery):
    reach = collective_reach(current_user)
    township = query.township or None
    if township is not None and township not in dict(ledger.township_choices(reach)):
        raise DomainError(
            "township_unknown", _("Choose a township from the list."), field="township"
        )
    result = ledger.lease_ledger(query.as_of, collectives=reach, township_code=township)
    return jsonify(ledger_json(result))


# --------------------------------------------------------------------------------------------
# Entrusted leases
# --------------------------------------------------------------------------------------------


class LesseeIn(Body):
    kind: EntrustedKind
    name: TitleText | None = Field(None, description="Outsiders: the person's or body's name")
    household_uid: Id | None = Field(None, description="member_household: the household")
    id_number: CodeText | None = Field(None, description="outside_person / outside_household")
    uscc: CodeText | None = Field(None, description="cooperative / company / other_org")
    contact: LabelText | None = None


class PriorityNotice(Body):
    notice_document_id: Id = Field(description="The notice to members (a source document)")
    notice_from: date = Field(description="The notice's first day")


class EntrustedNew(Body):
    collective_id: Id
    title: TitleText
    lessee: LesseeIn
    method: Method
    use: Use
    starts_on: date
    ends_on: date
    rent_fen_per_mu_year: int = Field(ge=0, le=MAX_RENT, description="Whole fen")
    payment_schedule: Schedule
    contract_document_id: Id | None = Field(
        None, description="The written lease contract (required beyond one year)"
    )
    priority_notice: PriorityNotice | None = Field(
        None, description="For a lessee outside the collective (members' priority)"
    )


class HouseholdIn(Body):
    household_uid: Id
    plot_uids: list[Id] = Field(max_length=200, description="Plots of its contract")


class MandateIn(Body):
    household_uid: Id
    document_id: Id = Field(description="The signed mandate (委托书), a source document")
    given_on: date


class PriorityNoticeOut(Answer):
    notice_document_id: int
    notice_from: date


class MandateOut(Answer):
    household_uid: int
    household: str
    plot_uids: list[int]
    document_id: int | None
    given_on: date | None


class EntrustedOut(Answer):
    """A lease by the collective on households' behalf (委托流转)"""

    entrusted_lease_id: int
    collective_id: int
    title: str
    state: Literal["open", "concluded", "abandoned"]
    lessee_kind: EntrustedKind
    lessee_name: str
    lessee_uscc: str | None
    method: str
    use: str
    starts_on: date
    ends_on: date
    rent_fen_per_mu_year: int
    payment_schedule: str
    contract_document_id: int | None
    priority_notice: PriorityNoticeOut | None
    households: list[MandateOut]
    lease_ids: list[int] = Field(description="The leases recorded when it was concluded")
    recorded_by: str
    recorded_at: datetime


class ConcludedOut(Answer):
    """What concluding made: one lease per household with a mandate; the others left out"""

    entrusted_lease: EntrustedOut
    lease_ids: list[int]
    left_out: list[MandateOut] = Field(description="Households without a written mandate")


def _mandate_json(m, names: dict[int, str]) -> dict:
    return {
        "household_uid": m.household_uid,
        "household": names.get(m.household_uid, ""),
        "plot_uids": entrusted.plot_uids(m),
        "document_id": m.document_id,
        "given_on": m.given_on.isoformat() if m.given_on else None,
    }


def entrusted_json(row: EntrustedLease) -> dict:
    mandates = entrusted.mandates(row.id)
    names = entrusted.household_names([m.household_uid for m in mandates])
    return {
        "entrusted_lease_id": row.id,
        "collective_id": row.collective_id,
        "title": row.title,
        "state": row.state,
        "lessee_kind": row.lessee_kind,
        "lessee_name": row.lessee_name,
        "lessee_uscc": row.lessee_uscc,
        "method": row.method,
        "use": row.use,
        "starts_on": row.starts_on.isoformat(),
        "ends_on": row.ends_on.isoformat(),
        "rent_fen_per_mu_year": row.rent_fen_per_mu_year,
        "payment_schedule": row.payment_schedule,
        "contract_document_id": row.contract_document_id,
        "priority_notice": json.loads(row.priority_evidence) if row.priority_evidence else None,
        "households": [_mandate_json(m, names) for m in mandates],
        "lease_ids": [lease.id for lease in entrusted.leases_of(row.id)],
        "recorded_by": row.recorded_by,
        "recorded_at": row.recorded_at.isoformat() + "Z",
    }


def _editable(entrusted_id: int) -> EntrustedLease:
    return load_or_404(EntrustedLease, entrusted_id, edit=True)


_WRITE_REFUSALS = {
    **_NOT_FOUND,
    422: "Not open any more, a household or plot not of this collective, or a rule refused it",
}


@bp.post("/entrusted-leases")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Open a lease by the collective on households' behalf (委托流转, R05): one lessee, the "
    "terms every household's lease will have",
    body=EntrustedNew,
    answer=EntrustedOut,
    status=201,
    refusals={404: "The collective is not found or out of reach", 422: "A rule refused it"},
)
def open_entrusted_lease(body: EntrustedNew):
    collective = load_or_404(Collective, body.collective_id, edit=True)
    notice = body.priority_notice
    row = entrusted.open_entrusted_lease(
        collective.id,
        title=body.title,
        lessee=services.Lessee(
            kind=body.lessee.kind,
            name=body.lessee.name or "",
            household_uid=body.lessee.household_uid,
            id_number=body.lessee.id_number,
            uscc=body.lessee.uscc,
            contact=body.lessee.contact,
        ),
        method=body.method,
        use=body.use,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        rent_fen_per_mu_year=body.rent_fen_per_mu_year,
        payment_schedule=body.payment_schedule,
        contract_document_id=body.contract_document_id,
        priority_evidence=(
            {"notice_document_id": notice.notice_document_id, "notice_from": notice.notice_from}
            if notice is not None
            else None
        ),
    )
    db.session.commit()
    response = jsonify(entrusted_json(row))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_entrusted_lease", entrusted_id=row.id)
    return response


@bp.get("/entrusted-leases/<int:entrusted_id>")
@roles_required(*READERS)
@operation(
    "A lease by the collective on households' behalf, with its households and mandates",
    answer=EntrustedOut,
    refusals=_NOT_FOUND,
)
def get_entrusted_lease(entrusted_id: int):
    return jsonify(entrusted_json(load_or_404(EntrustedLease, entrusted_id)))


@bp.post("/entrusted-leases/<int:entrusted_id>/households")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Add a household and the plots it entrusts (leased only once its mandate is recorded)",
    body=HouseholdIn,
    target=lambda entrusted_id: _editable(entrusted_id),
    answer=EntrustedOut,
    refusals=_WRITE_REFUSALS,
)
def add_entrusted_household(entrusted_id: int, target: EntrustedLease, body: HouseholdIn):
    entrusted.add_household(target.id, body.household_uid, body.plot_uids)
    db.session.commit()
    return jsonify(entrusted_json(target))


@bp.post("/entrusted-leases/<int:entrusted_id>/mandates")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Record a household's written mandate (委托书, R05)",
    body=MandateIn,
    target=lambda entrusted_id: _editable(entrusted_id),
    answer=EntrustedOut,
    refusals=_WRITE_REFUSALS,
)
def record_entrusted_mandate(entrusted_id: int, target: EntrustedLease, body: MandateIn):
    entrusted.record_mandate(
        target.id, body.household_uid, document_id=body.document_id, given_on=body.given_on
    )
    db.session.commit()
    return jsonify(entrusted_json(target))


@bp.post("/entrusted-leases/<int:entrusted_id>/conclude")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Conclude: one lease per household that gave its written mandate (R05); the households "
    "without one are left out and their plots are not leased",
    target=lambda entrusted_id: _editable(entrusted_id),
    answer=ConcludedOut,
    refusals=_WRITE_REFUSALS,
)
def conclude_entrusted_lease(entrusted_id: int, target: EntrustedLease):
    done = entrusted.conclude_entrusted_lease(target.id)
    db.session.commit()
    names = entrusted.household_names([m.household_uid for m in done.missing])
    return jsonify(
        {
            "entrusted_lease": entrusted_json(target),
            "lease_ids": [lease.id for lease in done.leases],
            "left_out": [_mandate_json(m, names) for m in done.missing],
        }
    )
