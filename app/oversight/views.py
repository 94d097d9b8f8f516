"""The county report's pages (/oversight): the bureau reviewer and the auditor read the county;
everyone else gets a 404. A GET form chooses the township (by name) and the day; the same
choice downloads the report as XLSX or CSV."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from app.auth.models import Role
from app.auth.scope import roles_required
from app.core.calendar import county_today
from app.core.errors import DomainError
from app.oversight import charts, export, report

bp = Blueprint("oversight", __name__, url_prefix="/oversight")

READERS = (Role.BUREAU_REVIEWER, Role.AUDITOR)
#: The exits and transfers listed on one page (the downloads hold them all).
EXITS_PER_PAGE = 100


class ReportFilter(FlaskForm):
    """What the report covers (a GET form: it changes nothing, so it carries no CSRF token)."""

    class Meta:
        csrf = False

    township = SelectField(_l("Township"), validators=[Optional()], validate_choice=False)
    as_of = DateField(_l("As of"), validators=[Optional()])


def _filtered() -> tuple[ReportFilter, report.CountyReport | None]:
    """The filter form and the report it asks for (None, with the form's errors, when the
    choice is not one the report can answer)."""
    form = ReportFilter(request.args)
    form.township.choices = [("", _("Whole county")), *report.township_choices()]
    if not form.validate():
        return form, None
    if form.as_of.data is None:
        form.as_of.data = county_today()
    try:
        result = report.county_report(form.as_of.data, township_code=form.township.data or None)
    except DomainError as err:
        target = {"as_of": form.as_of, "township": form.township}.get(err.field or "")
        if target is None:
            form.form_errors.append(err.message)
        else:
            target.errors = [*list(target.errors or []), err.message]
        return form, None
    return form, result


def _exits_page(result: report.CountyReport | None, query: dict) -> dict | None:
    """The page of the exits list asked for (``?page=``, from 1; out of range reads as the
    nearest page), with the links to its neighbours."""
    if result is None:
        return None
    total = len(result.exits)
    pages = max(1, -(-total // EXITS_PER_PAGE))
    asked = request.args.get("page", type=int) or 1
    number = min(max(asked, 1), pages)
    start = (number - 1) * EXITS_PER_PAGE
    rows = result.exits[start : start + EXITS_PER_PAGE]

    def link(n: int) -> str:
        return url_for("oversight.county_report", **query, page=n, _anchor="exits")

    return {
        "rows": rows,
        "number": number,
        "pages": pages,
        "first": start + 1 if rows else 0,
        "last": start + len(rows),
        "total": total,
        "prev": link(number - 1) if number > 1 else None,
        "next": link(number + 1) if number < pages else None,
    }


@bp.route("/report")
@roles_required(*READERS)
def county_report():
    form, result = _filtered()
    query = {k: v for k, v in request.args.items() if k in ("township", "as_of") and v}
    return render_template(
        "oversight/report.html",
        form=form,
        report=result,
        query=query,
        exits=_exits_page(result, query),
        kept_chart=charts.kept_chart(result) if result else None,
        days_chart=charts.days_chart(result) if result else None,
    ), (200 if result else 422)


def _download(body: bytes, mimetype: str, ext: str, result: report.CountyReport) -> Response:
    name = f"county-report-{result.as_of.isoformat()}.{ext}"
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/report.xlsx")
@roles_required(*READERS)
def county_report_xlsx():
    form, result = _filtered()
    if result is None:
        return county_report()
    return _download(
        export.to_xlsx(result),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
        result,
    )


@bp.route("/report.csv")
@roles_required(*READERS)
def county_report_csv():
    form, result = _filtered()
    if result is None:
        return county_report()
    return _download(export.to_csv(result), "text/csv", "csv", result)
