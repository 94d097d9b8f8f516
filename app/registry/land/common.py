"""Helpers shared by the land services: ids, areas, free text, source documents, the
current contract or plot, and the county's area and overlap tolerances.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from app.core.errors import DomainError, NotFound
from app.divisions.models import Collective
from app.extensions import db
from app.geo import geometry as geo
from app.registry import history, inputs
from app.registry.documents import source_document
from app.registry.models import LandContract, Plot

#: Ids beyond this are not ids (and would overflow SQLite's 64-bit integers).
MAX_ID = 2**62
#: The plot's free-text fields and their kind of text (lengths: ``inputs.TEXT_LIMITS``).
_TEXT_KINDS = {
    "name": "name",
    "land_use": "label",
    "east": "label",
    "south": "label",
    "west": "label",
    "north": "label",
}


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _uid(value: Any, name: str) -> int:
    try:
        uid = int(value)
    except (TypeError, ValueError):
        uid = 0
    if isinstance(value, bool) or not 0 < uid < MAX_ID:
        raise DomainError("number_required", _("Give a valid number."), field=name)
    return uid


def _area(value: Any, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise DomainError(
            "area", _("An area must be a number of square metres, zero or more."), field=name
        )
    return number


def _text(value: Any, name: str) -> str | None:
    text = inputs.text(value, name, _TEXT_KINDS[name])
    if name == "land_use" and text is not None and len(text) > 8:
        # 土地利用类型 is a code of a few digits (GB/T 21010); the column holds 8.
        raise DomainError("land_use", _("Give the land-use code (at most 8 digits)."), field=name)
    return text


def _collective(collective_id: Any) -> Collective:
    coll = db.session.get(Collective, _uid(collective_id, "collective_id"))
    if coll is None:
        raise NotFound("collective_not_found", _("No such collective."), field="collective_id")
    return coll


def _source(source_document_id: Any, collective_id: int) -> tuple[int, str | None]:
    """A change must cite a source document of the collective (``documents.source_document``);
    returns (id, sha256)."""
    doc = source_document(source_document_id, collective_id)
    return doc.id, doc.sha256


def _current_contract(contract_uid: Any, *, lock: bool = False) -> LandContract:
    contract = history.current_of(LandContract, _uid(contract_uid, "contract_uid"), lock=lock)
    if contract is None:
        raise NotFound(
            "contract_not_found", _("No current contract with this number."), field="contract_uid"
        )
    return contract


def _current_plot(plot_uid: Any, *, lock: bool = False) -> Plot:
    plot = history.current_of(Plot, _uid(plot_uid, "plot_uid"), lock=lock)
    if plot is None:
        raise NotFound("plot_not_found", _("No current plot with this number."), field="plot_uid")
    return plot


def area_mismatch_percent() -> float:
    """How far (in % of the measured area) a contract area may be from the measured one before
    it is pointed out: the county's IMPORT_AREA_MISMATCH_PERCENT, the importer's setting."""
    return float(current_app.config.get("IMPORT_AREA_MISMATCH_PERCENT", 10.0))


def area_warnings(plot: Plot) -> list[geo.Finding]:
    """A warning (saved, never refused) when the plot's contract and measured areas disagree
    beyond the county's tolerance, judged as the importer judges (``geo.area_mismatch_finding``)."""
    found = geo.area_mismatch_finding(
        plot.contract_area_m2, plot.measured_area_m2, area_mismatch_percent()
    )
    return [found] if found is not None else []


def tolerance_m2() -> float:
    """The overlap tolerance in m² (config OVERLAP_TOLERANCE_M2, default 1 m²)."""
    return float(current_app.config.get("OVERLAP_TOLERANCE_M2", 1.0))
