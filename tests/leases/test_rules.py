"""R02 and R05 for a lease of the land-management right: what record_lease refuses, in words,
leaving nothing written; what it writes when the lease is good."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.audit import trail
from app.core.errors import DomainError
from app.extensions import db
from app.leases import services
from app.leases.models import Lease, LeaseInstalment
from app.registry import encumbrances
from tests.factories import land as lf
from tests.leases.conftest import TODAY, company, coop, lease, member_lessee, notice


def leases_count() -> int:
    return db.session.scalar(select(func.count(Lease.id)))


def test_a_member_households_lease_is_in_force_filed_with_its_rent_and_registry_records(lw):
    made = lease(lw)
    assert made.state == "in_force"
    assert made.filed_on == TODAY and made.filed_by == "tester"
    assert made.lessee_name == "乙户" and made.household_uid == lw.holder["household_uid"]
    assert made.priority_evidence is None
    # 2100 m² = 3.15 亩 × 800 yuan = 2520 yuan a year
    assert made.area_m2 == 2100.0
    assert made.rent_fen_per_year == 252000
    rows = services.schedule_of(made.id)
    assert [(r.due_on, r.amount_fen) for r in rows] == [
        (date(2026 + k, 3, 1), 252000) for k in range(5)
    ]
    records = encumbrances.lease_encumbrances(made.number)
    assert sorted(e.right_uid for e in records) == sorted(lw.plots)
    assert {(e.kind, e.party_name, e.starts_on, e.ends_on) for e in records} == {
        ("lease", "乙户", date(2026, 3, 1), date(2031, 2, 28))
    }
    # the registry's pages see the lease on the plot and on the contract
    weights = encumbrances.encumbrances_of("land_contract", lw.contract, on=TODAY)
    assert any(w.kind == "lease" and w.in_force for w in weights)
    assert services.leases_of_plots([lw.plots[0]], on=TODAY) == [made]


def test_r02_a_lease_past_the_contracts_end_is_refused(lw):
    before = leases_count()
    with pytest.raises(DomainError) as exc:
        lease(lw, ends_on=date(2050, 1, 1))
    error = exc.value
    assert error.code == "beyond_contract_term" and error.rule == "R02"
    assert "2049-12-31" in error.message
    assert leases_count() == before
    # up to the last day of the term is fine
    assert lease(lw, ends_on=date(2049, 12, 31)).state == "in_force"


def test_r02_a_lease_before_the_contracts_start_is_refused(lw):
    with pytest.raises(DomainError) as exc:
        lease(lw, starts_on=date(2019, 6, 1))
    assert exc.value.code == "before_contract_term"


def test_r05_non_agricultural_use_is_refused(lw):
    for use in ("warehouse", "factory", "", None, 3):
        with pytest.raises(DomainError) as exc:
            lease(lw, use=use)
        assert exc.value.code == "use_not_agricultural" and exc.value.rule == "R05"
    assert leases_count() == 0


def test_r05_a_written_contract_is_needed_beyond_one_year(lw):
    with pytest.raises(DomainError) as exc:
        lease(lw, contract_document_id=None, ends_on=date(2027, 3, 1))
    assert exc.value.code == "written_contract_required"
    # a year or less needs none
    short = lease(lw, contract_document_id=None, ends_on=date(2027, 2, 28))
    assert short.state == "in_force" and short.contract_document_id is None


def test_r05_a_lease_on_no_paper_weighs_on_its_plots_until_it_ends(lw):
    """A one-year lease between members with no written contract: its registry records cite
    the lease itself; the title checks see it in force; its ending releases them, citing the
    ending; the records stay written once."""
    short = lease(lw, contract_document_id=None, ends_on=date(2027, 2, 28))
    records = encumbrances.lease_encumbrances(short.number)
    assert sorted(e.right_uid for e in records) == sorted(lw.plots)
    assert {(e.source_document_id, e.lease_id) for e in records} == {(None, short.id)}
    for uid in lw.plots:
        weights = encumbrances.encumbrances_of("plot", uid, on=date(2026, 6, 1))
        assert [(w.kind, w.party, w.in_force) for w in weights] == [("lease", "乙户", True)]
    with pytest.raises(DomainError) as exc:  # the same plots cannot be leased again meanwhile
        lease(lw, starts_on=date(2026, 6, 1), ends_on=date(2026, 12, 31))
    assert exc.value.code == "plot_already_leased"
    ending = services.end_lease(
        short.id, kind="expiry", ended_on=date(2027, 2, 28), reason="期满", on=date(2027, 3, 1)
    )
    releases = [encumbrances.release_of(e.id) for e in records]
    assert {(r.source_document_id, r.lease_ending_id) for r in releases} == {(None, ending.id)}
    weights = encumbrances.encumbrances_of("plot", lw.plots[0], on=date(2027, 3, 1))
    assert [(w.kind, w.in_force) for w in weights] == [("lease", False)]
    for sql in (
        "UPDATE encumbrance SET party_name = 'x'",
        "DELETE FROM encumbrance",
        "UPDATE encumbrance_release SET reason = 'x'",
        "DELETE FROM encumbrance_release",
    ):
        with pytest.raises(DBAPIError), db.session.begin_nested():
            db.session.execute(text(sql))


def test_only_a_lease_record_may_cite_no_document(lw):
    """The database itself: a pledge with no document, or a lease record naming neither a
    document nor its lease, is refused (CHECK); so is a release citing nothing."""
    short = lease(lw, contract_document_id=None, ends_on=date(2027, 2, 28))
    row = encumbrances.lease_encumbrances(short.number)[0]
    columns = (
        "collective_id, kind, right_kind, right_uid, party_name, starts_on, recorded_by, "
        "recorded_at, lease_id"
    )
    for kind, lease_id in (("pledge", short.id), ("lease", None)):
        with pytest.raises(DBAPIError), db.session.begin_nested():
            db.session.execute(
                text(
                    f"INSERT INTO encumbrance ({columns}) VALUES (:c, :k, 'plot', :r, 'x', "
                    ":d, 'x', :d, :l)"
                ),
                {"c": lw.a, "k": kind, "r": row.right_uid, "d": TODAY, "l": lease_id},
            )
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(
            text(
                "INSERT INTO encumbrance_release (encumbrance_id, collective_id, released_on, "
                "reason, recorded_by, recorded_at) VALUES (:e, :c, :d, 'x', 'x', :d)"
            ),
            {"e": row.id, "c": lw.a, "d": TODAY},
        )


def test_r05_only_five_years_or_more_can_be_registered(lw):
    with pytest.raises(DomainError) as exc:
        lease(lw, ends_on=date(2031, 2, 27), register=True)
    assert exc.value.code == "register_too_short"
    made = lease(lw, ends_on=date(2031, 2, 28), register=True)
    assert made.registered_on == TODAY


def test_r05_an_outsider_needs_the_members_priority_notice(lw):
    with pytest.raises(DomainError) as exc:
        lease(lw, lessee=coop())
    assert exc.value.code == "priority_notice_required"
    # a notice of five days has not run its ten days yet
    with pytest.raises(DomainError) as exc:
        lease(lw, lessee=coop(), priority_evidence=notice(lw, days_ago=5))
    assert exc.value.code == "priority_period_running"
    assert "2026-03-06" in exc.value.message
    # a notice of another collective is no notice here
    other = notice(lw)
    other["notice_document_id"] = lf.make_document(lw.b, "公告")
    with pytest.raises(DomainError):
        lease(lw, lessee=coop(), priority_evidence=other)
    assert leases_count() == 0
    made = lease(lw, lessee=coop(), priority_evidence=notice(lw, days_ago=10))
    assert made.state == "in_force" and made.lessee_uscc.startswith("93440222")
    assert '"notice_document_id"' in made.priority_evidence


def test_r05_a_household_of_another_collective_is_not_a_member(lw):
    outsider = services.Lessee(
        kind="member_household", name="", household_uid=lw.other["household_uid"]
    )
    with pytest.raises(DomainError) as exc:
        lease(lw, lessee=outsider)
    assert exc.value.status == 404


def test_r05_a_company_above_the_threshold_cannot_start_before_the_qualification_review(
    lw, app, monkeypatch
):
    monkeypatch.setitem(app.config, "LEASE_QUALIFICATION_MU", services.Decimal("3"))
    made = lease(lw, lessee=company(), priority_evidence=notice(lw))
    assert made.needs_qualification and made.state == "awaiting_qualification"
    # not in force: no registry record, no rent due, not among the leases in force
    assert encumbrances.lease_encumbrances(made.number) == []
    assert services.arrears(made, on=date(2027, 6, 1)) == 0
    assert services.leases_in_force(lw.a, on=date(2026, 6, 1)) == []
    # the plots are held while it waits
    with pytest.raises(DomainError) as exc:
        lease(lw)
    assert exc.value.code == "plot_already_leased"


def test_r05_a_company_below_the_threshold_needs_no_review(lw):
    made = lease(lw, lessee=company(), priority_evidence=notice(lw))
    assert not made.needs_qualification and made.state == "in_force"


def test_r05_a_frozen_plot_cannot_be_leased(lw):
    with trail.acting(trail.AuditContext(actor="county", role="bureau_reviewer")):
        encumbrances.record_encumbrance(
            "freeze",
            "plot",
            lw.plots[1],
            party_name="始兴县人民法院",
            case_number="（2026）粤0222执保12号",
            starts_on=TODAY,
            source_document_id=lw.doc,
        )
    with pytest.raises(DomainError) as exc:
        lease(lw)
    assert exc.value.code == "encumbered_freeze"
    assert "查封" in exc.value.message or "frozen" in exc.value.message
    assert leases_count() == 0


def test_r05_a_disputed_plot_cannot_be_leased(lw):
    encumbrances.record_encumbrance(
        "dispute",
        "plot",
        lw.plots[0],
        party_name="邻户王某",
        starts_on=TODAY,
        source_document_id=lw.doc,
    )
    with pytest.raises(DomainError) as exc:
        lease(lw, plot_uids=[lw.plots[0]])
    assert exc.value.code == "encumbered_dispute"
    # the other plot is free
    assert lease(lw, plot_uids=[lw.plots[1]]).state == "in_force"


def test_overlapping_leases_are_refused_and_the_land_is_free_the_day_after(lw):
    first = lease(lw, ends_on=date(2027, 2, 28))
    with pytest.raises(DomainError) as exc:
        lease(lw, plot_uids=[lw.plots[1]], starts_on=date(2027, 2, 28), ends_on=date(2028, 2, 27))
    assert exc.value.code == "plot_already_leased" and first.number in exc.value.message
    nxt = lease(lw, plot_uids=[lw.plots[1]], starts_on=date(2027, 3, 1), ends_on=date(2028, 2, 28))
    assert nxt.state == "in_force" and nxt.number != first.number


def test_a_plot_of_another_contract_or_collective_is_refused(lw):
    with pytest.raises(DomainError) as exc:
        lease(lw, plot_uids=[lw.member["plot_uids"][0]])
    assert exc.value.code == "plot_not_in_contract"
    with pytest.raises(DomainError) as exc:
        lease(lw, contract_uid=lw.other["contract_uid"])
    assert exc.value.status == 404


def test_r05_a_re_lease_needs_the_holders_written_consent(lw):
    parent = lease(lw)
    sub = dict(
        channel="sublease",
        parent_lease_id=parent.id,
        lessee=services.Lessee(kind="outside_person", name="刘四", id_number=_id_number()),
        plot_uids=[lw.plots[0]],
        starts_on=date(2026, 6, 1),
        ends_on=date(2028, 5, 31),
    )
    with pytest.raises(DomainError) as exc:
        lease(lw, **sub)
    assert exc.value.code == "holder_consent_required"
    # not past the parent's end either
    with pytest.raises(DomainError) as exc:
        lease(lw, holder_consent_document_id=lw.consent, **{**sub, "ends_on": date(2031, 3, 1)})
    assert exc.value.code == "beyond_parent_lease"
    made = lease(lw, holder_consent_document_id=lw.consent, **sub)
    assert made.parent_lease_id == parent.id and made.state == "in_force"
    assert made.filed_on == TODAY
    # a second re-lease of the same plot over the same days is refused
    with pytest.raises(DomainError) as exc:
        lease(lw, holder_consent_document_id=lw.consent, **sub)
    assert exc.value.code == "plot_already_leased"


def test_check_lease_terms_writes_nothing(lw):
    services.check_lease_terms(
        lw.a,
        lw.contract,
        lw.plots,
        lessee=member_lessee(lw),
        method="lease",
        use="grain",
        starts_on=date(2026, 3, 1),
        ends_on=date(2031, 2, 28),
        contract_document_id=lw.doc,
        on=TODAY,
    )
    assert leases_count() == 0
    with pytest.raises(DomainError):
        services.check_lease_terms(
            lw.a,
            lw.contract,
            lw.plots,
            lessee=member_lessee(lw),
            method="lease",
            use="grain",
            starts_on=date(2026, 3, 1),
            ends_on=date(2050, 1, 1),
            on=TODAY,
        )


def test_the_rent_is_exact_and_the_last_year_pro_rata(lw):
    made = lease(
        lw,
        plot_uids=[lw.plots[1]],  # 1100 m² = 1.65 亩
        rent_fen_per_mu_year=33333,
        starts_on=date(2026, 3, 1),
        ends_on=date(2027, 8, 31),
        payment_schedule="semiannual",
    )
    # 333.33 × 1.65 = 549.9945 yuan → 549.99
    assert made.rent_fen_per_year == 54999
    rows = [(r.due_on, r.amount_fen) for r in services.schedule_of(made.id)]
    assert rows[:2] == [(date(2026, 3, 1), 27500), (date(2026, 9, 1), 27499)]
    # the second lease year has 366 days (29 February 2028), of which 184 are leased:
    # 54999 × 184 / 366 = 27649.9 → 27650, due at once (the lease ends before the second half)
    assert rows[2:] == [(date(2027, 3, 1), 27650)]
    assert (
        db.session.scalar(
            select(func.count(LeaseInstalment.id)).where(LeaseInstalment.lease_id == made.id)
        )
        == 3
    )
    once = services.instalments(date(2026, 3, 1), date(2027, 8, 31), 54999, "once")
    assert once == [(date(2026, 3, 1), 54999 + 27650)]


def test_a_farmer_cannot_record_a_lease(lw):
    with (
        trail.acting(trail.AuditContext(actor="farmer_a", role="farmer")),
        pytest.raises(DomainError) as exc,
    ):
        lease(lw)
    assert exc.value.code == "lease_recorder"


def test_lease_plots_and_instalments_are_written_once(lw):
    made = lease(lw)
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(
            text("UPDATE lease_plot SET area_m2 = 1 WHERE lease_id = :id"), {"id": made.id}
        )
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(
            text("DELETE FROM lease_instalment WHERE lease_id = :id"), {"id": made.id}
        )


def _id_number() -> str:
    from tests.factories.people import id_number

    return id_number(date(1985, 5, 5))
