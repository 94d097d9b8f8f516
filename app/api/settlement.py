"""JSON API for settlement records (落户登记): the same service functions as the desk's pages.

Only the settlement officer records and corrects; the bureau and auditors read; anyone else gets
404. Nothing here reads or changes a right (R12).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from flask import jsonify
from flask_login import current_user
from pydantic import Field

from app.api import bp
from app.api.fields import CodeText, Id, NameText, QueryId, Reason
from app.api.schema import Answer, Body, Query, operation
from app.auth.models import Role
from app.auth.scope import roles_required
from app.extensions import db
from app.settlement import services
from app.settlement.models import SettlementRecord

Channel = Literal[tuple(sorted(services.CHANNELS))]  # type: ignore[valid-type]

READERS = tuple(sorted(services.READERS))
_NOT_FOUND = {404: "No such person or record, or out of reach"}
_REFUSED = {**_NOT_FOUND, 422: "Refused or bad input"}


class Settlement(Answer):
    """A settlement record (a correction names the record it corrects)"""

    id: int
    person_uid: int
    settled_on: date
    city: str
    district: str
    channel: Channel
    channel_label: str
    source_document_id: int
    corrects_id: int | None
    reason: str | None
    recorded_by: str
    recorded_at: str


class Settlements(Answer):
    """A person and their settlement records"""

    person_uid: int
    name: str
    items: list[Settlement]


class SettlementsQuery(Query):
    person_uid: QueryId = None
    id_number: CodeText | None = Field(None, description="Resident ID number (18 characters)")
    history: bool = Field(False, description="Also the records later corrected")


class NewSettlement(Body):
    person_uid: Id
    settled_on: date
    city: NameText
    district: NameText
    channel: Channel
    source_document_id: Id


class Correction(Body):
    settled_on: date
    city: NameText
    district: NameText
    channel: Channel
    source_document_id: Id
    reason: Reason


def settlement_json(r: SettlementRecord) -> dict:
    return {
        "id": r.id,
        "person_uid": r.person_uid,
        "settled_on": r.settled_on.isoformat(),
        "city": r.city,
        "district": r.district,
        "channel": r.channel,
        "channel_label": str(services.CHANNELS[r.channel]),
        "source_document_id": r.source_document_id,
        "corrects_id": r.corrects_id,
        "reason": r.reason,
        "recorded_by": r.recorded_by,
        "recorded_at": r.recorded_at.isoformat(),
    }


@bp.get("/settlements")
@roles_required(*READERS)
@operation(
    "A person's settlement records, the person named by uid or by ID number",
    query=SettlementsQuery,
    answer=Settlements,
    refusals=_NOT_FOUND,
)
def list_settlements(query: SettlementsQuery):
    person, records = services.settlements_for(
        current_user,
        person_uid=query.person_uid,
        id_number=query.id_number,
        with_history=query.history,
    )
    return jsonify(
        {
            "person_uid": person.uid,
            "name": person.name,
            "items": [settlement_json(r) for r in records],
        }
    )


@bp.post("/settlements")
@roles_required(Role.SETTLEMENT_OFFICER)
@operation(
    "Record a settlement in town (落户登记); it changes no right",
    body=NewSettlement,
    answer=Settlement,
    status=201,
    refusals=_REFUSED,
)
def create_settlement(body: NewSettlement):
    record = services.record_settlement(
        current_user,
        body.person_uid,
        settled_on=body.settled_on,
        city=body.city,
        district=body.district,
        channel=body.channel,
        source_document_id=body.source_document_id,
    )
    db.session.commit()
    return jsonify(settlement_json(record)), 201


@bp.get("/settlements/<int:settlement_id>")
@roles_required(*READERS)
@operation("One settlement record", answer=Settlement, refusals=_NOT_FOUND)
def get_settlement(settlement_id: int):
    return jsonify(settlement_json(services.settlement(current_user, settlement_id)))


@bp.post("/settlements/<int:settlement_id>/correction")
@roles_required(Role.SETTLEMENT_OFFICER)
@operation(
    "Correct a settlement record: a new record naming it; the old one is kept",
    body=Correction,
    target=lambda settlement_id: services.settlement(current_user, settlement_id),
    answer=Settlement,
    status=201,
    refusals=_REFUSED,
)
def correct_settlement(settlement_id: int, target: SettlementRecord, body: Correction):
    record = services.correct_settlement(
        current_user,
        target.id,
        reason=body.reason,
        settled_on=body.settled_on,
        city=body.city,
        district=body.district,
        channel=body.channel,
        source_document_id=body.source_document_id,
    )
    db.session.commit()
    return jsonify(settlement_json(record)), 201
