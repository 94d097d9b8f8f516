"""Geometry findings: deciding one, their labels, and reading them by plot or collective."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from app.audit import trail
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.registry.inputs import require_reason as _reason
from app.registry.land.common import _uid
from app.registry.models import GeometryFinding, Plot

#: Finding states: open -> accepted (an accepted exception) | resolved.
FINDING_STATES = ("open", "accepted", "resolved")
DECISIONS = ("accepted", "resolved")


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


def finding_state_label(finding: GeometryFinding) -> str:
    labels = {"open": _("open"), "accepted": _("accepted exception"), "resolved": _("resolved")}
    return labels.get(finding.state, finding.state)


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
