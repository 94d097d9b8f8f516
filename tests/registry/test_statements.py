"""Rights-retained statements: printed by staff with a verification code and QR code; checked by
anyone without logging in (valid / changed / unknown), never showing personal data (R12)."""

from __future__ import annotations

import re

from app.audit import trail
from app.extensions import db
from app.registry import history, land, people
from app.registry.models import Person, Plot, RightsStatement
from tests.factories import make_world

CODE = re.compile(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}")


def _world(baseline) -> dict:
    with trail.acting(trail.AuditContext(actor="test-setup", role="system")):
        world = make_world(baseline.collective_a)
        db.session.commit()
    return world


def _print(client, auth, person_uid: int, user: str = "officer"):
    auth.logout()
    auth.login(user)
    return client.post("/statements", data={"person_uid": person_uid})


def test_r12_a_statement_stays_valid_through_settlement_and_reports_a_changed_right(
    app, client, auth, ctx, baseline
):
    world = _world(baseline)
    person = world["person_uid"]
    r = _print(client, auth, person)
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    sheet = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "证明已出具并已记录" in sheet  # said once, on screen (print.css hides it on paper)
    assert "证明已出具并已记录" not in client.get(r.headers["Location"]).get_data(as_text=True)
    code = CODE.search(sheet).group(0)
    assert "data:image/svg+xml" in sheet  # the QR code of the public check
    plot = history.current_of(Plot, world["plot_uid"])
    assert plot.dkbm in sheet

    auth.logout()
    public = client.get(f"/verify/{code}")
    assert public.status_code == 200
    text = public.get_data(as_text=True)
    assert 'class="badge ok"' in text
    name = history.current_of(Person, person).name
    assert name not in text  # no personal data on the public page

    # Settling in town changes the person's hukou, not a right: the statement stays valid.
    with trail.acting(trail.AuditContext(actor="officer", role="settlement_officer")):
        people.update_person(person, "进城落户", hukou_type="urban")
        db.session.commit()
    assert 'class="badge ok"' in client.get(f"/verify/{code.lower()}").get_data(as_text=True)

    # A right it lists changes: the check says so.
    with trail.acting(trail.AuditContext(actor="admin_a", role="collective_admin")):
        land.update_plot_attributes(
            plot.uid, source_document_id=plot.source_document_id, reason="更正地块名称", name="新名"
        )
        db.session.commit()
    changed = client.get(f"/verify/{code}").get_data(as_text=True)
    assert 'class="badge bad"' in changed and code in changed


def test_an_unknown_or_garbled_code_is_answered_plainly(client):
    r = client.get("/verify/AAAA-BBBB-CCCC")
    assert r.status_code == 200 and 'class="badge bad"' in r.get_data(as_text=True)
    r = client.get("/verify?code=%3Cscript%3E")
    assert r.status_code == 200 and 'role="alert"' in r.get_data(as_text=True)


def test_another_collectives_admin_cannot_print_or_read_a_statement(app, client, auth, baseline):
    """(No shared app context here: each request must see its own user.)"""
    with app.app_context():
        person = _world(baseline)["person_uid"]
        before = db.session.query(RightsStatement).count()
    assert _print(client, auth, person, "admin_b").status_code == 404
    with app.app_context():
        assert db.session.query(RightsStatement).count() == before
    r = _print(client, auth, person, "admin_a")
    assert r.status_code == 302
    auth.logout()
    auth.login("admin_b")
    assert client.get(r.headers["Location"]).status_code == 404
    auth.logout()
    auth.login("farmer_b")
    assert client.post("/statements", data={"person_uid": person}).status_code == 404
