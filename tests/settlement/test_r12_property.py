"""R12 as a property: whatever sequence of settlements, corrections and hukou changes happens,
every right (all its versions), every certificate and every membership stays byte for byte."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.core.errors import DomainError
from app.extensions import db
from app.registry import people
from app.registry.certificates import issue_certificate
from app.registry.history import county_today
from app.registry.models import (
    Certificate,
    Homestead,
    HouseholdMember,
    LandContract,
    Membership,
    Person,
    Plot,
    ShareHolding,
)
from app.settlement import services
from app.settlement.models import SettlementRecord
from tests.factories import homesteads as homestead_fx
from tests.factories import people as pf
from tests.factories import shares as shares_fx
from tests.market.walk import user

WATCHED = (LandContract, Plot, Homestead, ShareHolding, Certificate, Membership, HouseholdMember)
CHANNELS = sorted(services.CHANNELS)


def _plain(value):
    data = getattr(value, "data", None)  # a geometry: its bytes
    if data is not None:
        return bytes(data).hex() if not isinstance(data, str) else data
    if isinstance(value, memoryview | bytes):
        return bytes(value).hex()
    return repr(value)


def _snapshot() -> dict[str, list[tuple]]:
    """Every row of the watched tables as the database holds it (not the session's objects)."""
    rows = {}
    for model in WATCHED:
        table = model.__table__
        order = list(table.primary_key.columns)
        rows[table.name] = [
            tuple(_plain(v) for v in row)
            for row in db.session.execute(select(table).order_by(*order)).all()
        ]
    return rows


def _world(family: dict, baseline) -> list[int]:
    """李家 with its contract and plots, a homestead, shares and a certificate; 赵家's head a
    member with a membership. Returns the persons the steps act on."""
    a = baseline.collective_a
    for uid in (family["head"], family["wife"]):
        people.admit_member(uid, a, date(2000, 1, 1), "birth", "确认成员身份")
    own = {"household_uid": family["household"], "source_document_id": family["doc"]}
    homestead_fx.make(a, own)
    shares_fx.make(a, own)
    issue_certificate(
        "land_contract",
        family["contract"],
        issued_on=county_today(),
        reason="首次登记发证",
        source_document_id=family["doc"],
    )
    member, _household = pf.household(a, "赵大")
    return [family["head"], family["wife"], member.uid]


steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("record"),
            st.integers(0, 2),
            st.integers(0, 4000),
            st.sampled_from(CHANNELS),
        ),
        st.tuples(
            st.just("correct"),
            st.integers(0, 20),
            st.integers(0, 4000),
            st.sampled_from(CHANNELS),
        ),
        st.tuples(
            st.just("hukou"),
            st.integers(0, 2),
            st.just(0),
            st.just(""),
        ),
    ),
    min_size=1,
    max_size=6,
)


def test_r12_settling_changes_no_right(family, baseline):
    persons = _world(family, baseline)
    officer = user("officer")
    before = _snapshot()
    today = county_today()
    examples = []

    @settings(max_examples=200, deadline=None)
    @given(ops=steps)
    def check(ops):
        examples.append(ops)
        savepoint = db.session.begin_nested()
        try:
            for kind, which, days, choice in ops:
                day = today - timedelta(days=days)
                if kind == "record":
                    try:
                        services.record_settlement(
                            officer,
                            persons[which],
                            settled_on=day,
                            city="韶关市",
                            district="浈江区",
                            channel=choice,
                            source_document_id=family["doc"],
                        )
                    except DomainError as refused:  # the same day twice: refused, nothing written
                        assert refused.code == "already_recorded"
                elif kind == "correct":
                    in_force = services.current_settlements(persons)
                    if in_force:
                        services.correct_settlement(
                            officer,
                            in_force[which % len(in_force)].id,
                            reason="派出所更正",
                            settled_on=day,
                            city="广州市",
                            district="天河区",
                            channel=choice,
                            source_document_id=family["doc"],
                        )
                else:  # the hukou moves to town or back (a change, whatever it was)
                    now = db.session.scalar(
                        select(Person.hukou_type).where(
                            Person.uid == persons[which], Person.end_lifespan.is_(None)
                        )
                    )
                    other = "urban" if now != "urban" else "rural"
                    people.update_person(persons[which], "户口性质变更", hukou_type=other)
            db.session.flush()
            assert db.session.scalar(select(SettlementRecord.id).limit(1)) is not None or all(
                op[0] != "record" for op in ops
            )
            assert _snapshot() == before
        finally:
            savepoint.rollback()

    check()
    assert len(examples) >= 200
