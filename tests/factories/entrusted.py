"""An open entrusted lease (委托流转) of one household's plots to a cooperative, its mandate
recorded, for the scope matrix."""

from __future__ import annotations

from datetime import date

from app.core import codes
from app.leases import entrusted, services
from tests.factories import encumbrances as ef
from tests.factories import land as lf


def make(collective_id: int, ctx: dict) -> dict:
    doc = lf.make_document(collective_id, "委托书")
    household = ef.contract_with_plots(collective_id, "委托户", doc, plots=1)
    uscc = "93440222MA4W8PT07"
    row = entrusted.open_entrusted_lease(
        collective_id,
        title="连片流转",
        lessee=services.Lessee(
            kind="cooperative", name="丰收合作社", uscc=uscc + codes.uscc_check_char(uscc)
        ),
        method="lease",
        use="grain",
        starts_on=date(2026, 3, 1),
        ends_on=date(2031, 2, 28),
        rent_fen_per_mu_year=80000,
        payment_schedule="annual",
        contract_document_id=doc,
        priority_evidence={"notice_document_id": doc, "notice_from": "2026-01-02"},
        on=lf.TODAY,
    )
    entrusted.add_household(row.id, household["household_uid"], household["plot_uids"])
    entrusted.record_mandate(
        row.id, household["household_uid"], document_id=doc, given_on=lf.TODAY, on=lf.TODAY
    )
    return {"entrusted_id": row.id}
