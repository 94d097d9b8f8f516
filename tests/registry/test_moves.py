"""Ownership moves only for a lawful reason, countersigned by the bureau (service level).

The old direct paths (plot out of a contract, share transfer and buy-back, a homestead ended as
sold or transferred) are refused without a legal basis; with one they become a request that
changes nothing until a bureau reviewer other than the requester countersigns it.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import date

import pytest

from app.audit import trail
from app.audit.models import AuditEntry
from app.extensions import db
from app.registry import history, land, moves
from app.registry.homesteads import dispose_homestead, grant_homestead
from app.registry.models import (
    Homestead,
    LandContract,
    Plot,
    RightMove,
    ShareHolding,
    SourceDocument,
)
from app.registry.shares import (
    allocate_shares,
    buy_back,
    conservation_check,
    fix_share_register,
    transfer_shares,
)
from tests.factories import homesteads as b
from tests.factories import land as fx
from tests.factories.land import refused

_seq = itertools.count(1)


def reviewer(name: str = "bureau", actor_id: int | None = 9001):
    return trail.acting(trail.AuditContext(actor=name, actor_id=actor_id, role="bureau_reviewer"))


def resolution(collective_id: int) -> int:
    """The collective's two-thirds resolution (a source document of kind "resolution")."""
    doc = SourceDocument(
        collective_id=collective_id,
        kind="resolution",
        title="村民会议三分之二以上同意决议",
        sha256=hashlib.sha256(f"resolution-{next(_seq)}".encode()).hexdigest(),
    )
    db.session.add(doc)
    db.session.flush()
    return doc.id


@pytest.fixture
def plot_in_contract(ctx, baseline):
    """A plot in one household's contract and another household's contract, collective A."""
    c = baseline.collective_a
    first, second = fx.contract(c), fx.contract(c)
    x, y = fx.origin(c)
    plot = fx.add(c, fx.square(x, y), contract_uid=first.uid, contract_area_m2=900.0).plot
    return plot, first, second


@pytest.fixture
def holdings(ctx, baseline):
    """A fixed register of 1000 shares in collective A, one holding of 40, a member household."""
    c = baseline.collective_a
    fix_share_register(c, 1000, date(2019, 12, 31), "股权固化决议")
    holding = allocate_shares(
        c,
        household_uid=b.household(c),
        shares=40,
        share_type="population",
        certificate_number="GQ-1",
        source_document_id=b.document(c),
        reason="配股",
    )
    return holding, b.household(c, name="王五户")


def grant(collective_id: int) -> Homestead:
    return grant_homestead(
        b.household(collective_id),
        b.unit_number(collective_id),
        "plain",
        78.0,
        approval_number="始兴宅批〔2020〕001号",
        approved_on=date(2020, 5, 1),
        source_document_id=b.document(collective_id),
        reason="审批",
    )


# --- the old paths without a basis ----------------------------------------------------------


def test_r01_direct_plot_move_without_legal_basis_refused(plot_in_contract, baseline):
    plot, _first, second = plot_in_contract
    doc = fx.make_document(baseline.collective_a)
    for target in (second.uid, None):
        with refused(code="basis_required") as r:
            land.assign_plot_to_contract(plot.uid, target, source_document_id=doc, reason="调地")
        assert r.error.field == "basis"
    assert history.current_of(Plot, plot.uid).version == plot.version
    assert db.session.query(RightMove).count() == 0


def test_r10_share_transfer_without_basis_refused(holdings, baseline):
    holding, other = holdings
    with refused(code="basis_required"):
        transfer_shares(
            holding.uid,
            to_household_uid=other,
            shares=10,
            reason="转让",
            source_document_id=b.document(baseline.collective_a),
        )
    assert history.current_of(ShareHolding, holding.uid).shares == 40


def test_r10_share_buy_back_without_basis_refused(holdings, baseline):
    holding, _other = holdings
    doc = b.document(baseline.collective_a)
    with refused(code="basis_required"):
        buy_back(holding.uid, 10, reason="有偿退出", source_document_id=doc)
    # A buy-back is a paid exit: inheritance is no basis for it.
    with refused(code="basis_not_allowed"):
        buy_back(holding.uid, 10, reason="回购", source_document_id=doc, basis="inheritance")
    # The collective's decision on a member's exit rests on its resolution.
    with refused(code="basis_document"):
        buy_back(holding.uid, 10, reason="退出", source_document_id=doc, basis="member_exit")
    assert history.current_of(ShareHolding, holding.uid).shares == 40


@pytest.mark.parametrize("disposal", ["sold", "transferred", "gifted", "leased"])
def test_r09_homestead_transfer_without_basis_refused(ctx, baseline, disposal):
    h = grant(baseline.collective_a)
    doc = b.document(baseline.collective_a)
    with refused(code="basis_required"):
        dispose_homestead(h.uid, disposal, "卖房", doc)
    with refused(code="basis_not_allowed"):
        dispose_homestead(h.uid, disposal, "卖房", doc, basis="inheritance")
    with refused(code="basis_required"):
        moves.request_move(
            "homestead_transfer",
            h.uid,
            basis=None,
            source_document_id=doc,
            reason="转让",
            to_household_uid=b.household(baseline.collective_a),
        )
    assert history.current_of(Homestead, h.uid) is not None
    # Recording an old sale is a correction of the record, and lawful.
    ended = dispose_homestead(h.uid, disposal, "补记2015年出卖", doc, basis="correction")
    assert ended.disposal == disposal and not ended.is_current


def test_return_to_the_collective_needs_no_basis(ctx, baseline):
    h = grant(baseline.collective_a)
    ended = dispose_homestead(h.uid, "returned", "交回", b.document(baseline.collective_a))
    assert ended.disposal == "returned"


def test_unknown_basis_refused(plot_in_contract, baseline):
    plot, _first, second = plot_in_contract
    with refused(code="basis_unknown"):
        land.assign_plot_to_contract(
            plot.uid,
            second.uid,
            source_document_id=fx.make_document(baseline.collective_a),
            reason="调地",
            basis="sale",
        )


# --- requests wait for the countersign ---------------------------------------------------------


def test_r01_plot_move_with_basis_waits_for_countersign(plot_in_contract, baseline):
    plot, first, second = plot_in_contract
    move = land.assign_plot_to_contract(
        plot.uid,
        second.uid,
        source_document_id=fx.make_document(baseline.collective_a),
        reason="确权时错登",
        basis="correction",
    )
    assert isinstance(move, RightMove) and move.state == "pending"
    assert move.from_household_uid == first.household_uid
    assert move.to_household_uid == second.household_uid
    # Nothing changed yet.
    assert history.current_of(Plot, plot.uid).contract_uid == first.uid
    assert history.current_of(LandContract, first.uid).contract_area_m2 == pytest.approx(900.0)

    with reviewer():
        applied = moves.countersign_move(move.id)
    assert applied.state == "applied" and applied.decided_by == "bureau"
    now = history.current_of(Plot, plot.uid)
    assert now.contract_uid == second.uid and now.household_uid == second.household_uid
    assert "登记错误更正" in now.change_reason or "recording error" in now.change_reason
    assert history.current_of(LandContract, first.uid).contract_area_m2 == 0.0
    assert history.current_of(LandContract, second.uid).contract_area_m2 == pytest.approx(900.0)
    events = {e for (e,) in db.session.query(AuditEntry.event).distinct()}
    assert {"move.request", "move.countersign", "plot.assign"} <= events


def test_r01_plot_back_to_the_collective_by_readjustment(plot_in_contract, baseline):
    plot, first, _second = plot_in_contract
    c = baseline.collective_a
    with refused(code="basis_document"):
        land.assign_plot_to_contract(
            plot.uid,
            None,
            source_document_id=fx.make_document(c),
            reason="调整",
            basis="readjustment",
        )
    move = land.assign_plot_to_contract(
        plot.uid, None, source_document_id=resolution(c), reason="调整", basis="readjustment"
    )
    with reviewer():
        moves.countersign_move(move.id)
    assert history.current_of(Plot, plot.uid).contract_uid is None


def test_request_checks_the_rules_now(plot_in_contract, holdings, baseline):
    plot, _first, _second = plot_in_contract
    holding, _other = holdings
    c = baseline.collective_a
    # R01: a contract of another collective is a contract that does not exist.
    elsewhere = fx.contract(baseline.collective_b)
    with refused(code="contract_not_found"):
        moves.request_move(
            "plot_move",
            plot.uid,
            basis="court_ruling",
            source_document_id=fx.make_document(c),
            reason="判决",
            to_contract_uid=elsewhere.uid,
        )
    # R10: the recipient must be on the roll; checked by the transfer's own rule.
    off_roll = b.household(c, members=[b.person(c, until=date(2021, 1, 1))])
    with refused(rule="R10"):
        transfer_shares(
            holding.uid,
            to_household_uid=off_roll,
            shares=10,
            reason="继承",
            source_document_id=b.document(c),
            basis="inheritance",
        )
    # R11: the cap (5 % of 1000 = 50) is checked now too.
    with refused(rule="R11"):
        transfer_shares(
            holding.uid,
            to_household_uid=_other,
            shares=60,
            reason="继承",
            source_document_id=b.document(c),
            basis="inheritance",
        )
    assert db.session.query(RightMove).count() == 0
    assert history.current_of(ShareHolding, holding.uid).shares == 40


def test_one_pending_move_per_right(plot_in_contract, baseline):
    plot, _first, second = plot_in_contract
    doc = fx.make_document(baseline.collective_a)
    land.assign_plot_to_contract(
        plot.uid, second.uid, source_document_id=doc, reason="判决", basis="court_ruling"
    )
    with refused(code="move_pending"):
        land.assign_plot_to_contract(
            plot.uid, None, source_document_id=doc, reason="判决", basis="court_ruling"
        )


def test_requester_cannot_countersign_own_move(plot_in_contract, baseline):
    plot, _first, second = plot_in_contract
    with reviewer("bureau", 1):
        move = land.assign_plot_to_contract(
            plot.uid,
            second.uid,
            source_document_id=fx.make_document(baseline.collective_a),
            reason="判决",
            basis="court_ruling",
        )
        with refused(code="countersign_own"):
            moves.countersign_move(move.id)
        with refused(code="countersign_own"):
            moves.refuse_move(move.id, "不同意")
    with reviewer("bureau2", 2):
        moves.countersign_move(move.id)
    assert history.current_of(Plot, plot.uid).contract_uid == second.uid


@pytest.mark.parametrize("role", ["collective_admin", "auditor", "farmer", "system"])
def test_non_bureau_role_cannot_countersign(plot_in_contract, baseline, role):
    plot, first, second = plot_in_contract
    move = land.assign_plot_to_contract(
        plot.uid,
        second.uid,
        source_document_id=fx.make_document(baseline.collective_a),
        reason="判决",
        basis="court_ruling",
    )
    with trail.acting(trail.AuditContext(actor="someone", actor_id=77, role=role)):
        with refused(code="countersign_role"):
            moves.countersign_move(move.id)
        with refused(code="countersign_role"):
            moves.refuse_move(move.id, "x")
    assert history.current_of(Plot, plot.uid).contract_uid == first.uid
    assert db.session.get(RightMove, move.id).state == "pending"


def test_countersign_rechecks_plot_moved_meanwhile(plot_in_contract, baseline):
    plot, first, second = plot_in_contract
    doc = fx.make_document(baseline.collective_a)
    move = land.assign_plot_to_contract(
        plot.uid, second.uid, source_document_id=doc, reason="判决", basis="court_ruling"
    )
    land._move_plot(plot.uid, None, source_document_id=doc, reason="另案更正")
    before = history.current_of(Plot, plot.uid)
    with reviewer(), refused(code="moved_meanwhile"):
        moves.countersign_move(move.id)
    after = history.current_of(Plot, plot.uid)
    assert (after.version, after.contract_uid) == (before.version, None)
    assert history.current_of(LandContract, second.uid).contract_area_m2 == 0.0
    assert db.session.get(RightMove, move.id).state == "pending"


def test_r11_countersign_rechecks_the_cap_and_writes_nothing(holdings, baseline):
    holding, other = holdings
    c = baseline.collective_a
    move = transfer_shares(
        holding.uid,
        to_household_uid=other,
        shares=30,
        reason="继承",
        source_document_id=b.document(c),
        basis="inheritance",
    )
    assert move.state == "pending"
    allocate_shares(
        c,
        household_uid=other,
        shares=25,
        share_type="population",
        certificate_number=None,
        source_document_id=b.document(c),
        reason="配股",
    )
    with reviewer(), refused(rule="R11"):
        moves.countersign_move(move.id)
    assert history.current_of(ShareHolding, holding.uid).shares == 40
    assert conservation_check(c)[0] == pytest.approx(65.0)
    assert db.session.get(RightMove, move.id).state == "pending"


def test_r10_share_transfer_countersigned_conserves_the_total(holdings, baseline):
    holding, other = holdings
    c = baseline.collective_a
    move = transfer_shares(
        holding.uid,
        to_household_uid=other,
        shares=15,
        reason="继承",
        source_document_id=b.document(c),
        basis="inheritance",
    )
    assert history.current_of(ShareHolding, holding.uid).shares == 40
    with reviewer():
        moves.countersign_move(move.id)
    assert history.current_of(ShareHolding, holding.uid).shares == 25
    assert conservation_check(c) == (pytest.approx(40.0), pytest.approx(960.0), 1000.0)


def test_r10_buy_back_on_member_exit_countersigned(holdings, baseline):
    holding, _other = holdings
    c = baseline.collective_a
    move = buy_back(
        holding.uid, 40, reason="成员退出", source_document_id=resolution(c), basis="member_exit"
    )
    with reviewer():
        moves.countersign_move(move.id)
    assert history.current_of(ShareHolding, holding.uid) is None
    assert conservation_check(c)[1] == pytest.approx(1000.0)


def test_r09_homestead_transfer_by_inheritance_countersigned(ctx, baseline):
    c = baseline.collective_a
    h = grant(c)
    heir = b.household(c, name="赵六户")
    move = moves.request_move(
        "homestead_transfer",
        h.uid,
        basis="inheritance",
        source_document_id=b.document(c),
        reason="继承",
        to_household_uid=heir,
    )
    assert history.current_of(Homestead, h.uid).household_uid == move.from_household_uid
    with reviewer():
        moves.countersign_move(move.id)
    now = history.current_of(Homestead, h.uid)
    assert now.household_uid == heir and now.unit_number == h.unit_number
    assert history.versions(Homestead, h.uid)[0].disposal == "transferred"


def test_r09_homestead_transfer_to_an_ineligible_household_refused_at_request(ctx, baseline):
    c = baseline.collective_a
    h = grant(c)
    holder_already = grant(c).household_uid
    with refused(rule="R09"):
        moves.request_move(
            "homestead_transfer",
            h.uid,
            basis="court_ruling",
            source_document_id=b.document(c),
            reason="判决",
            to_household_uid=holder_already,
        )


def test_refuse_needs_a_reason_and_ends_the_request(plot_in_contract, baseline):
    plot, first, second = plot_in_contract
    move = land.assign_plot_to_contract(
        plot.uid,
        second.uid,
        source_document_id=fx.make_document(baseline.collective_a),
        reason="判决",
        basis="court_ruling",
    )
    with reviewer():
        with refused(code="reason_required"):
            moves.refuse_move(move.id, "  ")
        refused_move = moves.refuse_move(move.id, "判决书未生效")
        assert refused_move.state == "refused"
        assert refused_move.decision_reason == "判决书未生效"
        with refused(code="move_state"):
            moves.countersign_move(move.id)
    assert history.current_of(Plot, plot.uid).contract_uid == first.uid


def test_withdraw_only_by_the_requester(plot_in_contract, baseline):
    plot, first, second = plot_in_contract
    move = land.assign_plot_to_contract(
        plot.uid,
        second.uid,
        source_document_id=fx.make_document(baseline.collective_a),
        reason="判决",
        basis="court_ruling",
    )
    with reviewer(), refused(code="withdraw_not_requester"):
        moves.withdraw_move(move.id)
    assert moves.withdraw_move(move.id).state == "withdrawn"
    with refused(code="move_state"):
        moves.withdraw_move(move.id)
    with reviewer(), refused(code="move_state"):
        moves.countersign_move(move.id)
    # Withdrawn, the right is free for another request.
    again = land.assign_plot_to_contract(
        plot.uid,
        None,
        source_document_id=fx.make_document(baseline.collective_a),
        reason="更正",
        basis="correction",
    )
    assert again.state == "pending"
    assert history.current_of(Plot, plot.uid).contract_uid == first.uid


def test_describe_shows_before_and_after(plot_in_contract, baseline):
    plot, first, second = plot_in_contract
    move = land.assign_plot_to_contract(
        plot.uid,
        second.uid,
        source_document_id=fx.make_document(baseline.collective_a),
        reason="判决",
        basis="court_ruling",
    )
    subject, lines = moves.describe(move)
    assert plot.dkbm in subject
    assert lines[0].before.startswith(first.cbhtbm) and lines[0].after.startswith(second.cbhtbm)
