"""Helpers every registry view module uses."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

from app.auth.scope import load_or_404
from app.divisions.models import Collective
from app.registry.inputs import TEXT_LIMITS, too_long_message
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
