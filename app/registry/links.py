"""Whether the viewer may open a page: one answer for every link a page shows.

A page links to other parts of the registry (a share holding to the collective's register, a
history row to the document it cites, a household to its collective). Whether that page opens
for the reader is decided by the same rules the page itself applies: the roles its view admits
(``roles_required``) and ``can_read`` on the object the URL names (``auth/scope.py``). A link the
reader could not open is not shown, so no page leads a role to a 404.

Templates call ``link_to(endpoint, **values)``: the URL, or None when the reader may not open it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.routing import BuildError

from app.auth.models import Role
from app.auth.scope import can_edit, can_read
from app.divisions.models import Collective
from app.extensions import db
from app.registry.models import (
    Certificate,
    Encumbrance,
    Homestead,
    Household,
    HouseholdMember,
    LandContract,
    Membership,
    Objection,
    Person,
    Plot,
    PlotExchange,
    PublicNotice,
    ShareHolding,
    SourceDocument,
    persons_collective_ids,
    persons_household_ids,
)


def _by_id(model: type) -> Callable[[int], Any]:
    return lambda ident: db.session.get(model, ident)


def _newest(model: Any) -> Callable[[int], Any]:
    """The newest version of a versioned object (its pages show ended objects too)."""
    return lambda uid: db.session.scalar(
        select(model).where(model.uid == uid).order_by(model.version.desc()).limit(1)
    )


# The object a URL argument names, for the scope check.
TARGETS: dict[str, Callable[[int], Any]] = {
    "collective_id": _by_id(Collective),
    "document_id": _by_id(SourceDocument),
    "certificate_id": _by_id(Certificate),
    "notice_id": _by_id(PublicNotice),
    "objection_id": _by_id(Objection),
    "person_uid": _newest(Person),
    "household_uid": _newest(Household),
    "membership_uid": _newest(Membership),
    "member_uid": _newest(HouseholdMember),
    "contract_uid": _newest(LandContract),
    "plot_uid": _newest(Plot),
    "homestead_uid": _newest(Homestead),
    "holding_uid": _newest(ShareHolding),
    "encumbrance_id": _by_id(Encumbrance),
    "exchange_id": _by_id(PlotExchange),
}


def _target(arg: str, ident: Any) -> Any:
    # Not cached beyond the session's identity map: a page rendered after a commit must not
    # judge a link by an object of a session that has ended.
    return TARGETS[arg](ident)


def may_open(endpoint: str, *, edit: bool = False, **values: Any) -> bool:
    """Whether the current user may open ``endpoint`` with these URL values: the view exists,
    admits the user's role, and every object the URL names is in the user's reach (and editable
    by them, with ``edit``)."""
    view = current_app.view_functions.get(endpoint)
    if view is None or not current_user.is_authenticated:
        return False
    allowed = getattr(view, "allowed_roles", None)
    if allowed is not None and Role(current_user.role) not in allowed:
        return False
    check = can_edit if edit else can_read
    for arg, ident in values.items():
        if arg in TARGETS and ident is not None:
            obj = _target(arg, ident)
            if obj is None or not check(current_user, obj):
                return False
    return True


def link_to(endpoint: str, *, edit: bool = False, **values: Any) -> str | None:
    """The URL of ``endpoint`` if the current user may open it, else None (show no link)."""
    if not may_open(endpoint, edit=edit, **values):
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


class _PersonReach:
    """What ``can_read`` reads of a person (their collectives, the household they live in),
    looked up for all the page's persons at once, and only if the reader's role asks."""

    def __init__(self, uid: int, batch: _PersonsReach) -> None:
        self.uid, self._batch = uid, batch

    @property
    def scope_collective_ids(self) -> set[int]:
        return self._batch.collectives().get(self.uid, set())

    @property
    def scope_household_id(self) -> int | None:
        return self._batch.households().get(self.uid)


class _PersonsReach:
    def __init__(self, uids: list[int]) -> None:
        self.uids = uids
        self._collectives: dict[int, set[int]] | None = None
        self._households: dict[int, int] | None = None

    def collectives(self) -> dict[int, set[int]]:
        if self._collectives is None:
            self._collectives = persons_collective_ids(self.uids)
        return self._collectives

    def households(self) -> dict[int, int]:
        if self._households is None:
            self._households = persons_household_ids(self.uids)
        return self._households


def person_links(person_uids: Iterable[int], *, current: bool = False) -> dict[int, str | None]:
    """``link_to('registry.person', person_uid=uid)`` for every person a page lists, decided
    the same way (the view's roles, then ``can_read`` on what reaches the person: their
    collectives, the household they live in) in at most three queries for the whole page
    instead of up to three a person. ``current``: the caller has just read these persons'
    current versions (so they are on record)."""
    uids = sorted(set(person_uids))
    if not uids or not may_open("registry.person"):
        return dict.fromkeys(uids)
    if current:
        on_record = set(uids)
    else:
        on_record = set(db.session.scalars(select(Person.uid).where(Person.uid.in_(uids))))
    batch = _PersonsReach(uids)
    return {
        uid: url_for("registry.person", person_uid=uid)
        if uid in on_record and can_read(current_user, _PersonReach(uid, batch))
        else None
        for uid in uids
    }
