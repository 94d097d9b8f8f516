"""The marketplace's state machine, as a table: every state reachable, terminal states final,
illegal steps refused in plain words."""

from __future__ import annotations

import pytest

from app.core.errors import DomainError
from app.market import states


def test_every_state_is_reachable_from_draft():
    seen, frontier = {"draft"}, ["draft"]
    while frontier:
        source = frontier.pop()
        for t in states.TRANSITIONS:
            if t.source == source and t.target not in seen:
                seen.add(t.target)
                frontier.append(t.target)
    assert seen == set(states.STATES)


def test_terminal_states_have_no_way_out_and_open_ones_have_one():
    for t in states.TRANSITIONS:
        assert t.source not in states.TERMINAL, t
    for state in states.OPEN:
        assert states.actions_from(state), state


def test_r13_the_holder_withdraws_from_every_step_before_the_contract(ctx):
    for state in states.OPEN:
        found = states.step(state, "withdraw", states.HOLDER)
        assert found.target == "withdrawn"
    with pytest.raises(DomainError) as refused:
        states.step("completed", "withdraw", states.HOLDER)
    assert refused.value.code == "market_step"


def test_an_illegal_step_names_the_current_step_in_plain_words(ctx):
    with pytest.raises(DomainError) as refused:
        states.step("draft", "publish", "collective_admin")
    message = refused.value.message
    assert states.state_label("draft") in message
    assert "draft" not in message and "publish" not in message


def test_only_the_named_actor_takes_a_step(ctx):
    with pytest.raises(DomainError) as refused:
        states.step("bureau_review", "approve", "collective_admin")
    assert refused.value.code == "market_actor"
    assert states.step("bureau_review", "approve", "bureau_reviewer").target == "contracting"


def test_rejections_need_a_reason(ctx):
    with pytest.raises(DomainError) as refused:
        states.step("bureau_review", "reject", "bureau_reviewer", reason="  ")
    assert refused.value.code == "reason_required"
    assert states.step("bureau_review", "reject", "bureau_reviewer", reason="价格异常").target == (
        "rejected"
    )


def test_homesteads_pass_the_township_and_exits_skip_the_offers():
    assert states.transition("collective_consent", "consent_homestead").target == (
        "township_approval"
    )
    assert states.transition("township_approval", "approve").target == "bureau_review"
    assert states.transition("ready", "record_exit_resolution").target == "collective_consent"


def test_the_documented_table_is_the_state_machine():
    """docs/MARKETPLACE.md shows the transition table users and reviewers read: row for row the
    code's (a change of the machine without the document fails here)."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "MARKETPLACE.md").read_text("utf-8")
    rows = set()
    for line in doc.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in states.STATES and cells[2] in states.STATES:
            actors = frozenset(a.strip() for a in cells[3].split(","))
            rows.add((cells[0], cells[1], cells[2], actors, cells[4] == "yes"))
    code = {(t.source, t.action, t.target, t.actors, t.needs_reason) for t in states.TRANSITIONS}
    assert rows == code
