"""The county bureau approves a flagged share transfer (issue 15 item 8).

The bureau's reviewer (`bureau`, at a desk) opens the market queue, finds the share transfer
between two households of 东湖坪第一组 waiting for the county's review (the seller's head settled
in town shortly before declaring, so the deal is flagged, R14), reads the flag, and approves with
a reason, the decision on the flag and that the holder was interviewed in person. The listing
then goes on to the contract and shows the bureau's decision. Kept as
tests/artifacts/bureau_approves_a_flagged_transfer.png.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

LISTING = re.compile(r"/market/\d+$")
FLAG_DECISION = "已当面询问转让方：在城镇务工、自愿转让股份，与落户无关。同意。"


def test_bureau_approves_the_flagged_share_transfer_with_its_flag_decision(login):
    page = login("bureau", phone=False)
    page.locator(".menu-wide").get_by_role("link", name="交易待办", exact=True).click()
    page.wait_for_url("**/market/queue")
    card = page.locator("main .mk-card", has_text="集体收益分配权")
    assert card.count() >= 1
    card.first.locator("a.mk-card-link").click()
    page.wait_for_url(LISTING)
    assert "县农业农村局审核中" in page.inner_text(".mk-facts")

    page.get_by_role("link", name="审核", exact=True).click()
    page.wait_for_url(re.compile(r"/market/\d+/review$"))
    flagged = page.locator("section.changed-since")
    assert "需重点审核" in flagged.inner_text()
    assert flagged.locator("li").count() >= 1

    # the decision, its reason, the decision on the flag and the interview
    page.get_by_label("同意", exact=True).check()
    page.fill("textarea[name=reason]", "受让方为本集体成员户，持股未超上限，材料齐全。")
    page.get_by_label("您对提示事项的决定及理由").fill(FLAG_DECISION)
    page.get_by_label("是，已当面询问").check()
    page.get_by_role("button", name="提交审核意见").click()

    page.wait_for_url(LISTING)
    assert "您的审核意见已登记" in page.inner_text(".flash")
    assert "签订合同与付款" in page.inner_text(".mk-facts")
    decision = page.locator("#deal .changed-since", has_text="县局对提示事项的决定")
    assert FLAG_DECISION in decision.inner_text()
    assert "是，已当面询问" in decision.inner_text()
    screenshot(page, "bureau_approves_a_flagged_transfer")
