"""The hukou officer records a settlement and prints the rights-retained statement from the
desk; anyone checks its code without logging in (issue 13, "Done when")."""

from __future__ import annotations

import re

from tests.settlement.test_pages import _form, _id_number


def test_the_officer_records_a_settlement_and_prints_a_statement_anyone_can_check(
    client, auth, family
):
    auth.login("officer")
    person_url = f"/settlement/people/{family['head']}"
    assert client.get("/settlement", query_string={"id_number": _id_number(family["head"])})
    assert 'action="/statements"' not in client.get(person_url).get_data(as_text=True)
    assert client.post(person_url, data=_form(family)).status_code == 302
    page = client.get(person_url).get_data(as_text=True)
    assert 'action="/statements"' in page  # offered once a settlement is recorded
    r = client.post("/statements", data={"person_uid": family["head"]})
    assert r.status_code == 302
    sheet = client.get(r.headers["Location"]).get_data(as_text=True)
    code = re.search(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", sheet).group(0)
    assert "data:image/svg+xml" in sheet
    auth.logout()
    check = client.get(f"/verify/{code}").get_data(as_text=True)
    assert 'class="badge ok"' in check
