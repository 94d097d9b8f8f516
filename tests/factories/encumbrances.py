"""Two member households of one collective with a contract and plots each (no overlap, so their
certificates can follow an exchange), an exchange between them and a dispute on one right, for
the scope matrix and the encumbrance and exchange tests."""

from __future__ import annotations

from datetime import date

from app.registry import encumbrances, exchanges, land
from tests.factories import land as lf

TERM_START = date(2020, 1, 1)
TERM_END = date(2049, 12, 31)


def contract_with_plots(
    collective_id: int,
    name: str,
    doc_id: int,
    *,
    plots: int = 2,
    term_end: date = TERM_END,
    confirmed: bool = True,
) -> dict:
    """A household (head a member) with a confirmed contract and ``plots`` plots of its own."""
    household_uid, head_uid = lf.make_household(collective_id, name)
    contract = land.create_contract(
        household_uid,
        TERM_START,
        term_end,
        source_document_id=doc_id,
        reason="确权登记",
        today=lf.TODAY,
        confirmed=confirmed,
    )
    uids = []
    for n in range(plots):
        x, y = lf.origin(collective_id)
        made = land.add_plot(
            collective_id,
            lf.dkbm(collective_id),
            lf.geojson(lf.square(x, y)),
            lf.CRS,
            contract_uid=contract.uid,
            name=f"{name}田{n + 1}",
            contract_area_m2=1000.0 + 100 * n,
            source_document_id=doc_id,
            reason="确权测绘",
        )
        uids.append(made.plot.uid)
    return {
        "household_uid": household_uid,
        "head_uid": head_uid,
        "contract_uid": contract.uid,
        "plot_uids": uids,
    }


def pair(collective_id: int) -> dict:
    """Households 甲 and 乙 of the collective, each with a contract of two plots, and a document."""
    doc = lf.make_document(collective_id, "互换协议")
    return {
        "doc": doc,
        "a": contract_with_plots(collective_id, "甲户", doc),
        "b": contract_with_plots(collective_id, "乙户", doc),
    }


def make(collective_id: int, ctx: dict) -> dict:
    made = pair(collective_id)
    a, b = made["a"], made["b"]
    done = exchanges.exchange_plots(
        a["household_uid"],
        [a["plot_uids"][0]],
        b["household_uid"],
        [b["plot_uids"][0]],
        agreement_document_id=made["doc"],
        filing_document_id=made["doc"],
        filed_on=lf.TODAY,
        reason="互换并地",
    )
    dispute = encumbrances.record_encumbrance(
        "dispute",
        "plot",
        a["plot_uids"][1],
        party_name="邻户王某",
        starts_on=lf.TODAY,
        source_document_id=made["doc"],
        note="地界争议",
    )
    return {"exchange_id": done.exchange.id, "encumbrance_id": dispute.id}
