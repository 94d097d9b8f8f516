"""A land contract with plots and its issued certificate, as the certificate's print tests (the
page through Chromium, tests/registry/test_certificate_print.py; the server's PDF,
tests/test_pdf.py) and its public check (tests/registry/test_certificate_check.py) need it."""

from __future__ import annotations

from app.extensions import db
from app.registry import certificates, history, land
from app.registry.models import Household, LandContract, Plot
from tests.factories import land as land_fx
from tests.factories.documents import make_holder


def contract_with_plots(collective_id: int, household_name: str, plots: int) -> dict:
    """A confirmed contract of a five-person household (a head and four co-holders) with
    ``plots`` plots (codes, names, both areas, four boundaries) and its certificate, committed.
    Call it in an app context acting as someone (the ``ctx`` fixture)."""
    household_uid, head = land_fx.make_household(collective_id, household_name)
    contract = land.create_contract(
        household_uid,
        land_fx.TERM_START,
        land_fx.TERM_END,
        source_document_id=land_fx.make_document(collective_id),
        reason="确权登记",
        today=land_fx.TODAY,
        confirmed=True,
    )
    household = history.current_of(Household, household_uid)
    for name, relation in (
        ("林秀兰", "10"),
        ("欧阳建国", "20"),
        ("欧阳建华", "20"),
        ("欧阳小燕", "30"),
    ):
        make_holder(household, name, relation)
    x, y = land_fx.origin(collective_id)
    for k in range(plots):
        land_fx.add(
            collective_id,
            land_fx.square(x + (k % 5) * 45.0, y + (k // 5) * 45.0, side=38.0),
            contract_uid=contract.uid,
            name=f"长垅尾水田{k + 1}号",
            contract_area_m2=1400 + k,
            east="欧阳石生承包地",
            south="村道及灌溉渠",
            west="集体机动地",
            north="后龙山脚",
            is_basic_farmland=k % 2 == 0,
        )
    cert = certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=land_fx.TODAY, reason="确权颁证"
    )
    db.session.commit()
    dkbms = sorted(
        p.dkbm
        for p in db.session.query(Plot).filter(
            Plot.contract_uid == contract.uid, Plot.end_lifespan.is_(None)
        )
    )
    return {
        "certificate": cert.id,
        "number": cert.number,
        "verification": certificates.verification_code(cert),
        "head": head,
        "cbfbm": household.cbfbm,
        "cbhtbm": history.current_of(LandContract, contract.uid).cbhtbm,
        "dkbms": dkbms,
    }
