"""The collective consents and the township approves (issue 15 item 8).

Two deals of 东湖坪第一组 wait for the collective's consent in the demo (app/demo/market.py): a
plot household 4 sells to household 6, and the homestead household 11 sells to household 9. 刘秀英
(`village_admin`, at a desk) takes each from her market queue:

* the plot: she records the collective's consent (发包方) with its reason, and the listing goes on
  to the county bureau's review, the consent and its reason in its steps. Kept as
  tests/artifacts/village_admin_consents_for_the_collective.png;
* the homestead: she records the collective's consent, which sends it to the township; when the
  township's written approval comes back she uploads it to the collective's source documents
  (from the township page's link), picks it on the township page and records the approval; the
  listing goes on to the bureau's review, the township's approval in its steps with the written
  approval attached. Kept as
  tests/artifacts/village_admin_records_the_township_approval.png.
"""

from __future__ import annotations

import re

import pytest

from app.demo.pdf import minimal_pdf
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

LISTING = re.compile(r"/market/\d+$")
PLOT_PRICE = "36,000"  # the asking prices, as the pages write them: no other demo listing asks them
HOMESTEAD_PRICE = "88,000"
CONSENT = "受让方为本组成员户，地块不改变农业用途，发包方同意转让。"
HOMESTEAD_CONSENT = "受让户为本组成员户且无宅基地，符合一户一宅，同意，报镇政府审批。"
TOWNSHIP = "镇人民政府批复同意该宅基地在本集体成员户之间转让。"
APPROVAL_TITLE = "太平镇人民政府关于同意宅基地转让的批复"


def _open_from_the_queue(page, price: str, right: str) -> str:
    """From the menu's market queue, the card of the listing asking ``price``; its URL."""
    page.locator(".menu-wide").get_by_role("link", name="交易待办", exact=True).click()
    page.wait_for_url("**/market/queue")
    card = page.locator("main .mk-card", has_text=price).filter(has_text=right)
    assert card.count() == 1
    assert "等待发包方同意" in card.inner_text()
    card.locator("a.mk-card-link").click()
    page.wait_for_url(LISTING)
    assert "等待发包方同意" in page.inner_text(".mk-facts")
    return page.url


def _decide(page, reason: str) -> None:
    """On a decision page: approve, with the reason."""
    page.get_by_label("同意", exact=True).check()
    page.fill("textarea[name=reason]", reason)
    page.get_by_role("button", name="登记决定").click()
    page.wait_for_url(LISTING)
    assert "决定已登记" in page.inner_text(".flash")


def _step(page, what: str):
    """The listing's step that reads ``what`` (its history, under 办理环节)."""
    step = page.locator(
        ".mk-steps li", has=page.locator("strong", has_text=re.compile(f"^{what}$"))
    )
    assert step.count() == 1, f"{what}: {step.count()} steps"
    return step


def test_village_admin_records_the_collectives_consent_to_a_plot_transfer(login):
    page = login("village_admin", phone=False)
    _open_from_the_queue(page, PLOT_PRICE, "承包地")

    page.get_by_role("link", name="集体同意", exact=True).click()
    page.wait_for_url(re.compile(r"/market/\d+/collective-consent$"))
    assert "已接受的报价" in page.inner_text("main")
    assert PLOT_PRICE in page.inner_text("main")
    _decide(page, CONSENT)

    assert "县农业农村局审核中" in page.inner_text(".mk-facts")
    assert not page.get_by_role("link", name="集体同意", exact=True).count()
    consent = _step(page, "集体已同意")
    assert "县农业农村局审核中" in consent.inner_text()
    assert CONSENT in consent.inner_text()
    screenshot(page, "village_admin_consents_for_the_collective")


def test_village_admin_takes_a_homestead_through_the_collective_and_the_township(login):
    page = login("village_admin", phone=False)
    listing = _open_from_the_queue(page, HOMESTEAD_PRICE, "宅基地")

    # the collective's consent sends a homestead to the township
    page.get_by_role("link", name="集体同意", exact=True).click()
    page.wait_for_url(re.compile(r"/market/\d+/collective-consent$"))
    _decide(page, HOMESTEAD_CONSENT)
    assert "等待乡镇审批" in page.inner_text(".mk-facts")
    assert HOMESTEAD_CONSENT in _step(page, "集体已同意，报乡镇审批").inner_text()

    # the township's written approval: uploaded to the collective's documents from the page
    page.get_by_role("link", name="乡镇审批", exact=True).click()
    page.wait_for_url(re.compile(r"/market/\d+/township$"))
    assert not page.locator("select[name=document] option", has_text=APPROVAL_TITLE).count()
    page.locator("main").get_by_role("link", name="来源材料").click()
    page.wait_for_url(re.compile(r"/collectives/\d+/documents$"))
    page.select_option("select[name=kind]", value="approval")
    page.fill("input[name=title]", APPROVAL_TITLE)
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "pifu.pdf", "mimeType": "application/pdf", "buffer": minimal_pdf("ok")}],
    )
    page.get_by_role("button", name="上传", exact=True).click()
    page.wait_for_url(re.compile(r"/documents/\d+$"))
    assert APPROVAL_TITLE in page.inner_text("main")

    # back to the listing: the township's approval, with its written approval attached
    page.goto(listing)
    assert "等待乡镇审批" in page.inner_text(".mk-facts")
    page.get_by_role("link", name="乡镇审批", exact=True).click()
    page.wait_for_url(re.compile(r"/market/\d+/township$"))
    approval = page.locator("select[name=document] option", has_text=APPROVAL_TITLE)
    assert approval.count() == 1
    page.select_option("select[name=document]", value=approval.get_attribute("value"))
    _decide(page, TOWNSHIP)

    assert "县农业农村局审核中" in page.inner_text(".mk-facts")
    township = _step(page, "乡镇已批准")
    assert "县农业农村局审核中" in township.inner_text()
    assert TOWNSHIP in township.inner_text()
    assert township.get_by_role("link", name=APPROVAL_TITLE).count() == 1
    assert not page.get_by_role("link", name="乡镇审批", exact=True).count()
    screenshot(page, "village_admin_records_the_township_approval")
