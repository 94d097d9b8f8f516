"""Fixtures shared by the registry's test modules."""

from __future__ import annotations

import pytest

from app.registry import history
from app.registry.models import LandContract, Plot
from tests.factories import land as fx
from tests.factories import people as people_fx


class W(dict):
    """Plain values of the test world (ORM objects do not outlive a request's session)."""

    __getattr__ = dict.__getitem__


@pytest.fixture
def world(ctx, baseline) -> W:
    """Collective A's household 李大山 (the farmer_a account) with a contract, a plot and an
    overlap finding, and the same objects in collective B. Modules with a world of their own
    (homesteads, shares) override it."""
    a, b = baseline.collective_a, baseline.collective_b
    hh_a, head_a = fx.make_household(a, "李大山")
    made_a = fx.make(a, {"household_uid": hh_a})
    made_b = fx.make(b, {})
    people_fx.link_farmer("farmer_a", head_a)
    contract = history.current_of(LandContract, made_a["contract_uid"])
    plot = history.current_of(Plot, made_a["plot_uid"])
    return W(
        a=a,
        b=b,
        doc_a=fx.make_document(a),
        contract=made_a["contract_uid"],
        cbhtbm=contract.cbhtbm,
        plot=made_a["plot_uid"],
        dkbm=plot.dkbm,
        finding=made_a["finding_id"],
        contract_b=made_b["contract_uid"],
        plot_b=made_b["plot_uid"],
        finding_b=made_b["finding_id"],
    )
