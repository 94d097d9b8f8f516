"""The auditor filters the audit trail (issue 15 item 8).

The auditor (`auditor`, at a desk) lands on the audit trail, where the latest entries of every
account show; chooses the hukou officers' role and the settlements they recorded, and sees only
those entries, the filters kept in the form for the next search. Kept as
tests/artifacts/auditor_filters_the_log.png.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

ROLE = "户政民警"
EVENT = "已登记进城落户"


def _rows(page) -> list[str]:
    return page.locator("main table tbody tr").all_inner_texts()


def test_auditor_filters_the_log_by_role_and_event(login):
    page = login("auditor", phone=False)
    assert page.locator("h1").first.inner_text() == "审计日志"
    everyone = _rows(page)
    assert everyone and any(ROLE not in row for row in everyone)  # every account's entries

    filters = page.locator("form.filters")
    filters.locator("select[name=role]").select_option(label=ROLE)
    filters.locator("select[name=event]").select_option(label=EVENT)
    filters.get_by_role("button", name="显示", exact=True).click()
    page.wait_for_url(re.compile(r"[?&]role=settlement_officer"))

    rows = _rows(page)
    assert rows, "no entry of a settlement recorded by a hukou officer"
    assert "没有符合条件的日志" not in page.inner_text("main")
    for row in rows:
        assert ROLE in row, row
        assert EVENT in row, row
    # the form keeps what was chosen
    assert page.input_value("select[name=role]") == "settlement_officer"
    assert page.input_value("select[name=event]") == "settlement.record"
    screenshot(page, "auditor_filters_the_log")
