"""Routes are added here."""

from app.registry.views import bp  # noqa: F401
