"""One history page for every versioned object of the registry (contracts, plots, homesteads,
share holdings): its versions newest first with the changes of each, the cited documents, and
the version in effect on a day (``?as_of=``) or, for the auditor and the bureau, the one
recorded as current then (``&time=recorded``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import abort, render_template, request
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth.scope import can_read
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history, land
from app.registry.documents import documents_by_id
from app.registry.labels import for_reader, value_label
from app.registry.links import link_to
from app.registry.models import CONTRACT_LAND_TYPES, CONTRACT_METHODS, Household, LandContract


def _references(versions: list[Any]) -> dict[str, dict[Any, str]]:
    """Readable names for the references a version holds (household code, contract code,
    collective name, status label), fetched with one query per kind for all versions."""
    wanted: dict[str, set] = {"household_uid": set(), "contract_uid": set(), "collective_id": set()}
    for v in versions:
        for key, ids in wanted.items():
            value = getattr(v, key, None)
            if value is not None:
                ids.add(value)
    out: dict[str, dict[Any, str]] = {
        "status": {"pending": _("Pending public notice"), "confirmed": _("Confirmed")}
    }
    lookups = {
        "household_uid": (Household.uid, Household.cbfbm),
        "contract_uid": (LandContract.uid, LandContract.cbhtbm),
    }
    for key, (uid_col, code_col) in lookups.items():
        if wanted[key]:
            out[key] = dict(
                db.session.execute(select(uid_col, code_col).where(uid_col.in_(wanted[key]))).all()
            )
    if wanted["collective_id"]:
        out["collective_id"] = dict(
            db.session.execute(
                select(Collective.id, Collective.name).where(
                    Collective.id.in_(wanted["collective_id"])
                )
            ).all()
        )
    return out


def _fmt_value(key: str, value: Any, refs: dict[str, dict[Any, str]] | None = None) -> str:
    if refs and key in refs and value in refs[key]:
        return refs[key][value]
    if key == "geom":
        return _("(boundary)") if value is not None else "—"
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return format_datetime(value, "yyyy-MM-dd HH:mm")
    if isinstance(value, date):
        return value.isoformat()
    shown = value_label(key, value)  # codes (land class, terrain, share type…) in words
    if shown is not None:
        return shown
    if key == "land_type" and value in CONTRACT_LAND_TYPES:
        return str(CONTRACT_LAND_TYPES[value])
    if key == "method" and value in CONTRACT_METHODS:
        return str(CONTRACT_METHODS[value])
    return str(value)


def history_context(
    model: type,
    uid: int,
    *,
    labels: dict[str, Any],
    as_of_raw: str | None = None,
    time_raw: str | None = None,
) -> dict[str, Any]:
    """Versions of one object (newest first), each with its diff against the one before, the
    cited documents (one query), and the version in effect on ``as_of`` (legal time) or, for the
    auditor and the bureau with ``time=recorded``, the one recorded as current then."""
    versions: list[Any] = history.versions(model, uid)
    if not versions or not can_read(current_user, versions[-1]):
        abort(404)
    docs = documents_by_id([v.source_document_id for v in versions])
    refs = _references(versions)
    rows = []
    previous = None
    for v in versions:
        changes = history.diff(previous, v)
        doc = docs.get(v.source_document_id) if v.source_document_id else None
        rows.append(
            {
                "version": v.version,
                "begin": v.begin_lifespan,
                "end": v.end_lifespan,
                "valid_from": v.valid_from,
                "valid_to": v.valid_to,
                "reason": v.change_reason,
                "changed_by": v.changed_by,
                "document": doc,
                "document_url": link_to("registry.document", document_id=doc.id) if doc else None,
                "changes": [
                    (
                        for_reader(str(labels.get(k, k))),
                        _fmt_value(k, before, refs) if previous is not None else "",
                        _fmt_value(k, after, refs),
                    )
                    for k, (before, after) in changes.items()
                ],
            }
        )
        previous = v
    rows.reverse()
    as_of_error = None
    selected = None
    as_of = None
    try:
        as_of = land.parse_as_of(as_of_raw, time_raw, user=current_user)
    except DomainError as err:
        as_of_error = err.message
    if as_of is not None:
        selected = as_of.pick(versions)
    return {
        "rows": rows,
        "as_of_raw": (as_of_raw or "").strip(),
        "as_of_error": as_of_error,
        "as_of_recorded": bool(as_of and as_of.recorded),
        "may_read_record_time": land.may_read_record_time(current_user),
        "selected": selected,
        "selected_fields": (
            [
                (for_reader(str(labels.get(k, k))), _fmt_value(k, val, refs))
                for k, val in selected.content().items()
            ]
            if selected is not None
            else []
        ),
    }


def history_page(
    model: type,
    uid: int,
    *,
    title: str,
    code: str,
    back_url: str,
    labels: dict[str, Any],
) -> Any:
    """Render registry/history.html for any versioned object (also for other rights)."""
    ctx = history_context(
        model,
        uid,
        labels=labels,
        as_of_raw=request.args.get("as_of"),
        time_raw=request.args.get("time"),
    )
    status = 422 if ctx["as_of_error"] else 200
    return render_template(
        "registry/history.html", title=title, code=code, back_url=back_url, **ctx
    ), status
