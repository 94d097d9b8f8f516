"""Who may see and change what: one helper for every view and API endpoint.

Objects declare where they belong: ``scope_collective_id`` (every registry object),
``scope_household_id`` (objects of one household, which its farmer may read) and ``__scope__``,
the kind of data ("registry", "settlement", "admin"). Anything outside a user's reach is a 404,
not a 403, so its existence does not leak.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g
from flask_login import current_user
from sqlalchemy import ColumnElement, false, true

from app.auth.models import COUNTY_READERS, Role, User
from app.extensions import db

T = TypeVar("T")

# Set by the registry: user -> ids of the households the farmer belongs to now.
_household_resolver: Callable[[User], set[int]] | None = None


def set_household_resolver(fn: Callable[[User], set[int]]) -> None:
    global _household_resolver
    _household_resolver = fn


def farmer_household_ids(user: User) -> set[int]:
    cache = g.setdefault("_farmer_households", {})
    if user.id not in cache:
        cache[user.id] = _household_resolver(user) if _household_resolver else set()
    return cache[user.id]


def can_read(user: Any, obj: Any) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    role = Role(user.role)
    kind = getattr(obj, "__scope__", "registry")
    if kind == "admin":
        return role in {Role.SYSTEM_ADMIN, Role.AUDITOR}
    if kind == "settlement":
        return role in {Role.SETTLEMENT_OFFICER, Role.AUDITOR, Role.BUREAU_REVIEWER}
    # registry data
    if role in COUNTY_READERS:
        return True
    collective_id = getattr(obj, "scope_collective_id", None)
    if role == Role.COLLECTIVE_ADMIN:
        if collective_id is None:
            # Objects that belong to several collectives (a person who is a member of two).
            many = getattr(obj, "scope_collective_ids", None)
            return bool(many) and not set(many).isdisjoint(user.collective_ids)
        return collective_id in user.collective_ids
    if role == Role.FARMER:
        household_id = getattr(obj, "scope_household_id", None)
        if household_id is not None:
            return household_id in farmer_household_ids(user)
        # Collective-level facts (its name, its listings) are visible to its own members.
        return bool(getattr(obj, "__farmer_visible__", False)) and collective_id in (
            user.collective_ids
        )
    return False


def collective_reach(user: Any) -> set[int] | None:
    """The collectives whose registry the user reads: None for the whole county (bureau,
    auditors), else their own (an administrator's; a farmer's collectives, for what
    ``__farmer_visible__`` objects show); empty for anyone else."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    role = Role(user.role)
    if role in COUNTY_READERS:
        return None
    if role in (Role.COLLECTIVE_ADMIN, Role.FARMER):
        return set(user.collective_ids)
    return set()


def readable(user: Any, collective_column: Any, household_column: Any = None) -> ColumnElement:
    """SQL condition for list queries: the rows of registry data the user may read.

    The list counterpart of :func:`can_read`, for rows that carry their collective in
    ``collective_column`` and, when a farmer may read their own, their household in
    ``household_column``. County readers see everything, an administrator their collectives,
    a farmer the rows of their households (nothing if the rows have no household), anyone
    else nothing.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    role = Role(user.role)
    if role in COUNTY_READERS:
        return true()
    if role == Role.COLLECTIVE_ADMIN:
        return collective_column.in_(sorted(user.collective_ids) or [-1])
    if role == Role.FARMER and household_column is not None:
        return household_column.in_(sorted(farmer_household_ids(user)) or [-1])
    return false()


def can_edit(user: Any, obj: Any) -> bool:
    if not can_read(user, obj):
        return False
    role = Role(user.role)
    kind = getattr(obj, "__scope__", "registry")
    if kind == "admin":
        return role == Role.SYSTEM_ADMIN
    if kind == "settlement":
        return role == Role.SETTLEMENT_OFFICER
    return role == Role.COLLECTIVE_ADMIN


def load_or_404(model: type[T], ident: Any, *, edit: bool = False) -> T:
    """Fetch by primary key; 404 unless the current user may read it (and edit, if asked)."""
    obj = db.session.get(model, ident)
    if obj is None or not can_read(current_user, obj):
        abort(404)
    if edit and not can_edit(current_user, obj):
        abort(404)  # a form a reader may not use does not exist for them
    return obj


def roles_required(*roles: Role) -> Callable:
    """Allow a view only to the named roles; everybody else gets a 404."""
    allowed = {Role(r) for r in roles}

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated or Role(current_user.role) not in allowed:
                abort(404)
            return view(*args, **kwargs)

        wrapped.allowed_roles = allowed  # type: ignore[attr-defined]
        return wrapped

    return decorator
