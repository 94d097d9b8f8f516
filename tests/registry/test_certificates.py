"""Certificates: issue, re-issue (补发), replace (换发), cancel (注销); one valid per right."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.auth.models import User
from app.core.errors import DomainError
from app.extensions import db
from app.registry import certificates, documents, history
from app.registry.models import Certificate, Household, ShareHolding
from tests.conftest import token_for
from tests.factories.documents import make_contract, make_holder, minimal_pdf

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
