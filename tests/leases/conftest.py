"""The leases' test world: in collective A, household 甲 holds a contract of two plots (1000 and
1100 m²); household 乙 is a member household; signed documents to cite. Collective B has a
household of its own."""

from __future__ import annotations

from datetime import date

import pytest

from app.audit import trail
from app.leases import services
from tests.factories import encumbrances as ef
from tests.factories import land as lf

TODAY = lf.TODAY  # 2026-03-01


class W(dict):
    __getattr__ = dict.__getitem__


def valid_uscc(first17: str) -> str:
    from app.core import codes

    return first17 + codes.uscc_check_char(first17)


@pytest.fixture
def lw(ctx, baseline) -> W:
    a, b = baseline.collective_a, baseline.collective_b
    doc = lf.make_document(a, "土地经营权出租合同")
    holder = ef.contract_with_plots(a, "甲户", doc)
    member = ef.contract_with_plots(a, "乙户", doc, plots=1)
    other = ef.contract_with_plots(b, "丙户", lf.make_document(b), plots=1)
    return W(
        a=a,
        b=b,
        doc=doc,
        notice=lf.make_document(a, "流转公告"),
        consent=lf.make_document(a, "同意再流转书面意见"),
        holder=holder,
        member=member,
        other=other,
        contract=holder["contract_uid"],
        plots=holder["plot_uids"],
    )


def member_lessee(w: W) -> services.Lessee:
    return services.Lessee(
        kind="member_household", name="", household_uid=w.member["household_uid"]
    )


def coop(name: str = "始兴县丰收种植专业合作社") -> services.Lessee:
    return services.Lessee(kind="cooperative", name=name, uscc=valid_uscc("93440222MA4W8PT07"))


def company(name: str = "韶关绿源农业有限公司") -> services.Lessee:
    return services.Lessee(kind="company", name=name, uscc=valid_uscc("91440222MA4W8PT07"))


def notice(w: W, days_ago: int = 20) -> dict:
    from datetime import timedelta

    return {
        "notice_document_id": w.notice,
        "notice_from": (TODAY - timedelta(days=days_ago)).isoformat(),
    }


def lease(w: W, **kw):
    """A member household's five-year lease of both plots, unless told otherwise."""
    args = dict(
        lessee=member_lessee(w),
        method="lease",
        use="grain",
        starts_on=date(2026, 3, 1),
        ends_on=date(2031, 2, 28),
        rent_fen_per_mu_year=80000,
        payment_schedule="annual",
        contract_document_id=w.doc,
        on=TODAY,
    )
    args.update(kw)
    plots = args.pop("plot_uids", w.plots)
    contract = args.pop("contract_uid", w.contract)
    collective = args.pop("collective_id", w.a)
    return services.record_lease(collective, contract, plots, **args)


def bureau():
    return trail.acting(trail.AuditContext(actor="county", actor_id=9100, role="bureau_reviewer"))
