"""The inbox and the outbox (app/notify): what a user sees of their notifications, in their own
language; nobody reaches another's; short messages reach the sender, and failures are retried."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from app.audit import trail
from app.audit.labels import EVENTS
from app.audit.models import AuditEntry
from app.auth.models import User
from app.core.errors import NotFound
from app.extensions import db
from app.notify import outbox, services
from app.notify.models import Notification, OutboxMessage
from app.registry import history
from app.registry.models import Person
from tests.conftest import token_for
from tests.factories import people as fx

PHONE = "13800138000"


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


@pytest.fixture
def world(ctx, baseline):
    """farmer_a is 李大山 of collective A, with a phone number; farmer_b has no person (no
    phone)."""
    head, _hh = fx.household(baseline.collective_a, "李大山")
    fx.link_farmer("farmer_a", head.uid)
    person = db.session.scalar(
        select(Person).where(Person.uid == head.uid, Person.end_lifespan.is_(None))
    )
    history.revise(person, reason="测试: 联系电话", phone=PHONE)
    db.session.flush()
    return {"person": head.uid}


def _offer_note(username: str, amount_fen: int = 290_000, **kw) -> Notification:
    return services.notify(
        [_user(username).id],
        "market.offer",
        {"listing": 7, "right": "land_contract", "amount_fen": amount_fen},
        "/inbox",
        **kw,
    )[0]


def _badge(html: str) -> int:
    found = re.search(r'id="unread-count"[^>]*>(\d+)<', html)
    return int(found.group(1)) if found else 0


def test_the_unread_count_moves_as_the_user_reads(world, client, auth):
    first = _offer_note("farmer_a")
    _offer_note("farmer_a", 10_000)
    _offer_note("farmer_b")  # someone else's: never counted here
    auth.login("farmer_a")

    page = client.get("/inbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert _badge(html) == 2
    assert html.count('class="card notification unread"') == 2
    assert _badge(client.get("/account").get_data(as_text=True)) == 2  # in every page's nav

    answer = client.post("/inbox/read", data={"id": str(first.id)})
    assert answer.status_code == 302, answer.headers
    html = client.get("/inbox").get_data(as_text=True)
    assert _badge(html) == 1
    assert html.count('class="card notification unread"') == 1

    client.post("/inbox/read", data={"all": "1"})
    html = client.get("/inbox").get_data(as_text=True)
    assert _badge(html) == 0
    assert 'id="unread-count"' not in html
    assert services.unread_count(_user("farmer_b")) == 1


def test_the_inbox_is_newest_first_and_paged(world, client, auth):
    for amount in range(1, services.INBOX_PAGE + 3):
        _offer_note("farmer_a", amount * 100)
    auth.login("farmer_a")
    html = client.get("/inbox").get_data(as_text=True)
    amounts = re.findall(r"offer of ([\d,]+)\.00", html) or re.findall(r"([\d,]+)\.00", html)
    assert amounts[0] == "22"  # the newest first
    older = re.search(r'href="(/inbox\?cursor=\d+)"', html)
    assert older is not None
    html = client.get(older.group(1)).get_data(as_text=True)
    assert len(re.findall(r'class="card notification', html)) == 2


@pytest.mark.authz
def test_another_users_notification_is_a_404(app, world, client, auth):
    theirs = _offer_note("farmer_b").id
    auth.login("farmer_a")
    assert client.post("/inbox/read", data={"id": str(theirs)}).status_code == 404
    assert client.post("/inbox/read", data={"id": "999999"}).status_code == 404
    with pytest.raises(NotFound):
        services.mark_read(_user("farmer_a"), [theirs])

    token = token_for(app, "farmer_a")
    api = app.test_client()
    answer = api.post(
        "/api/v1/inbox/read",
        json={"ids": [theirs]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 404
    listed = api.get("/api/v1/inbox", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert theirs not in [i["notification_id"] for i in listed["items"]]
    assert services.unread_count(_user("farmer_b")) == 1


def test_reading_in_english_shows_english(app, baseline, client, auth):
    # Without the ctx fixture: each request then picks its language itself, as in production.
    with app.app_context(), trail.acting(trail.AuditContext(actor="tester", role="system")):
        note = _offer_note("farmer_a", 2_900_000)
        assert "offer" not in note.params  # only codes and numbers are stored, never words
        db.session.commit()  # in the harness: releases a savepoint; rolled back after the test
    auth.login("farmer_a")
    chinese = client.get("/inbox").get_data(as_text=True)
    assert '<html lang="zh-CN">' in chinese and "29,000.00" in chinese
    client.set_cookie("lang", "en")
    html = client.get("/inbox").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "An offer of 29,000.00 yuan was made on your listing of contracted land (No. 7)." in html

    token = token_for(app, "farmer_a")
    api = app.test_client()
    listed = api.get(
        "/api/v1/inbox", headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    ).get_json()
    assert listed["unread"] == 1
    assert listed["items"][0]["text"].startswith("An offer of 29,000.00 yuan")
    marked = api.post(
        "/api/v1/inbox/read",
        json={"all": True},
        headers={"Authorization": f"Bearer {token}"},
    ).get_json()
    assert marked == {"marked": 1, "unread": 0}


def test_a_short_message_is_queued_in_chinese_only_for_users_with_a_phone(world):
    _offer_note("farmer_a", sms=True)
    _offer_note("farmer_b", sms=True)
    _offer_note("admin_a", sms=True)
    queued = db.session.scalars(select(OutboxMessage)).all()
    assert [(m.user_id, m.phone, m.state) for m in queued] == [
        (_user("farmer_a").id, PHONE, "pending")
    ]
    assert queued[0].text.startswith("【农村“三权”登记系统】")
    assert "2,900.00" in queued[0].text


def test_the_outbox_delivers_with_the_log_sender(app, world, caplog):
    _offer_note("farmer_a", sms=True)
    with caplog.at_level(logging.INFO):
        done = outbox.deliver_outbox()
    assert done == {"sent": 1, "failed": 0}
    message = db.session.scalars(select(OutboxMessage)).one()
    assert (message.state, message.attempts, message.sent_at is not None) == ("sent", 1, True)
    assert any(PHONE in r.getMessage() and "2,900.00" in r.getMessage() for r in caplog.records)
    assert outbox.deliver_outbox() == {"sent": 0, "failed": 0}  # sent once only


_calls: list[str] = []


def failing_sender(phone: str, text: str) -> None:
    _calls.append(phone)
    raise ConnectionError("gateway down")


def test_a_failing_sender_marks_failures_and_retries_up_to_the_limit(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_SENDER", "tests.test_notify:failing_sender")
    monkeypatch.setitem(app.config, "NOTIFY_MAX_ATTEMPTS", 2)
    _calls.clear()
    _offer_note("farmer_a", sms=True)
    assert outbox.deliver_outbox() == {"sent": 0, "failed": 1}
    message = db.session.scalars(select(OutboxMessage)).one()
    assert (message.state, message.attempts) == ("failed", 1)
    assert "gateway down" in message.last_error
    assert outbox.deliver_outbox() == {"sent": 0, "failed": 1}  # retried
    assert message.attempts == 2
    assert outbox.deliver_outbox() == {"sent": 0, "failed": 0}  # the limit: no more tries
    assert _calls == [PHONE, PHONE]

    # A sender that works again delivers what had not yet reached the limit.
    monkeypatch.setitem(app.config, "NOTIFY_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "NOTIFY_SENDER", "app.notify.outbox:log_sender")
    assert outbox.deliver_outbox() == {"sent": 1, "failed": 0}
    assert (message.state, message.attempts, message.last_error) == ("sent", 3, None)


def test_flask_notify_deliver_runs_from_cron(app, world):
    _offer_note("farmer_a", sms=True)
    result = app.test_cli_runner().invoke(args=["notify", "deliver"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 failed" in result.output


def test_audit_labels_exist_for_the_inbox_events(world):
    note = _offer_note("farmer_a", sms=True)
    services.mark_read(_user("farmer_a"), [note.id])
    outbox.deliver_outbox()
    events = set(
        db.session.scalars(select(AuditEntry.event).where(AuditEntry.event.like("notify.%")))
    )
    assert events == {"notify.send", "notify.read", "notify.deliver"}
    assert events <= set(EVENTS)


def test_an_item_links_only_to_a_page_that_exists(world, client, auth):
    services.notify([_user("farmer_a").id], "market.withdrawn", {"listing": 3}, "/account")
    services.notify([_user("farmer_a").id], "market.withdrawn", {"listing": 4}, "/no-such-page/4")
    auth.login("farmer_a")
    html = client.get("/inbox").get_data(as_text=True)
    assert 'href="/account"' in html
    assert "/no-such-page/4" not in html  # shown, but never as a link to a 404
    assert html.count('class="card notification unread"') == 2


@pytest.mark.parametrize("username", ["admin_a", "bureau", "auditor", "sysadmin"])
def test_every_role_has_an_inbox(world, client, auth, username):
    services.notify([_user(username).id], "market.waiting", {"listing": 5, "step": "ready"})
    auth.login(username)
    html = client.get("/inbox").get_data(as_text=True)
    assert _badge(html) == 1
    assert "waits for you" in html or "等待您办理" in html


def test_the_api_asks_for_ids_or_all(app, world):
    token = token_for(app, "farmer_a")
    answer = app.test_client().post(
        "/api/v1/inbox/read", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 422
