"""Command line: flask users …, flask audit …, flask divisions …, flask market …, flask leases …,
flask demo …

Every command that writes runs as the system actor with a reason, so it lands in the audit trail.
Bad arguments get a clear message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from app.audit import services as audit_services
from app.audit import trail
from app.auth import services as auth_services
from app.auth.models import Role, User
from app.core.errors import DomainError
from app.divisions import loader
from app.divisions.models import Collective
from app.extensions import db

users_cli = AppGroup("users", help="Accounts.")
audit_cli = AppGroup("audit", help="The audit trail.")
divisions_cli = AppGroup("divisions", help="Administrative divisions.")
market_cli = AppGroup("market", help="The marketplace.")


def system(event: str, reason: str | None = None):
    return trail.acting(trail.AuditContext(actor="cli", role="system", event=event, reason=reason))


def fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(2)


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        fail(f"no user {username}")
    return user


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name", default=None, help="Display name.")
@click.option(
    "--collective",
    "collectives",
    multiple=True,
    help="FBFBM of a collective this user works for (repeatable; farmers and collective admins).",
)
def users_create(username, role, password, display_name, collectives):
    """Create an account."""
    ids = []
    for code in collectives:
        cid = db.session.scalar(select(Collective.id).where(Collective.fbfbm == code))
        if cid is None:
            fail(f"no collective with code {code}")
        ids.append(cid)
    try:
        with system("user.create"):
            user = auth_services.create_user(
                username, password, role, display_name=display_name, collective_ids=ids
            )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        fail(exc.message)
    click.echo(f"created {user.username} ({user.role})")


@users_cli.command("list")
def users_list():
    """One user a line, username first."""
    for u in db.session.scalars(select(User).order_by(User.username)):
        scope = ",".join(sorted(c.fbfbm for c in u.collectives)) or "-"
        state = "active" if u.is_active else "disabled"
        click.echo(f"{u.username}\t{u.role}\t{scope}\t{state}\t{u.display_name}")


@users_cli.command("token")
@click.argument("username")
@click.option("--label", default="cli")
def users_token(username, label):
    """Issue a new API token; it is printed once, on the last line."""
    user = _user(username)
    with system("auth.token_issue", reason=f"token for {username} from the command line"):
        token = auth_services.issue_token(user, label=label)
    db.session.commit()
    click.echo(f"token for {username} (shown once; keep it secret):")
    click.echo(token)


@users_cli.command("deactivate")
@click.argument("username")
def users_deactivate(username):
    """Deactivate an account: its sessions end, its API tokens are revoked."""
    user = _user(username)
    with system("user.deactivate", reason=f"{username} deactivated from the command line"):
        auth_services.deactivate_user(user)
    db.session.commit()
    click.echo(f"{username} deactivated")


@users_cli.command("activate")
@click.argument("username")
def users_activate(username):
    """Reactivate an account (old sessions and tokens stay ended)."""
    user = _user(username)
    with system("user.activate", reason=f"{username} reactivated from the command line"):
        auth_services.activate_user(user)
    db.session.commit()
    click.echo(f"{username} active")


@users_cli.command("unlock")
@click.argument("username")
def users_unlock(username):
    """Lift the login throttle on a username (whether or not the account exists)."""
    with system("auth.unlock", reason="from the command line"):
        found = auth_services.unlock(username)
    db.session.commit()
    click.echo(f"{username} unlocked" if found else f"{username} was not locked")


@users_cli.command("logout-everywhere")
@click.argument("username")
def users_logout_everywhere(username):
    """End every session of an account."""
    user = _user(username)
    with system("auth.logout_everywhere", reason="from the command line"):
        count = auth_services.end_all_sessions(user)
    db.session.commit()
    click.echo(f"{count} sessions of {username} ended")


@users_cli.command("tokens")
@click.argument("username")
def users_tokens(username):
    """An account's API tokens: id, state, created, expires, last used, label."""
    from app.core.models import utcnow

    user = _user(username)
    now = utcnow()
    for t in auth_services.tokens_of(user):
        used = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "-"
        click.echo(
            f"{t.id}\t{t.state(now)}\t{t.created_at.isoformat(timespec='seconds')}\t"
            f"{t.expires_at.isoformat(timespec='seconds')}\t{used}\t{t.label or ''}"
        )


@users_cli.command("revoke-token")
@click.argument("username")
@click.argument("token_id", type=int)
def users_revoke_token(username, token_id):
    """Revoke one API token of an account (ids from flask users tokens)."""
    user = _user(username)
    try:
        with system("auth.token_revoke", reason="from the command line"):
            auth_services.revoke_token(user, token_id)
    except DomainError:
        db.session.rollback()
        fail(f"{username} has no token {token_id}")
    db.session.commit()
    click.echo(f"token {token_id} of {username} revoked")


@users_cli.command("password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def users_password(username, password):
    """Set an account's password; every session of it ends."""
    user = _user(username)
    try:
        with system("auth.password_set", reason="from the command line"):
            count = auth_services.set_password(user, password)
    except DomainError as exc:
        db.session.rollback()
        fail(exc.message)
    db.session.commit()
    click.echo(f"password of {username} set; {count} sessions ended")


@audit_cli.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False),
    help="a signed checkpoint the log must still hold (default: the latest one written)",
)
def audit_verify(checkpoint_file: str | None):
    """Recompute the hash chain and compare its head with the last one seen; exit 1 on a fault.

    The head seen is kept in AUDIT_HEAD_FILE (outside the database): a cut tail, or a chain
    rewritten and hashed again, is reported. After a restore from a backup on purpose, move
    that file aside once. The log is also checked against a signed checkpoint (--checkpoint,
    else the latest in AUDIT_CHECKPOINT_DIR): it must still hold the signed entry unchanged.
    """
    from flask import current_app

    from app.audit.head import HeadFileUnreadable
    from app.audit.roles import app_role_problems
    from app.audit.verify import CheckpointFailed

    try:
        signed = audit_services.checkpoint_file(current_app, checkpoint_file)
    except CheckpointFailed as exc:
        click.echo(f"FAILED: {exc}", err=True)
        sys.exit(1)
    path = audit_services.head_path(current_app)
    try:
        check = audit_services.verify_against_head(path, signed=signed)
    except HeadFileUnreadable as exc:
        fail(f"FAILED: {exc}; if it was damaged, move it aside and verify again")
    if check.problem is not None:
        click.echo(f"FAILED: {check.problem}", err=True)
        sys.exit(1)
    if check.lost is not None:
        click.echo(f"FAILED: {check.describe()}.", err=True)
        click.echo(
            f"(The head last seen is kept in {path}. If the database was restored from a backup "
            "on purpose, move that file aside and verify again.)",
            err=True,
        )
        sys.exit(1)
    if check.against is not None and check.against.lost is not None:
        click.echo(f"FAILED: {check.against.describe()}.", err=True)
        sys.exit(1)
    click.echo(f"OK: {count_words(check.count)}, chain intact")
    if signed is not None:
        click.echo(
            f"entry {signed['seq']} matches the checkpoint signed {signed.get('signed_at', '')} "
            f"by key {signed['key_id']}"
        )
    if check.seen is None and check.count:
        click.echo(f"first check against {path}: its head is recorded there")
    for problem in app_role_problems(db.session.connection()):
        click.echo(f"warning: {problem} (docs/DEPLOYMENT.md)", err=True)


def count_words(count: int) -> str:
    return f"{count} {'entry' if count == 1 else 'entries'}"


@audit_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--from", "since", type=click.DateTime(["%Y-%m-%d"]), help="first county day")
@click.option("--to", "until", type=click.DateTime(["%Y-%m-%d"]), help="last county day")
@click.option("--actor", help="who acted (their account name)")
@click.option("--role", help="the role they acted in (e.g. collective_admin)")
@click.option("--record", "object_type", help="the kind of record (e.g. plot, market_listing)")
@click.option("--record-id", "object_id", help="the record's id")
@click.option("--action", "event", help="what was done (e.g. plot.attributes, or update)")
def audit_export(file: Path, since, until, actor, role, object_type, object_id, event):
    """Write the whole trail as JSON Lines, for python3 app/audit/verify.py FILE (add
    --checkpoint and --public-key to check it reaches a signed checkpoint).

    With a filter (--from, --to, --actor, --role, --record, --record-id, --action), write the
    run of entries from the first that matches to the last, each marked whether it matched,
    under a header carrying the hash before the run and the filter: the verifier checks it too.
    """
    from app.audit.browse import Filters

    filters = Filters(
        since=since.date() if since else None,
        until=until.date() if until else None,
        actor=actor or None,
        role=role or None,
        object_type=object_type or None,
        object_id=object_id or None,
        event=event or None,
    )
    if filters == Filters():
        try:
            with file.open("w", encoding="utf-8") as out:
                count = audit_services.export_jsonl(out)
        except OSError as exc:
            fail(f"cannot write {file}: {exc.strerror}")
        click.echo(f"exported {count} entries to {file}")
        return
    run = audit_services.find_range(filters)
    if run is None:
        fail("no entry matches the filter: nothing was written")
    try:
        with file.open("w", encoding="utf-8") as out:
            with system("audit.export", reason="from the command line"):
                audit_services.record_range_export(filters, run)
            db.session.commit()
            count = audit_services.export_range(out, filters, run)
    except OSError as exc:
        fail(f"cannot write {file}: {exc.strerror}")
    click.echo(f"exported entries {run.first} to {run.last} ({count_words(count)}) to {file}")


@audit_cli.command("checkpoint")
def audit_checkpoint():
    """Verify the chain, then sign its head (count, last hash, time) with the key held outside
    the database and write it to AUDIT_CHECKPOINT_DIR; exit 1 on a fault (nothing is signed)."""
    from flask import current_app

    from app.audit.checkpoint import KeyUnusable
    from app.audit.head import describe
    from app.audit.verify import CheckpointFailed

    try:
        signed = audit_services.sign_checkpoint(current_app)
    except (KeyUnusable, CheckpointFailed) as exc:
        fail(f"FAILED: {exc}")
    if signed.problem is not None:
        click.echo(f"FAILED: {signed.problem}; nothing was signed", err=True)
        sys.exit(1)
    if signed.lost is not None:
        seen = audit_services.head_file.Head(
            signed.previous["seq"], signed.previous["hash"], signed.previous.get("signed_at", "")
        )
        why = describe(signed.lost, seen, signed.count)
        click.echo(f"FAILED: {why}; nothing was signed", err=True)
        sys.exit(1)
    click.echo(
        f"signed {count_words(signed.count)} with key {signed.body['key_id']}: {signed.path}"
    )


@audit_cli.command("public-key")
def audit_public_key():
    """Print the public key checkpoints are signed with (PEM), as served at
    /.well-known/sanquan-audit-key."""
    from flask import current_app

    from app.audit import checkpoint
    from app.audit.checkpoint import KeyUnusable

    try:
        key = checkpoint.signing_key(current_app).public_key()
    except KeyUnusable as exc:
        fail(f"FAILED: {exc}")
    click.echo(f"# key id {checkpoint.key_id(checkpoint.raw_public(key))}")
    click.echo(checkpoint.public_pem(key), nl=False)


@audit_cli.command("rotate-key")
def audit_rotate_key():
    """Make a new signing key in the instance folder; the old public key stays published."""
    from flask import current_app

    from app.audit import checkpoint
    from app.audit.checkpoint import KeyUnusable

    try:
        old, new = checkpoint.rotate(current_app)
    except KeyUnusable as exc:
        fail(f"FAILED: {exc}")
    click.echo(f"key {new} signs from now on; key {old} stays published for older checkpoints")


@click.command("grant-app")
@click.argument("role")
def db_grant_app(role: str):
    """PostgreSQL: as the tables' owner, give the app's ROLE what it needs (idempotent).

    Connects with MIGRATION_DATABASE_URL (DATABASE_URL when unset). The role may then only
    INSERT into and SELECT from the audit log; see docs/DEPLOYMENT.md.
    """
    from flask import current_app

    from app.audit.roles import RoleRefused, grant_app
    from app.core.database import migration_engine

    owner = migration_engine(current_app)
    engine = owner if owner is not None else db.engine
    try:
        if engine.dialect.name != "postgresql":
            fail("only PostgreSQL has roles: the embedded database needs no grants")
        try:
            with engine.begin() as conn:
                statements = grant_app(conn, role)
        except RoleRefused as exc:
            fail(str(exc))
    finally:
        if owner is not None:
            owner.dispose()
    for statement in statements:
        click.echo(statement + ";")


@divisions_cli.command("load")
@click.argument("source", default="440222")
def divisions_load(source: str):
    """Load a county's division codes: a bundled county code (440222) or a CSV path."""
    path = Path(source)
    if not path.exists():
        path = loader.bundled_file(source)
    if not path.exists():
        fail(f"no such file or bundled county: {source}")
    with system("divisions.load"):
        report = loader.load_divisions(path)
    db.session.commit()
    print_division_report(report)


def print_division_report(report: loader.LoadReport) -> None:
    levels = ", ".join(f"{k} {v}" for k, v in sorted(report.by_level.items()))
    click.echo(
        f"{report.rows} rows ({levels}): {report.inserted} new, {report.updated} updated, "
        f"{report.unchanged} unchanged"
    )
    if report.quirks:
        click.echo(f"{len(report.quirks)} quirks in the source (kept as published):")
        missing = [q.code for q in report.quirks if q.kind == "missing_coordinates"]
        for q in report.quirks:
            if q.kind != "missing_coordinates":
                click.echo(f"  {q.kind:20} {q.code} {q.detail}")
        if missing:
            click.echo(f"  {'missing_coordinates':20} {len(missing)} units: {', '.join(missing)}")


@market_cli.command("tick")
def market_tick():
    """Close every bidding past its deadline and end every listing whose notice period is over
    without an offer (run it from cron, e.g. every 10 minutes; running it again does nothing).
    Exit 1 if a listing could not be handled (the others are done and kept)."""
    from app.market import bidding

    with system("market.tick"):
        done = bidding.tick()
    db.session.commit()
    for listing_id, deal_id in done["sold"].items():
        click.echo(
            f"listing {listing_id}: bidding closed, the highest valid bid won (deal {deal_id})"
        )
    for listing_id in done["lapsed"]:
        click.echo(f"listing {listing_id}: ended without a buyer")
    for listing_id, message in done["failed"].items():
        click.echo(f"listing {listing_id}: not done, will be tried again: {message}", err=True)
    if not any(done.values()):
        click.echo("nothing was due")
    if done["failed"]:
        sys.exit(1)


notify_cli = AppGroup("notify", help="Notifications: short messages to phones, reminders.")


@notify_cli.command("deliver")
@click.option("--limit", default=500, show_default=True, help="Most messages handed over per run.")
def notify_deliver(limit: int):
    """Hand waiting short messages to the sender (NOTIFY_SENDER); for cron."""
    from app.notify import outbox

    with system("notify.deliver"):
        done = outbox.deliver_outbox(limit=limit)
        db.session.commit()
    click.echo(f"{done['sent']} sent, {done['failed']} failed (tried again on a later run)")


@notify_cli.command("remind")
def notify_remind():
    """Remind of marketplace deadlines in the next MARKET_REMIND_DAYS days, once each; daily."""
    from app.market import alerts

    with system("notify.send", reason="deadline reminders"):
        count = alerts.remind_deadlines()
        db.session.commit()
    click.echo(f"{count} reminders")


leases_cli = AppGroup("leases", help="Leases of the land-management right.")


@leases_cli.command("expire")
@click.option(
    "--on", "on", default=None, help="Judge on this day (YYYY-MM-DD); today if not given."
)
def leases_expire(on: str | None):
    """End at expiry every lease past its last day (daily, from cron; running it again ends
    nothing more)."""
    from datetime import date

    from app.leases import services as leases

    day = None
    if on:
        try:
            day = date.fromisoformat(on)
        except ValueError:
            fail(f"--on: give a date as YYYY-MM-DD, not {on!r}")
    with system("lease.expire", reason="term ended"):
        done = leases.expire_leases(on=day)
        db.session.commit()
    for lease in done:
        click.echo(f"lease {lease.number}: ended at expiry ({lease.ends_on.isoformat()})")
    click.echo(f"{len(done)} leases ended")


def register_cli(app: Flask) -> None:
    from flask_migrate.cli import db as migrate_cli

    from app.demo.seed import demo_cli
    from app.imports.cli import export_cli, import_cli

    for group in (
        users_cli,
        audit_cli,
        divisions_cli,
        market_cli,
        demo_cli,
        import_cli,
        export_cli,
    ):
        app.cli.add_command(group)
    app.cli.add_command(notify_cli)  # flask notify deliver / remind (cron)
    app.cli.add_command(leases_cli)  # flask leases expire (cron)
    migrate_cli.add_command(db_grant_app)  # flask db grant-app ROLE, beside flask db upgrade
