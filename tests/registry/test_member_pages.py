"""Pages for the membership services: end a membership, move a member, remove a member; and
the "do this next" links of the household page (add a person, new contract, grant a homestead)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit import trail
from app.audit.models import AuditEntry
from app.core.calendar import county_today
from app.extensions import db
from app.registry import history, people
from app.registry.models import HouseholdMember, Membership, SourceDocument
from tests.conftest import token_for
from tests.factories import people as fx

pytestmark = pytest.mark.authz


class W(dict):
    __getattr__ = dict.__getitem__


@pytest.fixture
def world(ctx, baseline) -> W:
    a = baseline.collective_a
    head, hh = fx.household(a, "李大山")
    wife = fx.member(a, "陈秀英", female=True)
    people.add_household_member(hh.uid, wife.uid, "10", True, "婚入")
    head2, hh2 = fx.household(a, "周志明")
    with trail.because("test.document"):
        doc = SourceDocument(
            collective_id=a, kind="declaration", title="书面同意", sha256="ab" * 32
        )
        # Art. 31: a co-holder leaves a household's land only with land at the new residence
        land_doc = SourceDocument(
            collective_id=a,
            kind="land_at_new_residence",
            title="新居住地已分配承包地证明",
            sha256="cd" * 32,
        )
        db.session.add_all([doc, land_doc])
        db.session.flush()
    membership = people.open_membership(wife.uid, a)
    fx.link_farmer("farmer_a", head.uid)
    return W(
        a=a,
        hh=hh.uid,
        hh2=hh2.uid,
        head=head.uid,
        wife=wife.uid,
        doc=doc.id,
        land_doc=land_doc.id,
        membership=membership.uid,
    )


def _text(r) -> str:
    return r.get_data(as_text=True)


def _rows(person_uid: int) -> list[HouseholdMember]:
    return list(
        db.session.scalars(
            select(HouseholdMember).where(
                HouseholdMember.person_uid == person_uid, HouseholdMember.end_lifespan.is_(None)
            )
        )
    )


def _audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def test_r01_household_and_person_pages_link_to_move_remove_and_end(world, client, auth):
    auth.login("admin_a")
    page = _text(client.get(f"/households/{world.hh}"))
    assert f"/persons/{world.wife}/move" in page
    assert f"/households/{world.hh}/members/{world.wife}/remove" in page
    assert f"/households/{world.hh}/members/{world.head}/remove" not in page  # the head stays
    person = _text(client.get(f"/persons/{world.wife}"))
    assert f"/memberships/{world.membership}/end" in person
    assert f"/persons/{world.wife}/move" in person


def test_r01_move_page_moves_the_member_who_keeps_co_holding(world, client, auth):
    auth.login("admin_a")
    url = f"/persons/{world.wife}/move"
    form = client.get(url)
    assert form.status_code == 200 and 'name="csrf_token"' in _text(form)
    r = client.post(
        url,
        data={
            "to_household_uid": world.hh2,
            "relation": "10",
            "is_co_holder": "y",
            "keep_co_holding": "y",
            "source_document_id": 0,
            "reason": "婚嫁迁入",
        },
    )
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/households/{world.hh2}")
    rows = {row.household_uid: row for row in _rows(world.wife)}
    assert rows[world.hh2].moved_out_on is None
    assert rows[world.hh].moved_out_on is not None and rows[world.hh].is_co_holder  # Art. 31


def test_r01_removing_a_co_holder_without_a_document_is_refused_and_writes_nothing(
    world, client, auth
):
    auth.login("admin_a")
    url = f"/households/{world.hh}/members/{world.wife}/remove"
    before = _audit_count()
    r = client.post(url, data={"source_document_id": 0, "reason": "离婚"})
    assert r.status_code == 422
    # the message names the evidence the law asks for, not a rule id
    assert "新居住地已分配承包地证明" in _text(r)
    assert "R01" not in _text(r)
    assert _audit_count() == before and len(_rows(world.wife)) == 1
    r = client.post(url, data={"source_document_id": world.land_doc, "reason": "离婚"})
    assert r.status_code == 302
    assert _rows(world.wife) == []


def test_end_membership_page_ends_it_and_keeps_the_rights(world, client, auth):
    auth.login("admin_a")
    url = f"/memberships/{world.membership}/end"
    assert client.get(url).status_code == 200
    r = client.post(
        url,
        data={
            "until": county_today().isoformat(),
            "end_reason": "civil_servant",
            "source_document_id": world.doc,
            "reason": "考录公务员",
        },
    )
    assert r.status_code == 302
    assert people.open_membership(world.wife, world.a) is None
    assert len(_rows(world.wife)) == 1  # still in the household: ending takes no right (R06)
    ended = history.versions(Membership, world.membership)[-1]
    assert ended.end_reason == "civil_servant"


def test_end_membership_refuses_a_date_before_it_began(world, client, auth):
    auth.login("admin_a")
    r = client.post(
        f"/memberships/{world.membership}/end",
        data={"until": "1970-01-01", "end_reason": "death", "source_document_id": 0, "reason": "x"},
    )
    assert r.status_code == 422
    assert people.open_membership(world.wife, world.a) is not None


@pytest.mark.parametrize("username", ["admin_b", "bureau", "auditor", "farmer_a"])
def test_the_forms_are_404_for_everyone_but_the_collectives_admin(world, client, auth, username):
    auth.login(username)
    for url in (
        f"/memberships/{world.membership}/end",
        f"/persons/{world.wife}/move",
        f"/households/{world.hh}/members/{world.wife}/remove",
    ):
        assert client.get(url).status_code == 404, url


def test_household_without_rights_links_to_new_contract_homestead_and_new_person(
    world, client, auth
):
    auth.login("admin_a")
    page = _text(client.get(f"/households/{world.hh2}"))
    assert f"/collectives/{world.a}/contracts/new?household_uid={world.hh2}" in page
    assert f"/households/{world.hh2}/homestead/new" in page
    assert f"/collectives/{world.a}/persons/new?household_uid={world.hh2}" in page
    assert (
        client.get(f"/collectives/{world.a}/contracts/new?household_uid={world.hh2}").status_code
        == 200
    )


def test_farmer_sees_no_admin_actions_on_own_household(world, client, auth):
    auth.login("farmer_a")
    page = _text(client.get("/my"))
    for path in ("/move", "/remove", "/contracts/new", "/homestead/new", "/persons/new"):
        assert path not in page


def test_a_new_person_registered_from_the_household_is_offered_for_it(
    world, client, auth, baseline
):
    auth.login("admin_a")
    data = {
        "name": "李小明",
        "id_number": fx.id_number(date(2010, 5, 1)),
        "sex": "",
        "hukou_type": "rural",
        "since": "2010-05-01",
        "basis": "birth",
        "reason": "出生",
    }
    r = client.post(f"/collectives/{world.a}/persons/new?household_uid={world.hh}", data=data)
    assert r.status_code == 302
    assert f"/households/{world.hh}/members/new?person_uid=" in r.headers["Location"]
    form = _text(client.get(r.headers["Location"]))
    assert "selected" in form and "李小明" in form


# --- the same services over the JSON API


def _bearer(app, username: str) -> dict:
    return {"Authorization": f"Bearer {token_for(app, username)}"}


def test_r01_api_move_remove_and_end_call_the_same_services(world, app, client):
    admin = _bearer(app, "admin_a")
    r = client.post(
        f"/api/v1/persons/{world.wife}/move",
        json={"to_household_uid": world.hh2, "reason": "婚嫁迁入"},
        headers=admin,
    )
    assert r.status_code == 200, r.json
    assert r.json["household_uid"] == world.hh2 and r.json["is_co_holder"]
    kept = {row.household_uid: row for row in _rows(world.wife)}[world.hh]
    assert kept.moved_out_on is not None  # Art. 31: co-holding of the old household is kept
    r = client.post(
        f"/api/v1/households/{world.hh}/members/{world.wife}/remove",
        json={"reason": "离婚"},
        headers=admin,
    )
    assert r.status_code == 422 and r.json["error"]["field"] == "source_document_id"
    r = client.post(
        f"/api/v1/households/{world.hh}/members/{world.wife}/remove",
        json={"reason": "离婚后在新居住地分得承包地", "source_document_id": world.land_doc},
        headers=admin,
    )
    assert r.status_code == 200 and r.json["current"] is False
    r = client.post(
        f"/api/v1/memberships/{world.membership}/end",
        json={"until": county_today().isoformat(), "end_reason": "renounced", "reason": "书面放弃"},
        headers=admin,
    )
    assert r.status_code == 200 and r.json["end_reason"] == "renounced"


def test_api_membership_changes_are_404_for_another_collectives_admin(world, app, client):
    other = _bearer(app, "admin_b")
    # Well-formed bodies: the 404 is about whose objects these are, not about the body.
    for url, body in (
        (f"/api/v1/persons/{world.wife}/move", {"to_household_uid": world.hh2}),
        (f"/api/v1/households/{world.hh}/members/{world.wife}/remove", {}),
        (
            f"/api/v1/memberships/{world.membership}/end",
            {"until": county_today().isoformat(), "end_reason": "renounced"},
        ),
    ):
        r = client.post(url, json={**body, "reason": "x"}, headers=other)
        assert r.status_code == 404, url
