"""Recording, correcting and reading settlement records (落户登记).

Only the settlement officer (hukou desk) writes; the bureau and auditors read; anyone else gets
the same answer as for a person who does not exist. Nothing here reads or writes a right (R12).
Services validate and flush, never commit.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text

from app.audit import trail
from app.auth.models import Role
from app.core.codes import CodeError, validate_id_number
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.registry import inputs
from app.registry.documents import source_document
from app.registry.models import Household, Person, person_household_id
from app.settlement.models import SettlementRecord

CHANNELS = {
    "housing": _l("Purchase of housing"),
    "employment": _l("Employment"),
    "study": _l("Study"),
    "family": _l("Joining family"),
    "other": _l("Other"),
}

#: A record's remark (备注), as the police list gives it: at most this many characters.
NOTE_MAX = 200
#: Control characters and bidirectional overrides: never stored in a remark (they could hide or
#: reorder what the page shows).
_HIDDEN = re.compile(r"[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]+")

WRITERS = {Role.SETTLEMENT_OFFICER}
READERS = {Role.SETTLEMENT_OFFICER, Role.BUREAU_REVIEWER, Role.AUDITOR}


def _role(user: Any) -> Role | None:
    try:
        return Role(user.role)
    except (ValueError, AttributeError):
        return None


def _no_person() -> NotFound:
    return NotFound("person_unknown", _("There is no such person."), field="person_uid")


def _no_record() -> NotFound:
    return NotFound("settlement_unknown", _("No such settlement record."), field="record_id")


#: pg_advisory_xact_lock key held by every settlement write ("SETL").
SETTLEMENT_LOCK_KEY = 0x5345544C


def hold_settlement_writes() -> None:
    """Hold every other settlement write back until this transaction ends.

    A write checks what is recorded (the same person and day recorded once, a record corrected
    once) and then inserts; two writers checking at once (the desk beside a police list's
    promotion, two officers correcting one record) would each miss the other. PostgreSQL: a
    transaction-scoped advisory lock; SQLite: the transaction already holds the database's write
    lock (BEGIN IMMEDIATE). Take it before the transaction's first audited write, as the audit
    chain's own lock comes after it in every writer. Taking it again in the same transaction is
    a no-op."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SETTLEMENT_LOCK_KEY})


def _may_read(user: Any) -> bool:
    return _role(user) in READERS


def _current_person(person_uid: Any) -> Person:
    if not inputs.is_id(person_uid):
        raise _no_person()
    person = db.session.scalar(
        select(Person).where(Person.uid == person_uid, Person.end_lifespan.is_(None))
    )
    if person is None:
        raise _no_person()
    return person


def find_person_by_id_number(user: Any, id_number: Any) -> Person:
    """The person with this resident ID number now; anything else is "no such person" (a
    malformed number included: nothing is guessed, no near match is offered)."""
    if not _may_read(user):
        raise _no_person()
    if not isinstance(id_number, str):
        raise _no_person()
    try:
        cleaned = validate_id_number(id_number.strip().upper())
    except CodeError:
        raise _no_person() from None
    person = db.session.scalar(
        select(Person).where(Person.id_number == cleaned, Person.end_lifespan.is_(None))
    )
    if person is None:
        raise _no_person()
    return person


def _fields(
    person: Person, settled_on: Any, city: Any, district: Any, channel: Any, today: date | None
) -> dict[str, Any]:
    day = inputs.require_date(settled_on, "settled_on")
    if day > inputs.today_or(today):
        raise DomainError(
            "settled_in_future",
            _("The settlement date cannot be in the future."),
            field="settled_on",
        )
    if person.birth_date and day < person.birth_date:
        raise DomainError(
            "settled_before_birth",
            _("The settlement date cannot be before the person was born."),
            field="settled_on",
        )
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise DomainError(
            "channel", _("Choose how the person settled from the list."), field="channel"
        )
    return {
        "settled_on": day,
        "city": inputs.text(city, "city", "name", required=True),
        "district": inputs.text(district, "district", "name", required=True),
        "channel": channel,
    }


def check_note(note: Any) -> str | None:
    """A settlement's remark (备注): plain text, hidden characters made spaces, at most
    ``NOTE_MAX`` characters; None when empty."""
    if note is not None and not isinstance(note, str):
        raise DomainError("text", _("Give this as text."), field="note")
    cleaned = " ".join(_HIDDEN.sub(" ", unicodedata.normalize("NFC", note or "")).split())
    if len(cleaned) > NOTE_MAX:
        raise DomainError(
            "note_too_long",
            _("The remark is at most %(n)s characters.", n=NOTE_MAX),
            field="note",
        )
    return cleaned or None


def check_settlement(
    person: Person, settled_on: Any, city: Any, district: Any, channel: Any, today: date | None
) -> dict[str, Any]:
    """The checks ``record_settlement`` makes of a settlement's fields, for a caller that wants
    to know before writing (the police list's staged report): the fields as they would be
    stored, or the DomainError ``record_settlement`` would raise."""
    return _fields(person, settled_on, city, district, channel, today)


def may_write(user: Any) -> bool:
    """Whether the user records settlements (the hukou desk)."""
    return _role(user) in WRITERS


def citable_collectives(person: Person) -> set[int]:
    """The collectives whose documents a settlement of this person may cite: those the person
    is a member of and that of the household they live in (county-wide documents always)."""
    ids = set(person.scope_collective_ids)
    household_uid = person_household_id(person.uid)
    if household_uid is not None:
        collective_id = db.session.scalar(
            select(Household.collective_id).where(
                Household.uid == household_uid, Household.end_lifespan.is_(None)
            )
        )
        if collective_id is not None:
            ids.add(collective_id)
    return ids


def _write(user: Any, refusal: NotFound | None = None) -> None:
    if _role(user) not in WRITERS:
        raise refusal or _no_person()


def record_settlement(
    user: Any,
    person_uid: Any,
    *,
    settled_on: Any,
    city: Any,
    district: Any,
    channel: Any,
    source_document_id: Any,
    note: Any = None,
    today: date | None = None,
) -> SettlementRecord:
    """落户登记: record that a person settled in town. Touches no right (R12). A person
    already recorded as settled on that day is refused (once is enough). ``note``: the police
    list row's remark (备注), kept with the record (``check_note``)."""
    _write(user)
    hold_settlement_writes()
    person = _current_person(person_uid)
    fields = _fields(person, settled_on, city, district, channel, today)
    if any(r.settled_on == fields["settled_on"] for r in current_settlements([person.uid])):
        raise DomainError(
            "already_recorded",
            _(
                "This person is already recorded as settled on %(day)s.",
                day=fields["settled_on"].isoformat(),
            ),
            field="settled_on",
        )
    remark = check_note(note)
    doc = source_document(source_document_id, citable_collectives(person))
    record = SettlementRecord(
        person_uid=person.uid,
        source_document_id=doc.id,
        note=remark,
        recorded_by=user.username,
        **fields,
    )
    with trail.because("settlement.record", source_sha256=doc.sha256):
        db.session.add(record)
        db.session.flush()
    return record


def _record(record_id: Any) -> SettlementRecord:
    if not inputs.is_id(record_id):
        raise _no_record()
    record = db.session.get(SettlementRecord, record_id)
    if record is None:
        raise _no_record()
    return record


def _is_corrected(record: SettlementRecord) -> bool:
    return (
        db.session.scalar(
            select(SettlementRecord.id).where(SettlementRecord.corrects_id == record.id).limit(1)
        )
        is not None
    )


def correct_settlement(
    user: Any,
    record_id: Any,
    *,
    reason: Any,
    settled_on: Any,
    city: Any,
    district: Any,
    channel: Any,
    source_document_id: Any,
    note: Any = None,
    today: date | None = None,
) -> SettlementRecord:
    """A correction: a new row naming the record it corrects; the old row is kept as it was.

    The police list's remark (备注) is carried to the correction unless ``note`` gives another."""
    _write(user, _no_record())
    hold_settlement_writes()
    old = _record(record_id)
    if _is_corrected(old):
        raise DomainError(
            "already_corrected",
            _("This record has already been corrected; correct the latest version."),
            field="record_id",
        )
    reason = inputs.require_reason(reason)
    person = _current_person(old.person_uid)
    fields = _fields(person, settled_on, city, district, channel, today)
    remark = old.note if note is None else check_note(note)
    doc = source_document(source_document_id, citable_collectives(person))
    record = SettlementRecord(
        person_uid=person.uid,
        source_document_id=doc.id,
        corrects_id=old.id,
        reason=reason,
        recorded_by=user.username,
        note=remark,
        **fields,
    )
    with trail.because("settlement.correct", reason=reason, source_sha256=doc.sha256):
        db.session.add(record)
        db.session.flush()
    return record


def current_settlements(person_uids: list[int]) -> list[SettlementRecord]:
    """The records in force (no later row corrects them) of these persons, oldest day first.
    No scope check: for the R14 flagger and the services above."""
    if not person_uids:
        return []
    corrected = select(SettlementRecord.corrects_id).where(
        SettlementRecord.corrects_id.is_not(None)
    )
    return list(
        db.session.scalars(
            select(SettlementRecord)
            .where(
                SettlementRecord.person_uid.in_(person_uids),
                SettlementRecord.id.not_in(corrected),
            )
            .order_by(SettlementRecord.settled_on, SettlementRecord.id)
        )
    )


def settlements_of(
    user: Any, person_uid: Any, *, with_history: bool = False
) -> list[SettlementRecord]:
    """A person's settlement records in force (or every row, corrected ones included)."""
    if not _may_read(user):
        raise _no_person()
    person = _current_person(person_uid)
    if not with_history:
        return current_settlements([person.uid])
    return list(
        db.session.scalars(
            select(SettlementRecord)
            .where(SettlementRecord.person_uid == person.uid)
            .order_by(SettlementRecord.id)
        )
    )


def settlement(user: Any, record_id: Any) -> SettlementRecord:
    """One record, for the readers."""
    if not _may_read(user):
        raise _no_record()
    return _record(record_id)


def settlements_for(
    user: Any,
    *,
    person_uid: Any = None,
    id_number: Any = None,
    with_history: bool = False,
) -> tuple[Person, list[SettlementRecord]]:
    """The person (named by uid or by ID number) and their settlement records, for the desk
    and the API: one call."""
    if id_number not in (None, ""):
        person = find_person_by_id_number(user, id_number)
    else:
        if not _may_read(user):
            raise _no_person()
        person = _current_person(person_uid)
    return person, settlements_of(user, person.uid, with_history=with_history)
