"""The demo county's marketplace: listings at the steps users most need to see.

Built through the market's own services, with the demo logins taking each step (staff record
the co-holders' consents as witnessed, with the signed paper form), so the demo obeys every
rule and the audit trail shows who did what. The days are set back so that cooling-off and
notice periods have run where the step needs it:

* 李建华 (``farmer``) lists one plot of his contract for transfer: published, a member's offer
  waiting for him to accept (the README's walk-through continues from here);
* a share transfer between two households of 东湖坪第一组, in the county bureau's review;
* one plot transferred between two households, registered, with its attestation (鉴证书);
* a homestead listing the holder withdrew;
* in 瑶村, a paid exit of shares with the members' resolution recorded;
* one plot of household 4 sold to household 6, the offer accepted: waiting for the collective's
  consent (发包方);
* the homestead of household 11 sold to household 9 (which holds none), the offer accepted:
  waiting for the collective's consent, then the township's approval.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.auth.models import User
from app.demo.pdf import minimal_pdf
from app.divisions.models import Collective
from app.extensions import db
from app.market import approvals, exits, listings, offers, registration
from app.registry import documents, history, land
from app.registry.models import Homestead, Household, Plot, ShareHolding


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _household(cbfbm: str) -> Household:
    return db.session.scalar(
        select(Household).where(Household.cbfbm == cbfbm, Household.end_lifespan.is_(None))
    )


def _paper(collective_id: int, title: str) -> int:
    return documents.store_document(
        collective_id, "declaration", title, "signed.pdf", minimal_pdf(title)
    ).id


def _consents(lid: int, admin: User, paper: int, day: Any) -> None:
    """Every co-holder still to decide consents in person at the office (witnessed)."""
    for consent in listings.consents_of(lid):
        if consent.decision == "pending":
            listings.decide_consent(
                lid,
                consent.person_uid,
                admin,
                give=True,
                witnessed_paper_id=paper,
                today=day,
            )


def _declared(admin: User, lid: int, household: Household, paper: int, day: Any) -> None:
    """The head declares at the office, witnessed; the other co-holders consent the same way."""
    listings.declare(lid, admin, person_uid=_head(household), witnessed_paper_id=paper, today=day)
    _consents(lid, admin, paper, day)


def _head(household: Household) -> int:
    from app.registry import people

    return people.co_holders(household.uid)[0].uid


def _first_plot(household: Household) -> int:
    contract = land.contract_of_household(household.uid)
    return db.session.scalar(
        select(Plot.uid)
        .where(Plot.contract_uid == contract.uid, Plot.end_lifespan.is_(None))
        .order_by(Plot.dkbm)
        .limit(1)
    )


def seed_market() -> int:
    """Build the demo listings; returns how many."""
    today = history.county_today()
    group = db.session.scalar(select(Collective).where(Collective.fbfbm == "44022210020501"))
    code = group.fbfbm
    admin, farmer, bureau = _user("village_admin"), _user("farmer"), _user("bureau")
    paper = _paper(group.id, "挂牌自愿声明及共有人同意书（签字）")

    # 1. 李建华 lists one plot: published, 刘家's offer waiting for him.
    mine = _household(f"{code}0001")
    lid = listings.create_listing(
        farmer,
        "land_contract",
        land.contract_of_household(mine.uid).uid,
        deal_kind="transfer",
        method="negotiated",
        plot_uids=[_first_plot(mine)],
        asking_price_fen=2_800_000,
        description="上坝田一块，水源好，愿转让给本组成员户。",
    ).id
    listings.declare(lid, farmer, today=today - timedelta(days=30))
    _consents(lid, admin, paper, today - timedelta(days=29))
    listings.publish(lid, admin, today=today - timedelta(days=5))
    offers.make_offer(
        lid,
        _user("member"),
        amount_fen=2_650_000,
        household_uid=_household(f"{code}0002").uid,
        today=today - timedelta(days=2),
    )

    # 2. Shares from household 3 to household 4: in the bureau's review.
    seller = _household(f"{code}0003")
    holding = db.session.scalar(
        select(ShareHolding).where(
            ShareHolding.household_uid == seller.uid, ShareHolding.end_lifespan.is_(None)
        )
    )
    lid = listings.create_listing(
        admin,
        "share_holding",
        holding.uid,
        deal_kind="transfer",
        method="negotiated",
        shares="10",
        asking_price_fen=1_200_000,
    ).id
    _declared(admin, lid, seller, paper, today - timedelta(days=60))
    listings.publish(lid, admin, today=today - timedelta(days=40))
    offer = offers.make_offer(
        lid,
        admin,
        amount_fen=1_200_000,
        household_uid=_household(f"{code}0004").uid,
        today=today - timedelta(days=35),
    )
    offers.accept_offer(lid, offer.id, admin, today=today - timedelta(days=30))
    approvals.collective_consent(lid, admin, approve=True, reason="本组成员户之间转让，同意。")

    # 3. One plot from household 5 to household 6: registered, attestation issued.
    seller = _household(f"{code}0005")
    lid = listings.create_listing(
        admin,
        "land_contract",
        land.contract_of_household(seller.uid).uid,
        deal_kind="transfer",
        method="negotiated",
        plot_uids=[_first_plot(seller)],
        asking_price_fen=3_000_000,
    ).id
    _declared(admin, lid, seller, paper, today - timedelta(days=90))
    listings.publish(lid, admin, today=today - timedelta(days=70))
    offer = offers.make_offer(
        lid,
        admin,
        amount_fen=3_000_000,
        household_uid=_household(f"{code}0006").uid,
        today=today - timedelta(days=65),
    )
    offers.accept_offer(lid, offer.id, admin, today=today - timedelta(days=60))
    approvals.collective_consent(lid, admin, approve=True, reason="同意。")
    # The seller's head settled in town 160 days before declaring (app/demo/settlement.py): the
    # deal is flagged (R14) and the bureau records its reasoned decision.
    approvals.bureau_review(
        lid,
        bureau,
        approve=True,
        reason="受让方为本集体成员户，材料齐全。",
        flag_decision="已当面询问转让方本人：系因在城镇务工、无力耕种而自愿转让，与落户无关。同意。",
        interviewed=True,
    )
    contract_doc = documents.store_document(
        group.id, "contract", "土地承包经营权转让合同", "contract.pdf", minimal_pdf("contract")
    ).id
    approvals.record_contract(
        lid,
        admin,
        signed_on=today,
        contract_document_id=contract_doc,
        payment_terms="合同签订后一次性付清，资金由镇农村产权交易服务站监管。",
    )
    approvals.record_payment(lid, admin, how="escrow", reference="JG-2026-0031", paid_on=today)
    registration.register(lid, admin)

    # 4. A homestead listing the holder withdrew (no reason needed).
    count = 3
    for h in range(7, 15):
        seller = _household(f"{code}{h:04d}")
        homestead = db.session.scalar(
            select(Homestead).where(
                Homestead.household_uid == seller.uid, Homestead.end_lifespan.is_(None)
            )
        )
        if homestead is None:
            continue
        lid = listings.create_listing(
            admin, "homestead", homestead.uid, deal_kind="transfer", method="negotiated"
        ).id
        _declared(admin, lid, seller, paper, today - timedelta(days=8))
        listings.withdraw(lid, admin)
        count += 1
        break

    # 5. and 6. Two deals waiting for the collective's consent: a plot, and a homestead (after
    # the collective's consent it goes to the township). Neither seller settled in town.
    _accepted_deal(admin, paper, _plot_right(_household(f"{code}0004")), _household(f"{code}0006"))
    seller = _household(f"{code}0011")
    homestead = db.session.scalar(
        select(Homestead).where(
            Homestead.household_uid == seller.uid, Homestead.end_lifespan.is_(None)
        )
    )
    if homestead is not None:
        _accepted_deal(
            admin,
            paper,
            (
                seller,
                "homestead",
                homestead.uid,
                None,
                8_800_000,
                "老屋一栋连宅基地，转让给本组无宅基地的成员户。",
            ),
            _household(f"{code}0009"),
        )
        count += 1
    count += 1

    # 7. 瑶村: the cooperative buys back a household's shares by a members' resolution.
    yao = db.session.scalar(select(Collective).where(Collective.fbfbm == "44022210021100"))
    yao_admin = _user("yaocun_admin")
    seller = _household(f"{yao.fbfbm}0002")
    holding = db.session.scalar(
        select(ShareHolding).where(
            ShareHolding.household_uid == seller.uid, ShareHolding.end_lifespan.is_(None)
        )
    )
    yao_paper = _paper(yao.id, "有偿退出自愿声明及共有人同意书（签字）")
    lid = listings.create_listing(
        yao_admin, "share_holding", holding.uid, deal_kind="paid_exit", method="resolution"
    ).id
    _declared(yao_admin, lid, seller, yao_paper, today - timedelta(days=40))
    resolution = documents.store_document(
        yao.id, "resolution", "成员代表大会决议：股份回购价格", "resolution.pdf", minimal_pdf("r")
    ).id
    exits.record_exit_resolution(
        lid,
        yao_admin,
        price_fen=int(holding.shares) * 120_000,
        resolution_document_id=resolution,
        votes_for=41,
        votes_cast=47,
    )
    return count + 1


def _plot_right(seller: Household) -> tuple[Household, str, int, list[int], int, str]:
    """(seller, right kind, right, plots, asking price, description) of one plot of a household."""
    return (
        seller,
        "land_contract",
        land.contract_of_household(seller.uid).uid,
        [_first_plot(seller)],
        3_600_000,
        "村口旱地一块，近水渠，转让给本组成员户。",
    )


def _accepted_deal(
    admin: User,
    paper: int,
    right: tuple[Household, str, int, list[int] | None, int, str],
    buyer: Household,
) -> int:
    """The seller's head declares at the office, the collective publishes, the buyer's offer
    at the asking price is accepted once the cooling-off has run: the listing waits for the
    collective's consent. Its id."""
    today = history.county_today()
    seller, kind, right_uid, plots, price, description = right
    lid = listings.create_listing(
        admin,
        kind,
        right_uid,
        deal_kind="transfer",
        method="negotiated",
        plot_uids=plots,
        asking_price_fen=price,
        description=description,
    ).id
    _declared(admin, lid, seller, paper, today - timedelta(days=50))
    listings.publish(lid, admin, today=today - timedelta(days=30))
    offer = offers.make_offer(
        lid, admin, amount_fen=price, household_uid=buyer.uid, today=today - timedelta(days=25)
    )
    offers.accept_offer(lid, offer.id, admin, today=today - timedelta(days=20))
    return lid
