"""What every HTML form view does with a service's refusal."""

from __future__ import annotations

from flask_wtf import FlaskForm

from app.core.errors import DomainError
from app.extensions import db


def form_failed(form: FlaskForm, err: DomainError) -> None:
    """Undo what the service wrote; show its message at the field it names (or the form)."""
    db.session.rollback()
    target = getattr(form, err.field, None) if err.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*list(target.errors or []), err.message]
    else:
        form.form_errors.append(err.message)
