"""Contracts by land type and contracting method (R02 caps, J/Q codes), reserve land (R01) and
the contract-versus-measured area warning, through the service functions on a real database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update

from app.extensions import db
from app.registry import history, land, people
from app.registry.models import Household, LandContract, Plot
from tests.factories import land as fx
from tests.factories.land import add, refused

TODAY = date(2026, 3, 1)


def _contract(collective_id: int, start: date, end: date, **kw) -> LandContract:
    hh, _head = fx.make_household(collective_id)
    return land.create_contract(
        hh,
        start,
        end,
        source_document_id=fx.make_document(collective_id),
        reason="确权",
        today=TODAY,
        **kw,
    )


# --- R02: the term cap by land type (Art. 21) ---------------------------------------------------


@pytest.mark.parametrize("land_type,years", [("arable", 30), ("grassland", 50), ("forest", 70)])
def test_r02_term_at_the_cap_of_its_land_type_accepted(ctx, baseline, land_type, years):
    start = date(2020, 1, 1)
    end = date(2020 + years, 1, 1)
    c = _contract(baseline.collective_a, start, end, land_type=land_type)
    assert c.land_type == land_type and c.term_end == end


@pytest.mark.parametrize(
    "land_type,years,name",
    [("arable", 30, "耕地"), ("grassland", 50, "草地"), ("forest", 70, "林地")],
)
def test_r02_term_over_the_cap_of_its_land_type_refused(ctx, baseline, land_type, years, name):
    hh, _ = fx.make_household(baseline.collective_a)
    with refused(rule="R02", code="term_too_long") as r:
        land.create_contract(
            hh,
            date(2020, 1, 1),
            date(2020 + years, 1, 2),
            source_document_id=fx.make_document(baseline.collective_a),
            reason="确权",
            today=TODAY,
            land_type=land_type,
        )
    assert r.error.field == "term_end"
    assert f"{2020 + years}-01-01" in r.error.message and str(years) in r.error.message
    assert name in r.error.message  # the land type is named, in Chinese
    assert land.contract_of_household(hh) is None


def test_r02_a_contract_is_arable_land_unless_said_otherwise(ctx, baseline):
    c = _contract(baseline.collective_a, date(2020, 1, 1), date(2049, 12, 31))
    assert c.land_type == "arable" and c.method == "household"
    with refused(rule="R02", code="term_too_long"):
        _contract(baseline.collective_a, date(2020, 1, 1), date(2060, 1, 1))


def test_unknown_land_type_or_method_refused(ctx, baseline):
    with refused(code="land_type") as r:
        _contract(baseline.collective_a, date(2020, 1, 1), date(2049, 12, 31), land_type="hill")
    assert r.error.field == "land_type"
    with refused(code="contract_method") as r:
        _contract(baseline.collective_a, date(2020, 1, 1), date(2049, 12, 31), method="sale")
    assert r.error.field == "method"


@pytest.mark.parametrize("land_type,years", [("arable", 30), ("grassland", 50), ("forest", 70)])
def test_r02_renewal_up_to_the_cap_of_its_land_type(ctx, baseline, land_type, years):
    c = _contract(baseline.collective_a, date(2000, 1, 1), date(2029, 12, 31), land_type=land_type)
    doc = fx.make_document(baseline.collective_a)
    with refused(rule="R02", code="term_too_long"):
        land.renew_contract(
            c.uid, source_document_id=doc, reason="延包", today=TODAY, years=years + 1
        )
    renewed = land.renew_contract(
        c.uid, source_document_id=doc, reason="延包", today=TODAY, years=years
    )
    assert renewed.term_start == date(2030, 1, 1)
    assert renewed.term_end == date(2029 + years, 12, 31)
    assert renewed.land_type == land_type


def test_r02_arable_renewal_is_30_years_by_default(ctx, baseline):
    c = _contract(baseline.collective_a, date(2000, 1, 1), date(2029, 12, 31))
    renewed = land.renew_contract(
        c.uid,
        source_document_id=fx.make_document(baseline.collective_a),
        reason="延包",
        today=TODAY,
    )
    assert renewed.term_end == date(2059, 12, 31)


def test_r02_forest_renewal_keeps_the_length_of_the_term_by_default(ctx, baseline):
    c = _contract(baseline.collective_a, date(1970, 1, 1), date(2029, 12, 31), land_type="forest")
    renewed = land.renew_contract(
        c.uid,
        source_document_id=fx.make_document(baseline.collective_a),
        reason="延包",
        today=TODAY,
    )
    assert renewed.term_end == date(2089, 12, 31)  # 60 years -> another 60 (under 70)


# --- codes: J for household contracting, Q for other methods ------------------------------------


def test_r01_contract_by_another_method_has_a_q_code(ctx, baseline):
    c = _contract(baseline.collective_a, date(2020, 1, 1), date(2049, 12, 31), method="other")
    household = history.current_of(Household, c.household_uid)
    assert c.cbhtbm == household.cbfbm + "Q" and c.method == "other"
    j = _contract(baseline.collective_a, date(2020, 1, 1), date(2049, 12, 31))
    assert j.cbhtbm.endswith("J") and j.method == "household"


# --- R01: reserve land (机动地) is the collective's -------------------------------------------


def test_r01_reserve_land_cannot_be_added_to_a_contract(ctx, baseline):
    c = _contract(baseline.collective_a, date(2020, 1, 1), date(2049, 12, 31))
    x, y = fx.origin(baseline.collective_a)
    with refused(rule="R01", code="reserve_land") as r:
        add(baseline.collective_a, fx.square(x, y), land_class="22", contract_uid=c.uid)
    assert r.error.field == "contract_uid" and "机动地" in r.error.message
    assert land.contract_plots(c.uid) == []


def test_r01_reserve_land_cannot_be_assigned_to_a_contract(ctx, baseline):
    c = _contract(baseline.collective_a, date(2020, 1, 1), date(2049, 12, 31))
    x, y = fx.origin(baseline.collective_a)
    reserve = add(baseline.collective_a, fx.square(x, y), land_class="22").plot
    with refused(rule="R01", code="reserve_land"):
        land.assign_plot_to_contract(
            reserve.uid,
            c.uid,
            source_document_id=fx.make_document(baseline.collective_a),
            reason="分配",
        )
    assert history.current_of(Plot, reserve.uid).contract_uid is None


def test_r01_a_contracted_plot_cannot_become_reserve_land(ctx, baseline):
    c = _contract(baseline.collective_a, date(2020, 1, 1), date(2049, 12, 31))
    x, y = fx.origin(baseline.collective_a)
    p = add(baseline.collective_a, fx.square(x, y), contract_uid=c.uid, contract_area_m2=1600).plot
    with refused(rule="R01", code="reserve_land"):
        land.update_plot_attributes(
            p.uid,
            source_document_id=fx.make_document(baseline.collective_a),
            reason="更正",
            land_class="22",
        )


def test_r01_reserve_land_never_counts_in_a_households_contract_area(ctx, baseline):
    """Even reserve land recorded against a household before these checks (e.g. by an import)
    is left out of the contract's and the household's contract area."""
    c = _contract(baseline.collective_a, date(2020, 1, 1), date(2049, 12, 31))
    x, y = fx.origin(baseline.collective_a)
    add(baseline.collective_a, fx.square(x, y), contract_uid=c.uid, contract_area_m2=1600.0)
    old = add(
        baseline.collective_a, fx.square(x + 100, y), contract_uid=c.uid, contract_area_m2=900.0
    ).plot
    db.session.execute(update(Plot).where(Plot.id == old.id).values(land_class="22"))
    db.session.expire_all()
    third = add(
        baseline.collective_a, fx.square(x, y + 100), contract_uid=c.uid, contract_area_m2=400.0
    )
    assert third.plot.contract_uid == c.uid
    assert history.current_of(LandContract, c.uid).contract_area_m2 == pytest.approx(2000.0)
    rights = people.household_rights(c.household_uid)
    assert rights.contract_area_m2 == pytest.approx(2000.0)


# --- the contract area against the drawn area: a warning, as in the importer ------------------


def test_contract_area_far_from_the_drawn_area_is_a_warning_not_a_refusal(ctx, baseline, app):
    x, y = fx.origin(baseline.collective_a)
    assert app.config["IMPORT_AREA_MISMATCH_PERCENT"] == 10.0
    change = add(baseline.collective_a, fx.square(x, y, 50), contract_area_m2=2800.0)  # +12 %
    assert change.plot.uid and change.plot.contract_area_m2 == 2800.0  # saved
    [warning] = [w for w in change.warnings if w.code == "area_mismatch"]
    assert warning.severity == "warning"
    assert "2800.00" in warning.message_zh and "2500.00" in warning.message_zh
    assert "12.0%" in warning.message_zh and "10%" in warning.message_zh
    near = add(baseline.collective_a, fx.square(x + 100, y, 50), contract_area_m2=2740.0)  # +9.6%
    assert not [w for w in near.warnings if w.code == "area_mismatch"]


def test_area_warning_follows_the_county_setting(ctx, baseline, app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_AREA_MISMATCH_PERCENT", 5.0)
    x, y = fx.origin(baseline.collective_a)
    change = add(baseline.collective_a, fx.square(x, y, 50), contract_area_m2=2400.0)  # -4 %
    assert not [w for w in change.warnings if w.code == "area_mismatch"]
    change = add(baseline.collective_a, fx.square(x + 100, y, 50), contract_area_m2=2350.0)
    assert [w for w in change.warnings if w.code == "area_mismatch"]


def test_revised_boundary_rechecks_the_area(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    p = add(baseline.collective_a, fx.square(x, y, 50), contract_area_m2=2500.0)
    assert not [w for w in p.warnings if w.code == "area_mismatch"]
    revised = land.update_plot_geometry(
        p.plot.uid,
        fx.geojson(fx.square(x, y, 40)),
        "EPSG:4547",
        source_document_id=fx.make_document(baseline.collective_a),
        reason="重测",
    )
    assert [w for w in revised.warnings if w.code == "area_mismatch"]


def test_importer_and_plot_form_judge_the_area_the_same_way():
    import numpy as np

    from app.geo import geometry as geo

    contract = np.array([2800.0, 2740.0])
    measured = np.array([2500.0, 2500.0])
    columns = geo.area_difference(contract, measured) > 0.10
    one_by_one = [
        geo.area_mismatch_finding(c, m, 10.0) is not None
        for c, m in zip(contract, measured, strict=True)
    ]
    assert columns.tolist() == one_by_one == [True, False]
