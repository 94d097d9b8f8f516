"""Helpers every registry view module uses."""

from __future__ import annotations

from flask_wtf import FlaskForm

from app.auth.scope import load_or_404
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db


def editable_collective(collective_id: int) -> Collective:
    """The collective, if the current user keeps it; otherwise 404."""
    return load_or_404(Collective, collective_id, edit=True)


def form_failed(form: FlaskForm, err: DomainError) -> None:
    """Undo what the service wrote; show its message at the field it names (or the form)."""
    db.session.rollback()
    target = getattr(form, err.field, None) if err.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*list(target.errors or []), err.message]
    else:
        form.form_errors.append(err.message)
