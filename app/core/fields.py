"""Number fields for the HTML forms that refuse what the database cannot hold.

WTForms' own DecimalField takes "NaN", "Infinity" and "1e999999" (and NumberRange then fails with
an exception on NaN: a 500), and IntegerField takes numbers far beyond any database integer. These
subclasses keep the same names and options and turn such input into an ordinary field error.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar

from flask_babel import lazy_gettext as _l
from wtforms import fields

from app.core.inputs import MAX_JSON_NUMBER, parse_id

T = TypeVar("T")


def required_data(data: T | None) -> T:
    """A field's data once the form validated with ``DataRequired``: never None then."""
    if data is None:
        raise ValueError("a required field has no data after validation")
    return data


class DecimalField(fields.DecimalField):
    """A decimal that is finite and within ±2**53."""

    data: Decimal | None

    def process_formdata(self, valuelist: list) -> None:
        super().process_formdata(valuelist)
        value = self.data
        if value is not None and (not value.is_finite() or abs(value) > MAX_JSON_NUMBER):
            self.data = None
            raise ValueError(_l("Give an ordinary number."))


class IntegerField(fields.IntegerField):
    """A whole number in ASCII digits within the database INTEGER (ids, days, counts)."""

    data: int | None

    def process_formdata(self, valuelist: list) -> None:
        if not valuelist or valuelist[0] in ("", None):
            return
        value = parse_id(valuelist[0].strip())
        if value is None:
            self.data = None
            raise ValueError(_l("Give a whole number."))
        self.data = value
