"""The settlement desk's pages: find by ID number, see the records, record and correct."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.registry.models import Person
from app.settlement.models import SettlementRecord


def _id_number(uid: int) -> str:
    return db.session.scalar(
        select(Person.id_number).where(Person.uid == uid, Person.end_lifespan.is_(None))
    )


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(SettlementRecord))


def _form(family, **kw) -> dict:
    data = {
        "settled_on": "2026-03-01",
        "city": "韶关市",
        "district": "浈江区",
        "channel": "housing",
        "source_document_id": str(family["doc"]),
    }
    data.update(kw)
    return data


def test_the_officer_finds_records_and_corrects_through_the_desk(client, auth, family):
    auth.login("officer")
    r = client.get("/settlement", query_string={"id_number": _id_number(family["head"])})
    assert r.status_code == 302
    person_url = f"/settlement/people/{family['head']}"
    assert r.headers["Location"].endswith(person_url)

    page = client.get(person_url)
    assert page.status_code == 200
    assert f'value="{family["doc"]}"' in page.get_data(as_text=True)  # the document picker

    r = client.post(person_url, data=_form(family))
    assert r.status_code == 302
    record = db.session.scalar(select(SettlementRecord))
    assert (record.city, record.channel, record.recorded_by) == ("韶关市", "housing", "officer")

    correction = f"/settlement/records/{record.id}/correction"
    assert "韶关市" in client.get(correction).get_data(as_text=True)
    r = client.post(correction, data=_form(family, district="武江区", reason="派出所更正"))
    assert r.status_code == 302
    assert _count() == 2
    page = client.get(person_url).get_data(as_text=True)
    assert "武江区" in page and "浈江区" in page  # the earlier record is still shown


def test_an_unknown_id_number_is_told_beside_the_field(client, auth, family):
    auth.login("officer")
    r = client.get("/settlement", query_string={"id_number": "440222198001010000"})
    assert r.status_code == 200
    assert 'class="field-error"' in r.get_data(as_text=True)


@pytest.mark.hostile
def test_a_refusal_is_shown_beside_its_field_and_nothing_is_written(client, auth, family):
    auth.login("officer")
    r = client.post(f"/settlement/people/{family['head']}", data=_form(family, channel="x"))
    assert r.status_code == 422
    r = client.post(f"/settlement/people/{family['head']}", data=_form(family, city=""))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    at = page.find('name="city"')
    assert 'class="field-error"' in page[at : page.find('name="district"')]
    assert _count() == 0


@pytest.mark.authz
def test_the_bureau_reads_the_desk_but_has_no_form(client, auth, family):
    auth.login("officer")
    client.post(f"/settlement/people/{family['head']}", data=_form(family))
    auth.logout()
    auth.login("bureau")
    page = client.get(f"/settlement/people/{family['head']}")
    assert page.status_code == 200
    assert "韶关市" in page.get_data(as_text=True)
    assert 'name="settled_on"' not in page.get_data(as_text=True)
    assert (
        client.post(f"/settlement/people/{family['head']}", data=_form(family)).status_code == 404
    )
    assert _count() == 1


@pytest.mark.authz
@pytest.mark.parametrize("name", ["farmer_a", "admin_a", "sysadmin"])
def test_the_desk_is_404_for_everyone_else(client, auth, family, name):
    auth.login(name)
    assert client.get("/settlement").status_code == 404
    assert client.get(f"/settlement/people/{family['head']}").status_code == 404
    assert (
        client.post(f"/settlement/people/{family['head']}", data=_form(family)).status_code == 404
    )
    assert client.get("/settlement/records/1/correction").status_code == 404
