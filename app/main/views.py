from flask import Blueprint, current_app, jsonify, make_response, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import text

from app.auth.models import Role
from app.core import database, spatial
from app.core.urls import safe_next
from app.extensions import db

bp = Blueprint("main", __name__)

# Roles that may read what the instance runs on (backend, revision, CRS) from /healthz.
HEALTH_DETAIL_ROLES = {Role.SYSTEM_ADMIN, Role.AUDITOR}

# Where each role starts: the page its work begins on.
LANDING = {
    Role.FARMER: "registry.my_household",
    Role.COLLECTIVE_ADMIN: "divisions.collectives",
    Role.BUREAU_REVIEWER: "divisions.county",
    Role.SETTLEMENT_OFFICER: "main.settlement_desk",
    Role.AUDITOR: "audit.log",
    Role.SYSTEM_ADMIN: "auth_admin.users",
}


@bp.route("/")
def index():
    endpoint = LANDING.get(Role(current_user.role), "divisions.county")
    if endpoint not in current_app.view_functions:
        endpoint = "divisions.county"
    return redirect(url_for(endpoint))


@bp.route("/lang/<code>")
def set_language(code: str):
    target = safe_next(request.args.get("next"), url_for("main.index"))
    response = make_response(redirect(target))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(
            "lang",
            code,
            max_age=365 * 86400,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


@bp.route("/healthz")
def healthz():
    """Liveness: 200 ``{"status": "ok"}`` or 503 ``{"status": "error"}``.

    An anonymous caller (a load balancer, a container health check, anyone on the network) learns
    only that. The system administrator and the auditor also see what the instance runs on:
    backend, schema revision, CRS, and the reason when it is not ok.
    """
    body: dict[str, object] = {"status": "ok"}
    status = 200
    try:
        revision = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        stored = spatial.database_srid(db.session.connection())
    except Exception:  # noqa: BLE001 - an unmigrated or unreachable database is what we report
        db.session.rollback()
        revision, stored = None, None
        body.update(status="error", problem="database unreachable or not migrated")
        status = 503
    else:
        if stored is not None and stored != spatial.registry_srid():
            # The schema was built for another CRS: geometries would be mislabelled.
            body.update(
                status="error",
                problem=f"database built for EPSG:{stored}, "
                f"configured EPSG:{spatial.registry_srid()}",
            )
            status = 503
    if current_user.is_authenticated and Role(current_user.role) in HEALTH_DETAIL_ROLES:
        body.update(
            database=database.describe(db.engine),
            srid=spatial.registry_srid(),
            schema_revision=revision,
        )
    else:
        body.pop("problem", None)
    return jsonify(body), status


# --- the settlement desk (落户登记): the officer records, the bureau and auditors read (R12:
# nothing here reads or changes a right).


def _settlement_readers_only() -> None:
    from flask import abort

    from app.settlement.services import READERS

    if Role(current_user.role) not in READERS:
        abort(404)


def _settlement_officer_only() -> None:
    from flask import abort

    if Role(current_user.role) != Role.SETTLEMENT_OFFICER:
        abort(404)


@bp.route("/settlement")
def settlement_desk():
    """Find a person by ID number; the desk then opens the person's settlement records."""
    from flask import render_template

    from app.core.errors import NotFound
    from app.settlement import services
    from app.settlement.forms import FindPersonForm

    _settlement_readers_only()
    form = FindPersonForm(request.args)
    if request.args.get("id_number"):
        try:
            person = services.find_person_by_id_number(current_user, form.id_number.data)
        except NotFound as err:
            form.id_number.errors = [err.message]
        else:
            return redirect(url_for("main.settlement_person", person_uid=person.uid))
    return render_template("main/settlement_desk.html", form=form)


def _settlement_page(person_uid: int, form, status: int = 200):
    from flask import render_template

    from app.settlement import services

    person, records = services.settlements_for(
        current_user, person_uid=person_uid, with_history=True
    )
    corrected = {r.corrects_id for r in records if r.corrects_id}
    body = render_template(
        "main/settlement_person.html",
        person=person,
        records=records,
        corrected=corrected,
        channels=services.CHANNELS,
        form=form,
        may_write=Role(current_user.role) == Role.SETTLEMENT_OFFICER,
    )
    return body, status


@bp.route("/settlement/people/<int:person_uid>", methods=["GET", "POST"])
def settlement_person(person_uid: int):
    """A person's settlement records (in force and corrected) and, for the officer, the form
    to record a settlement."""
    from flask import flash
    from flask_babel import gettext as _

    from app.core.errors import DomainError
    from app.registry.views.common import fail
    from app.settlement import services
    from app.settlement.forms import SettlementForm, document_choices

    _settlement_readers_only()
    if request.method == "POST":
        _settlement_officer_only()
    person, _records = services.settlements_for(current_user, person_uid=person_uid)
    form = SettlementForm()
    form.source_document_id.choices = document_choices(person)
    if form.validate_on_submit():
        try:
            services.record_settlement(
                current_user,
                person.uid,
                settled_on=form.settled_on.data,
                city=form.city.data,
                district=form.district.data,
                channel=form.channel.data,
                source_document_id=form.source_document_id.data or None,
            )
        except DomainError as err:
            if err.status == 404 and err.field != "source_document_id":
                raise
            fail(form, err)
            return _settlement_page(person.uid, form, 422)
        db.session.commit()
        flash(_("The settlement was recorded. No right was changed."))
        return redirect(url_for("main.settlement_person", person_uid=person.uid))
    return _settlement_page(person.uid, form, 422 if request.method == "POST" else 200)


@bp.route("/settlement/records/<int:settlement_id>/correction", methods=["GET", "POST"])
def settlement_correction(settlement_id: int):
    """Correct a settlement record: a new record naming the old, which is kept as it was."""
    from flask import flash, render_template
    from flask_babel import gettext as _

    from app.core.errors import DomainError
    from app.registry.views.common import fail
    from app.settlement import services
    from app.settlement.forms import CorrectionForm, document_choices

    _settlement_officer_only()
    record = services.settlement(current_user, settlement_id)
    person, _records = services.settlements_for(current_user, person_uid=record.person_uid)
    form = CorrectionForm(
        data=None
        if request.method == "POST"
        else {
            "settled_on": record.settled_on,
            "city": record.city,
            "district": record.district,
            "channel": record.channel,
            "source_document_id": record.source_document_id,
        }
    )
    form.source_document_id.choices = document_choices(person)
    status = 200
    if form.validate_on_submit():
        try:
            services.correct_settlement(
                current_user,
                record.id,
                reason=form.reason.data,
                settled_on=form.settled_on.data,
                city=form.city.data,
                district=form.district.data,
                channel=form.channel.data,
                source_document_id=form.source_document_id.data or None,
            )
        except DomainError as err:
            if err.status == 404 and err.field != "source_document_id":
                raise
            fail(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("The correction was recorded; the earlier record is kept."))
            return redirect(url_for("main.settlement_person", person_uid=person.uid))
    elif request.method == "POST":
        status = 422
    body = render_template(
        "main/settlement_correction.html", form=form, record=record, person=person
    )
    return body, status


# --- the police station's settlement list (派出所落户名单): the hukou desk only. Upload, the
# checked report, promotion of all rows or none, the list of imports (app.settlement.police).


@bp.route("/settlement/imports", methods=["GET", "POST"])
def settlement_imports():
    from flask import flash, render_template
    from flask_babel import gettext as _

    from app.core.errors import DomainError
    from app.core.forms import form_failed
    from app.settlement import police
    from app.settlement.forms import PoliceListForm

    _settlement_officer_only()
    form = PoliceListForm()
    status = 200
    if request.method == "POST":
        upload = form.file.data if form.validate_on_submit() else None
        if upload is None or not getattr(upload, "filename", ""):
            # a stale form (its CSRF token) is said on the form; no file, beside the field
            form.form_errors.extend(form.errors.get("csrf_token", []))
            if not form.errors:
                form.file.errors = [*list(form.file.errors or []), _no_file()]
            status = 422
        else:
            try:
                job = police.upload_list(current_user, upload.stream, upload.filename)
            except DomainError as err:
                form_failed(form, err)
                status = 422
            else:
                db.session.commit()
                police.start_checking(job)
                flash(_("The list was uploaded. It is being checked; this page shows the result."))
                return redirect(url_for("main.settlement_import", job_id=job.id))
    body = render_template(
        "main/settlement_imports.html", form=form, jobs=police.list_jobs(current_user)
    )
    return body, status


def _no_file() -> str:
    from flask_babel import gettext as _

    return _("Choose the file to upload.")


@bp.route("/settlement/imports/<int:job_id>")
def settlement_import(job_id: int):
    from flask import Response, render_template

    from app.core.i18n import pick
    from app.core.inputs import page_arg
    from app.imports import liveness, staging
    from app.settlement import police, services
    from app.settlement.forms import ListActionForm

    _settlement_officer_only()
    job = police.job_for(current_user, job_id)
    page = page_arg()
    size = 100
    problems = staging.iter_problems(db.session, job.id, limit=size + 1, offset=(page - 1) * size)
    status = liveness.shown_status(job)
    error = liveness.shown_error(job)
    response = Response(
        render_template(
            "main/settlement_import.html",
            job=job,
            summary=job.summary,
            status=status,
            error=pick(error[1], error[2]) if error else None,
            problems=problems[:size],
            more=len(problems) > size,
            page=page,
            refusal=police.promotion_refusal(job) if status == "validated" else None,
            may_discard=status in ("validated", "failed", "refused"),
            action_form=ListActionForm(),
            pick=pick,
            rows=police.recorded_rows(job),
            channels=services.CHANNELS,
            mask=police.mask,
        )
    )
    if job.is_active and not liveness.stopped(job):
        response.headers["Refresh"] = "2"  # poll by reload while the job runs (no JavaScript)
    return response


def _settlement_list_action(job_id: int, act, done: str, *, stay: bool, after=None):
    """A posted action on one of the officer's lists (promote, discard): the service's refusal
    is shown on the list's page; on success, commit, run ``after`` (the promotion starts only
    once its request is committed), say ``done`` and show the list again (``stay``) or the
    officer's lists."""
    from flask import abort, flash

    from app.core.errors import DomainError
    from app.settlement import police
    from app.settlement.forms import ListActionForm

    _settlement_officer_only()
    job = police.job_for(current_user, job_id)
    if not ListActionForm().validate_on_submit():
        abort(400)
    try:
        act(job)
    except DomainError as err:
        if err.status == 404:
            raise
        flash(err.message, "error")
        return redirect(url_for("main.settlement_import", job_id=job.id))
    db.session.commit()
    if after is not None:
        after(job)
    flash(done, "ok")
    return redirect(
        url_for("main.settlement_import", job_id=job.id)
        if stay
        else url_for("main.settlement_imports")
    )


@bp.post("/settlement/imports/<int:job_id>/promote")
def settlement_import_promote(job_id: int):
    from flask_babel import gettext as _

    from app.settlement import police

    return _settlement_list_action(
        job_id,
        lambda job: police.request_promotion(current_user, job),
        _("Writing the list has started: every row or none."),
        stay=True,
        after=police.start_promotion,
    )


@bp.post("/settlement/imports/<int:job_id>/discard")
def settlement_import_discard(job_id: int):
    from flask_babel import gettext as _

    from app.settlement import police

    return _settlement_list_action(
        job_id,
        lambda job: police.discard_list(current_user, job),
        _("The list was discarded; nothing of it was written."),
        stay=False,
    )
