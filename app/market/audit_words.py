"""The marketplace's stored values in words, for the auditor's log (``app.audit.labels``):
states, steps, kinds of deal, consents, offers, deposits and payments. Registered by create_app
(the audit package imports no feature); a value this module does not know is left to it (None).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from app.auth.models import Role
from app.market import states
from app.market.views.common import (
    ACTOR_LABELS,
    CONSENT_LABELS,
    DEAL_KINDS,
    DEPOSIT_LABELS,
    METHODS,
    MODE_LABELS,
    OFFER_LABELS,
    PAYMENT_LABELS,
    RIGHT_KINDS,
    STEP_LABELS,
)

CODED: dict[tuple[str, str], dict] = {
    ("market_listing", "state"): states.STATES,
    ("market_listing", "right_kind"): RIGHT_KINDS,
    ("market_listing", "deal_kind"): DEAL_KINDS,
    ("market_listing", "method"): METHODS,
    ("market_step", "from_state"): states.STATES,
    ("market_step", "to_state"): states.STATES,
    ("market_step", "action"): STEP_LABELS,
    ("market_offer", "state"): OFFER_LABELS,
    ("market_offer", "deposit_state"): DEPOSIT_LABELS,
    ("market_consent", "decision"): CONSENT_LABELS,
    ("market_consent", "mode"): MODE_LABELS,
    ("market_consent", "role"): ACTOR_LABELS,
    ("market_deal", "payment"): PAYMENT_LABELS,
}


def words(record: str, field: str, value: Any) -> str | None:
    if not record.startswith("market_") or not isinstance(value, str):
        return None
    if record == "market_step" and field == "actor_role":
        if value in ACTOR_LABELS:
            return str(ACTOR_LABELS[value])
        try:
            return Role(value).label
        except ValueError:
            return _("(recorded value)")
    names = CODED.get((record, field))
    if names is None:
        return None
    found = names.get(value)
    return str(found) if found is not None else _("(recorded value)")
