"""Overlap findings: one plot geometry write at a time, and each overlap with another current
plot recorded as a finding to review (flag, don't block).
"""

from __future__ import annotations

from flask_babel import gettext as _
from shapely.geometry import MultiPolygon
from sqlalchemy import or_, select

from app.audit import trail
from app.extensions import db
from app.registry.land.common import tolerance_m2
from app.registry.models import GeometryFinding, Plot
from app.registry.spatial_checks import hold_geometry_writes, max_hits, overlapping_plots


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
