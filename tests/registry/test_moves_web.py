"""Moves awaiting countersign over HTTP: request on the plot page, the 待会签 list and move page,
countersign / refuse / withdraw as the users who may, and the JSON API (same service)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.registry import history
from app.registry.models import Homestead, LandContract, Plot, RightMove
from tests.conftest import token_for
from tests.factories import homesteads as hb
from tests.factories import land as fx

pytestmark = pytest.mark.authz


class W(dict):
    __getattr__ = dict.__getitem__


@pytest.fixture
def world(ctx, baseline) -> W:
    a, b = baseline.collective_a, baseline.collective_b
    made = fx.make(a, {})
    other = fx.contract(a)
    made_b = fx.make(b, {})
    homestead = hb.make(a, {})["homestead_uid"]
    return W(
        a=a,
        plot=made["plot_uid"],
        contract=made["contract_uid"],
        other=other.uid,
        other_household=other.household_uid,
        doc=fx.make_document(a),
        plot_b=made_b["plot_uid"],
        contract_b=made_b["contract_uid"],
        doc_b=fx.make_document(b),
        homestead=homestead,
        heir=hb.household(a, name="赵六户"),
    )


def text(r) -> str:
    return r.get_data(as_text=True)


def bearer(app, username: str) -> dict:
    return {"Authorization": f"Bearer {token_for(app, username)}"}


def move_plot(client, world, **extra):
    return client.post(
        f"/plots/{world.plot}/contract",
        data={
            "contract_uid": str(world.other),
            "source_document_id": str(world.doc),
            "reason": "确权时错登",
            **extra,
        },
    )


def test_r01_plot_page_move_without_basis_is_refused_in_plain_words(world, client, auth):
    auth.login("admin_a")
    page = text(client.get(f"/plots/{world.plot}"))
    assert "法定依据" in page and "登记错误更正" in page
    r = move_plot(client, world)
    assert r.status_code == 422
    assert "自愿转让和有偿退出须通过交易流程办理" in text(r)
    assert "basis_required" not in text(r) and "R03" not in text(r)
    assert history.current_of(Plot, world.plot).contract_uid == world.contract


def test_plot_move_flow_request_countersign(world, client, auth):
    auth.login("admin_a")
    r = move_plot(client, world, basis="correction")
    assert r.status_code == 302
    move_url = r.headers["Location"]
    move_id = int(re.search(r"/moves/(\d+)", move_url).group(1))
    page = text(client.get(move_url))
    assert "等待会签" in page and "登记错误更正" in page and "确权时错登" in page
    # the requester sees no countersign button, and may not post one
    assert "/countersign" not in page and "/withdraw" in page
    assert client.post(f"{move_url}/countersign").status_code == 404
    assert history.current_of(Plot, world.plot).contract_uid == world.contract
    # the collective admin's list shows the request
    assert move_url in text(client.get("/moves"))
    auth.logout()

    auth.login("bureau")
    listing = text(client.get("/moves"))
    assert "待会签" in listing and move_url in listing
    page = text(client.get(move_url))
    contract_code = db.session.scalar(
        select(LandContract.cbhtbm).where(LandContract.uid == world.contract)
    )
    other_code = db.session.scalar(
        select(LandContract.cbhtbm).where(LandContract.uid == world.other)
    )
    assert contract_code in page and other_code in page  # before / after
    assert "/countersign" in page and "/refuse" in page
    r = client.post(f"{move_url}/countersign")
    assert r.status_code == 302
    assert "已会签并生效" in text(client.get(move_url))
    now = history.current_of(Plot, world.plot)
    assert now.contract_uid == world.other and now.household_uid == world.other_household
    assert db.session.get(RightMove, move_id).decided_by == "bureau"
    # a second countersign is refused plainly
    r = client.post(f"{move_url}/countersign")
    assert r.status_code == 422 and "没有作任何更改" in text(r)


def test_refuse_needs_a_reason_then_ends_the_request(world, client, auth):
    auth.login("admin_a")
    move_url = move_plot(client, world, basis="court_ruling").headers["Location"]
    auth.logout()
    auth.login("bureau")
    r = client.post(f"{move_url}/refuse", data={"reason": ""})
    assert r.status_code == 422
    r = client.post(f"{move_url}/refuse", data={"reason": "判决书未生效"})
    assert r.status_code == 302
    page = text(client.get(move_url))
    assert "已驳回" in page and "判决书未生效" in page
    assert history.current_of(Plot, world.plot).contract_uid == world.contract


def test_withdraw_by_the_requester(world, client, auth):
    auth.login("admin_a")
    move_url = move_plot(client, world, basis="court_ruling").headers["Location"]
    r = client.post(f"{move_url}/withdraw")
    assert r.status_code == 302
    assert "已撤回" in text(client.get(move_url))


@pytest.mark.parametrize("username", ["admin_b", "farmer_a", "officer", "sysadmin"])
def test_another_collectives_move_is_404(world, client, auth, username):
    auth.login("admin_a")
    move_url = move_plot(client, world, basis="court_ruling").headers["Location"]
    auth.logout()
    auth.login(username)
    assert client.get(move_url).status_code == 404
    for action in ("countersign", "refuse", "withdraw"):
        assert client.post(f"{move_url}/{action}", data={"reason": "x"}).status_code == 404
    if username == "admin_b":
        assert move_url not in text(client.get("/moves"))


def test_auditor_reads_but_cannot_countersign(world, client, auth):
    auth.login("admin_a")
    move_url = move_plot(client, world, basis="court_ruling").headers["Location"]
    auth.logout()
    auth.login("auditor")
    page = text(client.get(move_url))
    assert "/countersign" not in page
    assert client.post(f"{move_url}/countersign").status_code == 404


def test_r09_homestead_transfer_form_requests_a_move(world, client, auth):
    auth.login("admin_a")
    page = text(client.get(f"/homesteads/{world.homestead}"))
    assert f"/homesteads/{world.homestead}/transfer" in page
    r = client.post(
        f"/homesteads/{world.homestead}/transfer",
        data={"to_household_uid": str(world.heir), "source_document_id": str(world.doc)}
        | {"reason": "继承"},
    )
    assert r.status_code == 422 and "交易流程" in text(r)
    r = client.post(
        f"/homesteads/{world.homestead}/transfer",
        data={
            "to_household_uid": str(world.heir),
            "basis": "inheritance",
            "source_document_id": str(world.doc),
            "reason": "继承",
        },
    )
    assert r.status_code == 302
    move_url = r.headers["Location"]
    auth.logout()
    auth.login("bureau")
    assert client.post(f"{move_url}/countersign").status_code == 302
    assert history.current_of(Homestead, world.homestead).household_uid == world.heir


def test_r09_dispose_form_sold_without_basis_refused(world, client, auth):
    auth.login("admin_a")
    r = client.post(
        f"/homesteads/{world.homestead}/dispose",
        data={"disposal": "sold", "source_document_id": str(world.doc), "reason": "卖房"},
    )
    assert r.status_code == 422 and "交易流程" in text(r)
    assert history.current_of(Homestead, world.homestead) is not None


# --- JSON API


def test_api_request_list_countersign(world, client, app):
    admin = bearer(app, "admin_a")
    body = {
        "kind": "plot_move",
        "subject_uid": world.plot,
        "basis": "court_ruling",
        "source_document_id": world.doc,
        "reason": "法院判决",
        "to_contract_uid": world.other,
    }
    r = client.post("/api/v1/moves", json={**body, "basis": None}, headers=admin)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "basis_required"
    r = client.post("/api/v1/moves", json=body, headers=admin)
    assert r.status_code == 201, r.get_json()
    move = r.get_json()
    assert move["state"] == "pending" and move["to_household_uid"] == world.other_household
    assert r.headers["Location"].endswith(f"/api/v1/moves/{move['move_id']}")
    url = f"/api/v1/moves/{move['move_id']}"

    reviewer = bearer(app, "bureau")
    listed = client.get("/api/v1/moves", headers=reviewer).get_json()["items"]
    assert move["move_id"] in [m["move_id"] for m in listed]
    other_admin = bearer(app, "admin_b")
    assert client.get(url, headers=other_admin).status_code == 404
    assert move["move_id"] not in [
        m["move_id"] for m in client.get("/api/v1/moves", headers=other_admin).get_json()["items"]
    ]
    assert client.post(f"{url}/countersign", headers=admin).status_code == 404
    assert history.current_of(Plot, world.plot).contract_uid == world.contract
    r = client.post(f"{url}/countersign", headers=reviewer)
    assert r.status_code == 200 and r.get_json()["state"] == "applied"
    assert history.current_of(Plot, world.plot).contract_uid == world.other
    r = client.post(f"{url}/refuse", json={"reason": "x"}, headers=reviewer)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "move_state"


def test_api_another_collectives_right_is_404(world, client, app):
    admin = bearer(app, "admin_a")
    r = client.post(
        "/api/v1/moves",
        json={
            "kind": "plot_move",
            "subject_uid": world.plot_b,
            "basis": "court_ruling",
            "source_document_id": world.doc,
            "reason": "x",
            "to_contract_uid": None,
        },
        headers=admin,
    )
    assert r.status_code == 404


def test_api_refuse_and_withdraw(world, client, app):
    admin = bearer(app, "admin_a")
    body = {
        "kind": "plot_move",
        "subject_uid": world.plot,
        "basis": "correction",
        "source_document_id": world.doc,
        "reason": "更正",
        "to_contract_uid": None,
    }
    move_id = client.post("/api/v1/moves", json=body, headers=admin).get_json()["move_id"]
    reviewer = bearer(app, "bureau")
    r = client.post(f"/api/v1/moves/{move_id}/refuse", json={"reason": ""}, headers=reviewer)
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/moves/{move_id}/refuse", json={"reason": "材料不全"}, headers=reviewer
    )
    assert r.status_code == 200 and r.get_json()["decision_reason"] == "材料不全"
    move_id = client.post("/api/v1/moves", json=body, headers=admin).get_json()["move_id"]
    r = client.post(f"/api/v1/moves/{move_id}/withdraw", headers=admin)
    assert r.status_code == 200 and r.get_json()["state"] == "withdrawn"
    assert history.current_of(Plot, world.plot).contract_uid == world.contract
