"""The demo county's leases of the land-management right (issue 14 parts 1, 2, 7), recorded by
the collectives' administrators:

* in 东湖坪第一组, a household leases its land for five years to a member household (registered),
  rent paid for the first year and the second year's instalment in arrears;
* in 东湖坪第一组, another household leases to an outside cooperative, 始兴县丰收种植专业合作社,
  after the notice to members ran its priority period;
* 韶关绿源农业发展有限公司 takes land household by household (规模流转: 东湖坪第二组 and 瑶村
  first, then 东湖坪第一组); the lease that takes its county total past
  LEASE_QUALIFICATION_MU 亩 waits for the bureau's qualification review.

The member's and the cooperative's leases take households from the middle of 东湖坪第一组's
list, away from those the marketplace, the moves, the settlement desk and the pledge and
exchange use; the company needs most of the small demo county to pass 100 亩.
``seed_leases`` is called by the demo seed after the encumbrances.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.audit import trail
from app.auth.models import User
from app.core.calendar import county_today
from app.core.codes import uscc_check_char
from app.core.errors import DomainError
from app.demo.pdf import minimal_pdf
from app.divisions.models import Collective
from app.extensions import db
from app.leases import services
from app.registry import documents, land
from app.registry.land import add_years
from app.registry.models import Household, Plot

GROUP_1 = "44022210020501"  # 东湖坪村第一组
GROUP_2 = "44022210020502"  # 东湖坪村第二组
YAOCUN = "44022210021100"  # 瑶村
COOPERATIVE = "始兴县丰收种植专业合作社"
COOPERATIVE_USCC = "93440222MA51C8QK0" + uscc_check_char("93440222MA51C8QK0")
COMPANY = "韶关绿源农业发展有限公司"
COMPANY_USCC = "91440200MA4UJ2RX1" + uscc_check_char("91440200MA4UJ2RX1")


def _holders(collective_id: int) -> list[tuple[Household, int, list[int]]]:
    """The group's households with a current contract and plots, by code."""
    out = []
    for household in db.session.scalars(
        select(Household)
        .where(Household.collective_id == collective_id, Household.end_lifespan.is_(None))
        .order_by(Household.cbfbm)
    ):
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


def _admin(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def _acting(user: User):
    return trail.acting(trail.AuditContext(actor=user.username, actor_id=user.id, role=user.role))


def _papers(collective_id: int, label: str) -> tuple[int, int]:
    """(lease contract, notice to members) documents of a collective."""
    contract = documents.store_document(
        collective_id,
        "contract",
        f"土地经营权出租合同（{label}）",
        "lease.pdf",
        minimal_pdf(f"Lease contract {label}"),
    )
    notice = documents.store_document(
        collective_id,
        "other",
        f"土地经营权流转公告（成员优先）{label}",
        "notice.pdf",
        minimal_pdf(f"Notice to members {label}"),
    )
    return contract.id, notice.id


def _try(fn):
    try:
        with db.session.begin_nested():
            return fn()
    except DomainError:
        return None


def seed_leases() -> dict[str, int | None]:
    """The demo's leases (module docstring). Returns the ids of the member's, the cooperative's
    and the waiting company's lease (None where the county had no room for one)."""
    made: dict[str, int | None] = {"member": None, "cooperative": None, "company": None}
    today = county_today()
    notice_from = today - timedelta(days=30)
    g1 = db.session.scalar(select(Collective).where(Collective.fbfbm == GROUP_1))
    admin = _admin("village_admin")
    if g1 is None or admin is None:
        return made
    with _acting(admin):
        doc, notice = _papers(g1.id, "东湖坪第一组")
        holders = _holders(g1.id)
        middle = holders[4:-4] if len(holders) > 8 else []
        if len(middle) >= 3:
            (_h1, c1, p1), (h2, _c2, _p2), (_h3, c3, p3) = middle[0], middle[1], middle[2]
            starts = today - timedelta(days=400)
            member = _try(
                lambda: services.record_lease(
                    g1.id,
                    c1,
                    p1,
                    lessee=services.Lessee(
                        kind="member_household", name="", household_uid=h2.uid, contact="本村"
                    ),
                    method="subcontract",
                    use="grain",
                    starts_on=starts,
                    ends_on=add_years(starts, 5) - timedelta(days=1),
                    rent_fen_per_mu_year=60000,
                    payment_schedule="annual",
                    contract_document_id=doc,
                    register=True,
                    note="本组农户之间转包，种植水稻",
                )
            )
            if member is not None:
                made["member"] = member.id
                services.record_payment(
                    member.id,
                    paid_on=starts + timedelta(days=10),
                    amount_fen=member.rent_fen_per_year,
                    reference="现金收据 0001",
                )
            coop = _try(
                lambda: services.record_lease(
                    g1.id,
                    c3,
                    p3,
                    lessee=services.Lessee(
                        kind="cooperative",
                        name=COOPERATIVE,
                        uscc=COOPERATIVE_USCC,
                        contact="0751-8888001",
                    ),
                    method="lease",
                    use="vegetables",
                    starts_on=today,
                    ends_on=add_years(today, 3) - timedelta(days=1),
                    rent_fen_per_mu_year=85000,
                    payment_schedule="semiannual",
                    contract_document_id=doc,
                    priority_evidence={
                        "notice_document_id": notice,
                        "notice_from": notice_from.isoformat(),
                    },
                    note="流转公告期满，无本组成员以同等条件受让",
                )
            )
            made["cooperative"] = coop.id if coop is not None else None
    made["company"] = _company_leases(today, notice_from)
    return made


def _company_leases(today, notice_from) -> int | None:
    """The company takes land household by household until its county total passes the
    threshold: that last lease waits for the bureau's review. Its id, or None."""
    company = services.Lessee(
        kind="company", name=COMPANY, uscc=COMPANY_USCC, contact="0751-6666002"
    )
    for fbfbm, username in (
        (GROUP_2, "village_admin"),
        (YAOCUN, "yaocun_admin"),
        (GROUP_1, "village_admin"),
    ):
        coll = db.session.scalar(select(Collective).where(Collective.fbfbm == fbfbm))
        admin = _admin(username)
        if coll is None or admin is None:
            continue
        with _acting(admin):
            doc, notice = _papers(coll.id, coll.name)
            holders = _holders(coll.id)
            for _household, contract_uid, plots in reversed(holders):

                def take(contract_uid=contract_uid, plots=plots, coll=coll, doc=doc, notice=notice):
                    return services.record_lease(
                        coll.id,
                        contract_uid,
                        plots,
                        lessee=company,
                        method="lease",
                        use="fruit_tea",
                        starts_on=today + timedelta(days=30),
                        ends_on=add_years(today, 10),
                        rent_fen_per_mu_year=100000,
                        payment_schedule="annual",
                        contract_document_id=doc,
                        priority_evidence={
                            "notice_document_id": notice,
                            "notice_from": notice_from.isoformat(),
                        },
                        register=True,
                        note="连片流转种植茶叶",
                    )

                lease = _try(take)
                if lease is not None and lease.state == "awaiting_qualification":
                    return lease.id
    return None
