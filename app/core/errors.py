"""Errors a user can cause, with a message in their language."""

from __future__ import annotations

from typing import Any

from app.core.i18n import pick


class DomainError(Exception):
    """A rule or validation said no. ``message`` is already translated for the current user."""

    status = 422

    def __init__(
        self, code: str, message: str, *, field: str | None = None, rule: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.rule = rule  # e.g. "R03"

    def as_dict(self) -> dict:
        out = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        if self.rule:
            out["rule"] = self.rule
        return out

    @classmethod
    def from_check(cls, exc: Any, *, field: str | None = None) -> DomainError:
        """Wrap a CodeError / GeoError (which carry both languages) for the current user."""
        return cls(exc.code, pick(exc.message_zh, exc.message_en), field=field)


class NotFound(DomainError):
    status = 404
