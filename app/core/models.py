"""Shared model helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Integer

# BIGINT ids on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Aware UTC now. Stored naive-UTC so both databases round-trip the same value."""
    return datetime.now(UTC).replace(tzinfo=None)


def rfc3339(value: datetime | None) -> str | None:
    """A stored naive-UTC time as an RFC 3339 timestamp with its offset, for API responses
    documented as ``date-time``."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC).isoformat(timespec="seconds")


def iso(value: Any) -> Any:
    """JSON-safe form of a column value, the same on both databases."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        import hashlib

        return {"sha256": hashlib.sha256(bytes(value)).hexdigest()}
    return value
