"""The police station's monthly settlement list (派出所落户名单), imported by the hukou desk.

An import kind of its own, run by the imports machinery (``app.imports``: the job row, the
stored upload, the sandboxed CSV/XLSX reader, the problem log, the runners and the atomic claim
of a promotion); it is registered with it in ``create_app`` (``app.imports.kinds``), so the
imports package never imports this one.

The list is small (a station's month is tens or hundreds of rows), so it is checked in memory:
each row's resident ID number (GB 11643 check character) must name a person in the registry
(nothing is guessed: an unknown or malformed number is a problem), the name must be the
registry's, the date, place and channel must pass the very checks ``record_settlement`` makes
(``services.check_settlement``), and a person may appear once. A person already recorded as
settled on the same day is skipped ("already recorded"); on another day it is a problem to be
corrected on the person's page, never overwritten from a file.

Promotion is all or nothing: the list is checked again inside the promotion's transaction, any
problem writes nothing, and every row is then written through ``record_settlement`` (same
rules, audited per record like the desk), citing the list itself, registered as a county-wide
source document with its SHA-256. A refusal of any row mid-way rolls everything back. The
promotion's own audit event carries counts and a digest, no personal data. R12: nothing here
reads or writes a right.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import trail
from app.auth.models import User
from app.core import codes
from app.core.errors import DomainError, NotFound
from app.core.i18n import pick
from app.core.models import utcnow
from app.extensions import db
from app.imports import staging
from app.imports.jobs import discard_job, queue_validation
from app.imports.models import ImportJob, ImportProblem, JobStatus
from app.imports.problems import Problem
from app.imports.readers import ImportRefused, read_table, store_file, store_root
from app.imports.runners import enqueue
from app.imports.state import create_job, dumps, job_file, problem_log, save
from app.registry.models import Person, SourceDocument
from app.settlement import services
from app.settlement.models import SettlementRecord

#: The job kind (import_job.kind).
KIND = "settlement"

#: Accepted headers per field, compared after ``_norm`` (case, spaces and punctuation aside).
HEADERS: dict[str, tuple[str, ...]] = {
    "id_number": (
        "公民身份号码",
        "公民身份证号码",
        "公民身份证号",
        "身份证号码",
        "身份证号",
        "身份号码",
        "证件号码",
        "ID NUMBER",
        "RESIDENT ID NUMBER",
        "ID CARD NUMBER",
        "ID",
    ),
    "name": ("姓名", "NAME", "FULL NAME"),
    "settled_on": (
        "落户日期",
        "落户时间",
        "迁入日期",
        "迁入时间",
        "DATE",
        "SETTLED ON",
        "SETTLEMENT DATE",
        "DATE SETTLED",
    ),
    "city": ("迁入地城市", "迁入地 城市", "迁入城市", "迁入市", "落户城市", "城市", "CITY"),
    "district": (
        "迁入地区县",
        "迁入地 区县",
        "迁入区县",
        "迁入地县区",
        "落户区县",
        "区县",
        "县区",
        "区/县",
        "DISTRICT",
        "COUNTY",
    ),
    # one column with both, e.g. 韶关市浈江区
    "place": ("迁入地", "迁入地址", "落户地", "落户地址", "DESTINATION", "PLACE"),
    "channel": (
        "落户类型",
        "落户途径",
        "落户类型/途径",
        "落户类型途径",
        "落户方式",
        "落户原因",
        "迁入类型",
        "迁入原因",
        "类型",
        "途径",
        "CHANNEL",
        "TYPE",
        "HOW SETTLED",
    ),
    "note": ("备注", "NOTE", "NOTES", "REMARK", "REMARKS", "COMMENT"),
}

_HEADER_ZH = {
    "id_number": "公民身份号码",
    "name": "姓名",
    "settled_on": "落户日期",
    "city": "迁入地城市",
    "district": "迁入地区县",
    "channel": "落户类型",
}
_HEADER_EN = {
    "id_number": "ID number",
    "name": "name",
    "settled_on": "date",
    "city": "city",
    "district": "district",
    "channel": "channel",
}

#: The words the police use for how a person settled, mapped to the service's channels.
CHANNEL_WORDS: dict[str, tuple[str, ...]] = {
    "housing": (
        "购房",
        "买房",
        "购买住房",
        "购买商品房",
        "商品房",
        "住房",
        "房产",
        "合法稳定住所",
        "稳定住所",
        "HOUSING",
        "PURCHASE OF HOUSING",
        "HOUSE PURCHASE",
    ),
    "employment": (
        "就业",
        "务工",
        "工作",
        "稳定就业",
        "合法稳定就业",
        "社保",
        "参保",
        "EMPLOYMENT",
        "WORK",
        "JOB",
    ),
    "study": (
        "就学",
        "升学",
        "求学",
        "读书",
        "学习",
        "学生",
        "毕业生",
        "大中专毕业生",
        "STUDY",
        "STUDENT",
        "GRADUATE",
    ),
    "family": (
        "投靠",
        "投亲",
        "投亲靠友",
        "投靠亲属",
        "夫妻投靠",
        "父母投靠",
        "子女投靠",
        "随迁",
        "家属随迁",
        "FAMILY",
        "JOINING FAMILY",
        "JOIN FAMILY",
    ),
    "other": ("其他", "其它", "OTHER"),
}
_ACCEPTED_ZH = "购房、就业、就学、投靠、其他"
_ACCEPTED_EN = "housing, employment, study, family, other"

NOTE_MAX = services.NOTE_MAX

_PUNCT = re.compile(r"[\s_\-/\\()（）【】\[\]:：·.、,，\u3000]+")


def _norm(text: str) -> str:
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text)).upper()


_HEADER_INDEX = {_norm(a): target for target, aliases in HEADERS.items() for a in aliases}
_CHANNEL_INDEX = {_norm(w): code for code, words in CHANNEL_WORDS.items() for w in words}


def channel_of(word: str) -> str | None:
    """The service's channel for a word of the list (购房落户 as 购房), or None."""
    key = _norm(word)
    if key.endswith("落户") and key not in _CHANNEL_INDEX:
        key = key[: -len("落户")]
    return _CHANNEL_INDEX.get(key)


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MIDNIGHT = re.compile(r"[ T]00:00(:00)?(\.0+)?$")  # an XLSX date cell read as a datetime


def parse_day(text: str) -> date | None:
    """A date as the police write it: 2026-05-03, 2026/5/3, 2026.5.3, 2026年5月3日, 20260503."""
    value = _MIDNIGHT.sub("", unicodedata.normalize("NFKC", text).strip())
    m = _DATE.match(value) or _COMPACT.match(value)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _split_place(place: str) -> tuple[str, str] | None:
    """韶关市浈江区 as (韶关市, 浈江区): the city ends at its first 市 (or 州, 盟)."""
    m = re.match(r"^(.+?(?:市|自治州|州|地区|盟))\s*(.+)$", place.strip())
    return (m[1], m[2]) if m else None


@dataclass
class ListRow:
    row: int  # the row's number in the file (the header is row 1)
    id_number: str
    name: str
    settled_on: date | None = None
    city: str = ""
    district: str = ""
    channel: str = ""
    note: str | None = None  # 备注, kept with the record
    person_uid: int | None = None
    skip: bool = False  # already recorded with the same date
    ok: bool = True


@dataclass
class Checked:
    rows: list[ListRow]
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def to_write(self) -> list[ListRow]:
        return [r for r in self.rows if r.ok and not r.skip]


def mask(id_number: str) -> str:
    return codes.mask_id_number(id_number) if id_number else "-"


_ID_PROBLEM = {
    "empty": ("为空", "is empty"),
    "length": ("位数不对（应为 18 位）", "does not have 18 characters"),
    "digits": ("含有数字以外的字符", "has characters other than digits"),
    "charset": ("含有数字以外的字符", "has characters other than digits"),
    "region": ("地址码不对", "has a wrong region code"),
    "date": ("出生日期不对", "has a wrong birth date"),
    "check_digit": ("校验码不对", "has a wrong check character"),
}


def _field_problem(err: DomainError, row: ListRow) -> tuple[str, str, str]:
    """A refusal of ``services.check_settlement`` in both languages, for the report."""
    day = row.settled_on.isoformat() if row.settled_on else ""
    if err.code == "settled_in_future":
        return ("date_future", f"落户日期 {day} 晚于今天", f"The date {day} is in the future")
    if err.code == "settled_before_birth":
        return (
            "date_before_birth",
            f"落户日期 {day} 早于该人的出生日期",
            f"The date {day} is before the person was born",
        )
    what_zh = {"city": "迁入地城市", "district": "迁入地区县"}.get(err.field or "", "")
    what_en = {"city": "the city", "district": "the district"}.get(err.field or "", "a field")
    if err.code == "required":
        return ("place_missing", f"{what_zh}为空", f"{what_en.capitalize()} is empty")
    if err.code == "too_long":
        return ("place_too_long", f"{what_zh}过长", f"{what_en.capitalize()} is too long")
    return (err.code[:40], err.message, err.message)


def check_list(job: ImportJob, today: date | None = None) -> Checked:
    """Every problem of the list, and the rows that promotion would write or skip."""
    table = read_table(job_file(job), job.filename)
    checked = Checked(rows=[])
    problems = checked.problems

    def add(row: int | None, id_number: str, code: str, zh: str, en: str, **kw: Any) -> None:
        where_zh = f"第 {row} 行：" if row is not None else ""
        where_en = f"Row {row}: " if row is not None else ""
        problems.append(
            Problem(
                row,
                mask(id_number) if id_number else None,
                code,
                kw.pop("severity", "error"),
                where_zh + zh,
                where_en + en,
                **kw,
            )
        )

    columns: dict[str, str] = {}
    for header in table.header:
        target = _HEADER_INDEX.get(_norm(header))
        if target and target not in columns:
            columns[target] = header
    needed = ["id_number", "name", "settled_on", "channel"]
    if "place" not in columns or ("city" in columns and "district" in columns):
        needed += ["city", "district"]
    missing = [f for f in needed if f not in columns]
    if missing:
        add(
            None,
            "",
            "missing_column",
            "文件缺少以下列：" + "、".join(_HEADER_ZH[f] for f in missing),
            "The file lacks the column(s): " + ", ".join(_HEADER_EN[f] for f in missing),
        )
        return checked
    if not table.rows:
        add(None, "", "no_rows", "文件中没有数据行", "The file has no rows")
        return checked

    def cell(values: dict[str, str], target: str) -> str:
        source = columns.get(target)
        return values.get(source, "").strip() if source else ""

    numbers = table.numbers or list(range(2, len(table.rows) + 2))
    for number, values in zip(numbers, table.rows, strict=True):
        raw_id = cell(values, "id_number")
        row = ListRow(number, raw_id, cell(values, "name"))
        checked.rows.append(row)
        try:
            row.id_number = codes.validate_id_number(
                unicodedata.normalize("NFKC", raw_id).upper(), today=today
            )
        except codes.CodeError as exc:
            zh, en = _ID_PROBLEM.get(exc.code, ("格式不正确", "is malformed"))
            add(
                number,
                raw_id,
                "id_malformed",
                f"公民身份号码 {mask(raw_id)} {zh}；请核对号码（表格中请把该列设为文本，"
                "以免长数字被改动）",
                f"The ID number {mask(raw_id)} {en}; check the number (keep the column as text "
                "in the spreadsheet, so that long numbers are not changed)",
            )
            row.id_number = ""
        if not row.name:
            add(number, row.id_number, "name_missing", "姓名为空", "The name is empty")
        raw_day = cell(values, "settled_on")
        row.settled_on = parse_day(raw_day)
        if row.settled_on is None:
            add(
                number,
                row.id_number,
                "date_invalid",
                f"落户日期“{raw_day[:20]}”不是有效日期（如 2026-05-03 或 2026年5月3日）",
                f"The date {raw_day[:20]!r} is not a valid date (e.g. 2026-05-03)",
            )
        if "city" in columns and "district" in columns:
            row.city, row.district = cell(values, "city"), cell(values, "district")
        else:
            place = cell(values, "place")
            parts = _split_place(place)
            if parts is None:
                add(
                    number,
                    row.id_number,
                    "place_unclear",
                    f"迁入地“{place[:40]}”分不出城市和区县；请分成“迁入地城市”“迁入地区县”两列",
                    f"The destination {place[:40]!r} cannot be split into city and district; "
                    "give them in two columns",
                )
            else:
                row.city, row.district = parts
        word = cell(values, "channel")
        row.channel = channel_of(word) or ""
        if not row.channel:
            add(
                number,
                row.id_number,
                "channel_unknown",
                f"落户类型“{word[:20]}”无法识别；可用的写法：{_ACCEPTED_ZH}",
                f"The channel {word[:20]!r} is not recognised; accepted words: {_ACCEPTED_EN}",
            )
        try:
            row.note = services.check_note(cell(values, "note"))
        except DomainError:
            add(
                number,
                row.id_number,
                "note_too_long",
                f"备注超过 {NOTE_MAX} 个字",
                f"The note is longer than {NOTE_MAX} characters",
            )

    counts = Counter(r.id_number for r in checked.rows if r.id_number)
    where = defaultdict(list)
    for r in checked.rows:
        if r.id_number:
            where[r.id_number].append(str(r.row))
    for r in checked.rows:
        if r.id_number and counts[r.id_number] > 1:
            rows = "、".join(where[r.id_number])
            add(
                r.row,
                r.id_number,
                "duplicate_row",
                f"公民身份号码 {mask(r.id_number)} 在文件中出现 {counts[r.id_number]} 次"
                f"（第 {rows} 行）；每人只能有一行",
                f"The ID number {mask(r.id_number)} occurs {counts[r.id_number]} times in the "
                f"file (rows {', '.join(where[r.id_number])}); one row per person",
            )

    _registry_checks(checked, add, today)
    failed = {p.idx for p in problems if p.severity == "error"}
    for r in checked.rows:
        r.ok = r.row not in failed
    return checked


def _registry_checks(checked: Checked, add: Any, today: date | None) -> None:
    """The people named by the list, their names, the service's checks, earlier records."""
    ids = sorted({r.id_number for r in checked.rows if r.id_number})
    people: dict[str, Person] = {}
    for part in range(0, len(ids), 2000):
        people.update(
            (p.id_number, p)
            for p in db.session.scalars(
                select(Person).where(
                    Person.end_lifespan.is_(None), Person.id_number.in_(ids[part : part + 2000])
                )
            )
        )
    for r in checked.rows:
        if not r.id_number:
            continue
        person = people.get(r.id_number)
        if person is None:
            add(
                r.row,
                r.id_number,
                "id_unknown",
                f"公民身份号码 {mask(r.id_number)} 不在登记库中；未作任何猜测，请核对号码",
                f"The ID number {mask(r.id_number)} is not in the registry; nothing was guessed, "
                "check the number",
            )
            continue
        r.person_uid = person.uid
        if r.name and _norm(r.name) != _norm(person.name):
            add(
                r.row,
                r.id_number,
                "name_mismatch",
                f"姓名“{r.name[:40]}”与登记库中该公民身份号码的姓名不一致；请核对",
                f"The name {r.name[:40]!r} is not the registry's name for this ID number; check it",
            )
        if r.settled_on is None or not r.channel:
            continue
        try:
            fields = services.check_settlement(
                person, r.settled_on, r.city, r.district, r.channel, today
            )
        except DomainError as err:
            code, zh, en = _field_problem(err, r)
            add(r.row, r.id_number, code, zh, en)
            continue
        r.city, r.district = fields["city"], fields["district"]
    earlier: dict[int, list[Any]] = defaultdict(list)
    for record in services.current_settlements(
        [r.person_uid for r in checked.rows if r.person_uid]
    ):
        earlier[record.person_uid].append(record)
    for r in checked.rows:
        records = earlier.get(r.person_uid or 0, [])
        if not records or r.settled_on is None:
            continue
        if any(rec.settled_on == r.settled_on for rec in records):
            r.skip = True
            add(
                r.row,
                r.id_number,
                "already_recorded",
                f"已登记于 {r.settled_on.isoformat()} 落户，本行跳过",
                f"Already recorded as settled on {r.settled_on.isoformat()}; this row is skipped",
                severity="warning",
            )
        else:
            days = "、".join(rec.settled_on.isoformat() for rec in records)
            add(
                r.row,
                r.id_number,
                "recorded_other_date",
                f"该人已登记于 {days} 落户，与名单的 {r.settled_on.isoformat()} 不同；如需更正，"
                "请在其落户登记页更正，然后重新导入",
                f"This person is recorded as settled on {days}, not {r.settled_on.isoformat()} "
                "as the list says; correct it on the person's settlement page if needed, then "
                "import again",
                other_uid=r.person_uid,
            )


def _summary(job: ImportJob, checked: Checked) -> dict[str, Any]:
    log = problem_log(job)
    db.session.execute(ImportProblem.__table__.delete().where(ImportProblem.job_id == job.id))
    log.add(checked.problems)
    invalid = sum(1 for r in checked.rows if not r.ok)
    summary = staging.summarise(db.session, job.id, len(checked.rows), log, invalid=invalid)
    summary["skipped"] = sum(1 for r in checked.rows if r.ok and r.skip)
    summary["valid"] = len(checked.to_write)
    return summary


def validate_list_job(job: ImportJob, today: date | None = None) -> ImportJob:
    """Check the list and leave the job VALIDATED with its report (or FAILED, unreadable)."""
    now = utcnow()
    save(job, status=JobStatus.RUNNING, phase="checking", started_at=now, heartbeat_at=now)
    try:
        checked = check_list(job, today)
    except ImportRefused as exc:
        db.session.rollback()
        job = db.session.get(ImportJob, job.id)
        zh, en = _unreadable(exc, job.filename)
        save(
            job,
            status=JobStatus.FAILED,
            phase=None,
            error_code=exc.code,
            error_zh=zh,
            error_en=en,
            finished_at=utcnow(),
        )
        return job
    summary = _summary(job, checked)
    job.summary_json = dumps(summary)
    trail.record_event(
        db.session,
        "import.validate",
        "import_job",
        str(job.id),
        details={k: summary[k] for k in ("features", "valid", "invalid", "skipped", "warnings")}
        | {"sha256": job.sha256},
    )
    n = len(checked.rows)
    save(job, status=JobStatus.VALIDATED, phase=None, done=n, total=n, finished_at=utcnow())
    return job


_NOT_A_TABLE = {"refused_format", "name_mismatch", "not_a_table", "unsupported_file", "not_xlsx"}


def _unreadable(exc: ImportRefused, filename: str) -> tuple[str, str]:
    """Why the file could not be read, in the words of a settlement list (the readers' own
    words speak of plots and GIS software)."""
    if exc.code in _NOT_A_TABLE:
        return (
            f"{filename} 不是可读取的 CSV 或 XLSX 表格，不能导入。请把派出所名单另存为 CSV（UTF-8 "
            "或 GBK）或 XLSX 后再导入",
            f"{filename} is not a readable CSV or XLSX table and cannot be imported. Save the "
            "police list as CSV (UTF-8 or GBK) or XLSX and try again",
        )
    if exc.code == "too_many_rows":
        return (
            exc.message_zh.replace("导入的上限", "导入的上限（名单应按月分开）"),
            exc.message_en,
        )
    return exc.message_zh, exc.message_en


# --- what the pages (and any other caller) use


def _no_job() -> NotFound:
    return NotFound("job", _("Not found."))


def upload_list(user: Any, stream: Any, filename: str) -> ImportJob:
    """Store an uploaded police list and create its job (the caller commits, then calls
    ``start_checking``). Only the hukou desk; a file that is not CSV or XLSX is refused here."""
    if not services.may_write(user):
        raise _no_job()
    name = (filename or "").strip()
    if not name.lower().endswith((".csv", ".xlsx")):
        raise DomainError(
            "file_kind",
            _("Upload the police list as a CSV or XLSX file."),
            field="file",
        )
    try:
        stored = store_file(store_root(), stream, name)
    except ImportRefused as exc:
        raise DomainError(exc.code, pick(*_unreadable(exc, name)), field="file") from exc
    return create_job(KIND, stored, collective_id=None, options={})


def start_checking(job: ImportJob) -> None:
    queue_validation(job)


def job_for(user: Any, job_id: Any) -> ImportJob:
    """A police list job, for the hukou desk only; anything else is "not found"."""
    if not services.may_write(user) or not isinstance(job_id, int):
        raise _no_job()
    job = db.session.get(ImportJob, job_id)
    if job is None or job.kind != KIND:
        raise _no_job()
    return job


def list_jobs(user: Any, limit: int = 50) -> list[ImportJob]:
    if not services.may_write(user):
        raise _no_job()
    return list(
        db.session.scalars(
            select(ImportJob)
            .where(ImportJob.kind == KIND)
            .order_by(ImportJob.id.desc())
            .limit(limit)
        )
    )


def recorded_rows(job: ImportJob, limit: int = 1000) -> list[tuple[SettlementRecord, Person]]:
    """The settlements a promoted list recorded (they cite the list), with their people, in
    the list's order; nothing before promotion."""
    if job.source_document_id is None:
        return []
    return [
        (record, person)
        for record, person in db.session.execute(
            select(SettlementRecord, Person)
            .join(
                Person,
                (Person.uid == SettlementRecord.person_uid) & Person.end_lifespan.is_(None),
            )
            .where(SettlementRecord.source_document_id == job.source_document_id)
            .order_by(SettlementRecord.id)
            .limit(limit)
        )
    ]


def promotion_refusal(job: ImportJob) -> str | None:
    """Why the list cannot be promoted now, in the user's language; None if it can."""
    s = job.summary
    if job.status != JobStatus.VALIDATED:
        return _("The list is not ready to be written (it is being checked, or is done).")
    if s.get("errors"):
        return _(
            "The list has problems (see below). Nothing is written until every problem is "
            "fixed: correct the file and upload it again."
        )
    if not s.get("valid"):
        return _("Every person on the list is already recorded; there is nothing to write.")
    return None


def request_promotion(user: Any, job: ImportJob) -> None:
    """Check the list may be promoted (all or nothing); the caller commits, then calls
    ``start_promotion``."""
    if not services.may_write(user):
        raise _no_job()
    why = promotion_refusal(job)
    if why is not None:
        raise DomainError("job_state", why)


def start_promotion(job: ImportJob) -> None:
    enqueue(job.id, "promote", valid_only=False)


def discard_list(user: Any, job: ImportJob) -> None:
    if not services.may_write(user):
        raise _no_job()
    discard_job(job)


# --- promotion (called by the imports runner inside its transaction)


def _refuse(job: ImportJob, code: str, zh: str, en: str) -> None:
    job.status = JobStatus.VALIDATED
    job.phase = None
    job.error_code, job.error_zh, job.error_en = code, zh, en
    db.session.commit()


def promote_list_job(
    job: ImportJob, valid_only: bool = False, today: date | None = None
) -> int | None:
    """Write every row of the list, or nothing (``valid_only`` is not offered for this kind).

    The list is checked again first (the registry may have changed since the report); any
    problem, or a refusal of any row by ``record_settlement``, writes nothing, puts the job back
    to VALIDATED with the reason and returns None.
    """
    # Checked and written under the settlement writes' hold: a record made at the desk meanwhile
    # is either seen by the check or waits for the promotion to end.
    services.hold_settlement_writes()
    checked = check_list(job, today)
    if checked.errors or not checked.to_write:
        job.summary_json = dumps(_summary(job, checked))
        _refuse(
            job,
            "has_errors",
            "名单在入库前复核时发现问题（见报告），未写入任何记录",
            "Checked again before writing, the list has problems (see the report); nothing "
            "was written",
        )
        return None
    officer = db.session.get(User, job.created_by_id) if job.created_by_id else None
    if officer is None or not officer.is_active or not services.may_write(officer):
        _refuse(
            job,
            "not_officer",
            "上传名单的用户已不是户籍民警，未写入任何记录",
            "The user who uploaded the list no longer works at the hukou desk; nothing was written",
        )
        return None
    return _write(job, officer, checked.to_write, today)


def _write(job: ImportJob, officer: User, rows: list[ListRow], today: date | None) -> int | None:
    """Each row through ``record_settlement``; all in the caller's transaction, or nothing."""
    with trail.because("import.promote", source_sha256=job.sha256):
        doc = SourceDocument(
            collective_id=None,  # county-wide: citable for anyone's settlement
            kind="other",
            title=f"派出所落户名单 / police settlement list: {job.filename}"[:200],
            filename=job.filename[:200],
            media_type="text/csv" if job.filename.lower().endswith(".csv") else None,
            size=job.size,
            sha256=job.sha256,
            storage_key=None,  # the bytes stay in the import store
            uploaded_by=officer.username,
        )
        db.session.add(doc)
        db.session.flush()
    written = []
    for r in rows:
        try:
            record = services.record_settlement(
                officer,
                r.person_uid,
                settled_on=r.settled_on,
                city=r.city,
                district=r.district,
                channel=r.channel,
                source_document_id=doc.id,
                note=r.note,
                today=today,
            )
        except DomainError as err:
            db.session.rollback()
            job = db.session.get(ImportJob, job.id)
            _refuse(
                job,
                "row_refused",
                f"第 {r.row} 行写入时被拒绝（{err.message}），整份名单未写入任何记录",
                f"Row {r.row} was refused while writing ({err.message}); nothing of the list "
                "was written",
            )
            return None
        written.append([record.id, record.person_uid])
    trail.record_event(
        db.session,
        "import.promote",
        "settlement_record",
        f"{written[0][0]}-{written[-1][0]}",
        details={
            "job": job.id,
            "file_sha256": job.sha256,
            "source_document_id": doc.id,
            "count": len(written),
            "skipped": job.summary.get("skipped", 0),
            "digest": hashlib.sha256(trail.canonical_json(written).encode("utf-8")).hexdigest(),
        },
    )
    job.source_document_id = doc.id
    return len(written)
