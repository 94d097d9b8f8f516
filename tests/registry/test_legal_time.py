"""Legal time and record time: every version says when it took effect in law (valid_from /
valid_to) and when the registry recorded it (the lifespans). ``?as_of=`` answers in legal time;
the auditor and the bureau may ask in record time."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.core.errors import DomainError
from app.extensions import db
from app.registry import certificates, history, land
from app.registry.models import LandContract, Plot
from tests.conftest import token_for
from tests.factories import land as fx

SIGNED = date(2019, 3, 1)
CERTIFIED = date(2019, 6, 30)


def bearer(app, username: str) -> dict:
    return {"Authorization": f"Bearer {token_for(app, username)}"}


def as_of_section(page: str) -> str:
    start = page.index('id="as-of"')
    return page[start : page.index("</section>", start)]


def certified_2019_contract(collective_id: int) -> LandContract:
    """A contract signed in 2019 with one plot, noticed and certified in 2019, entered today."""
    hh, _head = fx.make_household(collective_id)
    doc = fx.make_document(collective_id)
    contract = land.create_contract(
        hh,
        SIGNED,
        date(2048, 12, 31),
        source_document_id=doc,
        reason="二轮延包确权",
        confirmed=True,  # noticed and certified before the registry existed
    )
    x, y = fx.origin(collective_id)
    fx.add(
        collective_id,
        fx.square(x, y),
        contract_uid=contract.uid,
        contract_area_m2=1600.0,
        effective_on=SIGNED,
    )
    certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=CERTIFIED, reason="确权颁证"
    )
    return history.current_of(LandContract, contract.uid)


@pytest.fixture
def contract_2019(ctx, baseline) -> dict:
    contract = certified_2019_contract(baseline.collective_a)
    out = {"uid": contract.uid, "cbhtbm": contract.cbhtbm, "version": contract.version}
    db.session.commit()
    return out


# --- legal time through the page and the API -------------------------------------------------


def test_r02_as_of_the_day_after_a_2019_certification_shows_the_contract_on_its_page(
    contract_2019, client, auth
):
    auth.login("admin_a")
    day_after = (CERTIFIED + timedelta(days=1)).isoformat()
    r = client.get(f"/contracts/{contract_2019['uid']}/history", query_string={"as_of": day_after})
    assert r.status_code == 200
    shown = as_of_section(r.get_data(as_text=True))
    assert contract_2019["cbhtbm"] in shown and SIGNED.isoformat() in shown
    assert "没有有效的登记" not in shown
    # before the signing there was no contract in law
    r = client.get(
        f"/contracts/{contract_2019['uid']}/history", query_string={"as_of": "2019-02-28"}
    )
    assert "2019-02-28 没有有效的登记" in as_of_section(r.get_data(as_text=True))


def test_r02_as_of_the_day_after_a_2019_certification_shows_the_contract_in_the_api(
    contract_2019, client, app
):
    day_after = (CERTIFIED + timedelta(days=1)).isoformat()
    r = client.get(
        f"/api/v1/contracts/{contract_2019['uid']}/history",
        query_string={"as_of": day_after},
        headers=bearer(app, "admin_a"),
    )
    assert r.status_code == 200, r.json
    assert r.json["time"] == "legal"
    hit = r.json["version_as_of"]
    assert hit is not None and hit["cbhtbm"] == contract_2019["cbhtbm"]
    assert hit["term_start"] == SIGNED.isoformat()
    assert hit["contract_area_m2"] == pytest.approx(1600.0)  # its plot counts from the signing
    first = r.json["versions"][0]
    assert first["valid_from"] == SIGNED.isoformat()
    assert first["begin_lifespan"].startswith(str(date.today().year))  # recorded now
    r = client.get(
        f"/api/v1/contracts/{contract_2019['uid']}",
        headers=bearer(app, "admin_a"),
    )
    assert r.json["valid_from"] == SIGNED.isoformat() and r.json["valid_to"] is None


# --- record time for the auditor and the bureau ----------------------------------------------


@pytest.mark.parametrize("username", ["auditor", "bureau"])
def test_record_time_as_of_shows_what_the_registry_held_then(contract_2019, client, app, username):
    url = f"/api/v1/contracts/{contract_2019['uid']}/history"
    day_after = (CERTIFIED + timedelta(days=1)).isoformat()
    r = client.get(
        url, query_string={"as_of": day_after, "time": "recorded"}, headers=bearer(app, username)
    )
    assert r.status_code == 200, r.json
    assert r.json["time"] == "recorded" and r.json["version_as_of"] is None  # entered later
    today = history.county_today().isoformat()
    r = client.get(
        url, query_string={"as_of": today, "time": "recorded"}, headers=bearer(app, username)
    )
    assert r.json["version_as_of"]["version"] == contract_2019["version"]


def test_record_time_on_the_history_page_for_the_auditor(contract_2019, client, auth):
    url = f"/contracts/{contract_2019['uid']}/history"
    auth.login("auditor")
    page = client.get(url).get_data(as_text=True)
    assert 'name="time"' in page  # the choice is offered
    day_after = (CERTIFIED + timedelta(days=1)).isoformat()
    r = client.get(url, query_string={"as_of": day_after, "time": "recorded"})
    assert r.status_code == 200
    assert "尚无登记" in as_of_section(r.get_data(as_text=True))  # entered years later


def test_record_time_is_not_offered_to_a_collective_admin(contract_2019, client, auth):
    url = f"/contracts/{contract_2019['uid']}/history"
    auth.login("admin_a")
    assert 'name="time"' not in client.get(url).get_data(as_text=True)
    r = client.get(url, query_string={"as_of": "2020-01-01", "time": "recorded"})
    assert r.status_code == 422
    assert "只有审计人员和县农业农村局" in r.get_data(as_text=True)


def test_record_time_is_refused_to_a_collective_admin_in_the_api(contract_2019, client, app):
    r = client.get(
        f"/api/v1/contracts/{contract_2019['uid']}/history",
        query_string={"as_of": "2020-01-01", "time": "recorded"},
        headers=bearer(app, "admin_a"),
    )
    assert r.status_code == 422 and r.json["error"]["field"] == "time"


# --- corrections and refused dates -------------------------------------------------------------


def test_a_correction_leaves_the_old_version_never_in_effect(ctx, baseline):
    contract = certified_2019_contract(baseline.collective_a)
    doc = fx.make_document(baseline.collective_a)
    corrected = history.revise(
        contract,
        reason="更正登记错误",
        source_document_id=doc,
        effective_on=contract.valid_from,
        contract_area_m2=1650.0,
    )
    assert contract.valid_to == contract.valid_from  # as now known, never in effect
    assert corrected.valid_from == contract.valid_from and corrected.valid_to is None
    assert history.as_of(LandContract, contract.uid, date(2020, 1, 1)).version == corrected.version
    # a later change in law splits the legal time at its date
    later = history.revise(
        corrected,
        reason="调整承包面积",
        source_document_id=doc,
        effective_on=date(2021, 5, 1),
        contract_area_m2=1700.0,
    )
    assert corrected.valid_to == date(2021, 5, 1) == later.valid_from
    assert history.as_of(LandContract, contract.uid, date(2021, 4, 30)).version == corrected.version
    assert history.as_of(LandContract, contract.uid, date(2021, 5, 1)).version == later.version


def test_an_effective_date_in_the_future_or_before_the_current_version_is_refused(ctx, baseline):
    contract = certified_2019_contract(baseline.collective_a)
    doc = fx.make_document(baseline.collective_a)
    tomorrow = history.county_today() + timedelta(days=1)
    for when, code in (
        (tomorrow, "effective_in_future"),
        (date(2019, 2, 1), "effective_before_current"),
    ):
        with pytest.raises(DomainError) as e:
            history.revise(
                contract,
                reason="变更",
                source_document_id=doc,
                effective_on=when,
                contract_area_m2=99.0,
            )
        assert e.value.code == code and e.value.field == "effective_on"
        assert "effect" in e.value.message or "生效" in e.value.message
    versions = history.versions(LandContract, contract.uid)
    assert versions[-1].uid == contract.uid and versions[-1].end_lifespan is None
    assert versions[-1].contract_area_m2 != 99.0  # nothing half-written
    with pytest.raises(DomainError) as e:
        history.end(contract, reason="收回", source_document_id=doc, effective_on=tomorrow)
    assert e.value.code == "effective_in_future"
    assert history.current_of(LandContract, contract.uid) is not None


def test_services_pass_the_natural_legal_date(ctx, baseline):
    contract = certified_2019_contract(baseline.collective_a)
    first = history.versions(LandContract, contract.uid)[0]
    assert first.valid_from == SIGNED
    plot = db.session.scalar(select(Plot).where(Plot.contract_uid == contract.uid))
    assert plot.valid_from == SIGNED
    # a term that begins after today was still signed by today: it takes effect today
    hh, _ = fx.make_household(baseline.collective_a)
    future = land.create_contract(
        hh,
        history.county_today() + timedelta(days=30),
        date(2050, 12, 31),
        source_document_id=fx.make_document(baseline.collective_a),
        reason="新发包",
    )
    assert future.valid_from == history.county_today()


# --- times on pages ----------------------------------------------------------------------------


def test_history_page_shows_beijing_time_without_microseconds(contract_2019, client, auth):
    auth.login("bureau")
    page = client.get(f"/contracts/{contract_2019['uid']}/history").get_data(as_text=True)
    first = history.versions(LandContract, contract_2019["uid"])[0]
    beijing = first.begin_lifespan.replace(tzinfo=ZoneInfo("UTC")).astimezone(
        ZoneInfo("Asia/Shanghai")
    )
    assert f"{beijing:%Y-%m-%d %H:%M:%S}（北京时间）" in page
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{3,6}", page)
    assert "生效日期" in page and "登记时间" in page
    assert SIGNED.isoformat() in page
