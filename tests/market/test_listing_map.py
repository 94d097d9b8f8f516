"""The map on a listing's page (issue 15 item 1): a land listing's plots highlighted on the live
map, neighbours shaded, as the lease and plot pages draw it; a member browsing another
household's listing sees the listed plots' outlines (and only those beyond their own reach);
shares have no map; another collective's listing and its map are a 404."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.market import listings
from tests.market import walk

# Both collectives' strips of test land (tests/factories/land.py), with room to spare.
COUNTY_BOX = "500000,2700000,520000,2900000"


def _panel(page: str) -> dict[str, str]:
    """The map panel's data- attributes, as map.js reads them."""
    found = re.search(r'<div class="map-panel"(.*?)>', page, re.S)
    assert found, "the page has no map panel"
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', found.group(1)))


def _ids(client, url: str) -> set[str]:
    answer = client.get(url, query_string={"bbox": COUNTY_BOX})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return {f["id"] for f in answer.get_json()["features"]}


@pytest.fixture
def part_listed(family, buyers) -> int:
    """李家's contract published for transfer with only its first plot."""
    lid = walk.published(family, plot_uids=[family["plots"][0]])
    db.session.commit()
    return lid


def test_a_member_sees_the_listed_plot_highlighted_and_only_it_beyond_their_reach(
    client, auth, family, part_listed
):
    listed, other = family["plots"]
    auth.login("buyer_a")  # a member of another household of the collective
    page = client.get(f"/market/{part_listed}")
    assert page.status_code == 200
    panel = _panel(page.get_data(as_text=True))
    assert panel["selected"] == f"plot.{listed}"
    assert panel["household"] == str(family["household"])
    assert panel["features"] == f"/market/{part_listed}/map/features"
    # The listing's map answers the listed plot, never the household's other plot…
    seen = _ids(client, panel["features"])
    assert f"plot.{listed}" in seen and f"plot.{other}" not in seen
    # …while the registry's own map still shows this member nothing of another household.
    assert f"plot.{listed}" not in _ids(client, "/map/features")


def test_the_administrator_sees_the_listed_plot_and_its_neighbours(
    client, auth, family, part_listed
):
    listed, other = family["plots"]
    auth.login("admin_a")
    panel = _panel(client.get(f"/market/{part_listed}").get_data(as_text=True))
    assert panel["selected"] == f"plot.{listed}"
    seen = _ids(client, panel["features"])
    assert {f"plot.{listed}", f"plot.{other}"} <= seen  # the neighbour is shaded


def test_a_whole_contract_listing_highlights_every_plot(client, auth, family, buyers):
    lid = walk.published(family)
    db.session.commit()
    auth.login("farmer_a")  # the holder
    panel = _panel(client.get(f"/market/{lid}").get_data(as_text=True))
    assert set(panel["selected"].split(",")) == {f"plot.{uid}" for uid in family["plots"]}


def test_another_collectives_listing_and_its_map_are_a_404(client, auth, part_listed):
    auth.login("admin_b")
    assert client.get(f"/market/{part_listed}").status_code == 404
    answer = client.get(f"/market/{part_listed}/map/features", query_string={"bbox": COUNTY_BOX})
    assert answer.status_code == 404


def test_the_listing_map_refuses_a_bad_box_plainly(client, auth, part_listed):
    auth.login("buyer_a")
    answer = client.get(f"/market/{part_listed}/map/features", query_string={"bbox": "1,2,x"})
    assert answer.status_code == 422
    assert answer.get_json()["error"]["message"]


def test_a_share_listing_has_no_map(client, auth, ctx, baseline):
    from tests.factories import people as pf
    from tests.factories import shares as share_fx
    from tests.factories.people import link_farmer

    head, household = pf.household(baseline.collective_a, "孙大")
    link_farmer("farmer_a", head.uid)
    holding = share_fx.make(baseline.collective_a, {"household_uid": household.uid})
    lid = listings.create_listing(
        walk.user("farmer_a"),
        "share_holding",
        holding["holding_uid"],
        deal_kind="transfer",
        method="negotiated",
        shares="10",
        asking_price_fen=100_000,
    ).id
    db.session.commit()
    auth.login("farmer_a")
    page = client.get(f"/market/{lid}")
    assert page.status_code == 200
    assert 'class="map-panel"' not in page.get_data(as_text=True)


def test_a_homestead_listing_highlights_the_homestead(client, auth, ctx, baseline):
    from app.registry.homesteads import grant_homestead
    from tests.factories import homesteads as hfx
    from tests.factories import land as land_fx
    from tests.factories import people as pf
    from tests.factories.people import link_farmer

    a = baseline.collective_a
    head, household = pf.household(a, "孙大")
    link_farmer("farmer_a", head.uid)
    x, y = land_fx.origin(a)
    home = grant_homestead(
        household.uid,
        hfx.unit_number(a),
        "plain",
        None,
        approval_number="始兴宅批〔2020〕011号",
        approved_on=land_fx.TODAY,
        geometry=land_fx.geojson(land_fx.square(x, y - 60, side=8.0)),
        crs=land_fx.CRS,
        source_document_id=land_fx.make_document(a),
        reason="测试",
    )
    lid = listings.create_listing(
        walk.user("farmer_a"),
        "homestead",
        home.uid,
        deal_kind="transfer",
        method="negotiated",
        asking_price_fen=8_000_000,
    ).id
    db.session.commit()
    auth.login("farmer_a")
    panel = _panel(client.get(f"/market/{lid}").get_data(as_text=True))
    assert panel["selected"] == f"homestead.{home.uid}"
    assert f"homestead.{home.uid}" in _ids(client, panel["features"])
