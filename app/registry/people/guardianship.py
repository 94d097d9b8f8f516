"""Minors and guardians (监护人, 民法典 Arts. 17–28), and who may act or consent for someone
(``consenting_person``, ``farmer_can_act_for``, R13)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from app.auth.models import Role
from app.core.errors import DomainError
from app.extensions import db
from app.registry import history
from app.registry.inputs import require_reason as _reason
from app.registry.inputs import today_or as _today
from app.registry.models import (
    Guardianship,
    HouseholdMember,
    Person,
)
from app.registry.people._common import (
    _as_date,
    _current,
    _end_date,
    _is_uid,
    _person,
    _source_sha,
    _writing,
)

ADULT_AGE = 18


def age_on(person: Person, day: date) -> int:
    """Completed years of age on ``day`` (a birthday counts on the day itself)."""
    years = day.year - person.birth_date.year
    if (day.month, day.day) < (person.birth_date.month, person.birth_date.day):
        years -= 1
    return years


def is_minor(person: Person, day: date) -> bool:
    """Under 18 on the day (民法典 Art. 17)."""
    return age_on(person, day) < ADULT_AGE


def appoint_guardian(
    ward_uid: int,
    guardian_uid: int,
    since: date | str,
    reason: str,
    *,
    source_document_id: int | None = None,
    today: date | None = None,
) -> Guardianship:
    """Record the guardian (监护人) of a minor, from ``since`` (民法典 Arts. 27–28).

    The ward is under 18 on that day and alive; the guardian is another living person who is
    an adult on that day. A minor may have more than one guardian (both parents)."""
    reason = _reason(reason)
    ward = _person(ward_uid, lock=True)
    guardian = None
    if _is_uid(guardian_uid):
        guardian = history.current_of(Person, guardian_uid)
    if guardian is None or guardian.uid == ward.uid:
        raise DomainError(
            "guardian_unknown", _("Choose another person as guardian."), field="guardian_uid"
        )
    since_d = _as_date(since, "since")
    if since_d is None or since_d > _today(today) or since_d < ward.birth_date:
        raise DomainError(
            "since_range",
            _("The guardianship begins between the birth date and today."),
            field="since",
        )
    if ward.died_on is not None or guardian.died_on is not None:
        raise DomainError("dead", _("The death of one of them is recorded."), field="guardian_uid")
    if not is_minor(ward, since_d):
        raise DomainError(
            "not_minor",
            _("%(name)s is 18 or older on that day and needs no guardian.", name=ward.name),
            field="since",
        )
    if is_minor(guardian, since_d):
        raise DomainError(
            "guardian_minor",
            _("A guardian must be 18 or older."),
            field="guardian_uid",
        )
    if db.session.scalar(
        select(Guardianship.id).where(
            Guardianship.ward_uid == ward.uid,
            Guardianship.guardian_uid == guardian.uid,
            Guardianship.end_lifespan.is_(None),
        )
    ):
        raise DomainError(
            "guardian_already",
            _("%(name)s is this person's guardian already.", name=guardian.name),
            field="guardian_uid",
        )
    collective_ids = sorted(ward.scope_collective_ids)
    if not collective_ids:
        raise DomainError(
            "person_unknown",
            _("There is no such member of this collective: admit the person as a member first."),
            field="ward_uid",
        )
    sha = _source_sha(source_document_id, collective_ids)
    with _writing("person.guardian", reason=reason, source_sha256=sha):
        return history.create(
            Guardianship,
            reason=reason,
            source_document_id=source_document_id,
            ward_uid=ward.uid,
            guardian_uid=guardian.uid,
            collective_id=collective_ids[0],
            since=since_d,
        )


def end_guardianship(
    guardianship_uid: int,
    until: date | str,
    reason: str,
    *,
    source_document_id: int | None = None,
    today: date | None = None,
) -> Guardianship:
    """A guardianship ends (a court's decision, another guardian appointed): until that day."""
    reason = _reason(reason)
    row = _current(
        Guardianship,
        guardianship_uid,
        lock=True,
        code="guardianship_unknown",
        message=_("There is no such guardianship."),
        field="guardianship_uid",
    )
    until_d = _end_date(
        until,
        row.since,
        today,
        _("The end date lies between the start of the guardianship and today."),
    )
    sha = _source_sha(source_document_id, row.collective_id)
    with _writing("person.guardian_end", reason=reason, source_sha256=sha):
        return history.end(row, reason=reason, source_document_id=source_document_id, until=until_d)


def guardians_of(ward_uid: int, day: date | None = None) -> list[tuple[Guardianship, Person]]:
    """The ward's guardians on ``day`` (all recorded ones, open and ended, when no day is given),
    earliest appointed first."""
    q = (
        select(Guardianship, Person)
        .join(Person, and_(Person.uid == Guardianship.guardian_uid, Person.end_lifespan.is_(None)))
        .where(
            Guardianship.ward_uid == ward_uid,
            # an ended guardianship is its one row with ``until`` set
            or_(Guardianship.end_lifespan.is_(None), Guardianship.until.is_not(None)),
        )
        .order_by(Guardianship.since, Guardianship.uid)
    )
    if day is not None:
        q = q.where(
            Guardianship.since <= day,
            or_(Guardianship.until.is_(None), Guardianship.until >= day),
        )
    return [(g, p) for g, p in db.session.execute(q).all()]


def consenting_person(person_uid: int, day: date | None = None) -> Person:
    """Who gives consent for the person on ``day`` (R13, the marketplace asks this): the
    person themself when 18 or older, otherwise their guardian (民法典 Arts. 19–20, 27).

    Refused for a person whose death is recorded, and for a minor with no guardian on the day.
    """
    day = _today(day)
    person = _person(person_uid)
    if person.died_on is not None and person.died_on <= day:
        raise DomainError(
            "dead",
            _("The death of %(name)s is recorded: their heirs act for them.", name=person.name),
            field="person_uid",
        )
    if not is_minor(person, day):
        return person
    for _g, guardian in guardians_of(person.uid, day):
        if guardian.died_on is None and not is_minor(guardian, day):
            return guardian
    raise DomainError(
        "guardian_missing",
        _(
            "%(name)s is under 18 and has no guardian recorded: record the guardian first.",
            name=person.name,
        ),
        field="person_uid",
    )


def farmer_can_act_for(user: Any, household_uid: int) -> bool:
    """Whether a farmer's account may act for the household (declare, list, consent, R13).

    Only the person's own account, and only while that person lives in the household and is a
    co-holder of its rights; staff never act through this.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role != Role.FARMER or user.person_uid is None:
        return False
    return (
        db.session.scalar(
            select(HouseholdMember.id).where(
                HouseholdMember.household_uid == household_uid,
                HouseholdMember.person_uid == user.person_uid,
                HouseholdMember.end_lifespan.is_(None),
                HouseholdMember.moved_out_on.is_(None),
                HouseholdMember.is_co_holder.is_(True),
            )
        )
        is not None
    )
