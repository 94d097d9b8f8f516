"""Helpers every registry view module uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

from app.auth.scope import load_or_404
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.registry.documents import KINDS as DOCUMENT_KINDS
from app.registry.inputs import TEXT_LIMITS, too_long_message
from app.registry.models import SourceDocument
from app.registry.moves import BASES, KIND_BASES


def editable_collective(collective_id: int) -> Collective:
    """The collective, if the current user keeps it; otherwise 404."""
    return load_or_404(Collective, collective_id, edit=True)


class TextLength(Length):
    """WTForms' Length for a kind of free text, from the services' own limit
    (``inputs.TEXT_LIMITS``) and with their message, so page and API say the same."""

    def __init__(self, kind: str) -> None:
        super().__init__(max=TEXT_LIMITS[kind])
        self.kind = kind

    def __call__(self, form: Any, field: Any) -> None:
        try:
            super().__call__(form, field)
        except ValidationError:
            raise ValidationError(too_long_message(self.kind)) from None


def length(kind: str) -> TextLength:
    """The length validator of a form field holding ``kind`` text (reason, name, note, …)."""
    return TextLength(kind)


def basis_choices(kind: str, *, optional: bool = False) -> list[SelectChoice]:
    """The legal bases a kind of move accepts (``moves.KIND_BASES``), for a select."""
    first = _("— none (no move out of a household) —") if optional else _("— choose —")
    return [SelectChoice("", first)] + [
        SelectChoice(code, str(label)) for code, label in BASES.items() if code in KIND_BASES[kind]
    ]


def requested_flash() -> None:
    """What the requester reads after asking for a move."""
    flash(_("The move was requested. It takes effect when the county bureau countersigns it."))


def choices(pairs: Any) -> list[SelectChoice]:
    """Select options from (value, label) pairs (wtforms 3.3 deprecates plain tuples)."""
    return [SelectChoice(value, str(label)) for value, label in pairs]


#: How many documents a form offers (newest first); older ones are cited through the API.
DOCUMENT_CHOICES = 200


def document_choices(collective_id: int, *, none: str | None = None) -> list[SelectChoice]:
    """The source documents a change in the collective may cite (its own and county-wide
    ones, ``documents.citable_document``'s rule), newest first, for a select; with ``none``,
    first a choice of no document under that label (the service decides whether one is
    needed)."""
    docs = db.session.scalars(
        select(SourceDocument)
        .where(
            (SourceDocument.collective_id == collective_id) | SourceDocument.collective_id.is_(None)
        )
        .order_by(SourceDocument.id.desc())
        .limit(DOCUMENT_CHOICES)
    )
    found = [
        SelectChoice(
            d.id, f"{d.title} · {DOCUMENT_KINDS.get(d.kind, d.kind)} · {d.uploaded_at:%Y-%m-%d}"
        )
        for d in docs
    ]
    return [SelectChoice(0, none), *found] if none else found


def fail(form: FlaskForm, err: DomainError) -> None:
    """Roll back what the service wrote; show its message at the field it names."""
    db.session.rollback()
    target = form._fields.get(err.field) if err.field else None
    if target is not None and not isinstance(target, HiddenField):
        target.errors = [*list(target.errors or []), err.message]
    else:
        form.form_errors.append(err.message)


@dataclass
class Outcome:
    """What became of a form: ``done`` when the service accepted it (``value`` is what it
    returned); otherwise the page is shown again with ``status`` (422 after a refused post)."""

    done: bool
    value: Any = None
    status: int = 200


def submit(
    form: FlaskForm, action: Callable[[], Any], *, fields: dict[str, str] | None = None
) -> Outcome:
    """The one shape of a form view: when the form was posted and is valid, run the service;
    a refusal rolls back and shows its message at its field (``fields`` maps the service's field
    names to the form's). A GET shows the form (200); an invalid or refused post, 422."""
    if not form.validate_on_submit():
        return Outcome(False, status=422 if request.method == "POST" else 200)
    try:
        value = action()
    except DomainError as err:
        if fields and err.field in fields:
            err.field = fields[err.field]
        fail(form, err)
        return Outcome(False, status=422)
    return Outcome(True, value)
