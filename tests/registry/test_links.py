"""A page shows a link only when its reader may open the target (registry/links.py): the share
register, a cited source document and the collective's overview are staff pages, so a farmer's
pages do not link to them, and every link that is shown opens."""

from __future__ import annotations

from datetime import date

import pytest

from app.audit import trail
from app.extensions import db
from app.registry.models import ShareRegister
from tests.factories import people as fx
from tests.registry.test_people_web import _rights

pytestmark = pytest.mark.authz


class W(dict):
    __getattr__ = dict.__getitem__


@pytest.fixture
def world(ctx, baseline) -> W:
    a = baseline.collective_a
    head, hh = fx.household(a, "李大山")
    rights = _rights(a, hh)
    with trail.because("test.register"):
        db.session.add(ShareRegister(collective_id=a, total_shares=100, fixed_on=date(2020, 1, 1)))
        db.session.flush()
    fx.link_farmer("farmer_a", head.uid)
    return W(
        a=a,
        hh=hh.uid,
        shares=rights["shares"].uid,
        contract=rights["contract"].uid,
        doc=rights["contract"].source_document_id,
    )


@pytest.mark.parametrize(
    ("username", "shown"),
    [("admin_a", True), ("bureau", True), ("auditor", True), ("farmer_a", False)],
)
def test_links_are_shown_exactly_where_the_reader_may_open_them(
    world, client, auth, username, shown
):
    auth.login(username)
    pages = {
        f"/shares/{world.shares}": f"/collectives/{world.a}/shares",
        f"/contracts/{world.contract}/history": f"/documents/{world.doc}",
        f"/households/{world.hh}": f'/collectives/{world.a}"',
    }
    for page, target in pages.items():
        r = client.get(page)
        assert r.status_code == 200, page
        assert (target in r.get_data(as_text=True)) is shown, (page, target)
        assert client.get(target.rstrip('"')).status_code == (200 if shown else 404)
