"""The hukou officer records a settlement and prints a rights-retained statement (issue 15
item 8).

A villager of 东湖坪第二组 comes to the hukou desk with the resident ID card: the test reads the
number where the collective's administrator (`village_admin`) sees it in full, on the household's
page (nobody of that group is settled in the demo, and no other journey uses it). The officer
(`hukou`, at a desk) finds the person by the number, records that they settled in 广州市天河区
for work, with the hukou transfer paper from the collective's documents, and prints the statement
of the rights the household keeps: its page shows the person and a verification code, and its
PDF holds both. Kept as tests/artifacts/hukou_prints_a_statement.png.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

ID_NUMBER = re.compile(r"(?<![0-9])([0-9]{17}[0-9X])(?![0-9X])")


def _id_number_of_a_villager(login) -> str:
    page = login("village_admin", phone=False)
    page.locator(".menu-wide").get_by_role("link", name="集体经济组织", exact=True).click()
    page.get_by_role("link", name="东湖坪村第二村民小组", exact=True).click()
    page.locator("tr", has_text="440222100205020003").get_by_role("link").click()
    page.wait_for_url(re.compile(r"/households/\d+$"))
    members = page.locator("main table").first.inner_text()
    found = ID_NUMBER.search(members)
    assert found, members
    return found.group(1)


def test_hukou_officer_records_a_settlement_and_prints_the_statement(login):
    id_number = _id_number_of_a_villager(login)

    page = login("hukou", phone=False)
    assert page.locator("h1").first.inner_text() == "落户登记"
    page.get_by_label("公民身份号码").fill(id_number)
    page.get_by_role("button", name="查找").click()
    page.wait_for_url(re.compile(r"/settlement/people/\d+$"))
    name = page.locator("h1").first.inner_text().split("·")[-1].strip()
    assert name
    assert "此人还没有落户登记" in page.inner_text("main")

    settled_on = date.today() - timedelta(days=40)
    page.fill("input[name=settled_on]", settled_on.isoformat())
    page.get_by_label("落户城市").fill("广州市")
    page.get_by_label("落户区（县）").fill("天河区")
    page.get_by_label("落户方式").select_option(label="就业落户")
    documents = page.locator("select[name=source_document_id] option")
    assert documents.count() >= 2  # "— choose —" and the collective's papers
    page.select_option("select[name=source_document_id]", index=1)
    page.get_by_role("button", name="登记", exact=True).click()

    page.wait_for_url(re.compile(r"/settlement/people/\d+$"))
    assert "落户已登记，任何权利均未改变" in page.inner_text(".flash")
    records = page.inner_text("main table")
    assert settled_on.isoformat() in records
    assert "广州市" in records and "就业落户" in records

    # the rights-retained statement: its page, then its PDF
    page.get_by_role("button", name="打印权益保留证明").click()
    page.wait_for_url(re.compile(r"/statements/\d+$"))
    sheet = page.inner_text(".statement-sheet")
    assert "权益保留证明" in sheet
    assert name in sheet
    code = page.inner_text(".cert-number .code").strip()
    assert len(code) >= 6
    screenshot(page, "hukou_prints_a_statement")

    href = page.get_by_role("link", name="下载PDF").get_attribute("href")
    response = page.request.get(href)
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/pdf")
    reader = PdfReader(io.BytesIO(response.body()))
    text = re.sub(r"\s+", "", "".join(p.extract_text() or "" for p in reader.pages))
    assert code.replace(" ", "") in text
    assert name in text
