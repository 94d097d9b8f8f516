"""The registry's stored values in words, for the auditor's log (``app.audit.labels``).

The audit package imports no feature: create_app registers ``words`` with it. People, households,
contracts and plots are named as the registry pages name them; an ID number or a phone number is
shown as the viewer may see it (``app.registry.present``: the auditor in full, anyone else
masked). A value this module does not know is left to the audit package (None).
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.auth.models import Role
from app.core.codes import mask_id_number
from app.divisions.models import Collective
from app.extensions import db
from app.registry import certificates, documents, moves, notices
from app.registry.homesteads import terrain_label
from app.registry.labels import DISPOSAL_LABELS, media_type_label
from app.registry.models import (
    CONTRACT_LAND_TYPES,
    CONTRACT_METHODS,
    LAND_CLASSES,
    LAND_USES,
    RELATIONS,
    Household,
    LandContract,
    Person,
    Plot,
    SourceDocument,
)
from app.registry.people import BASES, END_REASONS, HUKOU_ORIGINS, HUKOU_TYPES, SEXES
from app.registry.people.persons import HUKOU_KINDS
from app.registry.people.succession import SHARE_INHERITANCE, SUCCESSION_OUTCOMES
from app.registry.present import mask_phone
from app.registry.shares import SHARE_TYPES

PEOPLE = frozenset(
    {
        "person_uid", "heir_person_uid", "deceased_uid", "ward_uid", "guardian_uid",
        "buyer_person_uid", "decided_by_person_uid",
    }
)  # fmt: skip
DOCUMENTS = frozenset(
    {
        "source_document_id", "paper_document_id", "resolution_document_id",
        "contract_document_id", "document_id",
    }
)  # fmt: skip
HOUSEHOLDS = frozenset(
    {
        "household_uid", "from_household_uid", "to_household_uid", "heir_household_uid",
        "buyer_household_uid",
    }
)  # fmt: skip

#: Why a household, or a member's place in it, ended.
HOUSEHOLD_ENDS = {
    "split": _l("The household was split"),
    "merged": _l("Merged into another household"),
    "died_out": _l("The household died out"),
    "death": _l("Death"),
}
CONTRACT_STATUS = {"pending": _l("Pending public notice"), "confirmed": _l("Confirmed")}
REGISTRATION = {
    "new": _l("New grant (新批)"),
    "existing": _l("Existing homestead registered as it is (存量)"),
}
ACQUISITION = {
    "approval": _l("Approval"),
    "inheritance": _l("Inheritance (继承)"),
    "other": _l("Other lawful way (e.g. built before approvals were required)"),
}
FINDING_STATES = {
    "open": _l("Open, to decide"),
    "accepted": _l("Accepted exception"),
    "resolved": _l("Resolved"),
}

#: (record or None for any, field) -> the labels of its stored codes.
CODED: dict[tuple[str | None, str], dict] = {
    (None, "relation"): RELATIONS,
    (None, "sex"): SEXES,
    (None, "hukou_type"): HUKOU_TYPES,
    (None, "hukou_kind"): HUKOU_KINDS,
    (None, "hukou_origin"): HUKOU_ORIGINS,
    (None, "land_class"): LAND_CLASSES,
    (None, "land_use"): LAND_USES,
    (None, "share_type"): SHARE_TYPES,
    (None, "disposal"): DISPOSAL_LABELS,
    (None, "share_inheritance"): SHARE_INHERITANCE,
    ("membership", "basis"): BASES,
    ("membership", "end_reason"): END_REASONS,
    ("household", "end_reason"): HOUSEHOLD_ENDS,
    ("household_member", "end_reason"): HOUSEHOLD_ENDS,
    ("right_move", "basis"): moves.BASES,
    ("right_move", "kind"): moves.KINDS,
    ("right_move", "state"): moves.STATES,
    ("land_contract", "status"): CONTRACT_STATUS,
    ("land_contract", "land_type"): CONTRACT_LAND_TYPES,
    ("land_contract", "method"): CONTRACT_METHODS,
    ("homestead", "registration"): REGISTRATION,
    ("homestead", "acquired_by"): ACQUISITION,
    ("certificate", "status"): certificates.STATUS_LABELS,
    ("certificate", "issue_kind"): certificates.ISSUE_KIND_LABELS,
    ("certificate", "right_kind"): certificates.RIGHT_LABELS,
    ("public_notice", "right_kind"): certificates.RIGHT_LABELS,
    ("succession", "right_kind"): certificates.RIGHT_LABELS,
    ("public_notice", "status"): notices.NOTICE_STATUS_LABELS,
    ("objection", "status"): notices.OBJECTION_STATUS_LABELS,
    ("source_document", "kind"): documents.KINDS,
    ("geometry_finding", "state"): FINDING_STATES,
}
_OUTCOMES = {outcome: label for (_kind, outcome), label in SUCCESSION_OUTCOMES.items()}


def _sees_personal_data() -> bool:
    """The log is the auditor's (who sees ID numbers in full); anyone else sees them masked."""
    user = current_user if has_request_context() else None
    return bool(user and user.is_authenticated and user.role == Role.AUDITOR.value)


def _named(kind: str, uid: Any) -> str | None:
    """The name of a person, household, contract, plot or collective, once per request."""
    if not isinstance(uid, int) or isinstance(uid, bool):
        return None
    cache: dict = g.setdefault("audit_words_names", {}) if has_request_context() else {}
    key = (kind, uid)
    if key not in cache:
        cache[key] = _look_up(kind, uid)
    return cache[key]


def _look_up(kind: str, uid: int) -> str | None:
    if kind == "collective":
        return db.session.scalar(select(Collective.name).where(Collective.id == uid))
    if kind == "document":
        title = db.session.scalar(select(SourceDocument.title).where(SourceDocument.id == uid))
        if title is None:
            return None
        return _("%(title)s (document %(number)d)", title=title, number=uid)
    models: dict[str, Any] = {
        "person": (Person, Person.name),
        "household": (Household, Household.name),
        "contract": (LandContract, LandContract.cbhtbm),
        "plot": (Plot, Plot.dkbm),
    }
    model, column = models[kind]
    name: str | None = db.session.scalar(
        select(column).where(model.uid == uid).order_by(model.version.desc()).limit(1)
    )
    return name


def words(record: str, field: str, value: Any) -> str | None:
    if field in PEOPLE:
        return _named("person", value)
    if field in HOUSEHOLDS:
        return _named("household", value)
    if field in DOCUMENTS:
        return _named("document", value)
    if field == "contract_uid":
        return _named("contract", value)
    if field in ("plot_uid", "other_plot_uid"):
        return _named("plot", value)
    if field == "collective_id":
        return _named("collective", value)
    if record == "app_user" and field == "collectives" and isinstance(value, list):
        # an account's collectives (app.audit.trail records the association alone)
        villages = [_named("collective", uid) or _("(recorded value)") for uid in value]
        return "、".join(villages) if villages else "—"
    if not isinstance(value, str):
        return None
    if field == "id_number":
        return value if _sees_personal_data() else mask_id_number(value)
    if field == "phone":
        return value if _sees_personal_data() else mask_phone(value)
    if field == "terrain":
        return terrain_label(value) if value in ("plain", "hill", "mountain") else None
    if field == "media_type":
        return media_type_label(value)
    if record == "succession" and field == "outcome":
        found = _OUTCOMES.get(value)
        return str(found) if found is not None else None
    names = CODED.get((record, field)) or CODED.get((None, field))
    if names is None:
        return None
    found = names.get(value)
    return str(found) if found is not None else _("(recorded value)")
