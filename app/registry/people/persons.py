"""Persons (DOMAIN §3 Person): registering and correcting a natural person, hukou in plain words."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.codes import (
    CodeError,
    id_birth_date,
    id_sex,
    validate_id_number,
)
from app.core.errors import DomainError
from app.extensions import db
from app.registry import history, inputs
from app.registry.inputs import require_reason as _reason
from app.registry.models import (
    HukouKind,
    HukouType,
    Person,
)
from app.registry.people._common import (
    _as_date,
    _person,
    _source_sha,
    _writing,
)

SEXES = {"M": _l("Male"), "F": _l("Female")}


# Where the hukou is registered (the rural/urban character; other code reads ``hukou_type``).
HUKOU_TYPES = {
    HukouType.RURAL.value: _l("Countryside (rural)"),
    HukouType.URBAN.value: _l("Town (urban)"),
}


# The kind of hukou: one since the 2014 reform (国发〔2014〕25号).
HUKOU_KINDS = {HukouKind.RESIDENT.value: _l("Resident hukou")}


# The agricultural / non-agricultural label of before 2014, kept as a fact of the past.
HUKOU_ORIGINS = {
    "agricultural": _l("Agricultural hukou before 2014"),
    "non_agricultural": _l("Non-agricultural hukou before 2014"),
}


PERSON_FIELDS = (
    "name",
    "id_number",
    "sex",
    "birth_date",
    "hukou_type",
    "hukou_place",
    "phone",
    "hukou_kind",
    "hukou_origin",
)


_PHONE = re.compile(r"^[0-9+\- ]{3,32}$")


def hukou_label(person: Person) -> str:
    """The hukou in plain words, e.g. 居民户口（城镇）: the kind, then where it is registered."""
    kind = HUKOU_KINDS.get(person.hukou_kind or HukouKind.RESIDENT.value)
    place = {
        HukouType.RURAL.value: _l("countryside"),
        HukouType.URBAN.value: _l("town"),
    }.get(person.hukou_type)
    kind_text = str(kind) if kind is not None else (person.hukou_kind or "")
    if place is None:
        return kind_text
    return _("%(kind)s (%(place)s)", kind=kind_text, place=str(place))


def _check_person_fields(
    fields: dict[str, Any], *, today: date | None, exclude_uid: int | None = None
) -> dict[str, Any]:
    """Normalise person fields; sex and birth date come from the ID number and must agree."""
    out = dict(fields)
    if "name" in out:
        name = inputs.text(out["name"] if isinstance(out["name"], str) else "", "name", "name")
        if not name:
            raise DomainError("name", _("Give the person's name."), field="name")
        out["name"] = name
    if "id_number" in out:
        raw = out["id_number"]
        if not isinstance(raw, str):
            raw = ""
        try:
            number = validate_id_number(raw, today=today)
        except CodeError as exc:
            raise DomainError.from_check(exc, field="id_number") from None
        out["id_number"] = number
        derived_sex, derived_birth = id_sex(number), id_birth_date(number, today=today)
        sex = out.get("sex")
        if sex not in (None, ""):
            if sex not in SEXES:
                raise DomainError("sex", _("Sex is M or F."), field="sex")
            if sex != derived_sex:
                raise DomainError(
                    "sex_mismatch",
                    _("The sex does not match the ID number (its 17th digit)."),
                    field="sex",
                )
        birth = _as_date(out.get("birth_date"), "birth_date")
        if birth is not None and birth != derived_birth:
            raise DomainError(
                "birth_mismatch",
                _("The birth date does not match the ID number (its 7th to 14th digits)."),
                field="birth_date",
            )
        out["sex"], out["birth_date"] = derived_sex, derived_birth
        taken = select(Person.uid).where(Person.id_number == number, Person.end_lifespan.is_(None))
        if exclude_uid is not None:
            taken = taken.where(Person.uid != exclude_uid)
        if db.session.scalar(taken) is not None:
            # The same answer whether the holder is on this collective's roll or another's (or
            # on none): no name, collective or link, only "see your roll or ask the county".
            raise DomainError(
                "id_number_taken",
                _(
                    "This ID number cannot be registered again. If the person is on your roll, "
                    "search for them there; otherwise the county agriculture bureau can check "
                    "the record."
                ),
                field="id_number",
            )
    elif "sex" in out or "birth_date" in out:
        # Without a new ID number, sex and birth date cannot drift from the stored one.
        raise DomainError(
            "derived_field",
            _("Sex and birth date come from the ID number: correct the ID number instead."),
            field="sex" if "sex" in out else "birth_date",
        )
    if "hukou_type" in out:
        if out["hukou_type"] not in HUKOU_TYPES:
            raise DomainError(
                "hukou_type",
                _("Choose where the hukou is registered: countryside or town."),
                field="hukou_type",
            )
        out["hukou_type"] = str(out["hukou_type"])
    if "hukou_kind" in out:
        if out["hukou_kind"] in (None, ""):
            out["hukou_kind"] = HukouKind.RESIDENT.value
        if out["hukou_kind"] not in HUKOU_KINDS:
            raise DomainError(
                "hukou_kind", _("Since 2014 every hukou is a resident hukou."), field="hukou_kind"
            )
    if "hukou_origin" in out:
        if out["hukou_origin"] in (None, ""):
            out["hukou_origin"] = None
        elif out["hukou_origin"] not in HUKOU_ORIGINS:
            raise DomainError(
                "hukou_origin",
                _("Choose the hukou's label before 2014: agricultural or non-agricultural."),
                field="hukou_origin",
            )
    if "hukou_place" in out:
        place = out["hukou_place"] if isinstance(out["hukou_place"], str) else None
        out["hukou_place"] = inputs.text(place, "hukou_place", "place")
    if "phone" in out:
        phone = (out["phone"] or "").strip() if isinstance(out["phone"], str) else ""
        if phone and not _PHONE.match(phone):
            raise DomainError(
                "phone", _("The phone number may hold digits, +, - and spaces."), field="phone"
            )
        out["phone"] = phone or None
    return out


def register_person(
    name: str,
    id_number: str,
    sex: str | None = None,
    birth_date: date | str | None = None,
    hukou_type: str = HukouType.RURAL.value,
    hukou_place: str | None = None,
    phone: str | None = None,
    *,
    source_document_id: int | None = None,
    collective_id: int | None = None,
    reason: str,
    today: date | None = None,
    hukou_origin: str | None = None,
) -> Person:
    """Register a natural person (DOMAIN §3 Person).

    ``collective_id`` is the collective registering them (the one they are admitted to): a cited
    document must be its own or a county-wide one.

    The ID number must pass GB 11643 (length, region, birth date, check digit); sex and birth date
    are derived from it, and if given they must agree. One current person per ID number: a second
    registration would split one person's rights across two records.
    """
    reason = _reason(reason)
    fields = _check_person_fields(
        {
            "name": name,
            "id_number": id_number,
            "sex": sex,
            "birth_date": birth_date,
            "hukou_type": hukou_type or HukouType.RURAL.value,
            "hukou_place": hukou_place,
            "phone": phone,
            "hukou_origin": hukou_origin,
        },
        today=today,
    )
    sha = _source_sha(source_document_id, collective_id)
    with _writing("person.register", reason=reason, source_sha256=sha):
        # Legal time: the day of registration, not the birth date, which the history would show
        # to readers who see the ID number masked. Memberships carry the dates that matter.
        return history.create(
            Person, reason=reason, source_document_id=source_document_id, **fields
        )


def update_person(
    uid: int,
    reason: str,
    *,
    source_document_id: int | None = None,
    today: date | None = None,
    **changes: Any,
) -> Person:
    """Correct or update a person's data as a new version (history, never overwrite).

    R12: a hukou change (e.g. to urban on settling in town) is just a new version of the person;
    it deliberately touches no membership, household membership or right.
    """
    reason = _reason(reason)
    unknown = set(changes) - set(PERSON_FIELDS)
    if unknown:
        raise DomainError(
            "field", _("These fields cannot be changed here: %(f)s", f=", ".join(sorted(unknown)))
        )
    person = _person(uid, lock=True)
    fields = _check_person_fields(changes, today=today, exclude_uid=uid)
    sha = _source_sha(source_document_id, person.scope_collective_ids)
    with _writing("person.update", reason=reason, source_sha256=sha):
        return history.revise(
            person, reason=reason, source_document_id=source_document_id, **fields
        )
