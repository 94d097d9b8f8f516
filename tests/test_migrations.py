"""Migrations: the head equals the models; every revision goes up and down, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from app.core.schema import include_object
from app.extensions import db
from tests.conftest import app_for, make_database


def _diffs(conn):
    mc = MigrationContext.configure(
        conn, opts={"include_object": include_object, "compare_type": True}
    )
    return compare_metadata(mc, db.metadata)


def test_migration_head_matches_the_models(app):
    # The test's own connection: on SQLite a second one would wait for the test's write lock.
    with app.app_context():
        diffs = _diffs(db.session.connection())
    assert diffs == [], "models and migrations differ: run scripts/regen-initial-migration"


def test_every_revision_upgrades_and_downgrades(tmp_path_factory):
    url, drop = make_database(tmp_path_factory)
    try:
        application = app_for(url)
        with application.app_context():
            script = ScriptDirectory.from_config(
                application.extensions["migrate"].migrate.get_config()
            )
            revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
            assert revisions[0] == "0001"
            for rev in revisions:
                upgrade(revision=rev)
            for _ in revisions:
                downgrade(revision="-1")
            upgrade()
        with application.app_context():
            with db.engine.connect() as conn:  # this database's engine, not the harness session
                assert _diffs(conn) == []
            db.engine.dispose()
    finally:
        drop()


def test_migrations_keep_every_users_collectives_and_tokens(fresh_app):
    """Going down past the accounts migration and up again on a database in use: each
    administrator still keeps their collectives and tokens (a copy-and-rename of app_user on
    SQLite once ran its ON DELETE CASCADE and emptied both)."""
    import sqlalchemy as sa

    from app.audit import trail
    from app.auth.models import ApiToken, User, user_collective
    from app.auth.services import issue_token

    with fresh_app.app_context():
        with trail.acting(trail.AuditContext(actor="test-setup", role="system")):
            admin = db.session.scalar(sa.select(User).where(User.username == "admin_a"))
            issue_token(admin, label="before")
            db.session.commit()
        db.session.remove()

        def counts() -> tuple[int, int]:
            with db.engine.connect() as conn:
                return (
                    conn.scalar(sa.select(sa.func.count()).select_from(user_collective)),
                    conn.scalar(sa.select(sa.func.count()).select_from(ApiToken.__table__)),
                )

        before = counts()
        assert before[0] >= 4 and before[1] == 1
        downgrade(revision="0004")
        assert counts() == before
        upgrade()
        assert counts() == before


def test_legal_time_of_rows_from_before_0014_is_their_record_date(fresh_app):
    """Rows written before legal time existed get the county date (Asia/Shanghai) of their
    record time as valid_from / valid_to, and keep every row (no copy-and-rename on SQLite)."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    import sqlalchemy as sa

    from app.audit import trail
    from app.registry import people
    from app.registry.models import Person
    from tests.factories import people as people_fx

    with fresh_app.app_context():
        baseline = fresh_app.extensions["sanquan_baseline"]
        with trail.acting(trail.AuditContext(actor="test-setup", role="system")):
            person = people_fx.member(baseline.collective_a, "王小明")
            people.update_person(person.uid, "更正姓名", name="王晓明")
            db.session.commit()
            uid = person.uid
        db.session.remove()
        downgrade(revision="0006")
        upgrade()
        rows = list(db.session.scalars(sa.select(Person).where(Person.uid == uid)))
        assert [r.version for r in sorted(rows, key=lambda r: r.version)] == [1, 2]

        def county_day(when):
            return when.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()

        for row in rows:
            assert row.valid_from == county_day(row.begin_lifespan)
            assert row.valid_to == (county_day(row.end_lifespan) if row.end_lifespan else None)
        db.session.remove()


def test_0027_keeps_every_encumbrance_and_release_and_they_stay_written_once(fresh_app):
    """0027 copies the encumbrances and their releases on SQLite (to let a lease on no paper
    cite its lease): down past it and up again on a database in use, every row is kept with
    its id, and both tables still refuse UPDATE and DELETE."""
    import sqlalchemy as sa
    from sqlalchemy.exc import DBAPIError

    from app.audit import trail
    from app.registry import encumbrances
    from tests.factories import encumbrances as ef
    from tests.factories import land as lf

    with fresh_app.app_context():
        a = fresh_app.extensions["sanquan_baseline"].collective_a
        with trail.acting(trail.AuditContext(actor="test-setup", role="system")):
            doc = lf.make_document(a, "起诉状")
            held = ef.contract_with_plots(a, "甲户", doc, plots=1)
            for name in ("张三", "李四"):
                row = encumbrances.record_encumbrance(
                    "dispute",
                    "land_contract",
                    held["contract_uid"],
                    party_name=name,
                    starts_on=lf.TODAY,
                    source_document_id=doc,
                    today=lf.TODAY,
                )
            encumbrances.release_encumbrance(
                row.id,
                released_on=lf.TODAY,
                reason="已调解",
                source_document_id=doc,
                today=lf.TODAY,
            )
            db.session.commit()
        db.session.remove()

        def rows() -> list:
            with db.engine.connect() as conn:
                return [
                    list(conn.execute(sa.text(f"SELECT id, party_name FROM {t} ORDER BY id")))
                    if t == "encumbrance"
                    else list(conn.execute(sa.text(f"SELECT id, encumbrance_id FROM {t}")))
                    for t in ("encumbrance", "encumbrance_release")
                ]

        before = rows()
        assert len(before[0]) == 2 and len(before[1]) == 1
        downgrade(revision="0026")
        assert rows() == before
        upgrade()
        assert rows() == before
        with db.engine.connect() as conn:
            for sql in (
                "UPDATE encumbrance SET party_name = 'x'",
                "DELETE FROM encumbrance",
                "UPDATE encumbrance_release SET reason = 'x'",
                "DELETE FROM encumbrance_release",
            ):
                with pytest.raises(DBAPIError):
                    conn.execute(sa.text(sql))
                conn.rollback()
        assert rows() == before
