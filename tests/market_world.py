"""A pytest plugin (the root conftest lists it in ``pytest_plugins``), the market's test world
for every package's tests: a selling family in collective A, a member household buying, a
household of collective B (an outsider). Walk a listing to any step with ``tests.market.walk``."""

from __future__ import annotations

import pytest

from app.registry import documents
from tests.factories import documents as fx
from tests.factories import land as land_fx
from tests.factories.people import link_farmer


@pytest.fixture
def family(ctx, baseline):
    """李家: the head (the farmer_a account) and his wife co-hold a confirmed contract."""
    a = baseline.collective_a
    doc = documents.store_document(a, "survey", "测绘成果", "s.pdf", fx.minimal_pdf("survey"))
    household = fx.make_household(a, "李家")
    head = fx.make_holder(household, "李大山", relation="02")
    wife = fx.make_holder(household, "王秀英", relation="10")
    contract = fx.make_contract(a, doc.id, household=household)
    link_farmer("farmer_a", head.uid)
    paper = documents.store_document(a, "other", "同意书", "c.pdf", fx.minimal_pdf("consent"))
    x, y = land_fx.origin(a)
    plots = [
        land_fx.add(a, land_fx.square(x + 50 * i, y), contract_uid=contract.uid).plot.uid
        for i in range(2)
    ]
    return {
        "household": household.uid,
        "contract": contract.uid,
        "head": head.uid,
        "wife": wife.uid,
        "paper": paper.id,
        "doc": doc.id,
        "plots": plots,
    }


@pytest.fixture
def buyers(ctx, baseline):
    """赵家: a member household of the same collective, its head on the roll and linked to a new
    farmer account ``buyer_a``; 王瑶's household of collective B (an outsider)."""
    from app.auth.services import create_user
    from tests.conftest import PASSWORD
    from tests.factories import people as pf

    head, zhao = pf.household(baseline.collective_a, "赵大")
    _head_b, wang = pf.household(baseline.collective_b, "王瑶")
    create_user("buyer_a", PASSWORD, "farmer", collective_ids=[baseline.collective_a])
    link_farmer("buyer_a", head.uid)
    return {"member": zhao.uid, "member_head": head.uid, "outsider": wang.uid}
