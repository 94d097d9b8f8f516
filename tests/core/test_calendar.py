"""Working days as the county counts them: weekends off, holidays off, 调休 weekends worked."""

from __future__ import annotations

from datetime import date

import pytest

from app.core import calendar
from tests.conftest import app_for


def test_a_notice_in_working_days_skips_weekends_and_holidays_and_counts_makeup_days(app):
    app.config.update(
        COUNTY_HOLIDAYS="2026-10-01,2026-10-02,2026-10-05", COUNTY_WORKDAYS="2026-10-10"
    )
    try:
        with app.app_context():
            # Published Wednesday 30 September 2026, ten working days: 1, 2 and 5 October are
            # holidays, Saturday 10 October is worked (调休).
            end = calendar.period_end(date(2026, 9, 30), 10, working=True)
            assert end == date(2026, 10, 16)
            assert calendar.period_end(date(2026, 9, 30), 10, working=False) == date(2026, 10, 10)
    finally:
        app.config.update(COUNTY_HOLIDAYS="", COUNTY_WORKDAYS="")


def test_a_malformed_holiday_list_stops_the_app_at_start(database_url):
    with pytest.raises(RuntimeError) as stopped:
        app_for(database_url, COUNTY_HOLIDAYS="2026-10-01,10/02/2026")
    assert "COUNTY_HOLIDAYS" in str(stopped.value)
