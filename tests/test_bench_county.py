"""The benchmark's county (bench/county.py) and its raw SQL anchor (bench/report_bench.py) on a
small county: the county report and one hand-written statement agree village by village, on the
database under test. The benchmark measures the report at 60,000 households; this keeps its
cross-check honest at every commit."""

from __future__ import annotations

from datetime import date

import pytest

from app import create_app
from app.config import normalise_database_url
from app.extensions import db
from app.oversight.report import county_report
from bench import county
from bench.report_bench import FIGURES, compare, report_totals, report_villages, run_anchor
from tests.conftest import BACKEND, PG_ADMIN_URL

pytestmark = pytest.mark.load

HOUSEHOLDS = 1_500


def test_the_generated_county_is_the_same_for_the_same_seed():
    one, two = county.generate(HOUSEHOLDS, 7), county.generate(HOUSEHOLDS, 7)
    assert {k: t.rows for k, t in one.tables.items()} == {k: t.rows for k, t in two.tables.items()}
    other = county.generate(HOUSEHOLDS, 8)
    assert other.tables["person"].rows != one.tables["person"].rows


@pytest.fixture
def fresh_county():
    """The county in a database of its own (``fresh_``: outside the suite's rolled-back
    transaction, whose session would otherwise stand in for this database's)."""
    built = county.build(
        BACKEND, HOUSEHOLDS, 20261206, admin_url=normalise_database_url(PG_ADMIN_URL)
    )
    app = create_app({"SQLALCHEMY_DATABASE_URI": built.url, "SECRET_KEY": "bench", "TESTING": True})
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        built.drop()


def test_the_county_report_agrees_with_one_raw_sql_statement_village_by_village(fresh_county):
    with fresh_county.app_context():
        raw = db.engine.raw_connection()
        try:
            anchor = run_anchor(raw.cursor(), BACKEND, county.AS_OF, 180)
        finally:
            raw.close()
        report = county_report(county.AS_OF)
        # Something to compare: settled persons who kept and who gave up rights, exits.
        totals = report_totals(report)
        assert totals["settled_persons"] > 100
        assert 0 < totals["land_kept"] < totals["land_held"]
        assert 0 < totals["homestead_kept"] < totals["homestead_held"]
        assert totals["exits"] > 0
        assert compare(report_villages(report), anchor) == []
        assert totals == {f: sum(v[f] for v in anchor.values()) for f in FIGURES[:-1]}
        # R14's village share, which the report carries, counts the same exited households.
        shares = [v.exit_share for v in report.villages if v.exit_share is not None]
        assert sum(s.exited_households for s in shares) == sum(
            v["exited_households"] for v in anchor.values()
        )
        # The day is the dataset's: a report as of then, not today.
        assert report.as_of == date(2026, 9, 30)
