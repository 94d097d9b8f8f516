"""Rights-retained statements (权益保留证明): printed by staff, checked by anyone; and the same
public check of a certificate's verification code.

Staff who may print one: the hukou officer (their job: a settled person asks for it), the county
bureau, a collective's administrator for a person of their collectives. The printed page is A4,
in Chinese by default, with the verification code and a QR code of the public check's address.
The public check (``/verify``) needs no login and shows no personal data: valid, changed since
printing, or unknown. A certificate's code (16 hex digits, certificate_check.py) is answered on
the same page: issued or not, its kind, number, date and village, in force or not.
"""

from __future__ import annotations

import segno
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, NumberRange

from app.auth.models import COUNTY_READERS, Role
from app.auth.scope import roles_required
from app.core.errors import DomainError
from app.core.inputs import MAX_ID
from app.core.pdf import pdf_response, render_pdf
from app.extensions import db
from app.registry import certificate_check, statements
from app.registry.models import RightsStatement
from app.registry.views import bp

PRINTERS = (Role.SETTLEMENT_OFFICER, Role.BUREAU_REVIEWER, Role.COLLECTIVE_ADMIN)
READERS = (*PRINTERS, Role.AUDITOR)


class IssueForm(FlaskForm):
    person_uid = IntegerField(
        _l("Person number"), validators=[DataRequired(), NumberRange(1, MAX_ID)]
    )


class CheckForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    code = StringField(_l("Verification code"), validators=[DataRequired()])


def _may_print_for(collective_id: int) -> bool:
    role = Role(current_user.role)
    if role in (Role.SETTLEMENT_OFFICER, *COUNTY_READERS):
        return True
    return role == Role.COLLECTIVE_ADMIN and collective_id in current_user.collective_ids


@bp.route("/statements", methods=["POST"])
@roles_required(*PRINTERS)
def issue_statement():
    form = IssueForm()
    if not form.validate_on_submit():
        abort(404)
    reach = (
        None if Role(current_user.role) != Role.COLLECTIVE_ADMIN else current_user.collective_ids
    )
    try:
        statement = statements.issue(form.person_uid.data, current_user, collective_ids=reach)
    except DomainError:
        abort(404)  # no such person within the user's reach: nothing else is refused here
    db.session.commit()
    flash(_("The statement was issued and recorded: print it, or download the PDF."))
    return redirect(url_for("registry.statement", statement_id=statement.id))


def _statement_sheet(statement_id: int) -> dict:
    """What the statement's sheet shows (registry/_statement_sheet.html), for whoever may print
    statements for its person's collective; anyone else gets a 404."""
    found = db.session.get(RightsStatement, statement_id)
    if found is None or not _may_print_for(found.collective_id):
        abort(404)
    return {
        "statement": found,
        "content": statements.printed(found),
        **public_check(found.code),
    }


def public_check(code: str) -> dict:
    """What a sheet prints of the public check of its code: the check's ``address`` for this
    code, its QR code (``qr``, an SVG data URI) and the address of the check's form
    (``form_address``, shorter, for the words beside the printed code)."""
    address = url_for("registry.verify_statement", code=code, _external=True)
    return {
        "address": address,
        "qr": segno.make(address, error="m").svg_data_uri(scale=3, border=2),
        "form_address": url_for("registry.verify_form", _external=True),
    }


@bp.route("/statements/<int:statement_id>")
@roles_required(*READERS)
def statement(statement_id: int):
    return render_template("registry/statement.html", **_statement_sheet(statement_id))


@bp.route("/statements/<int:statement_id>.pdf")
@roles_required(*READERS)
def statement_pdf(statement_id: int):
    """The statement as a PDF: the same readers and the same sheet as its page. Printing it
    again is not a new statement (issuing one is what the audit trail records)."""
    sheet = _statement_sheet(statement_id)
    pdf = render_pdf("pdf/statement.html", **sheet)
    return pdf_response(pdf, f"statement-{sheet['statement'].code}.pdf")


@bp.route("/verify")
def verify_form():
    form = CheckForm(request.args)
    if request.args and form.validate():
        code = statements.normalise_code(form.code.data) or certificate_check.normalise_code(
            form.code.data
        )
        if code is not None:
            return redirect(url_for("registry.verify_statement", code=code))
        form.code.errors = [_l("This is not a verification code: check what you typed.")]
    return render_template("registry/verify.html", form=form, result=None, code=None)


@bp.route("/verify/<code>")
def verify_statement(code: str):
    """A statement's code or a certificate's: the same page answers both."""
    certificate_code = certificate_check.normalise_code(code)
    if certificate_code is not None:
        return render_template(
            "registry/verify.html",
            form=CheckForm(),
            result="certificate",
            certificates=certificate_check.check(certificate_code),
            code=certificate_code,
        )
    return render_template(
        "registry/verify.html",
        form=CheckForm(),
        result=statements.check(code),
        code=statements.normalise_code(code) or code[:24],
    )
