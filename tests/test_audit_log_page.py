"""The auditor's log page: paged, filtered, each change in words; bad filters get a message."""

from __future__ import annotations

import re

from app.audit import trail
from app.extensions import db
from app.registry import people
from tests.factories import people as pf


def _seqs(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td[^>]*class="num"[^>]*>(\d+)</td>', html)]


def test_the_auditor_filters_by_account_and_record_and_reads_the_change(
    app, client, auth, ctx, baseline
):
    with trail.acting(trail.AuditContext(actor="admin_a", role="collective_admin")):
        person = pf.member(baseline.collective_a, "周小梅", female=True)
        people.update_person(person.uid, reason="更正姓名", name="周晓梅")
        db.session.commit()
    auth.login("auditor")
    page = client.get("/audit/?actor=admin_a&object_type=person")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    from app.audit import browse
    from app.audit.models import AuditEntry

    newest = db.session.get(AuditEntry, _seqs(html)[0])
    assert ("name", "周小梅", "周晓梅") in browse.changes(newest)  # the new version vs the old
    seqs = _seqs(html)
    assert seqs and seqs == sorted(seqs, reverse=True)
    nobody = client.get("/audit/?actor=nobody-at-all").get_data(as_text=True)
    assert _seqs(nobody) == []


def test_the_log_pages_by_entry_number(app, client, auth, ctx, baseline):
    auth.login("auditor")
    first = _seqs(client.get("/audit/").get_data(as_text=True))
    assert len(first) == 100  # the baseline alone writes more than a page
    older = client.get(f"/audit/?before={first[-1]}").get_data(as_text=True)
    assert _seqs(older) and max(_seqs(older)) < first[-1]


def test_bad_filters_are_refused_beside_the_field_not_a_500(client, auth, ctx, baseline):
    auth.login("auditor")
    r = client.get("/audit/?since=yesterday&before=-4&role=king")
    assert r.status_code == 200
    assert _seqs(r.get_data(as_text=True)) == []
    assert r.get_data(as_text=True).count('role="alert"') >= 2


def test_only_auditors_read_the_log(client, auth, ctx, baseline):
    for user in ("admin_a", "bureau", "farmer_a", "sysadmin"):
        auth.login(user)
        assert client.get("/audit/?actor=admin_a").status_code == 404
