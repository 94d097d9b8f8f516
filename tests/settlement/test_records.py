"""Settlement records (落户登记): recorded, corrected without overwriting, found by ID number,
read only by the hukou desk, the bureau and auditors."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
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
