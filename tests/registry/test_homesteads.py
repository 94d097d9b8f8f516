"""Homestead rules R07, R08, R09 through the service functions (real database, rolled back)."""

from __future__ import annotations

from datetime import date

import pytest
from shapely.geometry import Polygon, mapping

from app.core.errors import DomainError
from app.registry import history
from app.registry.homesteads import (
    dispose_homestead,
    grant_homestead,
    may_apply_for_homestead,
    transfer_homestead_check,
)
from app.registry.models import Homestead
from tests.factories import homesteads as b


def grant(household_uid, collective_id, *, terrain="plain", area=75.0, **kw):
    kw.setdefault("approval_number", "始兴宅批〔2024〕12号")
    kw.setdefault("approved_on", date(2024, 3, 1))
    kw.setdefault("source_document_id", b.document(collective_id))
    kw.setdefault("reason", "新批宅基地")
    return grant_homestead(
        household_uid, kw.pop("unit", None) or b.unit_number(collective_id), terrain, area, **kw
    )


def refused(rule=None, code=None):
    """Context manager asserting a DomainError with the given rule / code."""

    class _Ctx:
        def __enter__(self):
            return self

        def __exit__(self, et, ev, tb):
            assert et is not None and issubclass(et, DomainError), f"expected DomainError, got {et}"
            if rule:
                assert ev.rule == rule, (ev.rule, ev.code, ev.message)
            if code:
                assert ev.code == code, (ev.code, ev.message)
            self.error = ev
            return True

    return _Ctx()


# --- grant basics ------------------------------------------------------------------------


def test_grant_records_a_current_version_citing_its_source(ctx, baseline):
    hh = b.household(baseline.collective_a)
    h = grant(hh, baseline.collective_a, area=72.5, floor_area_m2=140.0)
    assert h.version == 1 and h.is_current
    assert h.unit_number.startswith("440222") and h.unit_number[12:14] == "JC"
    assert h.collective_id == baseline.collective_a
    assert h.source_document_id is not None
    assert history.current_of(Homestead, h.uid).area_m2 == 72.5


def test_unit_number_must_be_a_homestead_unit_of_the_county(ctx, baseline):
    hh = b.household(baseline.collective_a)
    bad_type = b.unit_number(baseline.collective_a).replace("JC", "JA")
    with refused(code="parcel_type"):
        grant(hh, baseline.collective_a, unit=bad_type)
    other_county = "440233" + b.unit_number(baseline.collective_a)[6:]
    with refused(code="prefix") as r:
        grant(hh, baseline.collective_a, unit=other_county)
    assert r.error.field == "unit_number"


def test_unit_number_registered_twice_is_refused(ctx, baseline):
    unit = b.unit_number(baseline.collective_a)
    grant(b.household(baseline.collective_a), baseline.collective_a, unit=unit)
    with refused(code="unit_taken"):
        grant(b.household(baseline.collective_a), baseline.collective_a, unit=unit)


@pytest.mark.parametrize(
    "field,kw",
    [
        ("terrain", {"terrain": "swamp"}),
        ("area_m2", {"area": -5}),
        ("area_m2", {"area": float("nan")}),
        ("area_m2", {"area": "80"}),
        ("approval_number", {"approval_number": "  "}),
        ("approved_on", {"approved_on": date(2999, 1, 1)}),
        ("approved_on", {"approved_on": "2024-01-01"}),
        ("floor_area_m2", {"floor_area_m2": -1}),
        ("reason", {"reason": ""}),
        ("source_document_id", {"source_document_id": 999999}),
    ],
)
def test_bad_input_is_a_domain_error_naming_the_field(ctx, baseline, field, kw):
    hh = b.household(baseline.collective_a)
    with refused() as r:
        grant(hh, baseline.collective_a, **kw)
    assert r.error.field == field


def test_source_document_of_another_collective_is_refused(ctx, baseline):
    hh = b.household(baseline.collective_a)
    with refused(code="source_unknown"):
        grant(hh, baseline.collective_a, source_document_id=b.document(baseline.collective_b))


def test_unknown_household_is_refused(ctx, baseline):
    with refused(code="household_unknown"):
        grant(987654321, baseline.collective_a)


# --- R07 -------------------------------------------------------------------------------------


def test_r07_second_homestead_refused(ctx, baseline):
    hh = b.household(baseline.collective_a)
    grant(hh, baseline.collective_a)
    with refused(rule="R07", code="has_homestead"):
        grant(hh, baseline.collective_a)
    from sqlalchemy import select

    from app.extensions import db

    rows = db.session.scalars(select(Homestead).where(Homestead.household_uid == hh)).all()
    assert [r.is_current for r in rows] == [True]


@pytest.mark.parametrize("terrain,cap", [("plain", 80.0), ("hill", 120.0), ("mountain", 150.0)])
def test_r07_cap_exactly_at_cap_is_granted(ctx, baseline, terrain, cap):
    h = grant(b.household(baseline.collective_a), baseline.collective_a, terrain=terrain, area=cap)
    assert h.area_m2 == cap and h.terrain == terrain


@pytest.mark.parametrize("terrain,cap", [("plain", 80.0), ("hill", 120.0), ("mountain", 150.0)])
def test_r07_cap_above_cap_is_refused_naming_cap_and_terrain(ctx, baseline, terrain, cap):
    hh = b.household(baseline.collective_a)
    with refused(rule="R07", code="over_cap") as r:
        grant(hh, baseline.collective_a, terrain=terrain, area=cap + 0.01)
    assert f"{cap:g}" in r.error.message
    assert r.error.field == "area_m2"
    assert may_apply_for_homestead(hh) == (True, "")  # nothing was written


def test_r07_cap_message_names_the_terrain(app, baseline):
    with (
        app.app_context(),
        app.test_request_context(headers={"Cookie": "lang=en"}),
        _acting(),
    ):
        hh = b.household(baseline.collective_a)
        with refused(rule="R07") as r:
            grant(hh, baseline.collective_a, terrain="hill", area=121)
        assert "hills" in r.error.message and "120" in r.error.message


def _acting():
    from app.audit import trail

    return trail.acting(trail.AuditContext(actor="tester", role="collective_admin"))


def test_r07_database_refuses_a_second_current_homestead(ctx, baseline):
    """The partial unique index catches what a racing request would slip past the check."""
    from sqlalchemy.exc import IntegrityError

    from app.extensions import db

    hh = b.household(baseline.collective_a)
    first = grant(hh, baseline.collective_a)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        history.create(
            Homestead,
            reason="race",
            source_document_id=first.source_document_id,
            unit_number=b.unit_number(baseline.collective_a),
            household_uid=hh,
            collective_id=baseline.collective_a,
            terrain="plain",
            area_m2=50.0,
        )


# --- R08 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("disposal", ["sold", "transferred", "leased", "gifted"])
def test_r08_after_selling_no_new_homestead(ctx, baseline, disposal):
    hh = b.household(baseline.collective_a)
    h = grant(hh, baseline.collective_a)
    ended = dispose_homestead(
        h.uid, disposal, "卖房", b.document(baseline.collective_a), basis="correction"
    )
    assert ended.disposal == disposal and not ended.is_current
    assert history.current_of(Homestead, h.uid) is None
    with refused(rule="R08", code="r08_barred"):
        grant(hh, baseline.collective_a)
    ok, why = may_apply_for_homestead(hh)
    assert not ok and why


@pytest.mark.parametrize("disposal", ["returned"])
def test_r08_after_returning_the_rule_does_not_bar(ctx, baseline, disposal):
    hh = b.household(baseline.collective_a)
    h = grant(hh, baseline.collective_a)
    dispose_homestead(
        h.uid, disposal, "自愿交回", b.document(baseline.collective_a), basis="correction"
    )
    assert may_apply_for_homestead(hh) == (True, "")
    again = grant(hh, baseline.collective_a)
    assert again.is_current and again.uid != h.uid


def test_dispose_needs_a_known_disposal_reason_and_source(ctx, baseline):
    h = grant(b.household(baseline.collective_a), baseline.collective_a)
    doc = b.document(baseline.collective_a)
    with refused(code="disposal"):
        dispose_homestead(h.uid, "demolished", "x", doc)
    with refused(code="reason_required"):
        dispose_homestead(h.uid, "sold", "  ", doc, basis="correction")
    with refused(code="source_required"):
        dispose_homestead(h.uid, "sold", "x", None, basis="correction")
    assert history.current_of(Homestead, h.uid) is not None
    dispose_homestead(h.uid, "sold", "x", doc, basis="correction")
    with refused(code="homestead_unknown"):
        dispose_homestead(h.uid, "sold", "again", doc, basis="correction")


# --- R09 -------------------------------------------------------------------------------------


def test_r09_member_household_without_homestead_qualifies(ctx, baseline):
    assert may_apply_for_homestead(b.household(baseline.collective_a)) == (True, "")


def test_r09_household_with_a_homestead_refused(ctx, baseline):
    seller = b.household(baseline.collective_a)
    buyer = b.household(baseline.collective_a)
    h = grant(seller, baseline.collective_a)
    grant(buyer, baseline.collective_a)
    ok, why = may_apply_for_homestead(buyer)
    assert not ok and why
    with refused(rule="R09", code="has_homestead"):
        transfer_homestead_check(h.uid, buyer)


def test_r09_other_collective_refused(ctx, baseline):
    h = grant(b.household(baseline.collective_a), baseline.collective_a)
    outsider = b.household(baseline.collective_b)
    assert may_apply_for_homestead(outsider) == (True, "")  # qualifies in its own collective
    # R09 holds, and another collective's household is answered like one that does not exist.
    with pytest.raises(DomainError) as other:
        transfer_homestead_check(h.uid, outsider)
    with pytest.raises(DomainError) as nobody:
        transfer_homestead_check(h.uid, 2**31 - 2)
    assert other.value.code == "household_unknown"
    assert other.value.as_dict() == nobody.value.as_dict()


def test_r09_all_urban_household_refused(ctx, baseline):
    c = baseline.collective_a
    urban = b.household(
        c, members=[b.person(c, hukou="urban"), b.person(c, hukou="urban")], name="城镇户"
    )
    ok, why = may_apply_for_homestead(urban)
    assert not ok and why
    h = grant(b.household(c), c)
    with refused(rule="R09", code="urban_household"):
        transfer_homestead_check(h.uid, urban)


def test_r09_household_with_one_settled_and_one_rural_member_qualifies(ctx, baseline):
    """Decision: a member who settled in town (urban hukou) costs the rest of the household
    nothing; only a household ALL of whose members are urban residents is refused."""
    c = baseline.collective_a
    mixed = b.household(c, members=[b.person(c, hukou="urban"), b.person(c, hukou="rural")])
    assert may_apply_for_homestead(mixed) == (True, "")
    h = grant(b.household(c), c)
    evidence = transfer_homestead_check(h.uid, mixed, today=date(2025, 6, 1))
    assert evidence["to_household_uid"] == mixed
    assert evidence["checked_on"] == "2025-06-01"
    assert len(evidence["members_on_roll"]) == 2


def test_r09_household_with_no_member_on_the_roll_refused(ctx, baseline):
    c = baseline.collective_a
    outsiders = b.household(c, members=[b.person(None)])
    ended = b.household(c, members=[b.person(c, until=date(2024, 1, 1))])
    for hh in (outsiders, ended):
        ok, _why = may_apply_for_homestead(hh, today=date(2025, 1, 1))
        assert not ok
    # on a day the membership was still in force, the second qualified
    assert may_apply_for_homestead(ended, today=date(2023, 12, 31)) == (True, "")


def test_r09_barred_by_r08_refused(ctx, baseline):
    c = baseline.collective_a
    sold_before = b.household(c)
    old = grant(sold_before, c)
    dispose_homestead(old.uid, "sold", "卖房", b.document(c), basis="correction")
    h = grant(b.household(c), c)
    with refused(rule="R09", code="r08_barred"):
        transfer_homestead_check(h.uid, sold_before)


def test_r09_transfer_check_to_own_household_refused(ctx, baseline):
    hh = b.household(baseline.collective_a)
    h = grant(hh, baseline.collective_a)
    with refused(rule="R09", code="same_household"):
        transfer_homestead_check(h.uid, hh)


def test_may_apply_for_unknown_household(ctx):
    ok, why = may_apply_for_homestead(123456789)
    assert not ok and why


# --- geometry -------------------------------------------------------------------------------

# A 9 m x 8 m house plot near Shixing town, in CGCS2000 / 3-degree GK CM 114E (EPSG:4547).
SQUARE_4547 = Polygon([(386000, 2765000), (386009, 2765000), (386009, 2765008), (386000, 2765008)])


def test_geometry_is_stored_in_registry_crs_and_measured(ctx, baseline):
    from geoalchemy2.shape import to_shape

    from app.geo.geometry import get_transformer

    # the same outline given in geographic CGCS2000 (EPSG:4490), lon/lat order
    t = get_transformer(4547, 4490)
    lonlat = Polygon([t.transform(x, y) for x, y in SQUARE_4547.exterior.coords])
    h = grant(
        b.household(baseline.collective_a),
        baseline.collective_a,
        area=None,
        geometry=mapping(lonlat),
        crs="EPSG:4490",
    )
    assert h.area_m2 == pytest.approx(72.0, abs=0.05)
    stored = to_shape(h.geom)
    assert stored.geom_type == "MultiPolygon"
    assert stored.bounds[0] == pytest.approx(386000, abs=0.01)


def test_geometry_without_crs_is_refused(ctx, baseline):
    with refused(code="crs_missing") as r:
        grant(
            b.household(baseline.collective_a),
            baseline.collective_a,
            geometry=mapping(SQUARE_4547),
        )
    assert r.error.field == "crs"


@pytest.mark.parametrize(
    "geometry,code",
    [
        ("not a geometry", "geometry_unreadable"),
        ({"type": "Point", "coordinates": [386000, 2765000]}, "invalid_geometry"),
        ("POLYGON((0 0, 10 10, 10 0, 0 10, 0 0))", "invalid_geometry"),
        ("POLYGON((0 0, 9 0, 9 8, 0 8, 0 0))", "outside_area"),
    ],
)
def test_bad_geometry_is_refused(ctx, baseline, geometry, code):
    with refused(code=code):
        grant(
            b.household(baseline.collective_a),
            baseline.collective_a,
            geometry=geometry,
            crs="EPSG:4547",
        )


def test_geometry_over_cap_is_refused(ctx, baseline):
    big = Polygon([(386000, 2765000), (386010, 2765000), (386010, 2765009), (386000, 2765009)])
    with refused(rule="R07"):
        grant(
            b.household(baseline.collective_a),
            baseline.collective_a,
            area=None,
            geometry=big.wkt,
            crs="4547",
        )


@pytest.mark.authz
def test_unit_number_held_by_another_collective_answers_as_one_held_here(ctx, baseline):
    """Unit numbers are unique county-wide (their prefix is the county's): a number held by
    another collective gets exactly the refusal of one held by the collective itself."""
    a, bb = baseline.collective_a, baseline.collective_b
    theirs = grant(b.household(bb), bb).unit_number
    mine = grant(b.household(a), a).unit_number
    answers = []
    for unit in (theirs, mine):
        with pytest.raises(DomainError) as e:
            grant(b.household(a), a, unit=unit)
        answers.append(e.value.as_dict() | {"message": e.value.message.replace(unit, "<U>")})
    assert answers[0] == answers[1] and answers[0]["code"] == "unit_taken"
