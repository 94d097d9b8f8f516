"""Certificates: issue, re-issue (补发), replace (换发), cancel (注销); one valid per right."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.auth.models import User
from app.core.calendar import county_today
from app.core.errors import DomainError
from app.extensions import db
from app.registry import certificates, documents, history, notices
from app.registry.models import Certificate, Homestead, Household, Plot, ShareHolding
from tests.conftest import token_for
from tests.factories.documents import (
    confirm_after_notice,
    make_contract,
    make_holder,
    minimal_pdf,
)

DAY = date(2026, 3, 1)


@pytest.fixture(autouse=True)
def store(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_STORE", str(tmp_path / "documents"))


def a_document(collective_id: int, text: str = "contract") -> int:
    return documents.store_document(
        collective_id, "contract", "承包合同", "c.pdf", minimal_pdf(text)
    ).id


@pytest.fixture
def contract(ctx, baseline):
    return make_contract(baseline.collective_a, a_document(baseline.collective_a))


def test_issue_numbers_a_land_certificate_with_the_contract_code(contract):
    cert = certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=DAY, reason="首次登记发证"
    )
    assert cert.number == contract.cbhtbm  # CBJYQZBM = CBHTBM = CBFBM + "J"
    assert cert.number.endswith("J") and len(cert.number) == 19
    assert cert.status == "valid" and cert.issue_kind == "issue"
    assert cert.collective_id == contract.collective_id
    assert cert.household_uid == contract.household_uid


def test_only_one_valid_certificate_per_right(contract):
    certificates.issue_certificate("land_contract", contract.uid, issued_on=DAY, reason="发证")
    with pytest.raises(DomainError) as err:
        certificates.issue_certificate(
            "land_contract", contract.uid, issued_on=DAY, reason="再发一次"
        )
    assert err.value.code == "certificate_exists"
    valid = db.session.scalar(
        select(func.count()).where(
            Certificate.right_uid == contract.uid, Certificate.status == "valid"
        )
    )
    assert valid == 1


def test_the_database_itself_refuses_a_second_valid_certificate(contract):
    """Two clerks at once: the partial unique index has the last word, shown as a clear error."""
    first = certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=DAY, reason="发证"
    )
    rival = Certificate(
        right_kind="land_contract",
        right_uid=contract.uid,
        collective_id=contract.collective_id,
        number=first.number,
        status="valid",
        issue_kind="issue",
        issued_on=DAY,
    )
    with pytest.raises(DomainError) as err:
        certificates._insert(rival)
    assert err.value.code == "certificate_exists"
    assert db.session.get(Certificate, first.id).status == "valid"


def test_reissue_supersedes_the_lost_certificate(contract):
    old = certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=DAY, reason="发证"
    )
    new = certificates.reissue_certificate(old.id, "证书遗失，登报声明作废", date(2026, 5, 1))
    assert old.status == "superseded" and old.ended_on == date(2026, 5, 1)
    assert new.status == "valid" and new.issue_kind == "reissue"
    assert new.replaces_id == old.id and new.number == old.number
    assert new.reason == "证书遗失，登报声明作废"
    with pytest.raises(DomainError) as err:
        certificates.reissue_certificate(old.id, "again", date(2026, 5, 2))
    assert err.value.code == "certificate_not_valid"


def test_replace_after_a_change_and_cancel(contract, baseline):
    old = certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=DAY, reason="发证"
    )
    history.revise(
        contract,
        reason="地块调整后合同面积变更",
        source_document_id=contract.source_document_id,
        contract_area_m2=2000.0,
    )
    new = certificates.replace_certificate(old.id, "权利变更换发", date(2026, 6, 1))
    assert new.issue_kind == "replace" and new.replaces_id == old.id
    assert old.status == "superseded"
    cancelled = certificates.cancel_certificate(new.id, "承包方自愿交回", date(2026, 7, 1))
    assert cancelled.status == "cancelled" and cancelled.ended_on == date(2026, 7, 1)
    # A right whose certificate was cancelled may be certified again.
    again = certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=date(2026, 8, 1), reason="重新发证"
    )
    assert again.status == "valid"


def test_an_ended_rights_certificate_can_only_be_cancelled(contract):
    cert = certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=DAY, reason="发证"
    )
    history.end(contract, reason="自愿交回", source_document_id=contract.source_document_id)
    with pytest.raises(DomainError) as err:
        certificates.reissue_certificate(cert.id, "遗失", date(2026, 4, 1))
    assert err.value.code == "right_ended"
    assert certificates.cancel_certificate(cert.id, "权利终止", date(2026, 4, 1)).status == (
        "cancelled"
    )


def test_every_certificate_change_needs_a_reason_and_a_sane_date(contract):
    cert = certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=DAY, reason="发证"
    )
    with pytest.raises(DomainError) as err:
        certificates.reissue_certificate(cert.id, "  ", DAY)
    assert err.value.field == "reason"
    with pytest.raises(DomainError) as err:
        certificates.cancel_certificate(cert.id, "注销", date(2020, 1, 1))
    assert err.value.field == "ended_on"
    with pytest.raises(DomainError):
        certificates.issue_certificate("land_contract", contract.uid, issued_on=DAY, reason="")


def test_certificate_changes_are_audited_with_reason_and_document_hash(ctx, contract, baseline):
    doc_id = a_document(baseline.collective_a, "lost notice")
    cert = certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=DAY, reason="发证"
    )
    new = certificates.reissue_certificate(
        cert.id, "证书遗失", date(2026, 4, 1), source_document_id=doc_id
    )
    entries = list(
        db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.object_type == "certificate", AuditEntry.event == "certificate.reissue"
            )
        )
    )
    assert {e.object_id for e in entries} == {str(cert.id), str(new.id)}
    sha = documents.documents_by_id([doc_id])[doc_id].sha256
    assert all(e.reason == "证书遗失" and e.source_sha256 == sha for e in entries)


def test_a_pending_registration_gets_no_certificate(ctx, baseline):
    pending = make_contract(
        baseline.collective_a, a_document(baseline.collective_a), status="pending"
    )
    with pytest.raises(DomainError) as err:
        certificates.issue_certificate("land_contract", pending.uid, issued_on=DAY, reason="x")
    assert err.value.code == "not_confirmed"


def test_share_and_homestead_numbers_and_unknown_rights(ctx, baseline):
    doc_id = a_document(baseline.collective_a)
    contract = make_contract(baseline.collective_a, doc_id)
    holding = history.create(
        ShareHolding,
        reason="股权固化",
        source_document_id=doc_id,
        collective_id=baseline.collective_a,
        household_uid=contract.household_uid,
        shares=3.0,
        share_type="人口股",
        certificate_number="GQZ-2026-0001",
    )
    with pytest.raises(DomainError) as err:  # no public notice yet (DOMAIN §6)
        certificates.issue_certificate(
            "share_holding", holding.uid, issued_on=DAY, reason="股权证发放"
        )
    assert err.value.code == "not_confirmed"
    confirm_after_notice("share_holding", holding.uid)
    cert = certificates.issue_certificate(
        "share_holding", holding.uid, issued_on=DAY, reason="股权证发放"
    )
    assert cert.number == "GQZ-2026-0001"
    with pytest.raises(DomainError) as err:
        certificates.issue_certificate("castle", holding.uid, issued_on=DAY, reason="x")
    assert err.value.field == "right_kind"
    with pytest.raises(DomainError) as err:
        certificates.issue_certificate("homestead", 999_999, issued_on=DAY, reason="x")
    assert err.value.status == 404


def test_a_document_of_another_collective_cannot_be_cited(ctx, contract, baseline):
    foreign = a_document(baseline.collective_b, "B")
    with pytest.raises(DomainError) as err:
        certificates.issue_certificate(
            "land_contract", contract.uid, issued_on=DAY, reason="x", source_document_id=foreign
        )
    assert err.value.field == "source_document_id"


# --- the printable page


@pytest.fixture
def certified(ctx, baseline):
    """A certified contract of a household whose head is farmer_a's person."""
    doc_id = a_document(baseline.collective_a)
    contract = make_contract(baseline.collective_a, doc_id)
    household = history.current_of(Household, contract.household_uid)
    person = make_holder(household, "赵六")
    cert = certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=DAY, reason="首次登记发证"
    )
    farmer = db.session.get(User, baseline.users["farmer_a"])
    farmer.person_uid = person.uid
    db.session.commit()
    return {"certificate_id": cert.id, "number": cert.number, "person": person.name}


def test_printable_certificate_for_the_admin(client, auth, certified):
    auth.login("admin_a")
    r = client.get(f"/certificates/{certified['certificate_id']}")
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert "农村土地承包经营权证" in text
    assert certified["number"] in text
    assert certified["person"] in text
    assert "css/print.css" in text
    assert "2.00" in text  # 1333.33 m² shown as 2.00 亩
    assert "cert-watermark" not in text
    assert "/reissue" in text  # the admin sees the action forms


def test_the_households_farmer_sees_the_certificate_without_actions(client, auth, certified):
    auth.login("farmer_a")
    r = client.get(f"/certificates/{certified['certificate_id']}")
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert certified["number"] in text
    assert "/reissue" not in text
    r = client.post(
        f"/certificates/{certified['certificate_id']}/cancel",
        data={"cancel-reason": "x", "cancel-on": "2026-04-01"},
    )
    assert r.status_code == 404


@pytest.mark.authz
def test_another_collective_and_another_farmer_get_404(client, auth, certified):
    auth.login("admin_b")
    assert client.get(f"/certificates/{certified['certificate_id']}").status_code == 404
    r = client.post(
        f"/certificates/{certified['certificate_id']}/reissue",
        data={"reissue-reason": "x", "reissue-on": "2026-04-01"},
    )
    assert r.status_code == 404
    auth.logout()
    auth.login("farmer_b")
    assert client.get(f"/certificates/{certified['certificate_id']}").status_code == 404


def test_cancelled_certificate_shows_a_watermark(client, auth, certified):
    auth.login("admin_a")
    r = client.post(
        f"/certificates/{certified['certificate_id']}/cancel",
        data={"cancel-reason": "误发", "cancel-on": "2026-04-01"},
    )
    assert r.status_code == 302
    text = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "cert-watermark" in text
    assert "误发" in text


def test_reissue_through_the_page_then_a_refused_second_reissue(client, auth, certified):
    auth.login("admin_a")
    cid = certified["certificate_id"]
    r = client.post(
        f"/certificates/{cid}/reissue",
        data={"reissue-reason": "证书损毁", "reissue-on": "2026-04-01"},
    )
    assert r.status_code == 302
    assert r.headers["Location"] != f"/certificates/{cid}"
    r = client.post(
        f"/certificates/{cid}/reissue",
        data={"reissue-reason": "再补发", "reissue-on": "2026-04-02"},
    )
    assert r.status_code == 422
    old = db.session.get(Certificate, cid)
    assert old.status == "superseded"


def test_collective_certificate_list(client, auth, certified, baseline):
    auth.login("bureau")
    r = client.get(f"/collectives/{baseline.collective_a}/certificates")
    assert r.status_code == 200
    assert certified["number"] in r.get_data(as_text=True)


# --- API


def test_api_issue_reissue_cancel(app, client, ctx, baseline):
    contract_uid = make_contract(baseline.collective_a, a_document(baseline.collective_a)).uid
    db.session.commit()
    headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    r = client.post(
        "/api/v1/certificates",
        json={
            "right_kind": "land_contract",
            "right_uid": contract_uid,
            "issued_on": "2026-03-01",
            "reason": "发证",
        },
        headers=headers,
    )
    assert r.status_code == 201, r.get_json()
    cid = r.get_json()["certificate_id"]
    r = client.post(
        "/api/v1/certificates",
        json={"right_kind": "land_contract", "right_uid": contract_uid, "reason": "again"},
        headers=headers,
    )
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "certificate_exists"
    r = client.post(
        f"/api/v1/certificates/{cid}/reissue",
        json={"reason": "遗失", "issued_on": "2026-04-01"},
        headers=headers,
    )
    assert r.status_code == 201
    new = r.get_json()
    assert new["replaces_id"] == cid and new["issue_kind"] == "reissue"
    r = client.post(
        f"/api/v1/certificates/{new['certificate_id']}/cancel",
        json={"reason": "注销", "ended_on": "2026-05-01"},
        headers=headers,
    )
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    got = client.get(f"/api/v1/certificates/{cid}", headers=headers).get_json()
    assert got["status"] == "superseded"
    r = client.post(
        f"/api/v1/certificates/{cid}/replace",
        json={"reason": "x", "issued_on": "not a date"},
        headers=headers,
    )
    assert r.status_code == 422


@pytest.mark.authz
def test_api_other_collective_is_404(app, client, ctx, baseline):
    contract = make_contract(baseline.collective_b, a_document(baseline.collective_b))
    cert_id = certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=DAY, reason="发证"
    ).id
    contract_uid = contract.uid
    db.session.commit()
    headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    assert client.get(f"/api/v1/certificates/{cert_id}", headers=headers).status_code == 404
    r = client.post(
        "/api/v1/certificates",
        json={"right_kind": "land_contract", "right_uid": contract_uid, "reason": "x"},
        headers=headers,
    )
    assert r.status_code == 404
    r = client.post(f"/api/v1/certificates/{cert_id}/cancel", json={"reason": "x"}, headers=headers)
    assert r.status_code == 404


# --- a certificate means what was issued: its snapshot


def _add_member(household_uid: int, collective_id: int, name: str) -> None:
    from app.registry import people
    from tests.factories import people as people_fx

    person = people_fx.member(collective_id, name, female=True)
    people.add_household_member(household_uid, person.uid, "30", True, "婚后迁入本户")


def test_r01_certificate_issued_before_a_member_was_added_shows_changed_since_issue(
    app, client, auth, certified, baseline
):
    cert_id = certified["certificate_id"]
    household_uid = db.session.get(Certificate, cert_id).household_uid
    _add_member(household_uid, baseline.collective_a, "钱小梅")
    db.session.commit()

    auth.login("admin_a")
    text = client.get(f"/certificates/{cert_id}").get_data(as_text=True)
    assert "登记内容已在发证后变更 — 请换发证书" in text
    assert "钱小梅已加入为共有人" in text
    # The sheet itself still shows what was certified: the new member is not on it.
    sheet = text[text.index('<article class="cert-sheet') :]
    assert certified["person"] in sheet and "钱小梅" not in sheet

    headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    got = client.get(f"/api/v1/certificates/{cert_id}", headers=headers).get_json()
    assert got["has_snapshot"] is True and got["changed_since_issue"] is True
    assert any("钱小梅" in line for line in got["changes"])
    assert [h["name"] for h in got["snapshot"]["holders"]] == [certified["person"]]

    # 换发: the new certificate certifies the household as it is now, with nothing changed.
    r = client.post(
        f"/certificates/{cert_id}/replace",
        data={"replace-reason": "增加共有人换发", "replace-on": "2026-04-01"},
    )
    assert r.status_code == 302
    text = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "登记内容已在发证后变更" not in text
    sheet = text[text.index('<article class="cert-sheet') :]
    assert "钱小梅" in sheet


def test_plot_area_change_is_listed_in_plain_words(ctx, baseline):
    from app.registry import land
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
        confirmed=True,
    )
    x, y = land_fx.origin(cid)
    change = land_fx.add(
        cid, land_fx.square(x, y), contract_uid=contract.uid, contract_area_m2=1600
    )
    cert = certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=DAY, reason="首次登记发证"
    )
    assert certificates.certificate_view(cert).changes == []
    history.revise(
        change.plot,
        reason="更正合同面积",
        source_document_id=change.plot.source_document_id,
        contract_area_m2=1650.5,
    )
    changes = certificates.certificate_view(cert).changes
    assert any(
        change.plot.dkbm in line and "1600.00 m²" in line and "1650.50 m²" in line
        for line in changes
    ), changes


def test_snapshot_hash_is_stable_and_canonical(contract):
    from decimal import Decimal

    cert = certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=DAY, reason="首次登记发证"
    )
    content = certificates.stored_snapshot(cert)
    assert content["right"]["cbhtbm"] == contract.cbhtbm
    assert content["right"]["contract_area_m2"] == "1333.33"
    # the hash is SHA-256 of the stored canonical bytes, and verifies
    assert cert.snapshot_sha256 == hashlib.sha256(cert.snapshot.encode("utf-8")).hexdigest()
    assert certificates.snapshot_intact(cert) is True
    # the same content built again, in any key order, gives the same bytes and hash
    again = certificates.build_snapshot("land_contract", contract, cert.number)
    assert certificates.snapshot_hash(again) == cert.snapshot_sha256
    shuffled = dict(reversed(list(again.items())))
    assert certificates.canonical_json(shuffled) == cert.snapshot
    # an area held as a Decimal (SQL NUMERIC) is written as the same text as a float
    contract.contract_area_m2 = Decimal("1333.330")
    assert (
        certificates.snapshot_hash(
            certificates.build_snapshot("land_contract", contract, cert.number)
        )
        == cert.snapshot_sha256
    )
    db.session.expire(contract)
    # a stored copy that was edited no longer matches its hash
    cert.snapshot = cert.snapshot.replace("1333.33", "2333.33")
    assert certificates.snapshot_intact(cert) is False


def test_certificate_issued_before_snapshots_says_so(client, auth, certified):
    """Certificates of before migration 0010 have no snapshot: the page says what it shows."""
    cert_id = certified["certificate_id"]
    cert = db.session.get(Certificate, cert_id)
    cert.snapshot = cert.snapshot_sha256 = None
    db.session.commit()
    auth.login("admin_a")
    text = client.get(f"/certificates/{cert_id}").get_data(as_text=True)
    assert "发证时未保存证书内容" in text
    assert certified["number"] in text and certified["person"] in text
    assert "登记内容已在发证后变更" not in text


# --- homesteads: notice first, homestead terms, the real-estate registry's number


@pytest.fixture
def homestead(ctx, baseline):
    from tests.factories import homesteads as homestead_fx

    return history.current_of(
        Homestead, homestead_fx.make(baseline.collective_a, {})["homestead_uid"]
    )


REAL_ESTATE_NO = "粤（2026）始兴县不动产权第0001234号"


def test_homestead_certificate_needs_a_confirmed_notice(homestead):
    with pytest.raises(DomainError) as err:
        certificates.issue_certificate(
            "homestead", homestead.uid, issued_on=DAY, reason="发证", number=REAL_ESTATE_NO
        )
    assert err.value.code == "not_confirmed"


def test_api_cannot_issue_a_homestead_certificate_while_its_notice_is_open(
    app, client, ctx, homestead
):
    uid = homestead.uid
    notices.open_notice("homestead", uid, county_today())
    db.session.commit()
    headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    r = client.post(
        "/api/v1/certificates",
        json={
            "right_kind": "homestead",
            "right_uid": uid,
            "reason": "发证",
            "number": REAL_ESTATE_NO,
        },
        headers=headers,
    )
    assert r.status_code == 422
    assert r.get_json()["error"]["code"] == "notice_open"
    assert db.session.scalar(select(Certificate).where(Certificate.right_uid == uid)) is None


def test_homestead_certificate_records_the_real_estate_number(client, auth, homestead):
    confirm_after_notice("homestead", homestead.uid)
    with pytest.raises(DomainError) as err:
        certificates.issue_certificate("homestead", homestead.uid, issued_on=DAY, reason="发证")
    assert err.value.code == "number_required" and err.value.field == "number"
    cert = certificates.issue_certificate(
        "homestead",
        homestead.uid,
        issued_on=DAY,
        reason="宅基地确权发证",
        number=f"  {REAL_ESTATE_NO} ",
    )
    assert cert.number == REAL_ESTATE_NO  # as entered, not made up from the unit number
    assert cert.number != homestead.unit_number
    cert_id, unit = cert.id, homestead.unit_number
    db.session.commit()
    auth.login("admin_a")
    text = client.get(f"/certificates/{cert_id}").get_data(as_text=True)
    sheet = text[text.index('<article class="cert-sheet') :]
    for term in ("不动产权证书号", "宅基地使用权", "不动产单元号", "使用权面积", "房屋建筑面积"):
        assert term in sheet, term
    assert REAL_ESTATE_NO in sheet and unit in sheet
    for contract_term in ("承包方", "发包方", "承包经营权"):
        assert contract_term not in sheet, contract_term
    # a re-issued real-estate certificate carries the registry's new number
    r = client.post(
        f"/certificates/{cert_id}/reissue",
        data={"reissue-reason": "遗失补证", "reissue-on": "2026-04-01"},
    )
    assert r.status_code == 422
    r = client.post(
        f"/certificates/{cert_id}/reissue",
        data={
            "reissue-reason": "遗失补证",
            "reissue-on": "2026-04-01",
            "reissue-number": "粤（2026）始兴县不动产权第0009999号",
        },
    )
    assert r.status_code == 302


def test_our_own_certificate_numbers_are_not_typed_in(contract):
    with pytest.raises(DomainError) as err:
        certificates.issue_certificate(
            "land_contract", contract.uid, issued_on=DAY, reason="发证", number="X-123"
        )
    assert err.value.code == "number_not_entered"
    cert = certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=DAY, reason="发证", number=contract.cbhtbm
    )
    assert cert.number == contract.cbhtbm


# --- an open overlap finding blocks the certificate (DOMAIN §6)


def test_open_overlap_blocks_the_certificate_until_accepted(ctx, baseline):
    from app.registry import land
    from tests.factories import land as land_fx

    made = land_fx.make(baseline.collective_a, {})  # a certified-before contract, an overlap
    contract_uid, finding_id = made["contract_uid"], made["finding_id"]
    with pytest.raises(certificates.OpenOverlap) as err:
        certificates.issue_certificate("land_contract", contract_uid, issued_on=DAY, reason="发证")
    plot_code = history.current_of(Plot, made["plot_uid"]).dkbm
    assert err.value.code == "overlap_open" and plot_code in err.value.message
    assert err.value.as_dict()["finding_id"] == finding_id
    assert (
        db.session.scalar(select(Certificate).where(Certificate.right_uid == contract_uid)) is None
    )
    land.decide_finding(finding_id, "accepted", "两户共用田埂，经村民小组确认")
    cert = certificates.issue_certificate(
        "land_contract", contract_uid, issued_on=DAY, reason="发证"
    )
    assert cert.status == "valid"


def test_share_certificate_page_shows_its_snapshot(client, auth, ctx, baseline):
    doc_id = a_document(baseline.collective_a)
    contract = make_contract(baseline.collective_a, doc_id)
    holding = history.create(
        ShareHolding,
        reason="股权固化",
        source_document_id=doc_id,
        collective_id=baseline.collective_a,
        household_uid=contract.household_uid,
        shares=2.5,
        share_type="population",
        certificate_number="GQZ-2026-0002",
    )
    confirm_after_notice("share_holding", holding.uid)
    cert_id = certificates.issue_certificate(
        "share_holding", holding.uid, issued_on=DAY, reason="股权证发放"
    ).id
    history.revise(holding, reason="更正股数", source_document_id=doc_id, shares=3.0)
    db.session.commit()
    auth.login("admin_a")
    text = client.get(f"/certificates/{cert_id}").get_data(as_text=True)
    sheet = text[text.index('<article class="cert-sheet') :]
    assert "股权证" in sheet and "GQZ-2026-0002" in sheet and "2.5" in sheet
    assert "登记内容已在发证后变更" in text and "2.5 → 3" in text
