"""Exact decimal numbers (shares, money): one column type for both databases, one parser, one
way to show them.

Shares and money are never floats. On PostgreSQL an ``ExactDecimal(p, s)`` column is a plain
``NUMERIC(p, s)``: exact storage, exact ``SUM``. SQLite has no exact decimal type: a ``NUMERIC``
column stores an IEEE double, and ``SUM`` over doubles drifts (0.1 + 0.2). So on SQLite the
column is a ``BIGINT`` holding the value in units of the scale (12.5 shares at scale 4 is
125000): integers are stored, summed, compared and sorted exactly by SQLite itself, and
``NUMERIC(18, 4)`` needs at most 10**18 units, inside SQLite's 64-bit integers. Both databases
read back the same ``Decimal`` with the column's scale (``Decimal('12.5000')``), so sums, JSON
and the audit trail are the same on both.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import BigInteger, Numeric
from sqlalchemy.types import TypeDecorator


class ExactDecimal(TypeDecorator):
    """NUMERIC(precision, scale) on PostgreSQL; integer units of the scale on SQLite.

    Binding a value with more decimals than the scale raises (the services refuse such input
    with a message before it gets here): nothing is ever rounded silently.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self.step = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        exact = to_decimal(value)
        if exact is None or exact != exact.quantize(self.step):
            raise ValueError(f"{value!r} is not a decimal with at most {self.scale} places")
        exact = exact.quantize(self.step)
        if dialect.name == "sqlite":
            return int(exact.scaleb(self.scale))
        return exact

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value).quantize(self.step)

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        return self


def to_decimal(value: Any) -> Decimal | None:
    """``value`` as an exact finite Decimal, or None if it is not a number.

    Text and Decimals are taken as written. A float is taken by its shortest repr (what was
    typed: 0.1 is 0.1), and only if that has at most 15 significant digits: a longer float may
    already have lost digits, so it is refused rather than guessed.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        exact = value
    elif isinstance(value, int):
        exact = Decimal(value)
    elif isinstance(value, float):
        exact = Decimal(repr(value)) if value == value else Decimal("NaN")
        if exact.is_finite() and len(exact.as_tuple().digits) > 15:
            return None
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 64:
            return None
        try:
            exact = Decimal(text)
        except InvalidOperation:
            return None
    else:
        return None
    return exact if exact.is_finite() else None


def plain(value: Decimal | int | None) -> str:
    """A decimal as people write it: no exponent, no trailing zeros ("40", "12.5")."""
    if value is None:
        return ""
    exact = Decimal(value)
    text = format(exact, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def fixed(value: Decimal | None, scale: int) -> str | None:
    """A decimal as an exact string with exactly ``scale`` places ("40.0000"), for JSON."""
    if value is None:
        return None
    return format(Decimal(value).quantize(Decimal(1).scaleb(-scale)), "f")
