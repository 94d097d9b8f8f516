"""/api/v1/settlements: the officer records and corrects, the bureau and auditors read, everyone
else is told there is nothing there."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.registry.models import Person
from tests.conftest import token_for

API = "/api/v1"


def bearer(app, username: str) -> dict:
    return {"Authorization": f"Bearer {token_for(app, username)}", "Accept-Language": "en"}


def _body(family, **kw) -> dict:
    body = {
        "person_uid": family["head"],
        "settled_on": "2026-03-01",
        "city": "韶关市",
        "district": "浈江区",
        "channel": "housing",
        "source_document_id": family["doc"],
    }
    body.update(kw)
    return body


def test_the_officer_records_and_corrects_and_the_auditor_reads_by_id_number(app, client, family):
    officer = bearer(app, "officer")
    r = client.post(f"{API}/settlements", headers=officer, json=_body(family))
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    assert (first["settled_on"], first["channel_label"]) == ("2026-03-01", "Purchase of housing")

    r = client.post(
        f"{API}/settlements/{first['id']}/correction",
        headers=officer,
        json={
            "settled_on": "2026-02-20",
            "city": "韶关市",
            "district": "武江区",
            "channel": "employment",
            "source_document_id": family["doc"],
            "reason": "派出所更正了日期",
        },
    )
    assert r.status_code == 201, r.get_json()
    fixed = r.get_json()
    assert fixed["corrects_id"] == first["id"]

    id_number = db.session.scalar(
        select(Person.id_number).where(Person.uid == family["head"], Person.end_lifespan.is_(None))
    )
    r = client.get(
        f"{API}/settlements",
        headers=bearer(app, "auditor"),
        query_string={"id_number": id_number},
    )
    assert r.status_code == 200, r.get_json()
    answer = r.get_json()
    assert answer["person_uid"] == family["head"]
    assert [i["id"] for i in answer["items"]] == [fixed["id"]]

    r = client.get(f"{API}/settlements/{first['id']}", headers=bearer(app, "bureau"))
    assert r.get_json()["settled_on"] == "2026-03-01"  # the first record, as it was


@pytest.mark.hostile
def test_a_future_date_is_refused_in_plain_words(app, client, family):
    r = client.post(
        f"{API}/settlements",
        headers=bearer(app, "officer"),
        json=_body(family, settled_on="2999-01-01"),
    )
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["field"] == "settled_on"
    assert "settlement date" in error["message"]


@pytest.mark.authz
@pytest.mark.parametrize("name", ["farmer_a", "admin_a", "sysadmin"])
def test_others_get_404_for_every_settlement_route(app, client, family, name):
    r = client.post(f"{API}/settlements", headers=bearer(app, "officer"), json=_body(family))
    rid = r.get_json()["id"]
    headers = bearer(app, name)
    assert client.post(f"{API}/settlements", headers=headers, json=_body(family)).status_code == 404
    assert (
        client.get(
            f"{API}/settlements", headers=headers, query_string={"person_uid": family["head"]}
        ).status_code
        == 404
    )
    assert client.get(f"{API}/settlements/{rid}", headers=headers).status_code == 404
    r = client.post(f"{API}/settlements/{rid}/correction", headers=headers, json={})
    assert r.status_code == 404


@pytest.mark.authz
def test_the_bureau_reads_but_does_not_record(app, client, family):
    bureau = bearer(app, "bureau")
    assert client.post(f"{API}/settlements", headers=bureau, json=_body(family)).status_code == 404
    r = client.get(
        f"{API}/settlements", headers=bureau, query_string={"person_uid": family["head"]}
    )
    assert r.status_code == 200
    assert r.get_json()["items"] == []
