"""A lease in force of a member household's plots to another member household."""

from __future__ import annotations

from datetime import date

from app.leases import services
from tests.factories import encumbrances as ef
from tests.factories import land as lf


def make(collective_id: int, ctx: dict) -> dict:
    doc = lf.make_document(collective_id, "土地经营权出租合同")
    holder = ef.contract_with_plots(collective_id, "出租户", doc, plots=1)
    taker = ef.contract_with_plots(collective_id, "承租户", doc, plots=1)
    lease = services.record_lease(
        collective_id,
        holder["contract_uid"],
        holder["plot_uids"],
        lessee=services.Lessee(
            kind="member_household", name="", household_uid=taker["household_uid"]
        ),
        method="lease",
        use="grain",
        starts_on=lf.TODAY,
        ends_on=date(2030, 12, 31),
        rent_fen_per_mu_year=50000,
        payment_schedule="annual",
        contract_document_id=doc,
        on=lf.TODAY,
    )
    return {"lease_id": lease.id}
