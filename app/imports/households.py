"""Households (承包方, NY/T 2539 table CBF) and their members (CBF_JTCY) from CSV or XLSX.

Household tables are small next to plot layers (a county has tens of thousands of households), so
they are checked in memory, row by row, with the national code checks (app.core.codes): CBFBM
format and collective prefix, ID numbers (GB 11643 check digit), relation codes (YHZGX), the
co-holder flag (SFGYR). The files are read again at promotion, which then writes households,
persons (a person whose ID number is already registered is reused, not duplicated) and
household members with Core bulk inserts in one transaction, audited per batch like plots
(promote.py): no personal data goes into the audit entries, only codes, uids and a digest.

No membership of the collective (成员资格) is created: NY/T 2539 does not record it, and it is a
separate, reasoned decision of the collective (集体经济组织法 Arts. 11-18).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import bindparam, select, text

from app.audit import trail
from app.core import codes
from app.core.models import utcnow
from app.divisions.models import Collective
from app.extensions import db
from app.imports import mapping as maps
from app.imports import staging
from app.imports.columns import parse_flag
from app.imports.models import ImportJob, ImportProblem, JobStatus
from app.imports.problems import Problem
from app.imports.promote import create_source_document, db_value, insert_many, reserve_uids
from app.imports.readers import ImportRefused, Table, read_table, sheet_names
from app.imports.state import dumps, fail, job_file, problem_log, save
from app.registry import history
from app.registry.models import RELATIONS, Household, HouseholdMember, Person
from app.registry.versioning import RegistryObject

BATCH = 2000


@dataclass
class MemberRow:
    row: int
    name: str
    id_number: str
    relation: str
    is_co_holder: bool


@dataclass
class HouseholdRow:
    idx: int
    cbfbm: str
    name: str
    address: str | None
    collective_id: int | None
    members: list[MemberRow] = field(default_factory=list)
    ok: bool = True


@dataclass
class Checked:
    households: list[HouseholdRow]
    problems: list[Problem]
    features: int


def _read(job: ImportJob) -> tuple[Table, Table | None]:
    path = job_file(job)
    cbf = read_table(path, job.filename, sheet="CBF")
    members: Table | None = None
    if job.members_path:
        members = read_table(
            job_file(job, members=True), job.members_filename or "", sheet="CBF_JTCY"
        )
    elif "CBF_JTCY" in sheet_names(path):
        members = read_table(path, job.filename, sheet="CBF_JTCY")
    return cbf, members


def check_households(job: ImportJob, today: date | None = None) -> Checked:
    """Every problem of the CBF / CBF_JTCY tables, and the households that may be promoted."""
    cbf, member_table = _read(job)
    problems: list[Problem] = []

    def add(idx: int | None, code: str | None, problem: str, zh: str, en: str, sev="error"):
        problems.append(Problem(idx, code, problem, sev, zh, en))

    mapping = maps.resolve(cbf.header, None, maps.HOUSEHOLD_FIELDS)
    missing = maps.missing_required(mapping, maps.HOUSEHOLD_REQUIRED)
    member_map = maps.resolve(member_table.header, None, maps.MEMBER_FIELDS) if member_table else {}
    member_missing = maps.missing_required(member_map, maps.MEMBER_REQUIRED) if member_table else []
    for names, table in ((missing, "CBF"), (member_missing, "CBF_JTCY")):
        if names:
            add(
                None,
                None,
                "missing_field",
                f"{table} 表缺少必填字段 {', '.join(names)}",
                f"The {table} table lacks the required field(s) {', '.join(names)}",
            )
    if missing:
        return Checked([], problems, len(cbf.rows))

    fbfbm = None
    collectives: dict[str, int] = {}
    if job.collective_id is not None:
        fbfbm = db.session.get(Collective, job.collective_id).fbfbm
    else:
        collectives = {f: i for f, i in db.session.execute(select(Collective.fbfbm, Collective.id))}

    def cell(row: dict[str, str], target: str, m: dict[str, str]) -> str:
        source = m.get(target)
        return row.get(source.upper(), "").strip() if source else ""

    households: list[HouseholdRow] = []
    by_code: dict[str, HouseholdRow] = {}
    counts = Counter(cell(r, "CBFBM", mapping) for r in cbf.rows)
    declared: dict[str, tuple[str, str]] = {}
    for idx, row in enumerate(cbf.rows):
        raw = cell(row, "CBFBM", mapping)
        name = cell(row, "CBFMC", mapping)
        collective_id = job.collective_id
        try:
            code = codes.validate_cbfbm(raw, fbfbm)
        except codes.CodeError as exc:
            add(idx, raw or None, f"cbfbm_{exc.code}", exc.message_zh, exc.message_en)
            continue
        if fbfbm is None:
            collective_id = collectives.get(code[:14])
            if collective_id is None:
                add(
                    idx,
                    code,
                    "cbfbm_collective",
                    f"承包方编码前 14 位 {code[:14]} 不是本县已登记的发包方编码",
                    f"The first 14 digits of the household code, {code[:14]}, are not the code "
                    "of a registered collective",
                )
        if counts[raw] > 1:
            add(
                idx,
                code,
                "duplicate_code",
                f"承包方编码 {code} 在文件中出现 {counts[raw]} 次",
                f"Household code {code} occurs {counts[raw]} times in the file",
            )
        if not name:
            add(idx, code, "name_missing", "承包方名称（CBFMC）为空", "CBFMC (name) is empty")
        elif len(name) > 80:
            add(idx, code, "too_long", "CBFMC 超过 80 个字符", "CBFMC is longer than 80 characters")
        head = cell(row, "CBFZJHM", mapping)
        if head:
            try:
                head = codes.validate_id_number(head, today=today)
            except codes.CodeError as exc:
                add(idx, code, f"head_id_{exc.code}", exc.message_zh, exc.message_en)
        count = cell(row, "CBFCYSL", mapping)
        declared[code] = (head, count)
        hh = HouseholdRow(
            idx,
            code,
            name[:80],
            cell(row, "CBFDZ", mapping)[:200] or None,
            collective_id,
        )
        households.append(hh)
        by_code.setdefault(code, hh)

    seen_ids: dict[str, list[HouseholdRow]] = defaultdict(list)
    for j, row in enumerate(member_table.rows if member_table and not member_missing else []):
        raw = cell(row, "CBFBM", member_map)
        hh = by_code.get(raw)
        where_zh, where_en = f"成员表第 {j + 2} 行", f"member row {j + 2}"
        if hh is None:
            add(
                None,
                raw or None,
                "member_orphan",
                f"{where_zh}：承包方编码 {raw or '-'} 不在承包方表中，已跳过",
                f"{where_en}: household code {raw or '-'} is not in the CBF table; skipped",
                "warning",
            )
            continue
        name = cell(row, "CYXM", member_map)
        if not name:
            add(
                hh.idx, hh.cbfbm, "member_name", f"{where_zh}：成员姓名为空", f"{where_en}: no name"
            )
        try:
            id_number = codes.validate_id_number(cell(row, "CYZJHM", member_map), today=today)
        except codes.CodeError as exc:
            add(
                hh.idx,
                hh.cbfbm,
                f"member_id_{exc.code}",
                f"{where_zh}：{exc.message_zh}",
                f"{where_en}: {exc.message_en}",
            )
            continue
        relation = cell(row, "YHZGX", member_map).zfill(2)
        if relation not in RELATIONS:
            add(
                hh.idx,
                hh.cbfbm,
                "member_relation",
                f"{where_zh}：与户主关系代码“{relation}”无效",
                f"{where_en}: relation code {relation!r} is not valid",
            )
        flag = parse_flag(cell(row, "SFGYR", member_map) or "1")
        if flag is None:
            add(
                hh.idx,
                hh.cbfbm,
                "member_co_holder",
                f"{where_zh}：是否共有人（SFGYR）应为 1（是）或 2（否）",
                f"{where_en}: co-holder (SFGYR) must be 1 (yes) or 2 (no)",
            )
        hh.members.append(MemberRow(j, name[:80], id_number, relation, bool(flag)))
        seen_ids[id_number].append(hh)

    for id_number, owners in seen_ids.items():
        if len(owners) > 1:
            for hh in owners:
                add(
                    hh.idx,
                    hh.cbfbm,
                    "member_duplicate",
                    f"身份证号 {codes.mask_id_number(id_number)} 在成员表中出现 {len(owners)} 次",
                    f"ID number {codes.mask_id_number(id_number)} occurs {len(owners)} times "
                    "among the members",
                )

    for hh in households:
        head, count = declared.get(hh.cbfbm, ("", ""))
        member_ids = {m.id_number for m in hh.members}
        if head and member_table is not None and head not in member_ids:
            add(
                hh.idx,
                hh.cbfbm,
                "head_not_member",
                "承包方证件号码（CBFZJHM）不在该户成员中",
                "The head's ID number (CBFZJHM) is not among the household's members",
                "warning",
            )
        if count and member_table is not None:
            if not count.isdigit():
                add(hh.idx, hh.cbfbm, "member_count", "成员数量不是数字", "CBFCYSL is not a number")
            elif int(count) != len(hh.members):
                add(
                    hh.idx,
                    hh.cbfbm,
                    "member_count",
                    f"成员数量（CBFCYSL）为 {count}，成员表中有 {len(hh.members)} 人",
                    f"CBFCYSL says {count} members, the member table lists {len(hh.members)}",
                    "warning",
                )

    problems += _registry_checks(households, seen_ids)
    errored = {p.idx for p in problems if p.severity == "error" and p.idx is not None}
    for hh in households:
        hh.ok = hh.idx not in errored
    return Checked(households, problems, len(cbf.rows))


def _registry_checks(
    households: list[HouseholdRow], seen_ids: dict[str, list[HouseholdRow]]
) -> list[Problem]:
    """Codes already registered; people already in another current household."""
    out: list[Problem] = []
    wanted = [hh.cbfbm for hh in households]
    for part in range(0, len(wanted), 5000):
        rows = db.session.execute(
            select(Household.cbfbm).where(
                Household.end_lifespan.is_(None), Household.cbfbm.in_(wanted[part : part + 5000])
            )
        )
        existing = {r[0] for r in rows}
        for hh in households:
            if hh.cbfbm in existing:
                out.append(
                    Problem(
                        hh.idx,
                        hh.cbfbm,
                        "code_in_registry",
                        "error",
                        f"承包方编码 {hh.cbfbm} 已是登记库中的现有承包方",
                        f"Household code {hh.cbfbm} is already a current household",
                    )
                )
    ids = list(seen_ids)
    # People already registered. The import may list only someone its household's collective
    # knows (a member of it, or in one of its households); anyone else, another collective's
    # member included, gets the answer the registration form gives, naming no household or
    # collective: an import cannot be used to learn who is registered elsewhere, nor to pull
    # another collective's person into a household.
    sql = text(
        "SELECT p.id_number, ms.collective_id FROM person p "
        "JOIN membership ms ON ms.person_uid = p.uid AND ms.end_lifespan IS NULL "
        "WHERE p.end_lifespan IS NULL AND p.id_number IN :ids "
        "UNION "
        "SELECT p.id_number, m.collective_id FROM person p "
        "JOIN household_member m ON m.person_uid = p.uid AND m.end_lifespan IS NULL "
        "WHERE p.end_lifespan IS NULL AND p.id_number IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    registered = select(Person.id_number).where(Person.end_lifespan.is_(None))
    known_to: dict[str, set[int]] = defaultdict(set)
    existing: set[str] = set()
    for part in range(0, len(ids), 5000):
        chunk = ids[part : part + 5000]
        existing.update(db.session.scalars(registered.where(Person.id_number.in_(chunk))))
        for id_number, collective_id in db.session.execute(sql, {"ids": chunk}):
            known_to[id_number].add(collective_id)
    for id_number in sorted(existing):
        for hh in seen_ids[id_number]:
            if hh.collective_id not in known_to[id_number]:
                masked = codes.mask_id_number(id_number)
                out.append(
                    Problem(
                        hh.idx,
                        hh.cbfbm,
                        "member_registered",
                        "error",
                        f"身份证号 {masked} 不能再次登记。如该成员在本集体名册中，请在名册中查找；"
                        "否则请县农业农村局核查。",
                        f"ID number {masked} cannot be registered again. If the person is on "
                        "your roll, find them there; otherwise the county agriculture bureau "
                        "can check the record.",
                    )
                )
    sql = text(
        "SELECT p.id_number, h.cbfbm, h.collective_id FROM person p "
        "JOIN household_member m ON m.person_uid = p.uid AND m.end_lifespan IS NULL "
        "JOIN household h ON h.uid = m.household_uid AND h.end_lifespan IS NULL "
        "WHERE p.end_lifespan IS NULL AND p.id_number IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    for part in range(0, len(ids), 5000):
        for id_number, cbfbm, collective_id in db.session.execute(
            sql, {"ids": ids[part : part + 5000]}
        ):
            for hh in seen_ids[id_number]:
                if hh.collective_id != collective_id:
                    continue  # answered above, without naming the other household
                out.append(
                    Problem(
                        hh.idx,
                        hh.cbfbm,
                        "member_elsewhere",
                        "error",
                        f"身份证号 {codes.mask_id_number(id_number)} 的成员"
                        f"已属于现有承包方 {cbfbm}",
                        f"The member with ID number {codes.mask_id_number(id_number)} already "
                        f"belongs to current household {cbfbm}",
                    )
                )
    return out


def validate_households_job(job: ImportJob, today: date | None = None) -> ImportJob:
    """Check the tables and leave the job VALIDATED with its report (or FAILED)."""
    now = utcnow()
    save(job, status=JobStatus.RUNNING, phase="checking", started_at=now, heartbeat_at=now)
    db.session.execute(ImportProblem.__table__.delete().where(ImportProblem.job_id == job.id))
    try:
        checked = check_households(job, today)
    except ImportRefused as exc:
        return fail(job, exc)
    log = problem_log(job)
    log.add(checked.problems)
    invalid = {p.idx for p in checked.problems if p.severity == "error" and p.idx is not None}
    summary = staging.summarise(db.session, job.id, checked.features, log, invalid=len(invalid))
    summary["members"] = sum(len(h.members) for h in checked.households)
    job.summary_json = dumps(summary)
    trail.record_event(
        db.session,
        "import.validate",
        "import_job",
        str(job.id),
        details={k: summary[k] for k in ("features", "valid", "invalid", "warnings")}
        | {"sha256": job.sha256},
        collective_id=job.collective_id,
    )
    save(
        job,
        status=JobStatus.VALIDATED,
        phase=None,
        done=checked.features,
        total=checked.features,
        finished_at=utcnow(),
    )
    return job


def promote_households_job(
    job: ImportJob, valid_only: bool, today: date | None = None
) -> int | None:
    """Write the households, new persons and household members (one transaction, caller commits).

    The tables are checked again first, because the registry may have changed since validation;
    if they no longer pass, nothing is written, the job goes back to VALIDATED with the reason,
    and None is returned.
    """
    checked = check_households(job, today)
    chosen = [h for h in checked.households if h.ok or not valid_only]
    file_errors = any(p.idx is None and p.severity == "error" for p in checked.problems)
    if not chosen or file_errors or any(not h.ok for h in chosen):
        job.status = JobStatus.VALIDATED
        job.phase = None
        job.error_code = "has_errors"
        job.error_zh = "承包方数据有错误（见报告），未写入"
        job.error_en = "The household data has errors (see the report); nothing was written"
        db.session.commit()
        return None
    with trail.because("import.promote", source_sha256=job.sha256):
        return _write_households(job, chosen)


def _write_households(job: ImportJob, households: list[HouseholdRow]) -> int:
    session = db.session
    ctx = trail.current()
    actor = ctx.actor if ctx else None
    now = utcnow()
    stamp = db_value(session, now)
    # legal time: the declared date of the data, else the day of promotion
    valid_from = db_value(session, history.legal_date(job.effective_on))
    reason = f"import job {job.id}: {job.filename}"
    docs: dict[int | None, int] = {}
    ids = sorted({m.id_number for h in households for m in h.members})
    known: dict[str, int] = {}
    for part in range(0, len(ids), 5000):
        rows = session.execute(
            select(Person.id_number, Person.uid).where(
                Person.end_lifespan.is_(None), Person.id_number.in_(ids[part : part + 5000])
            )
        )
        known.update({i: u for i, u in rows})
    registry = RegistryObject.__table__
    written = 0
    for start in range(0, len(households), BATCH):
        batch = households[start : start + BATCH]
        by_collective: dict[int | None, list[HouseholdRow]] = defaultdict(list)
        for hh in batch:
            by_collective[hh.collective_id].append(hh)
        for collective_id, group in by_collective.items():
            if collective_id not in docs:
                docs[collective_id] = create_source_document(session, job, collective_id, actor).id
            doc = docs[collective_id]
            new_people = sorted(
                {m.id_number for h in group for m in h.members if m.id_number not in known}
            )
            n_members = sum(len(h.members) for h in group)
            uids = reserve_uids(session, len(group) + len(new_people) + n_members)
            hh_uids, uids = uids[: len(group)], uids[len(group) :]
            person_uids, member_uids = uids[: len(new_people)], uids[len(new_people) :]
            objects = [(u, "household", stamp) for u in hh_uids]
            objects += [(u, "person", stamp) for u in person_uids]
            objects += [(u, "household_member", stamp) for u in member_uids]
            insert_many(session, registry, ("id", "kind", "created_at"), objects)
            common = (1, stamp, None, valid_from, None, reason, doc, actor)
            names = {m.id_number: m.name for h in group for m in h.members}
            people = []
            for uid, id_number in zip(person_uids, new_people, strict=True):
                known[id_number] = uid
                people.append(
                    (
                        uid,
                        *common,
                        names[id_number],
                        id_number,
                        codes.id_sex(id_number),
                        db_value(session, codes.id_birth_date(id_number)),
                        "rural",
                    )
                )
            insert_many(session, Person.__table__, _VERSION + _PERSON, people)
            insert_many(
                session,
                Household.__table__,
                _VERSION + ("cbfbm", "collective_id", "name", "address"),
                [
                    (u, *common, h.cbfbm, collective_id, h.name, h.address)
                    for u, h in zip(hh_uids, group, strict=True)
                ],
            )
            members = []
            it = iter(member_uids)
            for u, h in zip(hh_uids, group, strict=True):
                for m in h.members:
                    members.append(
                        (
                            next(it),
                            *common,
                            u,
                            known[m.id_number],
                            collective_id,
                            m.relation,
                            db_value(session, m.is_co_holder),
                        )
                    )
            insert_many(
                session,
                HouseholdMember.__table__,
                _VERSION
                + ("household_uid", "person_uid", "collective_id", "relation", "is_co_holder"),
                members,
            )
            proof = [[h.cbfbm, u, len(h.members)] for u, h in zip(hh_uids, group, strict=True)]
            trail.record_event(
                session,
                "import.promote",
                "household",
                f"{hh_uids[0]}-{hh_uids[-1]}",
                details={
                    "job": job.id,
                    "file_sha256": job.sha256,
                    "source_document_id": doc,
                    "count": len(group),
                    "members": n_members,
                    "first_cbfbm": group[0].cbfbm,
                    "last_cbfbm": group[-1].cbfbm,
                    "digest": hashlib.sha256(
                        trail.canonical_json(proof).encode("utf-8")
                    ).hexdigest(),
                },
                collective_id=collective_id,
            )
            written += len(group)
    if docs:
        job.source_document_id = next(iter(docs.values()))
    return written


_VERSION = (
    "uid",
    "version",
    "begin_lifespan",
    "end_lifespan",
    "valid_from",
    "valid_to",
    "change_reason",
    "source_document_id",
    "changed_by",
)
_PERSON = ("name", "id_number", "sex", "birth_date", "hukou_type")
