"""Checks and look-ups the people services share: the audit context of a write, the cited
document's hash, the current person, household and membership, dates and relations.

No rule of its own lives here; each rule is in the module of the service that enforces it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit import trail
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history
from app.registry.documents import citable_document
from app.registry.inputs import today_or as _today
from app.registry.models import (
    RELATIONS,
    Household,
    HouseholdMember,
    Membership,
    Person,
)
from app.registry.versioning import Versioned

V = TypeVar("V", bound=Versioned)

HEAD = "02"  # 户主: relation code of the household's head (GB/T 4761)


@contextmanager
def _writing(event: str, *, reason: str, source_sha256: str | None) -> Iterator[None]:
    """Audit context for the writes; a unique index that a concurrent writer beat us to (one
    current person per ID number, one open membership, one household per person, one current
    CBFBM) becomes a clear refusal instead of a server error."""
    with trail.because(event, reason=reason, source_sha256=source_sha256):
        try:
            yield
        except IntegrityError:
            raise DomainError(
                "conflict",
                _("This was changed at the same time by someone else. Reload and try again."),
            ) from None


def _source_sha(
    source_document_id: int | None, collective_ids: int | Iterable[int] | None
) -> str | None:
    """The cited document's hash for the audit entry (``documents.citable_document``)."""
    doc = citable_document(source_document_id, collective_ids)
    return doc.sha256 if doc is not None else None


def _collective(collective_id: int) -> Collective:
    obj = db.session.get(Collective, collective_id)
    if obj is None:
        raise DomainError(
            "collective_unknown", _("There is no such collective."), field="collective_id"
        )
    return obj


def _current(model: type[V], uid: int, *, lock: bool, code: str, message: str, field: str) -> V:
    """The current version of a registry object, or a refusal naming the field (the look-up
    every service starts with: no current version is the same answer as no such object)."""
    obj = history.current_of(model, uid, lock=lock)
    if obj is None:
        raise DomainError(code, message, field=field)
    return obj


def _person(person_uid: int, *, lock: bool = False) -> Person:
    return _current(
        Person,
        person_uid,
        lock=lock,
        code="person_unknown",
        message=_("There is no such person."),
        field="person_uid",
    )


def _household(household_uid: int, *, lock: bool = False) -> Household:
    return _current(
        Household,
        household_uid,
        lock=lock,
        code="household_unknown",
        message=_("There is no such household."),
        field="household_uid",
    )


def _as_date(value: Any, field_name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise DomainError("date", _("Give the date as YYYY-MM-DD."), field=field_name)


def _end_date(until: Any, since: date, today: date | None, message: str) -> date:
    """The day a membership or guardianship ends: given, not before it began, not in the future."""
    until_d = _as_date(until, "until")
    if until_d is None or until_d < since or until_d > _today(today):
        raise DomainError("until_range", message, field="until")
    return until_d


def open_membership(person_uid: int, collective_id: int) -> Membership | None:
    """The person's open membership of the collective, if any."""
    return db.session.scalar(
        select(Membership).where(
            Membership.person_uid == person_uid,
            Membership.collective_id == collective_id,
            Membership.end_lifespan.is_(None),
        )
    )


def resident_row(person_uid: int) -> HouseholdMember | None:
    """The person's row in the household they live in now (not a kept co-holding)."""
    return db.session.scalar(
        select(HouseholdMember).where(
            HouseholdMember.person_uid == person_uid,
            HouseholdMember.end_lifespan.is_(None),
            HouseholdMember.moved_out_on.is_(None),
        )
    )


def _member_row(household_uid: int, person_uid: int) -> HouseholdMember | None:
    return db.session.scalar(
        select(HouseholdMember).where(
            HouseholdMember.household_uid == household_uid,
            HouseholdMember.person_uid == person_uid,
            HouseholdMember.end_lifespan.is_(None),
        )
    )


def _live_in(
    household: Household,
    person_uid: int,
    relation: str,
    is_co_holder: bool,
    *,
    kept: HouseholdMember | None,
    reason: str,
    source_document_id: int | None,
    effective_on: date | None = None,
) -> HouseholdMember:
    """The person lives in the household from now on, with ``relation`` to its head.

    ``kept`` is their row there, if they once moved out and kept co-holding its rights (承包法
    Art. 31): they live there again on that row, and a co-holder stays one. Otherwise a new row.
    """
    if kept is not None:
        return history.revise(
            kept,
            reason=reason,
            source_document_id=source_document_id,
            effective_on=effective_on,
            moved_out_on=None,
            relation=relation,
            is_co_holder=bool(is_co_holder) or kept.is_co_holder,
        )
    return history.create(
        HouseholdMember,
        reason=reason,
        source_document_id=source_document_id,
        effective_on=effective_on,
        household_uid=household.uid,
        person_uid=person_uid,
        collective_id=household.collective_id,
        relation=relation,
        is_co_holder=bool(is_co_holder),
    )


def _member_of(person_uid: Any, collective_id: int, *, field: str = "person_uid") -> Person:
    """R01: the person, who must be a current member of the collective (everyone in a holder
    household is a member of the 发包方's collective).

    A person who does not exist and one who is not a member here (of another collective, say)
    get the same answer, naming nobody: what other collectives' rolls hold does not leak.
    """
    person = None
    if isinstance(person_uid, int) and not isinstance(person_uid, bool) and 0 < person_uid < 2**31:
        person = history.current_of(Person, person_uid)
    if person is None or open_membership(person.uid, collective_id) is None:
        raise DomainError(
            "person_unknown",
            _("There is no such member of this collective: admit the person as a member first."),
            field=field,
            rule="R01",
        )
    return person


def _require_no_household(person: Person) -> None:
    if resident_row(person.uid) is not None:
        raise DomainError(
            "in_household",
            _("%(name)s belongs to a household already.", name=person.name),
            field="person_uid",
        )


def _require_not_head(row: HouseholdMember, field: str) -> None:
    """A household always has a head living in it: the head moves out (on a move or a split)
    only after another member has become head."""
    if row.relation == HEAD:
        raise DomainError(
            "head_moves",
            _("The head of a household cannot move out before another member becomes head."),
            field=field,
        )


def _relation(relation: str | None) -> str:
    relation = (relation or "").strip()
    if relation not in RELATIONS:
        raise DomainError(
            "relation", _("Choose the relation to the head of household."), field="relation"
        )
    return relation


def _is_uid(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31


def _same_collective_household(household_uid: Any, collective_id: int, field: str) -> Household:
    """A current household of the collective; any other number gets the same answer."""
    household = None
    if _is_uid(household_uid):
        household = history.current_of(Household, household_uid, lock=True)
    if household is None or household.collective_id != collective_id:
        raise DomainError(
            "household_unknown", _("There is no such household in this collective."), field=field
        )
    return household


def _residents(household_uid: int) -> list[HouseholdMember]:
    return list(
        db.session.scalars(
            select(HouseholdMember)
            .where(
                HouseholdMember.household_uid == household_uid,
                HouseholdMember.end_lifespan.is_(None),
                HouseholdMember.moved_out_on.is_(None),
            )
            .order_by(HouseholdMember.relation, HouseholdMember.person_uid)
        )
    )


def _kept_rows(household_uid: int) -> list[HouseholdMember]:
    """Rows of persons who moved out but kept co-holding this household's rights (Art. 31)."""
    return list(
        db.session.scalars(
            select(HouseholdMember)
            .where(
                HouseholdMember.household_uid == household_uid,
                HouseholdMember.end_lifespan.is_(None),
                HouseholdMember.moved_out_on.is_not(None),
            )
            .order_by(HouseholdMember.person_uid)
        )
    )
