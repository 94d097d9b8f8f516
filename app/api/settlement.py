"""JSON API for settlement records (落户登记): the same service functions as the desk's pages.

Only the settlement officer records and corrects; the bureau and auditors read; anyone else gets
404. Nothing here reads or changes a right (R12).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field

from app.api import bp
from app.api.fields import CodeText, Id, NameText, QueryId, Reason
from app.api.schema import Answer, Body, Form, Query, operation
from app.auth.models import Role
from app.auth.scope import roles_required
from app.core.errors import DomainError
from app.core.i18n import pick
from app.extensions import db
from app.imports import liveness, staging
from app.imports.models import ImportJob
from app.settlement import police, services
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
    note: str | None = Field(description="The police list row's remark (备注), if any")
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
        "note": r.note,
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


# --- the police station's settlement list (派出所落户名单): the same services as the desk's
# pages (app.settlement.police); the hukou desk only, anyone else gets 404.

ListStatus = Literal[
    "queued", "running", "validated", "promoting", "promoted", "refused", "failed", "discarded"
]


class SettlementListProblem(Answer):
    row: int | None = Field(description="The row's number in the file (the header is row 1)")
    id_number: str | None = Field(description="The row's ID number, masked (last 4 shown)")
    problem: str
    severity: Literal["error", "warning"] = Field(
        description="error: to fix before anything is written; warning: e.g. already recorded"
    )
    message: str
    person_uid: int | None = Field(description="Whose settlement page to correct, if any")


class SettlementList(Answer):
    """A police settlement list: its check and, once promoted, how many settlements it recorded"""

    job_id: int
    status: ListStatus = Field(description="A job whose process stopped reads as failed")
    filename: str
    sha256: str
    rows: int | None
    to_record: int | None
    skipped: int | None = Field(description="Already recorded with the same date")
    with_problems: int | None
    promoted: int
    source_document_id: int | None = Field(
        description="The list as a source document, once promoted"
    )
    error: str | None
    promotable: bool = Field(description="Whether every row may be recorded now")
    problems: list[SettlementListProblem] = Field(description="At most the first 1000 of each kind")


class SettlementListUpload(Form):
    pass


def _list_json(job: ImportJob, *, problems: bool = True) -> dict:
    s = job.summary
    status = liveness.shown_status(job)
    error = liveness.shown_error(job)
    out = {
        "job_id": job.id,
        "status": status,
        "filename": job.filename,
        "sha256": job.sha256,
        "rows": s.get("features"),
        "to_record": s.get("valid"),
        "skipped": s.get("skipped"),
        "with_problems": s.get("invalid"),
        "promoted": job.promoted,
        "source_document_id": job.source_document_id,
        "error": pick(error[1], error[2]) if error else None,
        "promotable": status == "validated" and police.promotion_refusal(job) is None,
        "problems": [],
    }
    if problems:
        out["problems"] = [
            {
                "row": p.idx,
                "id_number": p.code,
                "problem": p.problem,
                "severity": p.severity,
                "message": pick(p.message_zh, p.message_en),
                "person_uid": p.other_uid,
            }
            for p in staging.iter_problems(db.session, job.id)
        ]
    return out


def _list(job_id: int) -> ImportJob:

    return police.job_for(current_user, job_id)


_LIST_NOT_FOUND = {404: "No such list, or not the hukou desk"}


@bp.post("/settlement-lists")
@roles_required(Role.SETTLEMENT_OFFICER)
@operation(
    "Upload a police station's settlement list (CSV or XLSX); checking starts in the background",
    description="A multipart/form-data upload with the field file. Columns (Chinese or English "
    "headers): 公民身份号码 / ID number, 姓名 / name, 落户日期 / date, 迁入地城市 / city, "
    "迁入地区县 / district (or one 迁入地 column), 落户类型 / channel (购房, 就业, 就学, 投靠, "
    "其他), optional 备注 / note.",
    form=SettlementListUpload,
    files=("file",),
    answer=SettlementList,
    status=202,
    refusals={**_LIST_NOT_FOUND, 422: "No file, or not a CSV or XLSX file"},
)
def upload_settlement_list(form: SettlementListUpload):

    upload = request.files.get("file")
    if upload is None:
        raise DomainError("file_required", _("Send the file as 'file'."), field="file")
    job = police.upload_list(current_user, upload.stream, upload.filename or "")
    db.session.commit()
    police.start_checking(job)
    db.session.refresh(job)
    return jsonify(_list_json(job)), 202


@bp.get("/settlement-lists/<int:job_id>")
@roles_required(Role.SETTLEMENT_OFFICER)
@operation(
    "A settlement list: its status, figures and every problem found, by row",
    answer=SettlementList,
    refusals=_LIST_NOT_FOUND,
)
def get_settlement_list(job_id: int):
    return jsonify(_list_json(_list(job_id)))


@bp.post("/settlement-lists/<int:job_id>/promote")
@roles_required(Role.SETTLEMENT_OFFICER)
@operation(
    "Record every row of a checked list, or none (checked again first)",
    target=lambda job_id: _list(job_id),
    answer=SettlementList,
    status=202,
    refusals={**_LIST_NOT_FOUND, 422: "Not checked yet, has problems, or nothing to record"},
)
def promote_settlement_list(job_id: int, target: ImportJob):

    police.request_promotion(current_user, target)
    db.session.commit()
    police.start_promotion(target)
    db.session.refresh(target)
    return jsonify(_list_json(target)), 202


@bp.post("/settlement-lists/<int:job_id>/discard")
@roles_required(Role.SETTLEMENT_OFFICER)
@operation(
    "Discard a list that was not recorded",
    target=lambda job_id: _list(job_id),
    answer=SettlementList,
    refusals={**_LIST_NOT_FOUND, 422: "Recorded already, or still running"},
)
def discard_settlement_list(job_id: int, target: ImportJob):

    police.discard_list(current_user, target)
    db.session.commit()
    db.session.refresh(target)
    return jsonify(_list_json(target, problems=False))
