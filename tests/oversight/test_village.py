"""R14's village exit share, figure by figure, on a small built world; its settings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from app import create_app
from app.config import from_environment
from app.divisions.models import Collective
from app.extensions import db
from app.oversight.village import exit_shares, year_before
from app.registry import history
from app.registry.history import county_today
from app.settlement import services as settlement
from tests.market.walk import user
from tests.oversight import world


def test_exit_shares_count_settled_households_and_their_exits_of_the_last_12_months(ctx, baseline):
    a, b = baseline.collective_a, baseline.collective_b
    village_a = db.session.get(Collective, a).village_code
    village_b = db.session.get(Collective, b).village_code
    doc = world.document(a)
    today = county_today()

    world.sold(a, doc, "一户", settled_on=world.long_ago())  # settled, exited today
    world.sold(a, doc, "二户", settled_on=None)  # exited, never settled: neither figure
    world.household(a, doc, "三户", settled_on=world.long_ago())  # settled, still here
    # settled 100 days ago by its first record, corrected to 10 days ago: the correction rules
    _hh, holder, _c = world.household(a, doc, "四户")
    first = world.settle(holder.uid, doc, today - timedelta(days=100))
    settlement.correct_settlement(
        user("officer"),
        first.id,
        reason="派出所更正了日期",
        settled_on=today - timedelta(days=10),
        city="韶关市",
        district="浈江区",
        channel="housing",
        source_document_id=doc,
    )
    # settled, but the household has ended since: not counted
    ended, _holder, _c = world.household(a, doc, "五户", settled_on=world.long_ago())
    history.end(ended, reason="户消亡")

    now = exit_shares(today)
    assert now[village_a].settled_households == 3  # 一户, 三户, 四户
    assert now[village_a].exited_households == 1
    assert now[village_a].share == Decimal(1) / Decimal(3)
    assert not now[village_a].stands_out  # fewer than 5 settled households
    # a village with no settled household: no share
    assert now[village_b].settled_households == 0 and now[village_b].share is None
    assert exit_shares(today, village_codes=[village_b]).keys() == {village_b}

    # 50 days ago 四户 had not settled yet (by the corrected record)
    before = exit_shares(today - timedelta(days=50), village_codes=[village_a])[village_a]
    assert before.settled_households == 2
    assert before.exited_households == 0  # today's exit had not happened yet

    # the exit counts for 12 months, not a day more
    a_year_on = (
        today.replace(year=today.year + 1)
        if (today.month, today.day) != (2, 29)
        else (today + timedelta(days=365))
    )
    last_day = exit_shares(a_year_on - timedelta(days=1))
    assert year_before(a_year_on - timedelta(days=1)) < today
    assert last_day[village_a].exited_households == 1
    after = exit_shares(a_year_on)
    assert after[village_a].exited_households == 0
    assert after[village_a].settled_households == 3


def test_exit_shares_use_a_fixed_number_of_queries(ctx, baseline):
    """Set-based: as many statements for one village as for every village, for three settled
    households as for six (one aggregate and the list of villages; on PostgreSQL the planner
    setting around the aggregate)."""
    from sqlalchemy import event

    a = baseline.collective_a
    code = db.session.get(Collective, a).village_code
    doc = world.document(a)
    engine = db.session.get_bind().engine

    def statements(**kw) -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            exit_shares(county_today(), **kw)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    for name in ("甲户", "乙户", "丙户"):
        world.household(a, doc, name, settled_on=world.long_ago())
    few = statements()
    for name in ("丁户", "戊户", "己户"):
        world.household(a, doc, name, settled_on=world.long_ago())
    assert statements() == few <= 4
    assert statements(village_codes=[code]) <= few


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("SETTLEMENT_VILLAGE_EXIT_SHARE", "half"),
        ("SETTLEMENT_VILLAGE_EXIT_SHARE", "1.5"),
        ("SETTLEMENT_VILLAGE_EXIT_SHARE", 0.5),  # a float is not exact
        ("SETTLEMENT_VILLAGE_MIN_HOUSEHOLDS", 0),
        ("SETTLEMENT_VILLAGE_MIN_HOUSEHOLDS", "five"),
    ],
)
def test_a_malformed_village_threshold_stops_the_start_with_its_name(tmp_path, setting, value):
    with pytest.raises(RuntimeError, match=setting):
        create_app({setting: value, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


def test_village_thresholds_from_the_environment_are_exact():
    read = from_environment({"SETTLEMENT_VILLAGE_EXIT_SHARE": "0.35"})
    assert read["SETTLEMENT_VILLAGE_EXIT_SHARE"] == Decimal("0.35")
    with pytest.raises(RuntimeError, match="SETTLEMENT_VILLAGE_MIN_HOUSEHOLDS"):
        from_environment({"SETTLEMENT_VILLAGE_MIN_HOUSEHOLDS": "a few"})
