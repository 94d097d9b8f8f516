"""Loading registry objects by their stable uid, with the scope check every route needs.

Routes name objects by ``uid`` (the identity across versions), so the usual primary-key
``load_or_404`` does not fit: these helpers fetch the current (or a named) version and then apply
the same ``can_read`` / ``can_edit`` rule. Anything outside the user's reach is a 404, so its
existence does not leak.
"""

from __future__ import annotations

from typing import TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from app.auth.scope import can_edit, can_read
from app.extensions import db
from app.registry import history
from app.registry.versioning import Versioned

V = TypeVar("V", bound=Versioned)


def load_current_or_404(model: type[V], uid: int, *, edit: bool = False) -> V:
    """The current version of object ``uid``; 404 if there is none or the user may not reach it
    (or, with ``edit``, may not change it)."""
    obj = history.current_of(model, uid)
    if obj is None or not can_read(current_user, obj):
        abort(404)
    if edit and not can_edit(current_user, obj):
        abort(404)
    return obj


def load_version_or_404(model: type[V], uid: int, version: int) -> V:
    """Version ``version`` of object ``uid`` (current or historical), scope-checked on that row."""
    obj = db.session.scalar(select(model).where(model.uid == uid, model.version == version))
    if obj is None or not can_read(current_user, obj):
        abort(404)
    return obj


def load_latest_or_404(model: type[V], uid: int) -> V:
    """The newest version (current or ended) of an object, scope-checked: history pages must
    also work for an object whose life has ended."""
    obj = db.session.scalar(
        select(model).where(model.uid == uid).order_by(model.version.desc()).limit(1)
    )
    if obj is None or not can_read(current_user, obj):
        abort(404)
    return obj
