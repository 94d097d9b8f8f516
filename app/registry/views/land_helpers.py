"""What the land pages share: who reads them, the CRS choices, areas in m² and mu, links,
server-drawn maps, the form choices (documents, land uses, the contracts a plot may go into),
an uploaded geometry, and how a plot change is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError
from wtforms.fields.choices import SelectChoice

from app.auth.models import Role
from app.core.codes import format_mu
from app.core.errors import DomainError
from app.core.inputs import page_arg
from app.geo.geometry import svg_path
from app.registry import land
from app.registry.models import LAND_USES

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)
STAFF = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
PAGE = 50
MAX_UPLOAD_BYTES = 2 * 1024 * 1024

CRS_CHOICES = [
    SelectChoice("", _l("— as declared in the file —")),
    SelectChoice("EPSG:4490", _l("EPSG:4490 · CGCS2000 longitude/latitude")),
    SelectChoice("EPSG:4326", _l("EPSG:4326 · WGS 84 longitude/latitude")),
    SelectChoice("EPSG:4547", _l("EPSG:4547 · CGCS2000 3° Gauss-Krüger CM 114E")),
    SelectChoice("EPSG:4546", _l("EPSG:4546 · CGCS2000 3° Gauss-Krüger CM 111E")),
    SelectChoice("EPSG:4548", _l("EPSG:4548 · CGCS2000 3° Gauss-Krüger CM 117E")),
]


def _url(endpoint: str, **values: Any) -> str | None:
    """A link to a page another part of the registry provides, or None if it does not exist."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def fmt_m2(m2: float | None) -> str:
    return "" if m2 is None else f"{float(m2):,.2f}"


def fmt_mu(m2: float | None) -> str:
    return "" if m2 is None else format_mu(float(m2))


def _map(shapes: Sequence[tuple[Any, str, str | None, str]]) -> dict | None:
    """A server-side SVG: [(geometry, title, href, css class)]."""
    shapes = [s for s in shapes if s[0] is not None]
    if not shapes:
        return None
    view_box, ds = svg_path([s[0] for s in shapes], 480, 320)
    return {
        "view_box": view_box,
        "paths": [
            {"d": d, "title": title, "href": href, "cls": cls}
            for (_g, title, href, cls), d in zip(shapes, ds, strict=True)
            if d
        ],
    }


def land_use_choices() -> list[SelectChoice]:
    """Land-use (TDLYLX) names with their codes, for the plot form (staff)."""
    return [
        SelectChoice("", _("(not recorded)")),
        *(SelectChoice(k, f"{v}（{k}）") for k, v in LAND_USES.items()),
    ]


def _raw_date(f: Any) -> Any:
    """A date field's value, or what was typed (the service explains what is wrong with it)."""
    if f.data is not None:
        return f.data
    return (f.raw_data or [""])[0]


def _page() -> int:
    return page_arg()


def _contract_choices(collective_id: int) -> list[SelectChoice]:
    """The contracts a plot of the collective may be put into (``land.contract_candidates``,
    the same list the API gives), after "none"."""
    return [SelectChoice(0, _("— none —"))] + [
        SelectChoice(c.contract_uid, f"{c.cbhtbm} · {c.household_name}")
        for c in land.contract_candidates(collective_id)
    ]


def _uploaded_geometry(form: Any) -> str:
    """The geometry text: an uploaded file wins over the text area; it is copied into the text
    area so that a re-submission (e.g. accepting a repair) needs no second upload."""
    upload = form.geometry_file.data
    if upload and getattr(upload, "filename", ""):
        data = upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise DomainError(
                "upload_too_large",
                _("The file is too large for one plot (at most 2 MB)."),
                field="geometry",
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DomainError(
                "geometry_unreadable",
                _("The file is not UTF-8 text GeoJSON."),
                field="geometry",
            ) from None
        form.geometry.data = text
        return text
    return form.geometry.data or ""


def _report_change(change: land.PlotChange) -> None:
    """Tell the user what the checks found: overlaps (recorded for review) and warnings."""
    if change.repaired:
        flash(_("The geometry was repaired as you asked; the change reason records it."), "warn")
    for f in change.findings:
        flash(
            _(
                "Overlap of %(area)s m² with another plot recorded for review (finding %(id)s).",
                area=f"{f.overlap_m2:.2f}",
                id=f.id,
            ),
            "warn",
        )
    from app.core.i18n import pick

    for w in change.warnings:
        flash(pick(w.message_zh, w.message_en), "warn")


def _geometry_error(err: DomainError) -> dict | None:
    if isinstance(err, land.GeometryRejected):
        return {
            "message": err.message,
            "reason": err.reason,
            "location": err.location,
            "repair_available": err.repair_available,
        }
    return None
