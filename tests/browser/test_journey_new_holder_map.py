"""The new holder shows on the map (issue 15 item 8).

The demo registered one plot transfer between two households of 东湖坪第一组. The collective's
administrator (`village_admin`, at a desk) finds it among the completed listings, reads the plot
and the buying household on its attestation, opens that household's page from the collective's
list, and sees the plot among the household's plots and on the live map, drawn as the
household's own. Kept as tests/artifacts/new_holder_on_the_map.png.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

# The plot with this code on the page's map: whose it is, and whose page the map is on.
HELD = """code => {
  const el = document.querySelector('.map-panel');
  if (!el || !el.olMap) return null;
  const layers = el.olMap.getLayers().getArray();
  const features = layers[layers.length - 1].getSource().getFeatures();
  const plot = features.find(f => f.get('kind') === 'plot' && f.get('code') === code);
  if (!plot) return null;
  return {holder: String(plot.get('household_uid')), page: el.dataset.household,
          features: features.length};
}"""


def test_the_buyer_household_page_shows_the_transferred_plot_on_its_map(login):
    page = login("village_admin", phone=False)
    page.locator(".menu-wide").get_by_role("link", name="产权交易", exact=True).click()
    page.select_option("select[name=state]", label="已完成")
    page.select_option("select[name=right_kind]", label="承包地")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"[?&]state=completed"))
    card = page.locator("main .mk-card", has_text="转让给成员户")
    assert card.count() >= 1
    card.first.locator("a.mk-card-link").click()
    page.wait_for_url(re.compile(r"/market/\d+$"))

    page.get_by_role("link", name="交易鉴证书（可打印）").click()
    page.wait_for_url(re.compile(r"/market/\d+/attestation$"))
    sheet = page.inner_text(".mk-attestation")
    code = re.search(r"地块\s*([0-9]{19})", sheet).group(1)
    buyer = page.locator(".mk-attestation dt", has_text="受让方").locator(
        "xpath=following-sibling::dd[1]"
    )
    household_code = re.search(r"（([0-9]{18})）", buyer.inner_text()).group(1)

    # the buying household, from the collective's list of households
    page.locator(".menu-wide").get_by_role("link", name="集体经济组织", exact=True).click()
    page.get_by_role("link", name="东湖坪村第一村民小组", exact=True).click()
    page.locator("tr", has_text=household_code).get_by_role("link").click()
    page.wait_for_url(re.compile(r"/households/\d+$"))
    assert code in page.inner_text("main")  # among the household's plots

    page.wait_for_selector(".map-panel.map-live .map-canvas canvas")
    page.wait_for_function(HELD, arg=code)
    held = page.evaluate(HELD, code)
    assert held["holder"] == held["page"]  # drawn as this household's own plot
    assert held["features"] >= 2  # with the household's other plots and the neighbours
    assert page.is_visible(".ol-scale-line")
    assert "本户的地块" in page.inner_text(".map-legend")
    screenshot(page, "new_holder_on_the_map")
