"""Dashboards (issue 15 item 2): a collective's, and the county's (or one township's) for the
bureau and the auditor. Each figure is a link to the list behind it; each chart is an ECharts
option built here (the page's script only draws it) with the same numbers in a table beside it.

Reading only, set-based: a fixed number of aggregate queries whatever the data size. Settlement
figures are on the county dashboard only (its readers are those who may read settlements).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import case, func, select, true

from app.core.codes import format_mu
from app.divisions.models import Collective, Division
from app.extensions import db
from app.leases import services as leasing
from app.leases.models import Lease
from app.market import states
from app.market.models import Deal, FlagReview, Listing
from app.oversight import report
from app.registry import encumbrances as weights
from app.registry.models import (
    Certificate,
    Encumbrance,
    GeometryFinding,
    Homestead,
    LandContract,
    PublicNotice,
)
from app.registry.people import collective_overview

#: Months shown on the county's chart of registered deals.
MONTHS = 12


@dataclass(frozen=True)
class Figure:
    """One number on a dashboard, and where its list is."""

    label: str
    value: str
    url: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Chart:
    """A chart: its title, the ECharts option, and its rows as a table (label, value, url)."""

    key: str
    title: str
    option: dict[str, Any]
    rows: list[tuple[str, int | str, str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class Dashboard:
    title: str
    figures: list[Figure]
    charts: list[Chart]


def _bar(
    key: str,
    title: str,
    rows: list[tuple[str, int, str | None]],
    *,
    horizontal: bool = False,
    series_name: str | None = None,
) -> Chart:
    """A one-series bar chart; each bar carries the URL of its list."""
    labels = [label for label, _v, _u in rows]
    data = [{"value": value, "url": url} for _l, value, url in rows]
    category: dict[str, Any] = {"type": "category", "data": labels, "axisLabel": {"interval": 0}}
    if horizontal:
        category["inverse"] = True  # the first row on top, as in the table
    value_axis = {"type": "value", "minInterval": 1}
    option = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 8, "right": 16, "top": 16, "bottom": 8, "containLabel": True},
        "xAxis": value_axis if horizontal else category,
        "yAxis": category if horizontal else value_axis,
        "series": [{"type": "bar", "name": series_name or title, "data": data}],
    }
    if not horizontal:
        category["axisLabel"]["rotate"] = 30
    return Chart(key, title, option, list(rows))


def _stacked(
    key: str,
    title: str,
    categories: list[tuple[str, str | None]],
    series: list[tuple[str, list[int]]],
) -> Chart:
    """A grouped bar chart (one bar per series in each category), with a legend."""
    option = {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 16, "top": 32, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": [label for label, _u in categories],
            "axisLabel": {"interval": 0, "rotate": 30},
        },
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "type": "bar",
                "name": name,
                "data": [
                    {"value": v, "url": url}
                    for v, (_l, url) in zip(values, categories, strict=True)
                ],
            }
            for name, values in series
        ],
    }
    rows = [
        (f"{label} · {name}", values[i], url)
        for i, (label, url) in enumerate(categories)
        for name, values in series
    ]
    return Chart(key, title, option, rows)


# --- the collective's dashboard


def collective_dashboard(collective: Collective, today: date) -> Dashboard:
    """A collective's registry and marketplace at a glance (its administrator, the bureau)."""
    cid = collective.id
    stats = collective_overview(collective.id)
    contracts = dict(
        db.session.execute(
            select(LandContract.status, func.count(LandContract.id))
            .where(LandContract.collective_id == cid, LandContract.end_lifespan.is_(None))
            .group_by(LandContract.status)
        ).all()
    )
    certificates = (
        db.session.scalar(
            select(func.count(Certificate.id)).where(
                Certificate.collective_id == cid, Certificate.status == "valid"
            )
        )
        or 0
    )
    notices = dict(
        db.session.execute(
            select(PublicNotice.status, func.count(PublicNotice.id))
            .where(PublicNotice.collective_id == cid)
            .group_by(PublicNotice.status)
        ).all()
    )
    findings = dict(
        db.session.execute(
            select(GeometryFinding.state, func.count(GeometryFinding.id))
            .where(GeometryFinding.collective_id == cid)
            .group_by(GeometryFinding.state)
        ).all()
    )
    homesteads = (
        db.session.scalar(
            select(func.count(Homestead.id)).where(
                Homestead.collective_id == cid, Homestead.end_lifespan.is_(None)
            )
        )
        or 0
    )
    weighed = dict(
        db.session.execute(
            select(Encumbrance.kind, func.count(Encumbrance.id))
            .where(Encumbrance.collective_id == cid, weights.in_force_on(today))
            .group_by(Encumbrance.kind)
        ).all()
    )
    by_state = dict(
        db.session.execute(
            select(Listing.state, func.count(Listing.id))
            .where(Listing.collective_id == cid)
            .group_by(Listing.state)
        ).all()
    )

    leased = _leases(today, Lease.collective_id == cid)

    def market(state: str) -> str:
        return url_for("market.index", state=state, village=collective.village_code)

    plots_url = url_for("registry.collective_plots", collective_id=cid)
    figures = [
        Figure(
            _("Households"),
            str(stats.households),
            url_for("divisions.collective", collective_id=cid),
        ),
        Figure(
            _("Members"), str(stats.persons), url_for("divisions.collective", collective_id=cid)
        ),
        Figure(_("Plots"), str(stats.plots), plots_url),
        Figure(_("Contracted area (mu)"), format_mu(stats.contract_area_m2), plots_url),
        Figure(
            _("Land contracts"),
            str(sum(contracts.values())),
            url_for("registry.collective_contracts", collective_id=cid),
            note=_("%(n)s waiting for confirmation", n=contracts.get("pending", 0))
            if contracts.get("pending")
            else None,
        ),
        Figure(
            _("Valid certificates"),
            str(certificates),
            url_for("registry.collective_certificates", collective_id=cid),
        ),
        Figure(
            _("Homesteads"),
            str(homesteads),
            url_for("registry.collective_homesteads", collective_id=cid),
        ),
        Figure(
            _("Share holdings"),
            str(stats.share_holdings),
            url_for("registry.share_register", collective_id=cid),
        ),
        Figure(
            _("Open public notices"),
            str(notices.get("open", 0)),
            url_for("registry.collective_notices", collective_id=cid),
        ),
        Figure(
            _("Open geometry findings"),
            str(findings.get("open", 0)),
            url_for("registry.collective_findings", collective_id=cid),
        ),
        Figure(
            _("Open listings"),
            str(sum(n for s, n in by_state.items() if s in states.OPEN)),
            url_for("market.index", village=collective.village_code),
        ),
        Figure(
            _("Leases in force"),
            str(leased[0]),
            url_for("leases.index", collective_id=cid, state="in_force"),
            note=_("%(mu)s mu leased out", mu=format_mu(leased[1])) if leased[0] else None,
        ),
    ]
    listing_rows = [(states.state_label(s), by_state.get(s, 0), market(s)) for s in states.STATES]
    weight_rows = [
        (weights.kind_label(k), weighed.get(k, 0), None) for k in ("pledge", "dispute", "freeze")
    ]
    charts = [
        _bar("listings", _("Listings by step"), listing_rows, horizontal=True),
        _bar(
            "registry",
            _("Rights and their checks"),
            [
                (_("Contracts confirmed"), contracts.get("confirmed", 0), None),
                (_("Contracts pending"), contracts.get("pending", 0), None),
                (_("Notices open"), notices.get("open", 0), None),
                (_("Notices confirmed"), notices.get("confirmed", 0), None),
                (_("Findings open"), findings.get("open", 0), None),
                (_("Findings resolved"), findings.get("resolved", 0), None),
                *weight_rows,
            ],
            horizontal=True,
        ),
    ]
    return Dashboard(collective.name, figures, charts)


# --- the county's (or a township's) dashboard


def _leases(today: date, where: Any) -> tuple[int, float]:
    """How many leases are in force on the day, and their area (m²)."""
    count, area = db.session.execute(
        select(func.count(Lease.id), func.coalesce(func.sum(Lease.area_m2), 0.0)).where(
            leasing.in_force_on(today), where
        )
    ).one()
    return int(count or 0), float(area or 0.0)


def _month_starts(today: date) -> list[date]:
    months = []
    year, month = today.year, today.month
    for _i in range(MONTHS):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(months))


def _collectives_of(township_code: str | None) -> Any:
    """The ids of the collectives of a township (its villages' and its own), as a subquery."""
    if township_code is None:
        return None
    villages = select(Division.code).where(Division.parent_code == township_code)
    return select(Collective.id).where(
        (Collective.village_code == township_code) | Collective.village_code.in_(villages)
    )


def county_dashboard(today: date, *, township_code: str | None = None) -> Dashboard:
    """Transactions by step and month, flags and their decisions, and settled persons keeping
    their rights by township (for the bureau and the auditor)."""
    settled = report.county_report(today, township_code=township_code)
    within = _collectives_of(township_code)

    def scoped(q: Any, column: Any) -> Any:
        return q if within is None else q.where(column.in_(within))

    town = {"township": township_code} if township_code else {}
    by_state = dict(
        db.session.execute(
            scoped(
                select(Listing.state, func.count(Listing.id)).group_by(Listing.state),
                Listing.collective_id,
            )
        ).all()
    )
    months = _month_starts(today)
    registered = db.session.execute(
        scoped(
            select(Deal.registered_on).where(
                Deal.registered_on.is_not(None), Deal.registered_on >= months[0]
            ),
            Deal.collective_id,
        )
    ).scalars()
    per_month = {m: 0 for m in months}
    for day in registered:
        per_month[date(day.year, day.month, 1)] += 1
    reviews = db.session.execute(
        scoped(
            select(
                func.count(FlagReview.id),
                func.coalesce(func.sum(case((FlagReview.approved, 1), else_=0)), 0),
                func.coalesce(func.sum(case((FlagReview.interviewed, 1), else_=0)), 0),
            ),
            FlagReview.collective_id,
        )
    ).one()
    decided, approved, interviewed = (int(x or 0) for x in reviews)
    in_review = by_state.get("bureau_review", 0)
    leased = _leases(today, Lease.collective_id.in_(within) if within is not None else true())
    report_url = url_for("oversight.county_report", **town)
    review_url = url_for("market.index", state="bureau_review", **town)
    title = settled.township_name or _("The county")
    figures = [
        Figure(
            _("Settled persons"),
            str(settled.total.settled_persons),
            report_url,
        ),
        Figure(
            _("Kept their contracted land"),
            f"{settled.total.land.kept} / {settled.total.land.held}",
            report_url,
        ),
        Figure(
            _("Kept their homestead"),
            f"{settled.total.homestead.kept} / {settled.total.homestead.held}",
            report_url,
        ),
        Figure(
            _("Kept their shares"),
            f"{settled.total.shares.kept} / {settled.total.shares.held}",
            report_url,
        ),
        Figure(
            _("Open listings"),
            str(sum(n for s, n in by_state.items() if s in states.OPEN)),
            url_for("market.index", **town),
        ),
        Figure(
            _("In review at the bureau"),
            str(in_review),
            review_url,
        ),
        Figure(
            _("Flagged deals decided"),
            str(decided),
            report_url,
            note=_(
                "%(approved)s approved, %(rejected)s rejected; %(interviewed)s after an "
                "interview in person",
                approved=approved,
                rejected=decided - approved,
                interviewed=interviewed,
            ),
        ),
        Figure(
            _("Leases in force"),
            str(leased[0]),
            url_for("lease_ledger.ledger_page", **town),
            note=_("%(mu)s mu leased out", mu=format_mu(leased[1])) if leased[0] else None,
        ),
        Figure(
            _("Villages standing out"),
            str(len(settled.standing_out)),
            report_url,
        ),
    ]
    stage_rows = [
        (states.state_label(s), by_state.get(s, 0), url_for("market.index", state=s, **town))
        for s in states.STATES
    ]
    month_rows = [
        (m.strftime("%Y-%m"), per_month[m], url_for("market.index", state="completed", **town))
        for m in months
    ]
    flag_rows = [
        (_("Approved"), approved, report_url),
        (_("Rejected"), decided - approved, report_url),
        (_("Interviewed in person"), interviewed, report_url),
        (_("In review at the bureau"), in_review, review_url),
    ]
    blocks = settled.townships
    if township_code is None:
        categories = [
            (t.name, url_for("dashboard.county_dashboard", township=t.code)) for t in blocks
        ]
        figures_of = [t.subtotal for t in blocks]
    else:
        village_rows = settled.villages
        categories = [(v.name, report_url) for v in village_rows]
        figures_of = [v.figures for v in village_rows]
    kept = _stacked(
        "kept",
        _("Settled persons keeping their rights")
        + (" · " + _("by township") if township_code is None else " · " + _("by village")),
        categories,
        [
            (_("Settled persons"), [f.settled_persons for f in figures_of]),
            (_("Kept their contracted land"), [f.land.kept for f in figures_of]),
            (_("Kept their homestead"), [f.homestead.kept for f in figures_of]),
            (_("Kept their shares"), [f.shares.kept for f in figures_of]),
        ],
    )
    charts = [
        _bar("stages", _("Transactions by step"), stage_rows, horizontal=True),
        _bar("months", _("Deals registered by month"), month_rows),
        _bar("flags", _("Flags and their decisions"), flag_rows, horizontal=True),
        kept,
    ]
    return Dashboard(title, figures, charts)
