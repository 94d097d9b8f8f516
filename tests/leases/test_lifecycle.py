"""What happens to a lease after it is recorded: the bureau's qualification review, rent paid
and in arrears, the ending (expiry, agreement, breach) that frees the land, re-leases ending
with their parent; payments, reviews and endings are written once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.audit import trail
from app.core.errors import DomainError
from app.extensions import db
from app.leases import services
from app.registry import encumbrances
from tests.factories.people import id_number
from tests.leases.conftest import TODAY, bureau, company, lease, notice


@pytest.fixture
def waiting(lw, app, monkeypatch):
    monkeypatch.setitem(app.config, "LEASE_QUALIFICATION_MU", Decimal("3"))
    return lease(lw, lessee=company(), priority_evidence=notice(lw))


def test_r05_the_bureaus_approval_puts_the_lease_in_force(lw, waiting):
    with pytest.raises(DomainError) as exc:
        services.decide_qualification(waiting.id, decision="approve", reason="资质齐全")
    assert exc.value.code == "lease_recorder"  # the collective's administrator cannot decide
    with bureau():
        review = services.decide_qualification(
            waiting.id,
            decision="approve",
            reason="经营能力、项目可行，准予流转",
            on=date(2026, 3, 10),
        )
    assert review.decided_by == "county" and waiting.state == "in_force"
    records = encumbrances.lease_encumbrances(waiting.number)
    # it cannot start before the review: the registry's records start on the review's day
    assert {e.starts_on for e in records} == {date(2026, 3, 10)} and len(records) == 2
    with bureau(), pytest.raises(DomainError) as exc:
        services.decide_qualification(waiting.id, decision="reject", reason="再次")
    assert exc.value.code == "not_awaiting_qualification"


def test_r05_a_rejected_lease_is_refused_and_the_land_stays_free(lw, waiting):
    with bureau():
        services.decide_qualification(waiting.id, decision="reject", reason="项目不符合产业规划")
    assert waiting.state == "refused"
    assert lease(lw).state == "in_force"


def test_arrears_are_due_so_far_minus_paid_so_far(lw):
    made = lease(lw)  # 2520 yuan a year, due each 1 March
    assert services.arrears(made, on=date(2026, 2, 28)) == 0
    assert services.arrears(made, on=TODAY) == 252000
    services.record_payment(
        made.id, paid_on=TODAY, amount_fen=200000, reference="转账 001", on=TODAY
    )
    assert services.arrears(made, on=TODAY) == 52000
    assert services.arrears(made, on=date(2027, 3, 1)) == 52000 + 252000
    services.record_payment(made.id, paid_on=TODAY, amount_fen=52000, on=TODAY)
    assert services.arrears(made, on=TODAY) == 0


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"amount_fen": 0}, "amount_range"),
        ({"amount_fen": 10**15}, "amount_range"),
        ({"amount_fen": "100"}, "amount"),
        ({"amount_fen": 1.5}, "amount"),
        ({"amount_fen": True}, "amount"),
        ({"paid_on": "2026-03-02"}, "future_date"),
        ({"paid_on": "soon"}, "date_required"),
        ({"amount_fen": -1}, "note_required"),
        ({"amount_fen": -1, "note": "冲正"}, "amount_range"),
    ],
)
def test_a_bad_payment_is_refused_in_words(lw, kw, code):
    made = lease(lw)
    args = {"paid_on": TODAY, "amount_fen": 1000, "on": TODAY, **kw}
    with pytest.raises(DomainError) as exc:
        services.record_payment(made.id, **args)
    assert exc.value.code == code
    assert services.payments_of(made.id) == []


def test_ending_by_agreement_frees_the_land_the_next_day(lw):
    made = lease(lw)
    with pytest.raises(DomainError) as exc:
        services.end_lease(made.id, kind="agreement", ended_on=TODAY, reason="协商解除")
    assert exc.value.code == "document_required"
    with pytest.raises(DomainError) as exc:
        services.end_lease(made.id, kind="expiry", ended_on=TODAY, reason="到期")
    assert exc.value.code == "not_expired"
    ending = services.end_lease(
        made.id,
        kind="agreement",
        ended_on=TODAY,
        reason="双方协商提前解除",
        document_id=lw.doc,
        on=TODAY,
    )
    assert made.state == "ended" and ending.kind == "agreement"
    for record in encumbrances.lease_encumbrances(made.number):
        assert encumbrances.release_of(record.id).released_on == TODAY
    with pytest.raises(DomainError) as exc:
        lease(lw, starts_on=TODAY, ends_on=date(2027, 2, 28), on=TODAY)
    assert exc.value.code == "plot_already_leased"
    again = lease(lw, starts_on=date(2026, 3, 2), ends_on=date(2027, 3, 1), on=TODAY)
    assert again.state == "in_force"
    # rent stops at the ending
    assert services.arrears(made, on=date(2028, 1, 1)) == 252000
    with pytest.raises(DomainError) as exc:
        services.end_lease(made.id, kind="breach", ended_on=TODAY, reason="x", document_id=lw.doc)
    assert exc.value.code == "lease_over"


def test_ending_for_breach_ends_the_re_leases_the_same_day(lw):
    parent = lease(lw)
    sub = lease(
        lw,
        channel="sublease",
        parent_lease_id=parent.id,
        lessee=services.Lessee(
            kind="outside_person", name="刘四", id_number=id_number(date(1985, 5, 5))
        ),
        holder_consent_document_id=lw.consent,
        plot_uids=[lw.plots[0]],
        ends_on=date(2028, 2, 29),
    )
    services.end_lease(
        parent.id,
        kind="breach",
        ended_on=TODAY,
        reason="擅自改变土地农业用途（建仓库）",
        document_id=lw.doc,
        on=TODAY,
    )
    assert parent.state == "ended" and sub.state == "ended"
    ending = services.ending_of(sub.id)
    assert ending.ended_on == TODAY and ending.kind == "breach" and parent.number in ending.reason


def test_flask_leases_expire_ends_leases_past_their_end_once(lw):
    short = lease(lw, plot_uids=[lw.plots[0]], ends_on=date(2026, 12, 31))
    long_ = lease(lw, plot_uids=[lw.plots[1]])
    with trail.acting(trail.AuditContext(actor="cli", role="system")):
        assert services.expire_leases(on=date(2026, 12, 31)) == []
        assert services.expire_leases(on=date(2027, 1, 1)) == [short]
        assert services.expire_leases(on=date(2027, 1, 1)) == []
    assert short.state == "ended" and long_.state == "in_force"
    assert services.ending_of(short.id).kind == "expiry"
    assert services.ending_of(short.id).ended_on == date(2026, 12, 31)
    assert lease(
        lw, plot_uids=[lw.plots[0]], starts_on=date(2027, 1, 1), ends_on=date(2027, 12, 31)
    )


def test_the_expire_command_runs(app):
    result = app.test_cli_runner().invoke(args=["leases", "expire", "--on", "nonsense"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


def test_payments_endings_and_reviews_are_written_once(lw, waiting):
    with bureau():
        services.decide_qualification(waiting.id, decision="approve", reason="准予")
    services.record_payment(waiting.id, paid_on=TODAY, amount_fen=1000, on=TODAY)
    services.end_lease(
        waiting.id, kind="agreement", ended_on=TODAY, reason="解除", document_id=lw.doc, on=TODAY
    )
    for table in ("lease_payment", "lease_qualification", "lease_ending"):
        with pytest.raises(DBAPIError), db.session.begin_nested():
            db.session.execute(text(f"UPDATE {table} SET collective_id = collective_id"))
        with pytest.raises(DBAPIError), db.session.begin_nested():
            db.session.execute(text(f"DELETE FROM {table}"))
