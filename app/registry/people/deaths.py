"""Life events that end a life or a household: a person's death, and a household dying out
(户消亡) with what becomes of its rights (``succession``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select

from app.core.errors import DomainError
from app.extensions import db
from app.registry import history
from app.registry.documents import citable_document, source_document
from app.registry.inputs import require_reason as _reason
from app.registry.inputs import today_or as _today
from app.registry.models import (
    Guardianship,
    Household,
    HouseholdMember,
    Membership,
    Person,
    ShareHolding,
    SourceDocument,
)
from app.registry.people._common import (
    HEAD,
    _as_date,
    _collective,
    _household,
    _person,
    _residents,
    _writing,
    resident_row,
)
from app.registry.people.succession import (
    _continuing,
    _die_out,
    _heir_household,
    _heir_person,
    _pass_shares,
)


def _death_record(source_document_id: Any, collective_ids: Iterable[int]) -> SourceDocument:
    doc = citable_document(source_document_id, collective_ids)
    if doc is None:
        raise DomainError(
            "death_record_required",
            _("Cite the death record (a death certificate or the hukou cancellation)."),
            field="source_document_id",
        )
    return doc


def dissolve_household(
    household_uid: int,
    on: date | str,
    reason: str,
    *,
    source_document_id: int,
    income_heir_person_uid: int | None = None,
    continuing_household_uid: int | None = None,
    heir_household_uid: int | None = None,
    today: date | None = None,
) -> Household:
    """户消亡: a household whose last member died or left ends, and so do its rights.

    - The contract income is inherited (承包法 Art. 32: 承包收益可继承): recorded, with the heir.
    - The household contract itself is not inherited: it ends and its plots return to the
      collective with no household, unless the household of one of its co-holders continues it
      by law (Arts. 31–32, R01), which then holds the plots in its own contract.
    - Household shares go as the collective's charter says (生不增、死不减): to the heir household
      (the continuing household unless another is named) or back to the collective (R10).
    - The homestead is inherited with the house: noted for its own page (R08).
    """
    reason = _reason(reason)
    household = _household(household_uid, lock=True)
    day = _as_date(on, "on")
    if day is None or day > _today(today):
        raise DomainError("on", _("Give a date that is not in the future."), field="on")
    if _residents(household.uid):
        raise DomainError(
            "household_alive",
            _("People still live in this household: it has not died out."),
            field="household_uid",
        )
    doc = source_document(source_document_id, household.collective_id)
    continuing = _continuing(household, continuing_household_uid)
    heir = _heir_household(heir_household_uid, household.collective_id)
    income_heir = _heir_person(income_heir_person_uid)
    with _writing("household.die_out", reason=reason, source_sha256=doc.sha256):
        return _die_out(
            household,
            day,
            reason=reason,
            doc_id=doc.id,
            deceased_uid=None,
            income_heir_person_uid=income_heir,
            continuing_household=continuing,
            heir_household=heir,
        )


def record_death(
    person_uid: int,
    died_on: date | str,
    reason: str,
    *,
    source_document_id: int,
    heir_household_uid: int | None = None,
    income_heir_person_uid: int | None = None,
    continuing_household_uid: int | None = None,
    new_head_person_uid: int | None = None,
    today: date | None = None,
) -> Person:
    """A person's death (date, death record) as a new version of the person.

    - Their memberships end (集体经济组织法 Art. 17, reason death), and so does their place in
      every household, co-holding included (R01).
    - A surviving spouse keeps everything (承包法 Art. 31, widowhood): no one else's row changes.
    - Shares they held personally go as the collective's charter says (生不增、死不减, R10): to
      the heir household (default: the household they lived in, if it goes on) or back to the
      collective.
    - If they were the head, ``new_head_person_uid`` (someone else living there) becomes head.
    - If they were the last person living in their household, it dies out (户消亡) with the same
      document: see ``dissolve_household`` for what becomes of its rights (承包法 Art. 32: 承包收益
      可继承; the contract is not).
    """
    reason = _reason(reason)
    person = _person(person_uid, lock=True)
    if person.died_on is not None:
        raise DomainError(
            "already_dead",
            _("The death of %(name)s is recorded already.", name=person.name),
            field="person_uid",
        )
    day = _as_date(died_on, "died_on")
    if day is None or day > _today(today) or day < person.birth_date:
        raise DomainError(
            "died_on",
            _("The date of death lies between the birth date and today."),
            field="died_on",
        )
    collectives = person.scope_collective_ids
    doc = _death_record(source_document_id, collectives)
    home = resident_row(person.uid)
    home_household = _household(home.household_uid, lock=True) if home is not None else None
    survivors = (
        [r for r in _residents(home_household.uid) if r.person_uid != person.uid]
        if home_household is not None
        else []
    )
    dies_out = home_household is not None and not survivors
    new_head = None
    if new_head_person_uid not in (None, "", 0):
        new_head = next((r for r in survivors if r.person_uid == new_head_person_uid), None)
        if new_head is None or home is None or home.relation != HEAD:
            raise DomainError(
                "new_head",
                _("The new head must be someone who lives in the household of the deceased head."),
                field="new_head_person_uid",
            )
    heir_collective = home_household.collective_id if home_household is not None else None
    memberships = list(
        db.session.scalars(
            select(Membership).where(
                Membership.person_uid == person.uid, Membership.end_lifespan.is_(None)
            )
        )
    )
    if heir_collective is None and memberships:
        heir_collective = memberships[0].collective_id
    heir = (
        _heir_household(heir_household_uid, heir_collective)
        if heir_collective is not None
        else None
    )
    continuing = (
        _continuing(home_household, continuing_household_uid)
        if dies_out and home_household is not None
        else None
    )
    income_heir = _heir_person(income_heir_person_uid)
    own_holdings = list(
        db.session.scalars(
            select(ShareHolding).where(
                ShareHolding.person_uid == person.uid, ShareHolding.end_lifespan.is_(None)
            )
        )
    )
    with _writing("person.death", reason=reason, source_sha256=doc.sha256):
        # in law from the day of death (never before the version it changes: natural_date)
        dead = history.revise(
            person,
            reason=reason,
            source_document_id=doc.id,
            effective_on=history.natural_date(day, person),
            died_on=day,
        )
        for m in memberships:
            history.end(
                m,
                reason=reason,
                source_document_id=doc.id,
                effective_on=history.natural_date(day, m),
                until=max(day, m.since),
                end_reason="death",
            )
        for row in db.session.scalars(
            select(HouseholdMember).where(
                HouseholdMember.person_uid == person.uid, HouseholdMember.end_lifespan.is_(None)
            )
        ).all():
            history.end(row, reason=reason, source_document_id=doc.id, end_reason="death")
        if new_head is not None:
            history.revise(new_head, reason=reason, source_document_id=doc.id, relation=HEAD)
        for g in db.session.scalars(
            select(Guardianship).where(
                or_(Guardianship.ward_uid == person.uid, Guardianship.guardian_uid == person.uid),
                Guardianship.end_lifespan.is_(None),
            )
        ).all():
            history.end(g, reason=reason, source_document_id=doc.id, until=max(day, g.since))
        by_collective: dict[int, list[ShareHolding]] = {}
        for holding in own_holdings:
            by_collective.setdefault(holding.collective_id, []).append(holding)
        for collective_id, holdings in by_collective.items():
            target = heir or (continuing if dies_out else None)
            if target is None and home_household is not None and not dies_out:
                target = home_household
            if target is not None and target.collective_id != collective_id:
                target = None
            _pass_shares(
                holdings,
                _collective(collective_id),
                target.uid if target is not None else None,
                day=day,
                reason=reason,
                doc_id=doc.id,
                deceased_uid=person.uid,
            )
        if dies_out and home_household is not None:
            _die_out(
                home_household,
                day,
                reason=reason,
                doc_id=doc.id,
                deceased_uid=person.uid,
                income_heir_person_uid=income_heir,
                continuing_household=continuing,
                heir_household=heir,
            )
    return dead
