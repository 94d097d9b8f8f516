"""Public notice (公示): objections while it runs, confirmation after, then a certificate."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.audit import trail
from app.core.calendar import county_today
from app.core.errors import DomainError
from app.extensions import db
from app.registry import certificates, documents, history, land, notices
from app.registry.models import LandContract, PublicNotice
from tests.conftest import token_for
from tests.factories import documents as factory
from tests.factories.documents import make_contract, minimal_pdf

START = date(2026, 3, 2)
LAST_DAY = START + timedelta(days=6)  # 7 days, both ends included
AFTER = LAST_DAY + timedelta(days=1)


@pytest.fixture(autouse=True)
def store(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_STORE", str(tmp_path / "documents"))


@pytest.fixture
def pending(ctx, baseline):
    doc = documents.store_document(
        baseline.collective_a, "survey", "测绘成果", "s.pdf", minimal_pdf("survey")
    )
    return make_contract(baseline.collective_a, doc.id, status="pending")


def test_notice_runs_for_the_policy_days(pending):
    notice = notices.open_notice("land_contract", pending.uid, START, today=START)
    assert notice.ends_on == LAST_DAY
    assert notice.status == "open"
    assert notice.collective_id == pending.collective_id


def test_confirm_before_the_notice_ends_is_refused(pending):
    notice = notices.open_notice("land_contract", pending.uid, START, today=START)
    with pytest.raises(DomainError) as err:
        notices.confirm_registration(notice.id, today=LAST_DAY)
    assert err.value.code == "notice_running"
    assert history.current_of(LandContract, pending.uid).status == "pending"


def test_an_open_objection_blocks_confirmation(pending):
    notice = notices.open_notice("land_contract", pending.uid, START, today=START)
    notices.lodge_objection(notice.id, "李四", "地块东至有误", START + timedelta(days=3))
    with pytest.raises(DomainError) as err:
        notices.confirm_registration(notice.id, today=AFTER)
    assert err.value.code == "objection_open"
    assert history.current_of(LandContract, pending.uid).status == "pending"


def test_resolved_objection_then_confirm_makes_a_new_confirmed_version(pending):
    notice = notices.open_notice("land_contract", pending.uid, START, today=START)
    objection = notices.lodge_objection(notice.id, "李四", "地块东至有误", START)
    notices.resolve_objection(objection.id, "dismissed", "经现场核实，界线无误", LAST_DAY)
    notices.confirm_registration(notice.id, today=AFTER)
    assert notice.status == "confirmed"
    chain = history.versions(LandContract, pending.uid)
    assert [v.status for v in chain] == ["pending", "confirmed"]
    assert chain[0].end_lifespan is not None and chain[1].is_current
    assert "公示" in chain[1].change_reason or "notice" in chain[1].change_reason
    assert chain[1].source_document_id == pending.source_document_id
    cert = certificates.issue_certificate(
        "land_contract", pending.uid, issued_on=AFTER, reason="确认登记后发证"
    )
    assert cert.number == pending.cbhtbm


def test_an_upheld_objection_means_correct_and_notice_again(pending):
    notice = notices.open_notice("land_contract", pending.uid, START, today=START)
    objection = notices.lodge_objection(notice.id, "李四", "面积有误", START)
    notices.resolve_objection(objection.id, "upheld", "面积确有错误，需重新测量", START)
    with pytest.raises(DomainError) as err:
        notices.confirm_registration(notice.id, today=AFTER)
    assert err.value.code == "objection_upheld"
    notices.withdraw_notice(notice.id, "重新测量后再公示")
    assert notice.status == "withdrawn"
    again = notices.open_notice("land_contract", pending.uid, AFTER, today=AFTER)
    assert again.id != notice.id


def test_objections_only_while_the_notice_runs(pending):
    notice = notices.open_notice("land_contract", pending.uid, START, today=START)
    for day in (START - timedelta(days=1), AFTER):
        with pytest.raises(DomainError) as err:
            notices.lodge_objection(notice.id, "李四", "异议", day)
        assert err.value.code == "notice_not_running"
    with pytest.raises(DomainError) as err:
        notices.lodge_objection(notice.id, "  ", "异议", START)
    assert err.value.field == "lodged_by"
    notices.confirm_registration(notice.id, today=AFTER)
    with pytest.raises(DomainError) as err:
        notices.lodge_objection(notice.id, "李四", "异议", LAST_DAY)
    assert err.value.code == "notice_closed"


def test_one_open_notice_per_right_and_only_pending_contracts(ctx, baseline, pending):
    notices.open_notice("land_contract", pending.uid, START, today=START)
    with pytest.raises(DomainError) as err:
        notices.open_notice("land_contract", pending.uid, START, today=START)
    assert err.value.code == "notice_exists"
    confirmed = make_contract(baseline.collective_a, pending.source_document_id)
    with pytest.raises(DomainError) as err:
        notices.open_notice("land_contract", confirmed.uid, START, today=START)
    assert err.value.code == "not_pending"


def test_notice_shorter_than_the_policy_is_refused(pending):
    with pytest.raises(DomainError) as err:
        notices.open_notice("land_contract", pending.uid, START, days=3, today=START)
    assert err.value.field == "days"
    longer = notices.open_notice("land_contract", pending.uid, START, days=10, today=START)
    assert longer.ends_on == START + timedelta(days=9)


def test_an_objection_is_decided_once_with_reasons(pending):
    notice = notices.open_notice("land_contract", pending.uid, START, today=START)
    objection = notices.lodge_objection(notice.id, "李四", "异议", START)
    with pytest.raises(DomainError) as err:
        notices.resolve_objection(objection.id, "ignored", "x", START)
    assert err.value.field == "status"
    with pytest.raises(DomainError) as err:
        notices.resolve_objection(objection.id, "dismissed", "", START)
    assert err.value.field == "resolution"
    notices.resolve_objection(objection.id, "dismissed", "无依据", START)
    with pytest.raises(DomainError) as err:
        notices.resolve_objection(objection.id, "upheld", "改判", START)
    assert err.value.code == "objection_decided"


def test_factory_makes_a_running_notice_with_an_objection(ctx, baseline):
    made = factory.make(baseline.collective_a, {})
    notice = db.session.get(PublicNotice, made["notice_id"])
    assert notice.status == "open"
    assert [o.id for o in notices.objections_of(notice.id)] == [made["objection_id"]]
    assert documents.verify_document(
        documents.documents_by_id([made["document_id"]])[made["document_id"]]
    )


# --- HTTP


@pytest.fixture
def on_notice(ctx, pending):
    """A pending contract on notice that started 10 days ago (so it is over today)."""
    started = county_today() - timedelta(days=10)
    notice = notices.open_notice("land_contract", pending.uid, started, today=started)
    objection = notices.lodge_objection(notice.id, "李四", "四至有误", notice.ends_on)
    out = {"notice_id": notice.id, "objection_id": objection.id, "contract_uid": pending.uid}
    db.session.commit()
    return out


def test_notice_page_objection_resolution_confirm_and_certificate(client, auth, on_notice):
    auth.login("admin_a")
    nid = on_notice["notice_id"]
    page = client.get(f"/notices/{nid}")
    assert page.status_code == 200
    assert "李四" in page.get_data(as_text=True)
    r = client.post(f"/notices/{nid}/confirm", data={"confirm-reason": ""})
    assert r.status_code == 422  # the objection is still open
    assert history.current_of(LandContract, on_notice["contract_uid"]).status == "pending"
    oid = on_notice["objection_id"]
    r = client.post(
        f"/objections/{oid}/resolve",
        data={
            f"resolve{oid}-status": "dismissed",
            f"resolve{oid}-resolution": "经核实无误",
            f"resolve{oid}-resolved_on": county_today().isoformat(),
        },
    )
    assert r.status_code == 302
    r = client.post(f"/notices/{nid}/confirm", data={"confirm-reason": ""})
    assert r.status_code == 302
    assert history.current_of(LandContract, on_notice["contract_uid"]).status == "confirmed"
    r = client.post(
        f"/notices/{nid}/certificate",
        data={"issue-reason": "确认登记后发证", "issue-on": county_today().isoformat()},
    )
    assert r.status_code == 302
    text = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "农村土地承包经营权证" in text


def test_lodging_an_objection_through_the_page(client, auth, ctx, pending):
    notice_id = notices.open_notice("land_contract", pending.uid, county_today()).id
    db.session.commit()
    auth.login("admin_a")
    r = client.post(
        f"/notices/{notice_id}/objections",
        data={
            "objection-lodged_by": "王大妈",
            "objection-text": "西至应为水沟",
            "objection-lodged_on": county_today().isoformat(),
        },
    )
    assert r.status_code == 302
    assert "王大妈" in client.get(f"/notices/{notice_id}").get_data(as_text=True)
    r = client.post(
        f"/notices/{notice_id}/objections",
        data={
            "objection-lodged_by": "王大妈",
            "objection-text": "再提",
            "objection-lodged_on": (county_today() + timedelta(days=30)).isoformat(),
        },
    )
    assert r.status_code == 422


def test_collective_notice_list_opens_a_notice_for_a_pending_contract(
    client, auth, ctx, baseline, pending
):
    cbhtbm, uid = pending.cbhtbm, pending.uid
    db.session.commit()
    auth.login("admin_a")
    page = client.get(f"/collectives/{baseline.collective_a}/notices")
    assert page.status_code == 200 and cbhtbm in page.get_data(as_text=True)
    r = client.post(
        f"/collectives/{baseline.collective_a}/notices",
        data={
            "right_kind": "land_contract",
            "code": cbhtbm,
            "starts_on": county_today().isoformat(),
        },
    )
    assert r.status_code == 302
    notice = db.session.scalar(select(PublicNotice).where(PublicNotice.right_uid == uid))
    assert notice.ends_on == county_today() + timedelta(days=6)


@pytest.mark.authz
def test_notices_of_another_collective_are_404(client, auth, on_notice, baseline):
    auth.login("admin_b")
    nid, oid = on_notice["notice_id"], on_notice["objection_id"]
    assert client.get(f"/notices/{nid}").status_code == 404
    assert client.post(f"/notices/{nid}/confirm", data={}).status_code == 404
    assert client.post(f"/objections/{oid}/resolve", data={}).status_code == 404
    assert client.get(f"/collectives/{baseline.collective_a}/notices").status_code == 404


# --- API


def test_api_notice_workflow(app, client, ctx, pending):
    uid = pending.uid
    started = county_today() - timedelta(days=8)
    nid = notices.open_notice("land_contract", uid, started, today=started).id
    db.session.commit()
    headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    start = started.isoformat()
    r = client.post(
        f"/api/v1/notices/{nid}/objections",
        json={"lodged_by": "李四", "text": "有误", "lodged_on": start},
        headers=headers,
    )
    assert r.status_code == 201
    oid = r.get_json()["objection_id"]
    r = client.post(f"/api/v1/notices/{nid}/confirm", json={}, headers=headers)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "objection_open"
    r = client.post(
        f"/api/v1/objections/{oid}/resolution",
        json={"status": "dismissed", "resolution": "无依据"},
        headers=headers,
    )
    assert r.status_code == 200 and r.get_json()["status"] == "dismissed"
    r = client.post(f"/api/v1/notices/{nid}/confirm", headers=headers)
    assert r.status_code == 200 and r.get_json()["status"] == "confirmed"
    got = client.get(f"/api/v1/notices/{nid}", headers=headers).get_json()
    assert got["objections"][0]["resolution"] == "无依据"
    assert history.current_of(LandContract, uid).status == "confirmed"


# --- a notice cannot start in the past (DOMAIN §6)


def test_notice_starting_in_the_past_is_refused(pending):
    yesterday = county_today() - timedelta(days=1)
    with pytest.raises(DomainError) as err:
        notices.open_notice("land_contract", pending.uid, yesterday)
    assert err.value.code == "notice_in_past" and err.value.field == "starts_on"
    assert county_today().isoformat() in err.value.message
    assert (
        db.session.scalar(select(PublicNotice).where(PublicNotice.right_uid == pending.uid)) is None
    )
    assert notices.open_notice("land_contract", pending.uid, county_today()).status == "open"


def test_notice_starting_in_the_past_is_refused_on_the_page_and_in_the_api(
    app, client, auth, ctx, baseline, pending
):
    cbhtbm, uid = pending.cbhtbm, pending.uid
    db.session.commit()
    yesterday = (county_today() - timedelta(days=1)).isoformat()
    auth.login("admin_a")
    r = client.post(
        f"/collectives/{baseline.collective_a}/notices",
        data={"right_kind": "land_contract", "code": cbhtbm, "starts_on": yesterday},
    )
    assert r.status_code == 422
    assert "公示不能从过去的日期开始" in r.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    r = client.post(
        "/api/v1/notices",
        json={"right_kind": "land_contract", "right_uid": uid, "starts_on": yesterday},
        headers=headers,
    )
    assert r.status_code == 422
    assert r.get_json()["error"]["code"] == "notice_in_past"
    assert r.get_json()["error"]["field"] == "starts_on"
    assert db.session.scalar(select(PublicNotice).where(PublicNotice.right_uid == uid)) is None


# --- an open overlap finding blocks confirmation (DOMAIN §6)


@pytest.fixture
def overlapping(ctx, baseline):
    """A pending contract whose plot overlaps a neighbour's: an open overlap finding."""
    from tests.factories import land as land_fx

    cid = baseline.collective_a
    household_uid, _head = land_fx.make_household(cid)
    contract = land.create_contract(
        household_uid,
        land_fx.TERM_START,
        land_fx.TERM_END,
        source_document_id=land_fx.make_document(cid),
        reason="确权登记",
        today=land_fx.TODAY,
    )
    x, y = land_fx.origin(cid)
    mine = land_fx.add(cid, land_fx.square(x, y), contract_uid=contract.uid)
    neighbour = land_fx.add(cid, land_fx.square(x + 20, y + 20))
    (finding,) = neighbour.findings
    assert finding.state == "open"
    return {"contract": contract, "plot_code": mine.plot.dkbm, "finding": finding}


def test_open_overlap_blocks_confirmation_until_decided(overlapping):
    contract, finding = overlapping["contract"], overlapping["finding"]
    notice = notices.open_notice("land_contract", contract.uid, START, today=START)
    with pytest.raises(certificates.OpenOverlap) as err:
        notices.confirm_registration(notice.id, today=AFTER)
    assert err.value.code == "overlap_open"
    assert overlapping["plot_code"] in err.value.message
    assert err.value.finding_id == finding.id
    assert notice.status == "open"
    assert history.current_of(LandContract, contract.uid).status == "pending"
    land.decide_finding(finding.id, "accepted", "现场核实：两户共用田埂，面积差可接受")
    notices.confirm_registration(notice.id, today=AFTER)
    assert history.current_of(LandContract, contract.uid).status == "confirmed"


def test_open_overlap_on_the_notice_page_names_the_plot_and_links_the_finding(
    client, auth, overlapping, baseline
):
    started = county_today() - timedelta(days=10)
    notice_id = notices.open_notice(
        "land_contract", overlapping["contract"].uid, started, today=started
    ).id
    finding_id, code = overlapping["finding"].id, overlapping["plot_code"]
    db.session.commit()
    auth.login("admin_a")
    r = client.post(f"/notices/{notice_id}/confirm", data={"confirm-reason": ""})
    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert code in text and "重叠" in text
    assert f"/collectives/{baseline.collective_a}/findings?state=open#finding-{finding_id}" in text


# --- success and warning messages look different


def test_success_and_warning_flashes_look_different(client, auth, overlapping, baseline):
    """A success is green with no label; a warning is amber and says it is a warning."""
    import json

    from tests.factories import land as land_fx

    cid, finding_id = baseline.collective_a, overlapping["finding"].id
    x, y = land_fx.origin(cid)
    land_fx.add(cid, land_fx.square(x, y))
    doc_id = land_fx.make_document(cid)
    db.session.commit()
    auth.login("admin_a")
    r = client.post(
        f"/findings/{finding_id}/decision",
        data={"state": "accepted", "reason": "共用田埂"},
        follow_redirects=True,
    )
    text = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'class="flash ok"' in text and 'class="flash warn"' not in text
    assert "警告：" not in text
    r = client.post(  # a plot over the one just drawn: registered, with a warning
        f"/collectives/{cid}/plots/new",
        data={
            "dkbm": land_fx.dkbm(cid),
            "name": "新开田",
            "land_class": "10",
            "contract_area_m2": "1600",
            "geometry": json.dumps(land_fx.geojson(land_fx.square(x + 10, y))),
            "crs": "EPSG:4547",
            "source_document_id": str(doc_id),
            "reason": "补测登记",
            "contract_uid": "0",
        },
        follow_redirects=True,
    )
    text = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'class="flash warn"' in text and "警告：" in text
    css = client.get("/static/css/app.css").get_data(as_text=True)
    ok_rule = css[css.index(".flash.ok {") :].split("}")[0]
    warn_rule = css[css.index(".flash.warn {") :].split("}")[0]
    assert "#e3f9e5" in ok_rule and "#fff3c4" in warn_rule  # green, amber


# --- the rule "a certificate only after the confirmed notice" lives in the service alone


def test_certificate_waits_for_the_confirmed_notice_on_the_page_and_in_the_api(
    app, client, auth, ctx, pending
):
    """While the notice runs, the notice page offers no certificate form and says why, a posted
    form is refused with the service's words, and the API refuses with the same code and
    words; once confirmed, both issue it."""
    uid = pending.uid
    started = county_today() - timedelta(days=10)  # over, but not yet confirmed
    nid = notices.open_notice("land_contract", uid, started, today=started).id
    db.session.commit()
    auth.login("admin_a")
    headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}", "Accept-Language": "zh"}
    page = client.get(f"/notices/{nid}").get_data(as_text=True)
    assert "/certificate" not in page  # no form while the notice runs
    r = client.post(
        f"/notices/{nid}/certificate",
        data={"issue-reason": "发证", "issue-on": county_today().isoformat()},
        headers={"Accept-Language": "zh"},
    )
    assert r.status_code == 422
    api = client.post(
        "/api/v1/certificates",
        json={"right_kind": "land_contract", "right_uid": uid, "reason": "发证"},
        headers=headers,
    )
    assert api.status_code == 422
    error = api.get_json()["error"]
    assert error["code"] == "notice_open"
    assert error["message"] in r.get_data(as_text=True)  # the page says the same words
    assert "公示" in error["message"]

    # Confirmed (the notice ran its days, no objection): the page now offers the form.
    with trail.acting(trail.AuditContext(actor="admin_a", role="collective_admin")):
        notices.confirm_registration(nid)
        db.session.commit()
    page = client.get(f"/notices/{nid}").get_data(as_text=True)
    assert f"/notices/{nid}/certificate" in page
    api = client.post(
        "/api/v1/certificates",
        json={"right_kind": "land_contract", "right_uid": uid, "reason": "发证"},
        headers=headers,
    )
    assert api.status_code == 201
    # issued through the API: the page offers no second certificate
    page = client.get(f"/notices/{nid}").get_data(as_text=True)
    assert f"/notices/{nid}/certificate" not in page
