"""The farmer's journey on a phone (issue 15 item 8, the pattern for the other roles' journeys).

李建华 (`farmer`) holds his phone (390x844): he opens his household, goes to his listings, lists
ten of his household's shares for a negotiated transfer at an asking price (his land contract is
already listed in the demo), reads what he keeps and gives up, and declares it his free choice.
Every page on the way fits the screen; the journey's last page is kept as
tests/artifacts/farmer_lists_a_right.png.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot, too_wide

pytestmark = pytest.mark.browser


def test_farmer_on_a_phone_lists_shares_and_declares_it_voluntary(login):
    page = login("farmer")
    fits = []  # pages that scroll sideways, with what sticks out

    def check():
        problem = too_wide(page)
        if problem:
            fits.append(f"{page.url}: {problem}")

    # his household: the members and the rights, on the landing page
    assert page.url.endswith("/my")
    assert page.locator("h1").first.inner_text() == "我的家庭"
    assert "岭背田" in page.inner_text("main")
    check()

    # the menu is folded under a button on a phone: open it, go to his listings
    assert not page.get_by_role("link", name="我的挂牌").first.is_visible()
    page.locator("summary", has_text="菜单").click()
    page.locator(".menu-phone").get_by_role("link", name="我的挂牌").click()
    page.wait_for_url("**/market/mine")
    check()

    page.get_by_role("link", name="挂牌一项权利").click()
    page.wait_for_url("**/market/new")
    check()
    shares = page.locator("select[name=right] option", has_text="股份").get_attribute("value")
    page.select_option("select[name=right]", value=shares)
    page.fill("input[name=shares]", "10")
    page.get_by_label("转让给本集体的成员户").check()
    page.get_by_label(re.compile("协议转让")).check()
    page.fill("input[name=price]", "12000")
    page.fill("textarea[name=description]", "本户集体收益分配股份中的 10 股。")
    submit = page.get_by_role("button", name="保存为草稿")
    assert submit.bounding_box()["height"] >= 44  # sized for a finger
    submit.click()

    # the declaration: what he keeps and what he gives up, then his free choice
    page.wait_for_url(re.compile(r"/market/\d+/declare$"))
    check()
    assert "挂牌已保存为草稿" in page.inner_text(".flash")
    assert "10" in page.inner_text("main")
    statement = page.inner_text(".mk-statement")
    assert len(statement) > 40
    page.locator("input[name=free]").check()
    page.get_by_role("button", name="我声明本次挂牌出于自愿").click()

    page.wait_for_url(re.compile(r"/market/\d+$"))
    check()
    assert "您的声明已登记" in page.inner_text(".flash")
    assert "12,000" in page.inner_text("main")
    screenshot(page, "farmer_lists_a_right")

    # …and his listings now show it beside the demo's plot listing
    page.goto("/market/mine")
    assert page.locator("main .mk-card").count() >= 2
    check()
    assert not fits, "\n".join(fits)
