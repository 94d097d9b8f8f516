"""The settlement desk's forms (WTForms, CSRF); the services judge, the forms only carry."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from app.extensions import db
from app.registry.documents import KINDS as DOCUMENT_KINDS
from app.registry.models import Person, SourceDocument
from app.settlement.services import CHANNELS, citable_collectives

#: How many documents the picker offers (newest first); older ones are cited through the API.
DOCUMENT_CHOICES = 200


class FindPersonForm(FlaskForm):
    """Look a person up by resident ID number (a GET form: nothing is written)."""

    class Meta:
        csrf = False

    id_number = StringField(_l("Resident ID number"))


class SettlementForm(FlaskForm):
    settled_on = DateField(_l("Settled on"), validators=[Optional()])
    city = StringField(_l("City settled in"))
    district = StringField(_l("District"))
    channel = SelectField(
        _l("How the person settled"),
        choices=[SelectChoice("", _l("— choose —"))]
        + [SelectChoice(k, v) for k, v in CHANNELS.items()],
    )
    source_document_id = SelectField(_l("Source document"), coerce=int)


class CorrectionForm(SettlementForm):
    reason = TextAreaField(_l("Reason"))


def document_choices(person: Person) -> list[SelectChoice]:
    """The documents a settlement of this person may cite: county-wide ones and those of the
    person's collectives, newest first; first an empty choice (the service says one is needed)."""
    collectives = citable_collectives(person)
    docs = db.session.scalars(
        select(SourceDocument)
        .where(
            SourceDocument.collective_id.in_(collectives) | SourceDocument.collective_id.is_(None)
        )
        .order_by(SourceDocument.id.desc())
        .limit(DOCUMENT_CHOICES)
    )
    return [SelectChoice(0, _l("— choose —"))] + [
        SelectChoice(
            d.id, f"{d.title} · {DOCUMENT_KINDS.get(d.kind, d.kind)} · {d.uploaded_at:%Y-%m-%d}"
        )
        for d in docs
    ]


class PoliceListForm(FlaskForm):
    """The police station's monthly settlement list (CSV or XLSX)."""

    file = FileField(_l("Settlement list from the police station (CSV or XLSX)"))


class ListActionForm(FlaskForm):
    """Promote or discard a checked list (a POST with its CSRF token, nothing else)."""
