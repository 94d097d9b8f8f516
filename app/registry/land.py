"""Contracted land (土地承包经营权): contracts, plots and the quality checks on their geometry.

Every rule about contracts and plots lives here, once; the HTML views and the JSON API both call
these functions. They flush and never commit: the caller commits once per request.

* R01 the holder of a contract is a current household of the 发包方's collective, with at least
      one co-holder who is a member of that collective.
* R02 a contract runs at most 30 years on arable land, 50 on grassland and 70 on forest land
      (Art. 21) and is renewed within the same cap; no term, lease or transfer may run past
      what remains of it (``check_within_term``, also used by the marketplace).
* R01 reserve land (机动地, class 22) is the collective's: never in a household's contract,
      never counted in a contract's area.
* Plots: the DKBM belongs to the collective and is unique among current plots; a geometry must
  come with its CRS, be valid (or be repaired with the user's consent, never silently) and is
  stored in the registry CRS; overlaps with other current plots beyond a tolerance become
  findings to review ("flag, don't block"); neighbours that only touch are fine.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from typing import Any

import shapely
from flask import current_app
from flask_babel import gettext as _
from geoalchemy2.shape import from_shape, to_shape
from pyproj import CRS, Transformer
from shapely.geometry import MultiPolygon, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app.audit import trail
from app.core import codes
from app.core.errors import DomainError, NotFound
from app.core.i18n import pick
from app.core.spatial import registry_srid
from app.divisions.models import Collective
from app.extensions import db
from app.geo import geometry as geo
from app.registry import history, inputs
from app.registry.documents import check_source_document
from app.registry.inputs import require_date as _date
from app.registry.inputs import require_reason as _reason
from app.registry.inputs import today_or as _today
from app.registry.models import (
    CONTRACT_LAND_TYPES,
    CONTRACT_METHODS,
    LAND_CLASSES,
    RESERVE_LAND_CLASS,
    GeometryFinding,
    Household,
    HouseholdMember,
    LandContract,
    Membership,
    Plot,
)
from app.registry.spatial_checks import hold_geometry_writes, max_hits, overlapping_plots

#: R02: arable land is contracted for 30 years and renewed for 30 (Art. 21).
ARABLE_TERM_YEARS = 30
#: R02: the longest term by land type (Art. 21): arable 30 years, grassland 30-50, forest 30-70.
TERM_CAP_YEARS = {"arable": ARABLE_TERM_YEARS, "grassland": 50, "forest": 70}
#: A contract may be renewed only in the last years of its term, so renewals cannot be stacked
#: into a 60- or 90-year right. *(policy choice; config CONTRACT_RENEWAL_WINDOW_YEARS)*
RENEWAL_WINDOW_YEARS = 5
#: Finding states: open -> accepted (an accepted exception) | resolved.
FINDING_STATES = ("open", "accepted", "resolved")
DECISIONS = ("accepted", "resolved")
#: Bounds on what one plot may be: more vertices than this is a file, not a plot.
MAX_VERTICES = 20_000
#: Ids beyond this are not ids (and would overflow SQLite's 64-bit integers).
MAX_ID = 2**62
#: Geometry "tiny" warning threshold, m².
MIN_PLOT_AREA_M2 = 1.0
#: Degrees of slack around the registry CRS's area of use before a plot is refused as "elsewhere".
_AREA_OF_USE_MARGIN_DEG = 1.5

#: The plot's free-text fields and their kind of text (lengths: ``inputs.TEXT_LIMITS``).
_TEXT_KINDS = {
    "name": "name",
    "land_use": "label",
    "east": "label",
    "south": "label",
    "west": "label",
    "north": "label",
}


# --------------------------------------------------------------------------------------------
# Results and errors
# --------------------------------------------------------------------------------------------


class GeometryRejected(DomainError):
    """An invalid plot geometry: the reason, where it is, and whether a repair can be offered.

    The JSON error carries ``reason`` (a stable code such as ``self_intersection``),
    ``location`` ([x, y] in the coordinates the user sent) and ``repair_available``; the form
    shows the same and offers a checkbox to accept the repair.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        location: tuple[float, float] | None,
        repair_available: bool,
        repaired_area_m2: float | None = None,
    ) -> None:
        super().__init__("invalid_geometry", message, field="geometry")
        self.reason = reason
        self.location = location
        self.repair_available = repair_available
        self.repaired_area_m2 = repaired_area_m2

    def as_dict(self) -> dict:
        out = super().as_dict()
        out["reason"] = self.reason
        out["location"] = list(self.location) if self.location else None
        out["repair_available"] = self.repair_available
        if self.repaired_area_m2 is not None:
            out["repaired_area_m2"] = round(self.repaired_area_m2, 2)
        return out


@dataclass
class PlotChange:
    """What adding or revising a plot did: the new version, the overlap findings it opened or
    updated, non-blocking geometry warnings, and whether a repair was applied."""

    plot: Plot
    findings: list[GeometryFinding] = field(default_factory=list)
    warnings: list[geo.Finding] = field(default_factory=list)
    repaired: bool = False


@dataclass
class PreparedGeometry:
    geom: MultiPolygon  # in the registry CRS
    warnings: list[geo.Finding]
    repair_note: str | None  # what was repaired, for the change reason; None = not repaired


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


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
    """A change must cite a source document of the collective; returns (id, sha256)."""
    if source_document_id in (None, "", 0):
        raise DomainError(
            "source_required",
            _("Every right and every change must cite a source document."),
            field="source_document_id",
        )
    doc_id = _uid(source_document_id, "source_document_id")
    return doc_id, check_source_document(doc_id, collective_id)


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


# --------------------------------------------------------------------------------------------
# Contracts (R01, R02)
# --------------------------------------------------------------------------------------------


def _check_land_type(land_type: Any) -> str:
    value = str(land_type or "arable").strip()
    if value not in CONTRACT_LAND_TYPES:
        raise DomainError(
            "land_type",
            _("Choose the land type: arable land, grassland or forest land."),
            field="land_type",
        )
    return value


def _check_method(method: Any) -> str:
    value = str(method or "household").strip()
    if value not in CONTRACT_METHODS:
        raise DomainError(
            "contract_method",
            _("Choose the contracting method: household contracting or other contracting."),
            field="method",
        )
    return value


def _check_term(term_start: date, term_end: date, land_type: str = "arable") -> None:
    """R02: a contract term ends after it starts and lasts at most the cap of its land type
    (Art. 21): 30 years for arable land, 50 for grassland, 70 for forest land."""
    if term_end <= term_start:
        raise DomainError(
            "term_order",
            _("The contract term must end after it starts."),
            field="term_end",
            rule="R02",
        )
    years = TERM_CAP_YEARS[land_type]
    limit = add_years(term_start, years)
    if term_end > limit:
        messages = {
            "arable": _(
                "An arable land contract runs at most %(years)s years: from %(start)s the term "
                "may end on %(limit)s at the latest.",
                years=years,
                start=term_start.isoformat(),
                limit=limit.isoformat(),
            ),
            "grassland": _(
                "A grassland contract runs at most %(years)s years: from %(start)s the term "
                "may end on %(limit)s at the latest.",
                years=years,
                start=term_start.isoformat(),
                limit=limit.isoformat(),
            ),
            "forest": _(
                "A forest land contract runs at most %(years)s years: from %(start)s the term "
                "may end on %(limit)s at the latest.",
                years=years,
                start=term_start.isoformat(),
                limit=limit.isoformat(),
            ),
        }
        raise DomainError("term_too_long", messages[land_type], field="term_end", rule="R02")


def _check_holder(household: Household) -> None:
    """R01: the household has a co-holder who is a current member of the household's collective."""
    member = db.session.scalar(
        select(HouseholdMember.id)
        .join(
            Membership,
            (Membership.person_uid == HouseholdMember.person_uid)
            & (Membership.collective_id == household.collective_id)
            & Membership.end_lifespan.is_(None),
        )
        .where(
            HouseholdMember.household_uid == household.uid,
            HouseholdMember.end_lifespan.is_(None),
            HouseholdMember.is_co_holder.is_(True),
        )
        .limit(1)
    )
    if member is None:
        raise DomainError(
            "holder_not_member",
            _(
                "The household has no co-holder who is a member of the collective; record the "
                "household's members first."
            ),
            field="household_uid",
            rule="R01",
        )


def create_contract(
    household_uid: int,
    term_start: date,
    term_end: date,
    *,
    source_document_id: int,
    reason: str,
    today: date | None = None,
    confirmed: bool = False,
    collective_id: int | None = None,
    land_type: str = "arable",
    method: str = "household",
) -> LandContract:
    """R01, R02: a household's land contract (承包合同), code CBHTBM = CBFBM + "J" (household
    contracting) or + "Q" (``method="other"``, 其他方式承包).

    R01: the holder is a current household of the 发包方's collective with a co-holder on the
    collective's roll; one current contract per household (its code is fixed by the household's
    code). R02: the term is at most the cap of its land type (arable 30 years, grassland 50,
    forest 70; Art. 21) and has not already ended.

    A new registration is "pending" until its public notice (公示) confirms it (DOMAIN §6);
    ``confirmed=True`` is for recording contracts that were noticed and certified before the
    registry existed (data migration), never for new registrations from forms or the API.
    ``collective_id``, the collective the caller acts in: a household of another one gets the
    answer of a household that does not exist.
    """
    reason = _reason(reason)
    term_start = _date(term_start, "term_start")
    term_end = _date(term_end, "term_end")
    land_type = _check_land_type(land_type)
    method = _check_method(method)
    household = history.current_of(Household, _uid(household_uid, "household_uid"), lock=True)
    if household is None or collective_id not in (None, household.collective_id):
        raise DomainError(
            "household_not_found",
            _("No current household with this number."),
            field="household_uid",
            rule="R01",
        )
    doc_id, sha = _source(source_document_id, household.collective_id)
    _check_holder(household)
    _check_term(term_start, term_end, land_type)
    if term_end < _today(today):
        raise DomainError(
            "term_ended",
            _("This term has already ended on %(end)s.", end=term_end.isoformat()),
            field="term_end",
            rule="R02",
        )
    existing = db.session.scalar(
        select(LandContract.cbhtbm).where(
            LandContract.household_uid == household.uid, LandContract.end_lifespan.is_(None)
        )
    )
    if existing is not None:
        raise DomainError(
            "contract_exists",
            _("The household already holds contract %(code)s.", code=existing),
            field="household_uid",
            rule="R01",
        )
    try:
        cbhtbm = codes.cbhtbm_for(household.cbfbm, method)
    except codes.CodeError as exc:
        raise DomainError.from_check(exc, field="household_uid") from exc
    with trail.because("land_contract.create", reason=reason, source_sha256=sha):
        return history.create(
            LandContract,
            reason=reason,
            source_document_id=doc_id,
            # legal time: the contract holds from the start of its term (signed by then)
            effective_on=history.natural_date(term_start),
            cbhtbm=cbhtbm,
            household_uid=household.uid,
            collective_id=household.collective_id,
            term_start=term_start,
            term_end=term_end,
            contract_area_m2=0.0,
            status="confirmed" if confirmed else "pending",
            land_type=land_type,
            method=method,
        )


def renewal_window_years() -> int:
    return int(current_app.config.get("CONTRACT_RENEWAL_WINDOW_YEARS", RENEWAL_WINDOW_YEARS))


def renew_contract(
    contract_uid: int,
    *,
    source_document_id: int,
    reason: str,
    today: date | None = None,
    years: int | None = None,
) -> LandContract:
    """R02: renew a contract from the end of its term (延包) for ``years``, within its land
    type's cap (Art. 21: arable land another 30 years; grassland up to 50, forest land up to
    70). Without ``years``: 30 for arable land, the old term's length (whole years) otherwise.

    The new term starts the day after the old one ends. Renewal is only possible in the last
    years of a term (config CONTRACT_RENEWAL_WINDOW_YEARS, default 5), so a 30-year right can
    not be stretched by renewing it again and again.
    """
    reason = _reason(reason)
    contract = _current_contract(contract_uid, lock=True)
    doc_id, sha = _source(source_document_id, contract.collective_id)
    window = renewal_window_years()
    opens = add_years(contract.term_end, -window)
    if _today(today) < opens:
        raise DomainError(
            "renewal_too_early",
            _(
                "The contract can be renewed from %(opens)s, in the last %(years)s years of its "
                "term (it ends on %(end)s).",
                opens=opens.isoformat(),
                years=window,
                end=contract.term_end.isoformat(),
            ),
            field="term_end",
            rule="R02",
        )
    new_start = contract.term_end + timedelta(days=1)
    land_type = _check_land_type(contract.land_type)
    if years in (None, ""):
        years = ARABLE_TERM_YEARS
        if land_type != "arable":
            after, start = contract.term_end + timedelta(days=1), contract.term_start
            old = after.year - start.year - ((after.month, after.day) < (start.month, start.day))
            years = max(ARABLE_TERM_YEARS, min(old, TERM_CAP_YEARS[land_type]))
    elif isinstance(years, bool) or not str(years).isdigit() or not 0 < int(years) <= 999:
        raise DomainError(
            "renewal_years", _("Give the renewal as a number of years."), field="years"
        )
    new_end = add_years(contract.term_end, int(years))
    _check_term(new_start, new_end, land_type)
    with trail.because("land_contract.renew", reason=reason, source_sha256=sha):
        return history.revise(
            contract,
            reason=reason,
            source_document_id=doc_id,
            term_start=new_start,
            term_end=new_end,
        )


def check_within_term(
    contract: LandContract | int, end_date: date, *, today: date | None = None
) -> date:
    """R02: no term, lease or transfer may run past the remaining contract term (Arts. 21, 38).

    The one check the marketplace and every other caller use. ``contract`` is a LandContract
    version or a contract uid; the check is made against the *current* version. Returns the
    last day of the contract term.
    """
    uid = contract.uid if isinstance(contract, LandContract) else contract
    current = history.current_of(LandContract, _uid(uid, "contract_uid"))
    if current is None:
        raise DomainError(
            "contract_not_current",
            _("The land contract is no longer in force."),
            field="contract_uid",
            rule="R02",
        )
    end_date = _date(end_date, "end_date")
    if current.term_end < _today(today):
        raise DomainError(
            "contract_term_over",
            _(
                "The land contract's term ended on %(end)s; nothing of it remains.",
                end=current.term_end.isoformat(),
            ),
            field="end_date",
            rule="R02",
        )
    if end_date > current.term_end:
        raise DomainError(
            "beyond_contract_term",
            _(
                "%(date)s is past the end of the land contract's term (%(end)s): no term, lease "
                "or transfer may run past the remaining contract term.",
                date=end_date.isoformat(),
                end=current.term_end.isoformat(),
            ),
            field="end_date",
            rule="R02",
        )
    return current.term_end


def contract_of_household(household_uid: int) -> LandContract | None:
    """The household's current contract, if any."""
    return db.session.scalar(
        select(LandContract).where(
            LandContract.household_uid == household_uid, LandContract.end_lifespan.is_(None)
        )
    )


def _sync_contract_area(
    contract_uid: int, *, source_document_id: int, reason: str, effective_on: date | None = None
) -> None:
    """HTZMJ, the contract's total area, is the sum of its current plots' contract areas;
    reserve land (机动地) is the collective's and never counts (R01). The sum changes in law
    when the plot change does (``effective_on``)."""
    contract = history.current_of(LandContract, contract_uid)
    if contract is None:
        return
    total = db.session.scalar(
        select(func.coalesce(func.sum(Plot.contract_area_m2), 0.0)).where(
            Plot.contract_uid == contract_uid,
            Plot.end_lifespan.is_(None),
            Plot.land_class != RESERVE_LAND_CLASS,
        )
    )
    total = round(float(total or 0.0), 2)
    if abs((contract.contract_area_m2 or 0.0) - total) > 0.005:
        history.revise(
            contract,
            reason=reason,
            source_document_id=source_document_id,
            effective_on=history.natural_date(effective_on, contract),
            contract_area_m2=total,
        )


# --------------------------------------------------------------------------------------------
# Geometry input: parse, CRS, validity, repair, reprojection
# --------------------------------------------------------------------------------------------


def _unreadable(detail: str | None = None) -> DomainError:
    msg = _("The geometry could not be read: send GeoJSON (a Polygon or MultiPolygon) or WKT.")
    if detail:
        msg = f"{msg} ({detail[:120]})"
    return DomainError("geometry_unreadable", msg, field="geometry")


def _declared_crs(obj: dict) -> str | None:
    """The CRS a GeoJSON object declares with the (2008) ``crs`` member, if any."""
    crs = obj.get("crs")
    if isinstance(crs, dict):
        props = crs.get("properties")
        if isinstance(props, dict) and isinstance(props.get("name"), str):
            return props["name"]
    return None


def parse_geometry(value: Any) -> tuple[BaseGeometry, str | None]:
    """A shapely geometry from GeoJSON (dict or text), WKT or shapely, and the CRS the input
    itself declares (GeoJSON ``crs`` member), if any."""
    declared: str | None = None
    if isinstance(value, BaseGeometry):
        return value, None
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _unreadable() from exc
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise DomainError("geometry_required", _("Give the plot's geometry."), field="geometry")
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise _unreadable(str(exc)) from exc
        else:
            try:
                return shapely.from_wkt(text), None
            except Exception as exc:  # noqa: BLE001 - any parse failure is the user's input
                raise _unreadable() from exc
    if not isinstance(value, dict):
        raise DomainError("geometry_required", _("Give the plot's geometry."), field="geometry")
    declared = _declared_crs(value)
    kind = value.get("type")
    if kind == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list) or len(features) != 1:
            raise DomainError(
                "one_feature",
                _("Send exactly one plot (one feature) at a time."),
                field="geometry",
            )
        value = features[0]
        kind = value.get("type") if isinstance(value, dict) else None
    if kind == "Feature":
        declared = declared or _declared_crs(value)
        value = value.get("geometry")
        if not isinstance(value, dict):
            raise DomainError("geometry_required", _("Give the plot's geometry."), field="geometry")
    try:
        return shape(value), declared
    except Exception as exc:  # noqa: BLE001 - malformed coordinates raise all sorts
        raise _unreadable(str(exc)) from exc


def _rejection(problem: geo.Finding, geom: BaseGeometry, src_crs: CRS) -> GeometryRejected:
    """The error for an invalid geometry, with the repair on offer (and its area) if any."""
    repaired_area = None
    try:
        fixed = geo.repair(geom)
        repaired_area = geo.area_m2(geo.to_registry_crs(fixed, src_crs, registry_srid()))
    except (geo.GeoError, ValueError):
        fixed = None
    message = pick(problem.message_zh, problem.message_en)
    if fixed is not None:
        message = "{}{}{}".format(
            message,
            pick("。", ". "),
            _(
                "A repair is available (the repaired plot would measure %(area)s m²): send the "
                "plot again accepting the suggested repair.",
                area=f"{repaired_area:.2f}",
            ),
        )
    else:
        message = "{}{}{}".format(
            message, pick("。", ". "), _("Correct the boundary and send it again.")
        )
    return GeometryRejected(
        message,
        reason=problem.code,
        location=problem.location,
        repair_available=fixed is not None,
        repaired_area_m2=repaired_area,
    )


@functools.lru_cache(maxsize=4)
def _registry_area_of_use(srid: int) -> tuple[Any, Transformer]:
    """The registry CRS's area of use and a transformer back to its geographic CRS (cached:
    building either is a PROJ database look-up)."""
    crs = CRS.from_epsg(srid)
    return crs.area_of_use, Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)


def _check_area_of_use(geom: MultiPolygon) -> None:
    """Refuse a plot that lands far outside the registry CRS's area: a wrong CRS or swapped
    axes, which would otherwise be stored as a plot somewhere else on earth."""
    aou, back = _registry_area_of_use(registry_srid())
    if aou is None:
        return
    minx, miny, maxx, maxy = geom.bounds
    lons, lats = back.transform([minx, maxx, minx, maxx], [miny, miny, maxy, maxy])
    m = _AREA_OF_USE_MARGIN_DEG
    inside = all(
        math.isfinite(lon)
        and math.isfinite(lat)
        and aou.west - m <= lon <= aou.east + m
        and aou.south - m <= lat <= aou.north + m
        for lon, lat in zip(lons, lats, strict=True)
    )
    if not inside:
        raise DomainError(
            "outside_area",
            _(
                "The plot lies outside the area of the registry's coordinate system "
                "(EPSG:%(srid)s). Check the CRS you chose and the axis order (longitude first).",
                srid=registry_srid(),
            ),
            field="crs",
        )


def prepare_geometry(geometry: Any, crs: Any, *, accept_repair: bool = False) -> PreparedGeometry:
    """Turn user input into a valid MultiPolygon in the registry CRS, or explain why not.

    The CRS is required (the input's own declaration or the one the user names; the named one
    wins). Validity is judged in the user's coordinates, so the location in the message is one
    they can find; an invalid geometry is refused with the reason, the location and an offer to
    repair it, and only repaired when the user accepts (``accept_repair``).
    """
    geom, declared = parse_geometry(geometry)
    crs_value = crs.strip() if isinstance(crs, str) else crs
    try:
        src_crs = geo.require_crs(declared, crs_value or None)
    except geo.GeoError as exc:
        if exc.code == "crs_missing":  # the form's field, not the command line's --crs
            exc = geo.GeoError(exc.code, *geo.CRS_MISSING_FORM)
        raise DomainError.from_check(exc, field="crs") from exc
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise DomainError(
            "too_many_vertices",
            _("A plot may have at most %(n)s vertices.", n=MAX_VERTICES),
            field="geometry",
        )
    repair_note = None
    errors = [f for f in geo.check_geometry(geom, min_area_m2=0) if f.is_error]
    if errors:
        problem = errors[0]
        if not accept_repair:
            raise _rejection(problem, geom, src_crs)
        try:
            geom = geo.repair(geom)
        except geo.GeoError:
            raise _rejection(problem, geom, src_crs) from None
        repair_note = pick(problem.message_zh, problem.message_en)
    try:
        projected = geo.normalize_polygonal(geo.to_registry_crs(geom, src_crs, registry_srid()))
    except geo.GeoError as exc:
        raise DomainError.from_check(exc, field="geometry") from exc
    findings = geo.check_geometry(projected, min_area_m2=MIN_PLOT_AREA_M2)
    if geo.has_errors(findings):
        # Reprojection can, rarely, fold a nearly degenerate ring; same offer as above.
        problem = next(f for f in findings if f.is_error)
        if not accept_repair:
            raise _rejection(problem, projected, CRS.from_epsg(registry_srid()))
        try:
            projected = geo.repair(projected)
        except geo.GeoError:
            raise _rejection(problem, projected, CRS.from_epsg(registry_srid())) from None
        repair_note = repair_note or pick(problem.message_zh, problem.message_en)
        findings = geo.check_geometry(projected, min_area_m2=MIN_PLOT_AREA_M2)
    _check_area_of_use(projected)
    return PreparedGeometry(projected, [f for f in findings if not f.is_error], repair_note)


def _reason_with_repair(reason: str, prepared: PreparedGeometry) -> str:
    if prepared.repair_note is None:
        return reason
    note = _(
        "Geometry repaired at the user's request (problem: %(problem)s).",
        problem=prepared.repair_note,
    )
    return f"{reason}\n[{note}]"


# --------------------------------------------------------------------------------------------
# Overlap findings
# --------------------------------------------------------------------------------------------


def _serialise_geometry_writes() -> None:
    """One plot geometry write at a time, so two overlapping plots saved at the same moment
    still see each other in the overlap check, nor does a write slip between an import's
    overlap check and its promotion (spatial_checks.hold_geometry_writes)."""
    hold_geometry_writes(db.session)


def _record_overlaps(plot: Plot, geom: MultiPolygon) -> list[GeometryFinding]:
    """Store each overlap of ``plot`` with another current plot as a finding (flag, don't block).

    A pair is one finding whichever plot was saved first. Revising a geometry updates the
    pair's area, reopens a resolved finding whose overlap came back, and resolves open findings
    whose overlap is gone; an accepted exception stays accepted.
    """
    limit = max_hits()
    found = overlapping_plots(geom, exclude_uid=plot.uid, tolerance_m2=tolerance_m2(), limit=limit)
    hits = dict(found)
    # A cut result (OVERLAP_MAX_HITS) says nothing about plots after its last uid: their open
    # findings are left as they are rather than resolved.
    seen_up_to = found[-1][0] if len(found) >= limit else None
    existing = list(
        db.session.scalars(
            select(GeometryFinding).where(
                GeometryFinding.kind == "overlap",
                or_(
                    GeometryFinding.plot_uid == plot.uid,
                    GeometryFinding.other_plot_uid == plot.uid,
                ),
            )
        )
    )
    by_other: dict[int, GeometryFinding] = {}
    for f in existing:
        other = f.other_plot_uid if f.plot_uid == plot.uid else f.plot_uid
        if other is not None:
            by_other[other] = f
    other_codes = dict(
        db.session.execute(
            select(Plot.uid, Plot.dkbm).where(
                Plot.uid.in_(list(hits) or [0]), Plot.end_lifespan.is_(None)
            )
        ).all()
    )
    out: list[GeometryFinding] = []
    for other_uid, area in sorted(hits.items()):
        finding = by_other.get(other_uid)
        if finding is None:
            finding = GeometryFinding(
                collective_id=plot.collective_id,
                plot_uid=plot.uid,
                other_plot_uid=other_uid,
                kind="overlap",
                state="open",
                overlap_m2=round(area, 2),
                detail=f"{plot.dkbm} / {other_codes.get(other_uid, other_uid)}",
            )
            db.session.add(finding)
        else:
            finding.overlap_m2 = round(area, 2)
            if finding.state == "resolved":
                finding.state = "open"
                finding.decided_by = None
                finding.decision_reason = None
        out.append(finding)
    actor = trail.current()
    for other_uid, finding in by_other.items():
        if other_uid in hits or (seen_up_to is not None and other_uid > seen_up_to):
            continue
        if finding.state == "open":
            finding.state = "resolved"
            finding.decided_by = actor.actor if actor else None
            finding.decision_reason = _("The overlap is gone after the geometry was revised.")
    db.session.flush()
    return out


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------


def _check_dkbm(dkbm: Any, collective: Collective, *, exclude_uid: int | None = None) -> str:
    """The DKBM belongs to the collective (its FBFBM prefix) and no other current plot has it."""
    if not isinstance(dkbm, str):
        raise DomainError("dkbm_required", _("Give the plot code (DKBM)."), field="dkbm")
    try:
        code = codes.validate_dkbm(dkbm, fbfbm=collective.fbfbm)
    except codes.CodeError as exc:
        raise DomainError.from_check(exc, field="dkbm") from exc
    q = select(Plot.uid).where(Plot.dkbm == code, Plot.end_lifespan.is_(None))
    if exclude_uid is not None:
        q = q.where(Plot.uid != exclude_uid)
    if db.session.scalar(q.limit(1)) is not None:
        raise DomainError(
            "dkbm_taken",
            _("Another current plot already has the code %(code)s.", code=code),
            field="dkbm",
        )
    return code


def check_not_reserve(land_class: str, contract_uid: Any) -> None:
    """R01: reserve land (机动地, class 22) is the collective's own: it is never part of a
    household's contract (and so never counted in a household's contract area)."""
    if land_class == RESERVE_LAND_CLASS and contract_uid not in (None, "", 0):
        raise DomainError(
            "reserve_land",
            _(
                "Reserve land belongs to the collective and cannot be part of a household's "
                "contract."
            ),
            field="contract_uid",
            rule="R01",
        )


def _check_land_class(land_class: Any) -> str:
    value = str(land_class or "10").strip()
    if value not in LAND_CLASSES:
        raise DomainError(
            "land_class",
            _("Unknown land class; use one of %(codes)s.", codes=", ".join(LAND_CLASSES)),
            field="land_class",
        )
    return value


def add_plot(
    collective_id: int,
    dkbm: str,
    geometry: Any,
    crs: Any,
    *,
    contract_uid: int | None = None,
    name: str | None = None,
    land_class: str = "10",
    land_use: str | None = None,
    is_basic_farmland: bool = False,
    contract_area_m2: float | None = None,
    measured_area_m2: float | None = None,
    east: str | None = None,
    south: str | None = None,
    west: str | None = None,
    north: str | None = None,
    source_document_id: int,
    reason: str,
    accept_repair: bool = False,
    today: date | None = None,
    effective_on: date | None = None,
) -> PlotChange:
    """Register a plot (地块) of a collective, optionally in a household's contract (R01).
    ``effective_on``: the day it was surveyed / contracted in law (default: today).

    The DKBM must start with the collective's FBFBM and be unique among current plots. The
    geometry needs its CRS, must be valid (or repaired at the user's request, which the change
    reason records) and is stored in the registry CRS. The measured area (SCMJ) comes from the
    geometry unless given; the contract area (HTMJ) is kept apart. Overlaps with other current
    plots beyond the tolerance are recorded as open findings and returned: they do not block.
    """
    reason = _reason(reason)
    collective = _collective(collective_id)
    doc_id, sha = _source(source_document_id, collective.id)
    _serialise_geometry_writes()
    code = _check_dkbm(dkbm, collective)
    fields = {k: _text(v, k) for k, v in dict(name=name, land_use=land_use).items()}
    bounds = {
        k: _text(v, k) for k, v in dict(east=east, south=south, west=west, north=north).items()
    }
    land_class = _check_land_class(land_class)
    contract_area = _area(contract_area_m2, "contract_area_m2")
    measured_area = _area(measured_area_m2, "measured_area_m2")
    contract = None
    if contract_uid not in (None, "", 0):
        contract = _current_contract(contract_uid)
        _check_same_collective(contract, collective.id)
        check_not_reserve(land_class, contract.uid)
    prepared = prepare_geometry(geometry, crs, accept_repair=accept_repair)
    if measured_area is None:
        measured_area = round(geo.area_m2(prepared.geom), 2)
    full_reason = _reason_with_repair(reason, prepared)
    with trail.because("plot.create", reason=full_reason, source_sha256=sha):
        try:
            plot = history.create(
                Plot,
                reason=full_reason,
                source_document_id=doc_id,
                effective_on=effective_on,
                dkbm=code,
                collective_id=collective.id,
                contract_uid=contract.uid if contract else None,
                household_uid=contract.household_uid if contract else None,
                land_class=land_class,
                is_basic_farmland=bool(is_basic_farmland),
                contract_area_m2=contract_area,
                measured_area_m2=measured_area,
                geom=from_shape(prepared.geom, srid=registry_srid()),
                **fields,
                **bounds,
            )
        except IntegrityError as exc:
            # Another request registered the same code between our check and our insert.
            if "dkbm" in str(exc.orig):
                raise DomainError(
                    "dkbm_taken",
                    _("Another current plot already has the code %(code)s.", code=code),
                    field="dkbm",
                ) from exc
            raise
        findings = _record_overlaps(plot, prepared.geom)
        if contract is not None:
            _sync_contract_area(
                contract.uid, source_document_id=doc_id, reason=reason, effective_on=effective_on
            )
    warnings = [*prepared.warnings, *area_warnings(plot)]
    return PlotChange(plot, findings, warnings, prepared.repair_note is not None)


def _check_same_collective(contract: LandContract, collective_id: int) -> None:
    """R01: a plot goes only with a contract of its own collective. Another collective's contract
    gets the answer of a contract that does not exist, so its existence does not leak."""
    if contract.collective_id != collective_id:
        raise NotFound(
            "contract_not_found", _("No current contract with this number."), field="contract_uid"
        )


def update_plot_geometry(
    plot_uid: int,
    geometry: Any,
    crs: Any,
    *,
    source_document_id: int,
    reason: str,
    measured_area_m2: float | None = None,
    accept_repair: bool = False,
    today: date | None = None,
) -> PlotChange:
    """Revise a plot's boundary (a new version; the old one stays in the history).

    Same checks as ``add_plot``: CRS required, validity with repair only on request, measured
    area from the new geometry unless given, overlap findings re-evaluated (see
    ``_record_overlaps``).
    """
    reason = _reason(reason)
    _serialise_geometry_writes()
    plot = _current_plot(plot_uid, lock=True)
    doc_id, sha = _source(source_document_id, plot.collective_id)
    measured_area = _area(measured_area_m2, "measured_area_m2")
    prepared = prepare_geometry(geometry, crs, accept_repair=accept_repair)
    if measured_area is None:
        measured_area = round(geo.area_m2(prepared.geom), 2)
    full_reason = _reason_with_repair(reason, prepared)
    with trail.because("plot.geometry", reason=full_reason, source_sha256=sha):
        new = history.revise(
            plot,
            reason=full_reason,
            source_document_id=doc_id,
            geom=from_shape(prepared.geom, srid=registry_srid()),
            measured_area_m2=measured_area,
        )
        findings = _record_overlaps(new, prepared.geom)
    warnings = [*prepared.warnings, *area_warnings(new)]
    return PlotChange(new, findings, warnings, prepared.repair_note is not None)


def update_plot_attributes(
    plot_uid: int,
    *,
    source_document_id: int,
    reason: str,
    **changes: Any,
) -> Plot:
    """Correct a plot's descriptive attributes (name, class, use, basic-farmland flag, areas,
    four boundaries) as a new version. The code, collective and geometry change elsewhere."""
    allowed = {
        "name",
        "land_class",
        "land_use",
        "is_basic_farmland",
        "contract_area_m2",
        "measured_area_m2",
        "east",
        "south",
        "west",
        "north",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise DomainError(
            "field_unknown",
            _("These fields cannot be changed here: %(names)s.", names=", ".join(sorted(unknown))),
        )
    reason = _reason(reason)
    plot = _current_plot(plot_uid, lock=True)
    doc_id, sha = _source(source_document_id, plot.collective_id)
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if key in _TEXT_KINDS:
            clean[key] = _text(value, key)
        elif key == "land_class":
            clean[key] = _check_land_class(value)
            check_not_reserve(clean[key], plot.contract_uid)
        elif key == "is_basic_farmland":
            clean[key] = bool(value)
        else:
            clean[key] = _area(value, key)
    with trail.because("plot.attributes", reason=reason, source_sha256=sha):
        new = history.revise(plot, reason=reason, source_document_id=doc_id, **clean)
        if "contract_area_m2" in clean and new.contract_uid:
            _sync_contract_area(new.contract_uid, source_document_id=doc_id, reason=reason)
    return new


def assign_plot_to_contract(
    plot_uid: int,
    contract_uid: int | None,
    *,
    source_document_id: int,
    reason: str,
    basis: str | None = None,
) -> Any:
    """R01: put a plot that is in no contract into a household's contract (registration).

    Taking a plot out of a household's contract, or moving it into another household's, moves
    a right away from that household (R03; Arts. 27, 28): a voluntary transfer goes through the
    marketplace, so without a legal basis it is refused here; with one (``moves.BASES``) it
    becomes a move request that a bureau reviewer countersigns (``moves.request_move``), which is
    what is returned then.
    """
    plot = _current_plot(plot_uid)
    if plot.contract_uid is not None and history.current_of(LandContract, plot.contract_uid):
        from app.registry import moves

        if basis in (None, ""):
            raise moves.marketplace_refusal()
        return moves.request_move(
            "plot_move",
            plot.uid,
            basis=basis,
            source_document_id=source_document_id,
            reason=reason,
            to_contract_uid=contract_uid or None,
        )
    return _move_plot(plot_uid, contract_uid, source_document_id=source_document_id, reason=reason)


def _move_plot(
    plot_uid: int,
    contract_uid: int | None,
    *,
    source_document_id: int,
    reason: str,
) -> Plot:
    """R01: put a plot into a household's contract, move it to another one or take it out.

    The contract must be current and of the plot's collective. Private to the registry: a move
    out of a household's contract is applied only by a countersigned move
    (``moves.countersign_move``) or, later, the marketplace's registration step.
    """
    reason = _reason(reason)
    plot = _current_plot(plot_uid, lock=True)
    doc_id, sha = _source(source_document_id, plot.collective_id)
    contract = None
    if contract_uid not in (None, "", 0):
        contract = _current_contract(contract_uid)
        _check_same_collective(contract, plot.collective_id)
        check_not_reserve(plot.land_class, contract.uid)
        if plot.contract_uid == contract.uid:
            raise DomainError("no_change", _("Nothing was changed."))
    elif plot.contract_uid is None:
        raise DomainError("no_change", _("Nothing was changed."))
    old_contract = plot.contract_uid
    with trail.because("plot.assign", reason=reason, source_sha256=sha):
        new = history.revise(
            plot,
            reason=reason,
            source_document_id=doc_id,
            contract_uid=contract.uid if contract else None,
            household_uid=contract.household_uid if contract else None,
        )
        for uid in {old_contract, contract.uid if contract else None} - {None}:
            _sync_contract_area(uid, source_document_id=doc_id, reason=reason)
    return new


def decide_finding(
    finding_id: int, state: str, reason: str, *, today: date | None = None
) -> GeometryFinding:
    """Decide an open geometry finding: ``accepted`` (an accepted exception, the plots stay as
    they are) or ``resolved`` (fixed). Only open findings can be decided; the reason is kept."""
    reason = _reason(reason)
    if state not in DECISIONS:
        raise DomainError(
            "finding_state",
            _("Decide a finding as accepted or resolved."),
            field="state",
        )
    finding = db.session.get(GeometryFinding, _uid(finding_id, "finding_id"), with_for_update=True)
    if finding is None:
        raise NotFound("finding_not_found", _("No such finding."), field="finding_id")
    if finding.state != "open":
        raise DomainError(
            "finding_decided",
            _("This finding was already decided (%(state)s).", state=finding_state_label(finding)),
            field="state",
        )
    actor = trail.current()
    with trail.because("finding.decide", reason=reason):
        finding.state = state
        finding.decided_by = actor.actor if actor else None
        finding.decision_reason = reason
        db.session.flush()
    return finding


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def finding_state_label(finding: GeometryFinding) -> str:
    labels = {"open": _("open"), "accepted": _("accepted exception"), "resolved": _("resolved")}
    return labels.get(finding.state, finding.state)


def contract_plots(contract_uid: int) -> list[Plot]:
    """The current plots of a contract, by code."""
    return list(
        db.session.scalars(
            select(Plot)
            .where(Plot.contract_uid == contract_uid, Plot.end_lifespan.is_(None))
            .order_by(Plot.dkbm)
        )
    )


def plot_shape(plot: Plot) -> MultiPolygon | None:
    return to_shape(plot.geom) if plot.geom is not None else None


def findings_of_plot(plot_uid: int) -> list[GeometryFinding]:
    return list(
        db.session.scalars(
            select(GeometryFinding)
            .where(
                or_(
                    GeometryFinding.plot_uid == plot_uid, GeometryFinding.other_plot_uid == plot_uid
                )
            )
            .order_by(GeometryFinding.id.desc())
            .limit(200)
        )
    )


def collective_findings(
    collective_id: int, *, state: str | None = None, limit: int = 50, offset: int = 0
) -> list[tuple[GeometryFinding, str | None, str | None]]:
    """A page of a collective's findings with both plots' current codes, in one query."""
    mine = aliased(Plot)
    other = aliased(Plot)
    q = (
        select(GeometryFinding, mine.dkbm, other.dkbm)
        .outerjoin(mine, (mine.uid == GeometryFinding.plot_uid) & mine.end_lifespan.is_(None))
        .outerjoin(
            other, (other.uid == GeometryFinding.other_plot_uid) & other.end_lifespan.is_(None)
        )
        .where(GeometryFinding.collective_id == collective_id)
    )
    if state:
        q = q.where(GeometryFinding.state == state)
    q = q.order_by(GeometryFinding.id.desc()).limit(limit).offset(offset)
    return [(f, a, b) for f, a, b in db.session.execute(q).all()]


#: Who may read the registry as it was recorded (record time) rather than as the law stood:
#: those who check the registry's own work.
RECORD_TIME_ROLES = frozenset({"auditor", "bureau_reviewer"})
AS_OF_TIMES = ("legal", "recorded")


@dataclass(frozen=True)
class AsOf:
    """A point to read an object's history at. In legal time (the default) a day of the county's
    calendar: the version in legal effect that day. In record time (``recorded``) an instant:
    the version the registry showed as current then (naive UTC, like the lifespans)."""

    day: date
    at: datetime
    recorded: bool = False

    def matches(self, version: Any) -> bool:
        if self.recorded:
            return version.recorded_at(self.at)
        return version.in_effect_on(self.day)

    def pick(self, versions: list[Any]) -> Any:
        """The matching version of a list of one object's versions (the latest if several)."""
        return next((v for v in reversed(versions) if self.matches(v)), None)

    def find(self, model: type, uid: int) -> Any:
        when = self.at if self.recorded else self.day
        return history.as_of(model, uid, when, recorded=self.recorded)


def may_read_record_time(user: Any) -> bool:
    return str(getattr(user, "role", "") or "") in RECORD_TIME_ROLES


def parse_as_of(raw: str | None, time: str | None = None, *, user: Any = None) -> AsOf | None:
    """``?as_of=`` (and ``&time=recorded``): a date, or an ISO date-time, read in legal time by
    default. A date in record time means the end of that day in the county; a date-time in legal
    time means its day in the county. Record time is for the auditor and the bureau only
    (``RECORD_TIME_ROLES``; ``user`` None: no check, for services). Bad input is a DomainError."""
    raw = (raw or "").strip()
    if not raw:
        return None
    time = (time or "").strip() or "legal"
    if time not in AS_OF_TIMES:
        raise DomainError("as_of_time", _("Choose legal time or record time."), field="time")
    recorded = time == "recorded"
    if recorded and user is not None and not may_read_record_time(user):
        raise DomainError(
            "as_of_time",
            _("Only the auditor and the county bureau may see the registry as it was recorded."),
            field="time",
        )
    zone = history.county_timezone()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            local = datetime.combine(day + timedelta(days=1), time_of_day.min, tzinfo=zone)
            at = local.astimezone(UTC).replace(tzinfo=None) - timedelta(microseconds=1)
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if moment.tzinfo is None:  # a local time of the county
                moment = moment.replace(tzinfo=zone)
            at = moment.astimezone(UTC).replace(tzinfo=None)
            day = moment.astimezone(zone).date()
    except (ValueError, OverflowError):  # not a date, or a date at the very end of the calendar
        raise DomainError("as_of", _("Give the date as YYYY-MM-DD."), field="as_of") from None
    return AsOf(day=day, at=at, recorded=recorded)
