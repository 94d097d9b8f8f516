"""Settlement records' stored values in words, for the auditor's log (``app.audit.labels``):
how the person settled. Registered by create_app (the audit package imports no feature)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from app.settlement.services import CHANNELS


def words(record: str, field: str, value: Any) -> str | None:
    if record != "settlement_record" or field != "channel" or not isinstance(value, str):
        return None
    found = CHANNELS.get(value)
    return str(found) if found is not None else _("(recorded value)")
