"""Contracts and plots through the service functions (real database, rolled back): R01, R02, codes,
history and the database's own guard against two current versions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon
from sqlalchemy.exc import IntegrityError

from app.core.models import utcnow
from app.core.spatial import registry_srid
from app.extensions import db
from app.registry import history, land
from app.registry.models import Household, LandContract, Plot
from tests.factories import land as fx
from tests.factories.land import add, contract, refused

TODAY = date(2026, 3, 1)


# --- contracts: R01, R02 -------------------------------------------------------------------------


def test_contract_code_is_household_code_plus_j(ctx, baseline):
    c = contract(baseline.collective_a)
    household = history.current_of(Household, c.household_uid)
    assert c.cbhtbm == household.cbfbm + "J"
    assert c.collective_id == baseline.collective_a
    assert c.version == 1 and c.source_document_id is not None


def test_r02_term_beyond_30_years_refused(ctx, baseline):
    hh, _ = fx.make_household(baseline.collective_a)
    doc = fx.make_document(baseline.collective_a)
    with refused(rule="R02", code="term_too_long") as r:
        land.create_contract(
            hh,
            date(2020, 1, 1),
            date(2050, 1, 2),
            source_document_id=doc,
            reason="确权",
            today=TODAY,
        )
    assert r.error.field == "term_end"
    assert "2050-01-01" in r.error.message  # the latest possible end is named
    assert land.contract_of_household(hh) is None


def test_r02_term_of_exactly_30_years_accepted(ctx, baseline):
    c = contract(baseline.collective_a, date(2020, 1, 1), date(2050, 1, 1))
    assert c.term_end == date(2050, 1, 1)


def test_r02_term_must_end_after_it_starts(ctx, baseline):
    with refused(rule="R02", code="term_order"):
        contract(baseline.collective_a, date(2020, 1, 1), date(2019, 12, 31))


def test_r02_term_already_over_refused(ctx, baseline):
    with refused(rule="R02", code="term_ended"):
        contract(baseline.collective_a, date(1990, 1, 1), date(2019, 12, 31))


def test_r02_check_within_term_refuses_an_end_date_past_the_contract(ctx, baseline):
    c = contract(baseline.collective_a)
    assert land.check_within_term(c, date(2049, 12, 31), today=TODAY) == date(2049, 12, 31)
    assert land.check_within_term(c.uid, date(2030, 6, 30), today=TODAY) == date(2049, 12, 31)
    with refused(rule="R02", code="beyond_contract_term") as r:
        land.check_within_term(c, date(2050, 1, 1), today=TODAY)
    assert r.error.field == "end_date"
    assert "2049-12-31" in r.error.message


def test_r02_check_within_term_uses_the_current_version(ctx, baseline):
    c = contract(baseline.collective_a, date(2000, 1, 1), date(2029, 12, 31))
    with refused(rule="R02"):
        land.check_within_term(c, date(2040, 1, 1), today=TODAY)
    land.renew_contract(
        c.uid,
        source_document_id=fx.make_document(baseline.collective_a),
        reason="第二轮延包",
        today=TODAY,
    )
    # The old version object is passed on purpose: the check reads the current one.
    assert land.check_within_term(c, date(2040, 1, 1), today=TODAY) == date(2059, 12, 31)


def test_r02_renewal_adds_30_years_from_the_end(ctx, baseline):
    c = contract(baseline.collective_a, date(2000, 1, 1), date(2029, 12, 31))
    renewed = land.renew_contract(
        c.uid,
        source_document_id=fx.make_document(baseline.collective_a),
        reason="延包",
        today=TODAY,
    )
    assert renewed.uid == c.uid and renewed.version == 2
    assert renewed.term_start == date(2030, 1, 1)
    assert renewed.term_end == date(2059, 12, 31)
    assert history.versions(LandContract, c.uid)[0].term_end == date(2029, 12, 31)


def test_r02_renewal_cannot_stack_terms(ctx, baseline):
    c = contract(baseline.collective_a, date(2020, 1, 1), date(2049, 12, 31))
    with refused(rule="R02", code="renewal_too_early") as r:
        land.renew_contract(
            c.uid,
            source_document_id=fx.make_document(baseline.collective_a),
            reason="延包",
            today=TODAY,
        )
    assert "2044-12-31" in r.error.message


def test_r01_one_current_contract_per_household(ctx, baseline):
    c = contract(baseline.collective_a)
    with refused(rule="R01", code="contract_exists") as r:
        land.create_contract(
            c.household_uid,
            date(2020, 1, 1),
            date(2049, 12, 31),
            source_document_id=fx.make_document(baseline.collective_a),
            reason="again",
            today=TODAY,
        )
    assert c.cbhtbm in r.error.message


def test_r01_unknown_household_refused(ctx, baseline):
    with refused(rule="R01", code="household_not_found"):
        land.create_contract(
            999_999,
            date(2020, 1, 1),
            date(2049, 12, 31),
            source_document_id=fx.make_document(baseline.collective_a),
            reason="确权",
            today=TODAY,
        )


def test_contract_needs_a_source_document_of_the_collective(ctx, baseline):
    hh, _ = fx.make_household(baseline.collective_a)
    with refused(code="source_required"):
        land.create_contract(
            hh, date(2020, 1, 1), date(2049, 12, 31), source_document_id=None, reason="x"
        )
    other = fx.make_document(baseline.collective_b)
    with refused(code="source_unknown"):
        land.create_contract(
            hh, date(2020, 1, 1), date(2049, 12, 31), source_document_id=other, reason="x"
        )


# --- plots: codes, areas, contracts ------------------------------------------------------------


def test_plot_code_of_another_collective_refused(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    code_b = fx.dkbm(baseline.collective_b)
    with refused(code="prefix") as r:
        add(baseline.collective_a, fx.square(x, y), dkbm=code_b)
    assert r.error.field == "dkbm"


def test_malformed_plot_code_refused(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    with refused(code="length"):
        add(baseline.collective_a, fx.square(x, y), dkbm="4402221002050")


def test_duplicate_plot_code_refused(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    first = add(baseline.collective_a, fx.square(x, y))
    with refused(code="dkbm_taken") as r:
        add(baseline.collective_a, fx.square(x + 100, y), dkbm=first.plot.dkbm)
    assert first.plot.dkbm in r.error.message


def test_measured_area_from_geometry_and_contract_area_kept_apart(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    change = add(baseline.collective_a, fx.square(x, y, 50), contract_area_m2=2600.0)
    assert change.plot.measured_area_m2 == pytest.approx(2500.0)
    assert change.plot.contract_area_m2 == 2600.0
    given = add(baseline.collective_a, fx.square(x + 100, y, 50), measured_area_m2=2498.7)
    assert given.plot.measured_area_m2 == 2498.7


def test_plot_in_contract_belongs_to_its_household_and_sums_the_contract_area(ctx, baseline):
    c = contract(baseline.collective_a)
    x, y = fx.origin(baseline.collective_a)
    p1 = add(baseline.collective_a, fx.square(x, y), contract_uid=c.uid, contract_area_m2=1000.0)
    add(baseline.collective_a, fx.square(x + 100, y), contract_uid=c.uid, contract_area_m2=600.5)
    assert p1.plot.household_uid == c.household_uid
    current = history.current_of(LandContract, c.uid)
    assert current.contract_area_m2 == pytest.approx(1600.5)
    assert {p.dkbm for p in land.contract_plots(c.uid)} == {p1.plot.dkbm} | {
        p.dkbm for p in land.contract_plots(c.uid)
    }
    assert len(land.contract_plots(c.uid)) == 2


def test_r01_plot_and_contract_of_different_collectives_refused(ctx, baseline):
    c = contract(baseline.collective_b)
    x, y = fx.origin(baseline.collective_a)
    # Refused like a contract that does not exist: another collective's contract does not leak.
    with refused(code="contract_not_found") as other:
        add(baseline.collective_a, fx.square(x, y), contract_uid=c.uid)
    with refused(code="contract_not_found") as nobody:
        add(baseline.collective_a, fx.square(x, y), contract_uid=2**31 - 2)
    assert other.error.as_dict() == nobody.error.as_dict()


def test_assign_and_unassign_plot(ctx, baseline):
    c = contract(baseline.collective_a)
    x, y = fx.origin(baseline.collective_a)
    p = add(baseline.collective_a, fx.square(x, y), contract_area_m2=800.0).plot
    doc = fx.make_document(baseline.collective_a)
    assigned = land.assign_plot_to_contract(p.uid, c.uid, source_document_id=doc, reason="分配")
    assert assigned.version == 2 and assigned.household_uid == c.household_uid
    assert history.current_of(LandContract, c.uid).contract_area_m2 == pytest.approx(800.0)
    other = contract(baseline.collective_a)
    # Out of a household's contract only as a countersigned move (tests/registry/test_moves.py).
    with refused(code="basis_required"):
        land.assign_plot_to_contract(p.uid, other.uid, source_document_id=doc, reason="改")
    freed = land._move_plot(p.uid, None, source_document_id=doc, reason="更正")
    assert freed.contract_uid is None and freed.household_uid is None
    assert history.current_of(LandContract, c.uid).contract_area_m2 == 0.0


def test_plot_attributes_validated(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    with refused(code="land_class"):
        add(baseline.collective_a, fx.square(x, y), land_class="77")
    with refused(code="area"):
        add(baseline.collective_a, fx.square(x, y), contract_area_m2=-3)
    with refused(code="too_long"):
        add(baseline.collective_a, fx.square(x, y), east="东" * 101)
    with refused(code="reason_required"):
        add(baseline.collective_a, fx.square(x, y), reason="  ")


# --- history -----------------------------------------------------------------------------------


def test_revised_geometry_keeps_two_versions_and_as_of_finds_the_first(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    v1 = add(baseline.collective_a, fx.square(x, y, 40)).plot
    v1_area = v1.measured_area_m2
    v2 = land.update_plot_geometry(
        v1.uid,
        fx.geojson(fx.square(x, y, 50)),
        "EPSG:4547",
        source_document_id=fx.make_document(baseline.collective_a),
        reason="复测",
    ).plot
    versions = history.versions(Plot, v1.uid)
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].end_lifespan == v2.begin_lifespan
    assert v2.measured_area_m2 == pytest.approx(2500.0) and v1_area == pytest.approx(1600.0)
    before = history.as_of(
        Plot, v1.uid, v2.begin_lifespan - timedelta(microseconds=1), recorded=True
    )
    assert before.version == 1
    assert to_shape(before.geom).area == pytest.approx(1600.0)
    assert history.as_of(Plot, v1.uid, v2.begin_lifespan, recorded=True).version == 2
    assert (
        history.as_of(Plot, v1.uid, v1.begin_lifespan - timedelta(seconds=1), recorded=True) is None
    )
    assert set(history.diff(versions[0], versions[1])) == {"geom", "measured_area_m2"}


def test_database_refuses_two_current_versions(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    plot = add(baseline.collective_a, fx.square(x, y)).plot
    twin = Plot(
        uid=plot.uid,
        version=2,
        begin_lifespan=utcnow(),
        dkbm=fx.dkbm(baseline.collective_a),  # another code: only the one-current rule applies
        collective_id=plot.collective_id,
        land_class="10",
        source_document_id=plot.source_document_id,
        geom=from_shape(MultiPolygon([fx.square(x, y)]), srid=registry_srid()),
    )
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(twin)
        db.session.flush()
    assert [v.version for v in history.versions(Plot, plot.uid)] == [1]


def test_database_refuses_two_current_plots_with_one_code(ctx, baseline):
    x, y = fx.origin(baseline.collective_a)
    plot = add(baseline.collective_a, fx.square(x, y)).plot
    other = add(baseline.collective_a, fx.square(x + 100, y)).plot
    with pytest.raises(IntegrityError), db.session.begin_nested():
        other.dkbm = plot.dkbm
        db.session.flush()
