"""A member makes an offer on a phone (issue 15 item 8).

刘志明 (`member`, a household of 东湖坪第一组) opens the marketplace from the folded menu, finds
李建华's plot (published in the demo, asking ¥28,000), and offers ¥27,500 for his household. The
listing then shows his offer; every page fits the phone. Kept as
tests/artifacts/member_makes_an_offer.png.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot, too_wide

pytestmark = pytest.mark.browser

LISTING = re.compile(r"/market/\d+$")


def test_member_on_a_phone_offers_on_li_jianhuas_plot(login):
    page = login("member")
    fits = []

    def check():
        problem = too_wide(page)
        if problem:
            fits.append(f"{page.url}: {problem}")

    assert page.url.endswith("/my")
    page.locator("summary", has_text="菜单").click()
    page.locator(".menu-phone").get_by_role("link", name="产权交易", exact=True).click()
    page.wait_for_url(re.compile(r"/market/?$"))
    check()

    # 李建华's plot: his household's land, asking ¥28,000
    card = page.locator("main .mk-card", has_text="28,000").filter(has_text="承包地")
    assert card.count() >= 1
    card.first.locator("a.mk-card-link").click()
    page.wait_for_url(LISTING)
    check()
    assert "已发布：接受报价" in page.inner_text(".mk-facts")

    page.get_by_role("link", name="报价", exact=True).click()
    page.wait_for_url(re.compile(r"/market/\d+/offer$"))
    check()
    household = page.locator("select[name=household] option")
    assert household.count() == 1  # he offers only for his own household
    page.fill("input[name=amount]", "27500")
    send = page.get_by_role("button", name="提交报价")
    assert send.bounding_box()["height"] >= 44  # sized for a finger
    send.click()

    page.wait_for_url(LISTING)
    check()
    assert "报价已登记" in page.inner_text(".flash")
    mine = page.inner_text("#offers")
    assert "我的报价" in mine
    assert "27,500" in mine
    screenshot(page, "member_makes_an_offer")
    assert not fits, "\n".join(fits)
