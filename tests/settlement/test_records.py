"""Settlement records (落户登记): recorded, corrected without overwriting, found by ID number,
read only by the hukou desk, the bureau and auditors."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.auth.models import User
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.registry.models import Person
from app.settlement import services
from app.settlement.models import SettlementRecord
from tests.market.walk import user


def _record(family, **kw):
    args = {
        "settled_on": date(2026, 3, 1),
        "city": "韶关市",
        "district": "浈江区",
        "channel": "housing",
        "source_document_id": family["doc"],
    }
    args.update(kw)
    return services.record_settlement(user("officer"), family["head"], **args)


def test_the_officer_records_a_settlement_and_the_bureau_and_auditor_read_it(family):
    record = _record(family)
    assert record.recorded_by == "officer"
    for reader in ("officer", "bureau", "auditor"):
        rows = services.settlements_of(user(reader), family["head"])
        assert [(r.settled_on, r.city, r.district, r.channel) for r in rows] == [
            (date(2026, 3, 1), "韶关市", "浈江区", "housing")
        ]
    events = db.session.scalars(
        select(AuditEntry.event).where(AuditEntry.event == "settlement.record")
    ).all()
    assert events


def test_a_correction_adds_a_row_and_keeps_the_first_as_it_was(family):
    first = _record(family)
    fixed = services.correct_settlement(
        user("officer"),
        first.id,
        reason="派出所更正了日期",
        settled_on="2026-02-20",
        city="韶关市",
        district="武江区",
        channel="employment",
        source_document_id=family["doc"],
    )
    db.session.expire_all()
    assert db.session.get(SettlementRecord, first.id).settled_on == date(2026, 3, 1)
    assert fixed.corrects_id == first.id
    in_force = services.settlements_of(user("bureau"), family["head"])
    assert [(r.id, r.settled_on, r.district) for r in in_force] == [
        (fixed.id, date(2026, 2, 20), "武江区")
    ]
    everything = services.settlements_of(user("auditor"), family["head"], with_history=True)
    assert [r.id for r in everything] == [first.id, fixed.id]
    with pytest.raises(DomainError) as refused:
        services.correct_settlement(
            user("officer"),
            first.id,
            reason="再改一次",
            settled_on="2026-02-21",
            city="韶关市",
            district="武江区",
            channel="employment",
            source_document_id=family["doc"],
        )
    assert refused.value.code == "already_corrected"


def test_a_correction_keeps_the_police_lists_remark_unless_given_another(family):
    first = _record(family, note="户主随单位集体户迁入")
    args = {
        "reason": "派出所更正了区县",
        "settled_on": "2026-03-01",
        "city": "韶关市",
        "district": "武江区",
        "channel": "housing",
        "source_document_id": family["doc"],
    }
    fixed = services.correct_settlement(user("officer"), first.id, **args)
    assert fixed.note == "户主随单位集体户迁入"
    again = services.correct_settlement(user("officer"), fixed.id, **args, note="  派出所补充说明 ")
    assert again.note == "派出所补充说明"
    assert db.session.get(SettlementRecord, first.id).note == "户主随单位集体户迁入"


def test_a_correction_needs_a_reason(family):
    first = _record(family)
    with pytest.raises(DomainError) as refused:
        services.correct_settlement(
            user("officer"),
            first.id,
            reason="  ",
            settled_on="2026-02-20",
            city="韶关市",
            district="武江区",
            channel="employment",
            source_document_id=family["doc"],
        )
    assert refused.value.field == "reason"


def test_the_officer_finds_a_person_by_id_number_and_nothing_is_guessed(family):
    head = db.session.scalar(
        select(Person).where(Person.uid == family["head"], Person.end_lifespan.is_(None))
    )
    found = services.find_person_by_id_number(user("officer"), head.id_number.lower())
    assert found.uid == family["head"]
    near = head.id_number[:-2] + ("1" if head.id_number[-2] != "1" else "2") + head.id_number[-1]
    for wrong in (near, head.id_number[:17], "", "440222198001010000", None, 42):
        with pytest.raises(NotFound) as unknown:
            services.find_person_by_id_number(user("officer"), wrong)
        assert unknown.value.code == "person_unknown"


@pytest.mark.authz
@pytest.mark.parametrize("name", ["farmer_a", "admin_a", "sysadmin", "bureau", "auditor"])
def test_only_the_settlement_officer_records(family, name):
    with pytest.raises(NotFound):
        services.record_settlement(
            user(name),
            family["head"],
            settled_on=date(2026, 3, 1),
            city="韶关市",
            district="浈江区",
            channel="housing",
            source_document_id=family["doc"],
        )
    assert services.settlements_of(user("officer"), family["head"]) == []


@pytest.mark.authz
@pytest.mark.parametrize("name", ["farmer_a", "admin_a", "sysadmin"])
def test_others_cannot_read_or_look_up_settlements(family, name):
    record = _record(family)
    head = db.session.get(Person, family["head"]) or db.session.scalar(
        select(Person).where(Person.uid == family["head"])
    )
    with pytest.raises(NotFound):
        services.settlements_of(user(name), family["head"])
    with pytest.raises(NotFound):
        services.settlement(user(name), record.id)
    with pytest.raises(NotFound):
        services.find_person_by_id_number(user(name), head.id_number)


@pytest.mark.authz
def test_a_document_of_another_collective_cannot_be_cited(family, baseline):
    from app.registry import documents
    from tests.factories import documents as fx

    other = documents.store_document(
        baseline.collective_b, "other", "别村的材料", "b.pdf", fx.minimal_pdf("b")
    )
    with pytest.raises(NotFound) as refused:
        _record(family, source_document_id=other.id)
    assert refused.value.code == "source_unknown"


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"settled_on": "2999-01-01"}, "settled_on"),
        ({"settled_on": "1800-01-01"}, "settled_on"),
        ({"settled_on": "三月"}, "settled_on"),
        ({"settled_on": None}, "settled_on"),
        ({"city": ""}, "city"),
        ({"city": "城" * 81}, "city"),
        ({"district": ["浈江区"]}, "district"),
        ({"channel": "bribery"}, "channel"),
        ({"channel": None}, "channel"),
        ({"source_document_id": None}, "source_document_id"),
        ({"source_document_id": 2**40}, "source_document_id"),
        ({"source_document_id": "1 OR 1=1"}, "source_document_id"),
    ],
)
def test_hostile_input_is_refused_beside_its_field(family, changes, field):
    with pytest.raises(DomainError) as refused:
        _record(family, **changes)
    assert refused.value.field == field
    assert services.settlements_of(user("officer"), family["head"]) == []


@pytest.mark.hostile
@pytest.mark.parametrize("uid", [0, -1, 2**40, "1", None, True, 99_999_999])
def test_an_unknown_person_or_record_is_no_such_thing(family, uid):
    with pytest.raises(NotFound):
        services.record_settlement(
            user("officer"),
            uid,
            settled_on=date(2026, 3, 1),
            city="韶关市",
            district="浈江区",
            channel="housing",
            source_document_id=family["doc"],
        )
    with pytest.raises(NotFound):
        services.settlement(user("bureau"), uid)


@pytest.mark.hostile
def test_r16_a_settlement_record_and_a_printed_statement_are_written_once(family):
    """A correction is a new row and a statement is what was printed: the database refuses to
    change or remove either (migration 0023), even for a statement typed at the console."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from app.registry import statements

    record = _record(family)
    printed = statements.issue(family["head"], user("officer"))
    for statement in (
        "UPDATE settlement_record SET settled_on = '2020-01-01' WHERE id = :id",
        "DELETE FROM settlement_record WHERE id = :id",
    ):
        with pytest.raises(DBAPIError), db.session.begin_nested():
            db.session.execute(text(statement), {"id": record.id})
    for statement in (
        "UPDATE rights_statement SET content = '{}' WHERE id = :id",
        "DELETE FROM rights_statement WHERE id = :id",
    ):
        with pytest.raises(DBAPIError), db.session.begin_nested():
            db.session.execute(text(statement), {"id": printed.id})
    assert db.session.get(SettlementRecord, record.id).settled_on == date(2026, 3, 1)
    assert statements.check(printed.code) == "valid"


def test_a_person_is_recorded_once_for_one_day(family):
    _record(family)
    with pytest.raises(DomainError) as refused:
        _record(family, city="广州市", district="天河区")
    assert refused.value.code == "already_recorded" and refused.value.field == "settled_on"
    assert "2026-03-01" in refused.value.message
    # Another day is another record (a person may settle, return and settle again).
    _record(family, settled_on=date(2026, 5, 1))
    assert len(services.current_settlements([family["head"]])) == 2


def _person_and_document(app):
    from app.audit import trail
    from tests.concurrency import ACTOR
    from tests.factories import documents as fx
    from tests.factories import land as land_fx

    a = app.extensions["sanquan_baseline"].collective_a
    with app.app_context(), app.test_request_context(), trail.acting(ACTOR):
        head = fx.make_holder(fx.make_household(a, "赵家"), "赵一民", relation="02")
        out = head.uid, land_fx.make_document(a)
        db.session.commit()
        db.session.remove()
    return out


def _as_officer(app, call):
    def job():
        officer = db.session.scalar(select(User).where(User.username == "officer"))
        call(officer)

    return job


@pytest.mark.concurrency
def test_two_desks_recording_one_person_on_one_day_write_one_record(fresh_app):
    """The desk beside a police list's promotion (or two officers): the second is refused in
    words, never a second record of the same day."""
    from tests.concurrency import race_outcomes

    app = fresh_app
    person_uid, doc = _person_and_document(app)

    def record(officer):
        services.record_settlement(
            officer,
            person_uid,
            settled_on=date(2026, 3, 1),
            city="韶关市",
            district="浈江区",
            channel="housing",
            source_document_id=doc,
        )

    outcomes = race_outcomes(app, [_as_officer(app, record), _as_officer(app, record)])
    assert sorted(o.result for o in outcomes) == ["already_recorded", "ok"], outcomes
    refused = next(o for o in outcomes if o.result != "ok")
    assert "2026-03-01" in refused.message
    with app.app_context():
        rows = db.session.scalars(
            select(SettlementRecord).where(SettlementRecord.person_uid == person_uid)
        ).all()
        assert len(rows) == 1
        db.session.remove()


@pytest.mark.concurrency
def test_two_corrections_of_one_record_at_once_write_one(fresh_app):
    from tests.concurrency import race_outcomes

    app = fresh_app
    person_uid, doc = _person_and_document(app)
    with app.app_context(), app.test_request_context():
        from app.audit import trail

        officer = db.session.scalar(select(User).where(User.username == "officer"))
        with trail.acting(trail.AuditContext(actor="officer", role="settlement_officer")):
            first = services.record_settlement(
                officer,
                person_uid,
                settled_on=date(2026, 3, 1),
                city="韶关市",
                district="浈江区",
                channel="housing",
                source_document_id=doc,
            ).id
        db.session.commit()
        db.session.remove()

    def correct(day):
        def call(officer):
            services.correct_settlement(
                officer,
                first,
                reason="派出所更正",
                settled_on=day,
                city="韶关市",
                district="浈江区",
                channel="housing",
                source_document_id=doc,
            )

        return _as_officer(app, call)

    outcomes = race_outcomes(app, [correct(date(2026, 2, 1)), correct(date(2026, 2, 2))])
    assert sorted(o.result for o in outcomes) == ["already_corrected", "ok"], outcomes
    with app.app_context():
        assert len(services.current_settlements([person_uid])) == 1
        db.session.remove()
