"""R16: every write is in the audit trail — append-only, hash-chained, verifiable offline."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.audit import services as audit_services
from app.audit import trail
from app.audit.models import AuditEntry
from app.audit.verify import FIELDS, entry_hash
from app.divisions.services import create_collective
from app.extensions import db
from tests.conftest import Auth, superuser_engine

VERIFY = Path(__file__).resolve().parent.parent / "app" / "audit" / "verify.py"


def entries_for(object_type: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.object_type == object_type)
            .order_by(AuditEntry.seq)
        )
    )


def test_r16_write_and_its_entry_land_together(ctx):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    with trail.because("collective.create", reason="村民代表会议决议"):
        c = create_collective("44022210020502", "东湖坪村第二村民小组")
    rows = [e for e in entries_for("collective") if e.object_id == str(c.id)]
    assert len(rows) == 1
    entry = rows[0]
    assert entry.actor == "tester" and entry.role == "collective_admin"
    assert entry.action == "insert" and entry.event == "collective.create"
    assert json.loads(entry.after)["fbfbm"] == "44022210020502"
    assert entry.collective_id == c.id
    # And a rolled-back write leaves no entry behind.
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == before


def test_r16_update_records_before_and_after(ctx, baseline):
    from app.divisions.models import Collective

    c = db.session.get(Collective, baseline.collective_a)
    with trail.because("collective.rename", reason="更名"):
        c.name = "东湖坪村一组"
        db.session.flush()
    entry = entries_for("collective")[-1]
    assert entry.action == "update"
    assert json.loads(entry.before) == {"name": "东湖坪村第一村民小组"}
    assert json.loads(entry.after) == {"name": "东湖坪村一组"}
    assert entry.reason == "更名"


def test_r16_a_users_collectives_changed_alone_are_recorded(ctx, baseline):
    """The collectives an administrator answers for live in an association table with no model
    of its own; taking one away is still an entry, naming the collectives before and after."""
    from app.auth.models import User
    from app.auth.services import update_user

    admin = db.session.scalar(sa.select(User).where(User.username == "admin_a"))
    before = sorted(admin.collective_ids)
    update_user(admin, admin.role, [baseline.collective_b])
    entry = entries_for("app_user")[-1]
    assert entry.action == "update" and entry.event == "user.update"
    assert json.loads(entry.before) == {"collectives": before}
    assert json.loads(entry.after) == {"collectives": [baseline.collective_b]}
    # …and the auditor reads them by name, not by number
    from app.audit.browse import changes_in_words
    from app.divisions.models import Collective

    name = {c.id: c.name for c in db.session.scalars(sa.select(Collective))}
    ((_field, was, now),) = changes_in_words(entry)
    assert was == "、".join(name[c] for c in before)
    assert now == name[baseline.collective_b]


def test_r16_write_without_an_actor_is_refused(app, baseline):
    from app.divisions.models import Collective

    with app.app_context():
        trail.set_context(None)
        c = db.session.get(Collective, baseline.collective_a)
        c.name = "nobody did this"
        with pytest.raises(trail.AuditContextMissing):
            db.session.flush()
        db.session.rollback()


def test_r16_secrets_are_redacted(ctx):
    from app.auth.services import create_user

    create_user("newclerk", "abcdef12345", "bureau_reviewer")
    entry = entries_for("app_user")[-1]
    after = json.loads(entry.after)
    assert after["password_hash"] == "[redacted]"
    assert "scrypt" not in entry.after and "pbkdf2" not in entry.after


@pytest.mark.hostile
@pytest.mark.parametrize(
    "statement", ["UPDATE audit_entry SET actor = 'x'", "DELETE FROM audit_entry"]
)
def test_r16_database_refuses_changes_to_the_log(app, statement):
    with app.app_context():
        # SQLite's triggers refuse it; on PostgreSQL the app's role lacks the privilege as well
        with pytest.raises(sa.exc.DatabaseError, match="append-only|permission denied"):
            db.session.execute(sa.text(statement))
        db.session.rollback()


def test_r16_chain_verifies(app):
    with app.app_context():
        count, problem = audit_services.verify_database()
    assert problem is None and count > 100  # the baseline alone writes the divisions


@contextmanager
def tampering(app) -> Iterator[sa.Connection]:
    """A connection that can change the log, committed as it goes: a superuser's with the
    triggers disabled on PostgreSQL (the app's role cannot), the triggers dropped on SQLite."""
    engine = superuser_engine(app)
    if engine is None:
        with app.app_context(), db.engine.connect() as conn:
            with conn.begin():
                conn.exec_driver_sql("DROP TRIGGER audit_entry_no_update")
                conn.exec_driver_sql("DROP TRIGGER audit_entry_no_delete")
            with conn.begin():
                yield conn
        return
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("ALTER TABLE audit_entry DISABLE TRIGGER USER")
            yield conn
    finally:
        engine.dispose()


def _verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


@pytest.mark.hostile
def test_r16_cli_verify_names_an_entry_edited_in_the_database(fresh_app):
    ok = _verify(fresh_app)
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    with tampering(fresh_app) as conn:
        # One byte of one entry, as an attacker with database access would change it.
        conn.execute(sa.text("UPDATE audit_entry SET actor = 'clj' WHERE seq = 7"))
    result = _verify(fresh_app)
    assert result.exit_code == 1
    assert "seq 7" in result.output and "edited" in result.output


def _auditor_verifies(app) -> str:
    """The auditor's "verify the whole chain" button, in the default language (Chinese)."""
    client = app.test_client()
    Auth(client).login("auditor")
    response = client.get("/audit/?verify=1")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _head_seq(app) -> int:
    return json.loads(Path(app.config["AUDIT_HEAD_FILE"]).read_text(encoding="utf-8"))["seq"]


def _last_seq(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(AuditEntry.seq)))


@pytest.mark.hostile
def test_r16_cli_verify_reports_a_cut_tail(fresh_app):
    assert "完整" in _auditor_verifies(fresh_app)  # the page compares, but records no head
    assert not Path(fresh_app.config["AUDIT_HEAD_FILE"]).exists()
    first = _verify(fresh_app)
    assert first.exit_code == 0, first.output
    assert "recorded" in first.output
    seen = _last_seq(fresh_app)
    assert _head_seq(fresh_app) == seen
    # the log grows: the next check passes and moves the head on
    with fresh_app.app_context(), trail.acting(trail.AuditContext(actor="t", role="system")):
        create_collective("44022210020502", "东湖坪村第二村民小组")
        db.session.commit()
    grown = _verify(fresh_app)
    assert grown.exit_code == 0, grown.output
    seen = _last_seq(fresh_app)
    assert _head_seq(fresh_app) == seen

    with tampering(fresh_app) as conn:  # the last three entries go
        conn.execute(sa.text("DELETE FROM audit_entry WHERE seq > :s"), {"s": seen - 3})
    with fresh_app.app_context():  # what is left is a whole chain: only the head shows the cut
        assert audit_services.verify_database() == (seen - 3, None)
    for _ in range(2):  # the file keeps the head seen: the check keeps failing
        result = _verify(fresh_app)
        assert result.exit_code == 1, result.output
        assert f"ends at entry {seen - 3}" in result.output
        assert "the last 3 entries have been removed" in result.output
        assert _head_seq(fresh_app) == seen
    page = _auditor_verifies(fresh_app)  # logging in appends an entry or two, still short
    assert f"日志现在只到第 {_last_seq(fresh_app)} 条，但上次核验时已有 {seen} 条" in page


@pytest.mark.hostile
def test_r16_cli_verify_reports_a_chain_rewritten_and_hashed_again(fresh_app):
    assert _verify(fresh_app).exit_code == 0
    seen = _last_seq(fresh_app)
    cols = ", ".join([*FIELDS, "hash"])
    with tampering(fresh_app) as conn:
        rows = [
            dict(r)
            for r in conn.execute(
                sa.text(f"SELECT {cols} FROM audit_entry WHERE seq >= :s ORDER BY seq"),
                {"s": seen - 5},
            ).mappings()
        ]
        prev = rows[0]["prev_hash"]
        rows[0]["actor"] = "mallory"
        for row in rows:  # every later entry hashed again, so the chain is whole
            row["prev_hash"] = prev
            row["hash"] = prev = entry_hash(row)
            conn.execute(
                sa.text(
                    "UPDATE audit_entry SET actor = :actor, prev_hash = :prev_hash, hash = :hash "
                    "WHERE seq = :seq"
                ),
                row,
            )
    with fresh_app.app_context():
        assert audit_services.verify_database() == (seen, None)
    result = _verify(fresh_app)
    assert result.exit_code == 1, result.output
    assert f"entry {seen}, the last one seen by the previous check" in result.output
    assert "rewritten" in result.output
    assert f"上次核验时的最后一条（第 {seen} 条）已经变了" in _auditor_verifies(fresh_app)


def test_r16_cli_verify_refuses_a_damaged_head_file(fresh_app):
    Path(fresh_app.config["AUDIT_HEAD_FILE"]).write_text("{not json", encoding="utf-8")
    result = _verify(fresh_app)
    assert result.exit_code == 2
    assert "cannot read" in result.output and "move it aside" in result.output
    assert "上次核验留下的记录无法读取" in _auditor_verifies(fresh_app)


def _export(app, tmp_path) -> list[str]:
    path = tmp_path / "audit.jsonl"
    result = app.test_cli_runner().invoke(args=["audit", "export", str(path)])
    assert result.exit_code == 0, result.output
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


# The system interpreter in isolated mode, outside the virtualenv: the standard library only.
PLAIN_PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def _standalone(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PLAIN_PYTHON, "-I", str(VERIFY), str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={},
    )


@pytest.mark.hostile
@pytest.mark.parametrize("tamper", ["edit", "delete", "insert", "reorder"])
def test_r16_standalone_verifier_locates_tampering(app, tmp_path, tamper):
    lines = _export(app, tmp_path)
    clean = tmp_path / "clean.jsonl"
    clean.write_text("".join(lines), encoding="utf-8")
    good = _standalone(clean)
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"{len(lines)} entries" in good.stdout

    bad = list(lines)
    if tamper == "edit":
        entry = json.loads(bad[9])
        entry["reason"] = (entry["reason"] or "") + "!"
        bad[9] = json.dumps(entry, ensure_ascii=False) + "\n"
        expect = "seq 10"
    elif tamper == "delete":
        del bad[9]
        expect = "missing"
    elif tamper == "insert":
        forged = json.loads(bad[9])
        forged["actor"] = "mallory"
        bad.insert(10, json.dumps(forged, ensure_ascii=False) + "\n")
        expect = "position 11"
    else:
        bad[9], bad[10] = bad[10], bad[9]
        expect = "position 10"
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("".join(bad), encoding="utf-8")
    result = _standalone(tampered)
    assert result.returncode == 1, result.stdout
    assert expect in result.stdout


def test_r16_standalone_verifier_reports_unreadable_input(tmp_path):
    junk = tmp_path / "junk.jsonl"
    junk.write_text("not json\n", encoding="utf-8")
    result = _standalone(junk)
    assert result.returncode == 2
    assert "line 1" in result.stderr
