"""The demo county's encumbrance and exchange (issue 14 parts 5 and 6), by the ``village_admin``:

* a pledge of the land-management right of one household's contract in 东湖坪第一组 to
  始兴农商银行 for a five-year loan (Art. 47), with the loan contract as its document: its
  contract and plot pages say so, and a transfer listing of it would be held back;
* an exchange (互换, R04) of one plot each between two other households of 东湖坪第一组, with the
  agreement and its filing with the 发包方: both contracts show it.

Households are taken from the end of the group's list, away from those the marketplace, the
moves and the settlement desk use. ``seed_encumbrances`` is called by the demo seed after the
rest of the county is built (the lead wires it into app/demo/seed.py).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.audit import trail
from app.auth.models import User
from app.core.calendar import county_today
from app.core.errors import DomainError
from app.demo.pdf import minimal_pdf
from app.divisions.models import Collective
from app.extensions import db
from app.registry import documents, encumbrances, exchanges, land
from app.registry.models import Household, Plot

GROUP = "44022210020501"  # 东湖坪村第一组
LENDER = "始兴农商银行"
#: 广东始兴农村商业银行's code as the demo records it (a well-formed USCC, GB 32100).
LENDER_USCC = "91440222MA4W8PT07N"


def _households_with_land(collective_id: int) -> list[tuple[Household, int, list[int]]]:
    """The group's households with a current contract and plots, last first."""
    out = []
    households = db.session.scalars(
        select(Household)
        .where(Household.collective_id == collective_id, Household.end_lifespan.is_(None))
        .order_by(Household.cbfbm.desc())
    )
    for household in households:
        contract = land.contract_of_household(household.uid)
        if contract is None:
            continue
        plots = list(
            db.session.scalars(
                select(Plot.uid)
                .where(Plot.contract_uid == contract.uid, Plot.end_lifespan.is_(None))
                .order_by(Plot.dkbm)
            )
        )
        if plots:
            out.append((household, contract.uid, plots))
    return out


def seed_encumbrances() -> dict[str, int | None]:
    """A pledge to 始兴农商银行 on one contract and an exchange between two households of
    东湖坪第一组. Returns their ids (None where the county had no room for one)."""
    coll = db.session.scalar(select(Collective).where(Collective.fbfbm == GROUP))
    admin = db.session.scalar(select(User).where(User.username == "village_admin"))
    if coll is None or admin is None:
        return {"pledge": None, "exchange": None}
    today = county_today()
    made: dict[str, int | None] = {"pledge": None, "exchange": None}
    with trail.acting(trail.AuditContext(actor=admin.username, actor_id=admin.id, role=admin.role)):
        loan = documents.store_document(
            coll.id,
            "contract",
            "土地经营权抵押借款合同（始兴农商银行）",
            "loan.pdf",
            minimal_pdf("Loan contract with pledge of the land-management right"),
        )
        agreement = documents.store_document(
            coll.id,
            "contract",
            "承包地互换协议",
            "exchange.pdf",
            minimal_pdf("Agreement to exchange contracted plots"),
        )
        filing = documents.store_document(
            coll.id,
            "other",
            "承包地互换备案表（发包方）",
            "filing.pdf",
            minimal_pdf("Filing of the exchange with the contract-issuing party"),
        )
        candidates = _households_with_land(coll.id)
        if candidates:
            _household, contract_uid, _plots = candidates[0]
            pledge = encumbrances.record_encumbrance(
                "pledge",
                "land_contract",
                contract_uid,
                party_name=LENDER,
                party_uscc=LENDER_USCC,
                starts_on=today - timedelta(days=90),
                ends_on=min(date(today.year + 5, 6, 30), _term_end(contract_uid)),
                source_document_id=loan.id,
                note="经营权抵押贷款五年，用于购买农机",
                collective_id=coll.id,
            )
            made["pledge"] = pledge.id
        # Two of the next households exchange a plot each; a pair whose certificates cannot
        # follow (an open overlap on the demo's survey) is skipped for the next one.
        rest = candidates[1:]
        for i in range(len(rest) - 1):
            (a, _ca, plots_a), (b, _cb, plots_b) = rest[i], rest[i + 1]
            try:
                with db.session.begin_nested():
                    done = exchanges.exchange_plots(
                        a.uid,
                        [plots_a[-1]],
                        b.uid,
                        [plots_b[-1]],
                        agreement_document_id=agreement.id,
                        filing_document_id=filing.id,
                        filed_on=today - timedelta(days=7),
                        reason="两户自愿互换地块，连片耕种",
                        collective_id=coll.id,
                    )
            except DomainError:
                continue
            made["exchange"] = done.exchange.id
            break
    return made


def _term_end(contract_uid: int) -> date:
    from app.registry import history
    from app.registry.models import LandContract

    contract = history.require_current(LandContract, contract_uid)
    return contract.term_end
