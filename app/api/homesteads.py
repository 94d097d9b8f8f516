"""API routes are added here."""

from app.api import bp  # noqa: F401
