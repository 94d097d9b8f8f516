"""Correcting a person's data: a new version with a reason, from the page and the API alike."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit import trail
from app.extensions import db
from app.registry import history
from app.registry.models import Membership, Person
from tests.conftest import token_for
from tests.factories import people as fx


@pytest.fixture
def person_a(app, baseline):
    with app.app_context(), trail.acting(trail.AuditContext(actor="factory", role="system")):
        head, hh = fx.household(baseline.collective_a, "王小明")
        db.session.commit()
        return head.uid


def test_r12_admin_records_settlement_in_town_as_a_new_version(client, auth, person_a):
    auth.login("admin_a")
    page = client.get(f"/persons/{person_a}")
    assert "更正个人信息" in page.get_data(as_text=True)
    r = client.post(
        f"/persons/{person_a}/edit",
        data={
            "name": "王小明",
            "hukou_type": "urban",
            "hukou_place": "始兴县太平镇",
            "phone": "",
            "reason": "已进城落户",
        },
    )
    assert r.status_code == 302
    versions = history.versions(Person, person_a)
    assert [v.hukou_type for v in versions] == ["rural", "urban"]
    assert versions[-1].change_reason == "已进城落户"
    # R12: settling in town leaves the membership as it was.
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.person_uid == person_a, Membership.end_lifespan.is_(None))
        )
        == 1
    )


def test_edit_without_a_reason_is_refused_and_writes_nothing(client, auth, person_a):
    auth.login("admin_a")
    r = client.post(
        f"/persons/{person_a}/edit",
        data={
            "name": "王晓明",
            "hukou_type": "rural",
            "hukou_place": "",
            "phone": "",
            "reason": "",
        },
    )
    assert r.status_code == 422
    assert len(history.versions(Person, person_a)) == 1


@pytest.mark.authz
@pytest.mark.parametrize("username", ["admin_b", "bureau", "farmer_a"])
def test_only_the_persons_own_admin_may_edit(client, auth, person_a, username):
    auth.login(username)
    assert client.get(f"/persons/{person_a}/edit").status_code == 404


def test_api_patch_corrects_a_name_with_a_reason(app, client, person_a):
    headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    r = client.patch(
        f"/api/v1/persons/{person_a}",
        json={"name": "王晓明", "reason": "更正姓名"},
        headers=headers,
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["name"] == "王晓明"
    assert [v.name for v in history.versions(Person, person_a)] == ["王小明", "王晓明"]


@pytest.mark.hostile
@pytest.mark.parametrize(
    "body,code",
    [
        ({"name": "王晓明"}, "required"),
        ({"name": "王晓明", "reason": "x", "today": "1990-01-01"}, "body"),
        ({"reason": "x", "id_number": "440222196804127130"}, None),
        ([], "body"),
    ],
)
def test_api_patch_refuses_bad_bodies_with_a_clear_error(app, client, person_a, body, code):
    headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    r = client.patch(f"/api/v1/persons/{person_a}", json=body, headers=headers)
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["message"]
    if code:
        assert err["code"] == code
    assert len(history.versions(Person, person_a)) == 1
