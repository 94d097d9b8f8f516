"""Memberships of a collective (成员资格, 集体经济组织法 Arts. 11–18): admitting and ending one."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError
from app.registry import history
from app.registry.inputs import require_reason as _reason
from app.registry.inputs import today_or as _today
from app.registry.models import (
    Membership,
    MembershipBasis,
)
from app.registry.people._common import (
    _as_date,
    _collective,
    _current,
    _end_date,
    _person,
    _source_sha,
    _writing,
    open_membership,
)

BASES = {
    MembershipBasis.BIRTH.value: _l("Birth"),
    MembershipBasis.MARRIAGE.value: _l("Marriage"),
    MembershipBasis.ADOPTION.value: _l("Adoption"),
    MembershipBasis.ALLOCATION.value: _l("Allocation"),
    MembershipBasis.RESOLUTION.value: _l("Resolution"),
}


# Ways a membership ends (集体经济组织法 Art. 17). Settling in town is NOT one of them (Art. 18).
END_REASONS = {
    "death": _l("Death"),
    "nationality": _l("Lost Chinese nationality"),
    "other_collective": _l("Became a member of another collective"),
    "civil_servant": _l("Became a civil servant"),
    "renounced": _l("Gave up membership in writing"),
    "charter": _l("Other case named in the charter"),
}


def admit_member(
    person_uid: int,
    collective_id: int,
    since: date | str,
    basis: str,
    reason: str,
    *,
    source_document_id: int | None = None,
    today: date | None = None,
) -> Membership:
    """Admit a person as a member of a collective (成员资格, 集体经济组织法 Arts. 11–12).

    A person may not hold two open memberships of the same collective; the date cannot lie in the
    future or before the person's birth.
    """
    reason = _reason(reason)
    collective = _collective(collective_id)
    person = _person(person_uid)
    since_d = _as_date(since, "since")
    if since_d is None:
        raise DomainError("since", _("Give the date the membership began."), field="since")
    if since_d > _today(today) or since_d < person.birth_date:
        raise DomainError(
            "since_range",
            _("The membership cannot begin before birth or in the future."),
            field="since",
        )
    if basis not in BASES:
        raise DomainError("basis", _("Choose the basis of the membership."), field="basis")
    if open_membership(person.uid, collective.id) is not None:
        raise DomainError(
            "member_already",
            _("%(name)s is a member of this collective already.", name=person.name),
            field="person_uid",
        )
    sha = _source_sha(source_document_id, collective.id)
    with _writing("membership.admit", reason=reason, source_sha256=sha):
        return history.create(
            Membership,
            reason=reason,
            source_document_id=source_document_id,
            effective_on=history.natural_date(since_d),
            person_uid=person.uid,
            collective_id=collective.id,
            since=since_d,
            basis=basis,
        )


def end_membership(
    membership_uid: int,
    until: date | str,
    end_reason: str,
    reason: str,
    *,
    source_document_id: int | None = None,
    today: date | None = None,
) -> Membership:
    """End a membership for one of the reasons of 集体经济组织法 Art. 17 (``END_REASONS``).

    Settling in town is not among them (Art. 18, R12), and no code path ends a membership because
    of a hukou change. The person's rights in households are left as they are: ending a membership
    is not a way to take land back (R06).
    """
    reason = _reason(reason)
    membership = _current(
        Membership,
        membership_uid,
        lock=True,
        code="membership_unknown",
        message=_("There is no such open membership."),
        field="membership_uid",
    )
    until_d = _end_date(
        until,
        membership.since,
        today,
        _("The end date lies between the start of the membership and today."),
    )
    if end_reason not in END_REASONS:
        raise DomainError(
            "end_reason",
            _("Choose why the membership ends. Settling in town is not a reason."),
            field="end_reason",
        )
    sha = _source_sha(source_document_id, membership.collective_id)
    with _writing("membership.end", reason=reason, source_sha256=sha):
        return history.end(
            membership,
            reason=reason,
            source_document_id=source_document_id,
            effective_on=history.natural_date(until_d, membership),
            until=until_d,
            end_reason=end_reason,
        )
