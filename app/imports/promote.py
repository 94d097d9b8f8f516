"""Promotion: staged plots become registry plots, in bulk, in one transaction, provably.

Design (why the audit trail gets one entry per batch, not one per plot)
----------------------------------------------------------------------
Plots are moved from staging by set-based SQL statements (registry_object rows, then plot rows,
version 1, citing a SourceDocument that holds the imported file's SHA-256). Such statements do not
pass through the ORM, so the automatic per-row audit hook (app.audit.trail._after_flush) never
sees them. Writing 300k per-row entries would cost as much as the import itself and put the
hash chain's head lock on the critical path for the whole run, so the promotion records its own
audit explicitly instead: one ``import.promote`` event per promoted batch with

* ``file_sha256`` - the SHA-256 of the imported file (also on the SourceDocument),
* ``count``, ``first_dkbm``, ``last_dkbm``, ``first_uid``, ``last_uid``,
* ``digest`` - SHA-256 over the canonical JSON (app.audit.trail.canonical_json) of the list
  ``[[dkbm, uid, wkb_sha256], ...]`` of the batch's plots in uid order, where ``wkb_sha256`` is
  the SHA-256 of the plot geometry as little-endian 2D WKB, exactly what ``ST_AsBinary(geom)``
  returns on PostGIS and SpatiaLite.

An auditor recomputes every digest from the registry alone (``verify_promotion`` does that): take
the version-1 plots citing the source document with uid between first_uid and last_uid, hash their
``ST_AsBinary(geom)``, and compare. Any plot added, dropped, re-coded or re-shaped afterwards
without a new version breaks the digest, so every row stays provable while a 300k-plot import
costs a few hundred audit entries.

All or nothing is the default: a job with any error is not promoted. ``valid_only`` promotes the
features without errors and leaves the others in the report.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import shapely
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.audit import trail
from app.core.models import utcnow
from app.core.spatial import registry_srid
from app.imports.models import ImportJob, ImportStaging
from app.registry import history
from app.registry.models import Plot, SourceDocument
from app.registry.versioning import RegistryObject

STAGING = ImportStaging.__table__
PLOT = Plot.__table__
REGISTRY_OBJECT = RegistryObject.__table__

PROMOTE_EVENT = "import.promote"


def wkb_digest(rows: list[tuple[str, int, str]]) -> str:
    """SHA-256 over the canonical JSON of ``[[dkbm, uid, wkb_sha256], ...]`` (in uid order)."""
    ordered = sorted(rows, key=lambda r: r[1])
    payload = trail.canonical_json([[d, u, w] for d, u, w in ordered])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def reserve_uids(session: Session, n: int) -> list[int]:
    """n fresh registry_object ids, without a round trip per id.

    PostgreSQL draws them from the table's sequence in one statement; SQLite writes are already
    serialised by BEGIN IMMEDIATE (the transaction holds the write lock), so max(id)+1.. is free.
    """
    if n <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text(f"SELECT {_next_uid(session.connection())} FROM generate_series(1, :n)"),  # noqa: S608
            {"n": n},
        )
        return sorted(r[0] for r in rows)
    top = session.scalar(select(func.coalesce(func.max(REGISTRY_OBJECT.c.id), 0)))
    return list(range(int(top) + 1, int(top) + 1 + n))


def _next_uid(conn: Any) -> str:
    """SQL for the next registry_object id on PostgreSQL: ``nextval`` of the table's sequence,
    named once as a constant. (``nextval(pg_get_serial_sequence(...))`` looks the sequence up
    again for every row: half the cost of numbering a window of plots.)"""
    name = conn.exec_driver_sql("SELECT pg_get_serial_sequence('registry_object', 'id')").scalar()
    return "nextval('{}'::regclass)".format(name.replace("'", "''"))


@dataclass(frozen=True)
class JobFile:
    """What the promotion needs of a job, detached from any session (safe across threads)."""

    id: int
    filename: str
    size: int
    sha256: str
    effective_on: date | None = None  # declared legal date of the data; None: promotion day

    @classmethod
    def of(cls, job: ImportJob) -> JobFile:
        return cls(job.id, job.filename, job.size, job.sha256, job.effective_on)


def create_source_document(
    session: Session, job: ImportJob | JobFile, collective_id: int | None, actor: str | None
) -> SourceDocument:
    """The imported file as the source every promoted plot cites (R16), with its SHA-256.

    Written through the ORM, so its creation is audited like any row. The bytes stay in the
    import store (documents.store_document only takes PDF/JPEG/PNG scans).
    """
    doc = SourceDocument(
        collective_id=collective_id,
        kind="survey",
        title=f"导入文件 / imported file: {job.filename}"[:200],
        filename=job.filename[:200],
        media_type="application/octet-stream",
        size=job.size,
        sha256=job.sha256,
        storage_key=None,
        uploaded_by=actor,
    )
    session.add(doc)
    session.flush()
    return doc


# SpatiaLite keeps plot.geom in shape with three per-row triggers: ggi_ (geometry type and SRID
# check), tmi_ (stamps geometry_columns_time) and gii_ (one R*Tree update per row). For a bulk
# load they cost 10x the insert itself (50 µs a row), so on SQLite the promotion suspends them
# inside its own transaction, does their work once, set-based, for the new rows, and recreates
# them verbatim before committing. SQLite DDL is transactional: a failure or a crash rolls the
# triggers back with the rows, and no other connection can write meanwhile (BEGIN IMMEDIATE).
_SPATIALITE_TRIGGERS = ("ggi_plot_geom", "tmi_plot_geom", "gii_plot_geom")


class _SpatialiteBulk:
    """Suspend plot.geom's per-row SpatiaLite triggers for a bulk insert (SQLite only)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.saved: list[str] = []
        self.first_id = 0

    def __enter__(self) -> _SpatialiteBulk:
        conn = self.session.connection()
        if conn.dialect.name != "sqlite":
            return self
        names = ", ".join(f"'{t}'" for t in _SPATIALITE_TRIGGERS)
        self.saved = [
            r[0]
            for r in conn.exec_driver_sql(
                f"SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({names})"  # noqa: S608
            )
        ]
        if len(self.saved) != len(_SPATIALITE_TRIGGERS):  # not the schema we know: leave it be
            self.saved = []
            return self
        self.first_id = conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM plot").scalar()
        for name in _SPATIALITE_TRIGGERS:
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if not self.saved or exc_type is not None:
            return  # on error the transaction rolls back, triggers included
        conn = self.session.connection()
        srid = registry_srid()
        bad = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM plot WHERE id > ? AND geom IS NOT NULL "
            "AND (GeometryType(geom) <> 'MULTIPOLYGON' OR ST_SRID(geom) <> ?)",
            (self.first_id, srid),
        ).scalar()
        if bad:
            raise RuntimeError(f"{bad} promoted geometries are not MULTIPOLYGON/{srid}")
        conn.exec_driver_sql(
            "INSERT INTO idx_plot_geom (pkid, xmin, xmax, ymin, ymax) "
            "SELECT id, MbrMinX(geom), MbrMaxX(geom), MbrMinY(geom), MbrMaxY(geom) "
            "FROM plot WHERE id > ? AND geom IS NOT NULL",
            (self.first_id,),
        )
        conn.exec_driver_sql(
            "UPDATE geometry_columns_time SET last_insert = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
            "WHERE Lower(f_table_name) = 'plot' AND Lower(f_geometry_column) = 'geom'"
        )
        for sql in self.saved:
            conn.exec_driver_sql(sql)


def promote_parcels(
    session: Session,
    job: ImportJob,
    *,
    valid_only: bool,
    batch_size: int = 50_000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the job's promotable staged plots to the registry; returns how many.

    The caller runs this inside one transaction and commits once (or rolls back: nothing is
    half-written). The rows move inside the database, batch by batch in idx order, with no round
    trip of geometries through Python (see _Batch); households are linked by CBFBM within the
    plot's collective. Each batch gets one audit entry per collective.
    """
    ctx = trail.current()
    actor = ctx.actor if ctx else None
    collectives = session.execute(
        select(STAGING.c.collective_id)
        .where(
            STAGING.c.job_id == job.id,
            STAGING.c.collective_id.is_not(None),
            STAGING.c.ok.is_(True) if valid_only else STAGING.c.job_id == job.id,
        )
        .distinct()
        .order_by(STAGING.c.collective_id)
    ).scalars()
    docs = {c: create_source_document(session, job, c, actor).id for c in collectives}
    if not docs:
        return 0
    job.source_document_id = next(iter(docs.values()))
    batch = _Batch(session, job, valid_only, docs, actor)
    total = 0
    batch_no = 0
    after = -1
    with _SpatialiteBulk(session):
        while rows := batch.promote(after, batch_size):
            after = rows[-1][0]
            batch_no = record_proof(session, job, docs, proof_groups(rows), batch_no)
            total += len(rows)
            if progress:
                progress(total)
    return total


class _Batch:
    """Moves one batch of staged rows into the registry with four set-based statements.

    1. ``promote_batch`` (a temporary table) takes the next ``n`` promotable idx with a fresh
       uid each: from registry_object's sequence on PostgreSQL; on SQLite max(id)+1.., which is
       safe because the transaction holds SQLite's write lock (BEGIN IMMEDIATE).
    2. registry_object rows, then 3. plot rows (version 1, citing the collective's source
       document, the household found by CBFBM) are inserted from it and staging.
    4. (idx, uid, dkbm, wkb_sha256, collective_id) come back for the audit digest.

    Profiled on 300k plots, reading staged rows into Python and writing them again cost more than
    the rest of the promotion; here nothing but the proof crosses to Python.
    """

    def __init__(
        self,
        session: Session,
        job: ImportJob | JobFile,
        valid_only: bool,
        docs: dict[int, int],
        actor: str | None,
    ) -> None:
        self.conn = session.connection()
        self.pg = self.conn.dialect.name == "postgresql"
        self.next_uid = _next_uid(self.conn) if self.pg else ""
        self.docs = docs  # {collective_id: source_document_id}; may grow between batches
        self.params = {
            "job": job.id,
            "valid_only": valid_only,
            "now": db_value(session, utcnow()),
            # legal time: the declared date of the data, else the day of promotion (one value
            # for the whole job, bound once: no per-row work)
            "valid_from": db_value(session, history.legal_date(job.effective_on)),
            "reason": f"import job {job.id}: {job.filename}",
            "actor": actor,
            "srid": registry_srid(),
        }

    def _run(self, sql: str, **params: Any) -> Any:
        return self.conn.execute(text(sql), {**self.params, **params})

    def promote(self, after: int, n: int) -> list[tuple[Any, ...]]:
        """The next ``n`` promotable rows after idx ``after``; their proof rows."""
        self._insert(
            "SELECT idx FROM import_staging WHERE job_id = :job AND idx > :after "
            "AND collective_id IS NOT NULL AND (ok OR NOT :valid_only) ORDER BY idx LIMIT :n",
            after=after,
            n=n,
        )
        rows = self._run(
            "SELECT s.idx, b.uid, s.dkbm, s.wkb_sha256, s.collective_id FROM promote_batch b "
            "JOIN import_staging s ON s.job_id = :job AND s.idx = b.idx ORDER BY b.idx"
        ).all()
        self._run("DROP TABLE promote_batch")
        return [tuple(r) for r in rows]

    def promote_window(self, lo: int, hi: int) -> list[tuple[Any, ...]]:
        """The rows of a window (idx in [lo, hi)) without errors so far, whose code no current
        plot has (this transaction's own included); remembered in ``import_promoted``. Returns
        their proof rows, as ``promote`` does.

        The code test is a subquery with LIMIT 1, so it probes uq_plot_dkbm_current row by row:
        as NOT EXISTS the planner, blind to this transaction's own plots, hashed every current
        plot for each window, and each window cost more than the one before."""
        within = "AND s.idx >= :lo AND s.idx < :hi"
        self._insert(
            "SELECT idx FROM import_staging s WHERE job_id = :job AND idx >= :lo AND idx < :hi "
            "AND collective_id IS NOT NULL AND ok AND (SELECT 1 FROM plot p "
            "WHERE p.dkbm = s.dkbm AND p.end_lifespan IS NULL LIMIT 1) IS NULL ORDER BY idx",
            within=within,
            lo=lo,
            hi=hi,
        )
        self._run("INSERT INTO import_promoted (idx, uid) SELECT idx, uid FROM promote_batch")
        rows = self._run(
            "SELECT s.idx, b.uid, s.dkbm, s.wkb_sha256, s.collective_id FROM promote_batch b "  # noqa: S608
            f"JOIN import_staging s ON s.job_id = :job AND s.idx = b.idx {within} ORDER BY b.idx",
            lo=lo,
            hi=hi,
        ).all()
        self._run("DROP TABLE promote_batch")
        return [tuple(r) for r in rows]

    def _insert(self, pick: str, within: str = "", **params: Any) -> None:
        """Steps 1-3 for the idx that ``pick`` selects (in idx order). ``within`` bounds the
        join with staging by idx too: the planner may have no statistics for rows staged in
        this run, and then hashes every staged row for each window."""
        if self.pg:
            uid = self.next_uid
            base = 0
        else:
            uid = ":base + row_number() OVER (ORDER BY idx)"
            base = self._run("SELECT COALESCE(MAX(id), 0) FROM registry_object").scalar()
        self._run("DROP TABLE IF EXISTS promote_batch")
        self._run("CREATE TEMPORARY TABLE promote_batch (idx INTEGER PRIMARY KEY, uid BIGINT)")
        self._run(
            f"INSERT INTO promote_batch (idx, uid) SELECT idx, {uid} FROM ({pick}) q",  # noqa: S608
            base=base,
            **params,
        )
        self._run(
            "INSERT INTO registry_object (id, kind, created_at) "
            "SELECT uid, 'plot', :now FROM promote_batch"
        )
        # the collective's source document, as a CASE over integers from the database
        doc = (
            "CASE s.collective_id "
            + " ".join(f"WHEN {int(c)} THEN {int(d)}" for c, d in self.docs.items())
            + " END"
        )
        geom = "ST_GeomFromWKB" if self.pg else "GeomFromWKB"
        self._run(
            "INSERT INTO plot (uid, version, begin_lifespan, end_lifespan, valid_from, valid_to, "  # noqa: S608
            "change_reason, source_document_id, changed_by, dkbm, collective_id, contract_uid, "
            "household_uid, name, land_class, land_use, is_basic_farmland, contract_area_m2, "
            "measured_area_m2, east, south, west, north, geom) "
            f"SELECT b.uid, 1, :now, NULL, :valid_from, NULL, :reason, {doc}, :actor, s.dkbm, "
            "s.collective_id, "
            "NULL, h.uid, s.name, COALESCE(s.land_class, '10'), s.land_use, s.is_basic_farmland, "
            "s.contract_area_m2, s.measured_area_m2, s.east, s.south, s.west, s.north, "
            f"{geom}(s.wkb, :srid) "
            "FROM promote_batch b JOIN import_staging s ON s.job_id = :job AND s.idx = b.idx "
            f"{within} "
            "LEFT JOIN household h ON h.cbfbm = s.cbfbm AND h.collective_id = s.collective_id "
            "AND h.end_lifespan IS NULL",
            **params,
        )


@dataclass(frozen=True)
class ProofGroup:
    """What one ``import.promote`` entry says of a group of promoted plots of one collective."""

    collective_id: int
    count: int
    first_dkbm: str
    last_dkbm: str
    first_uid: int
    last_uid: int
    digest: str


def proof_groups(rows: list[tuple[Any, ...]]) -> list[ProofGroup]:
    """Promoted rows ``(idx, uid, dkbm, wkb_sha256, collective_id)`` (in idx order), one group
    per collective among them, in order of first appearance."""
    groups: dict[int, list[tuple[Any, ...]]] = {}
    for row in rows:
        groups.setdefault(row[4], []).append(row)
    out = []
    for collective_id, members in groups.items():
        uids = [uid for _, uid, *_ in members]
        out.append(
            ProofGroup(
                collective_id,
                len(members),
                members[0][2],
                members[-1][2],
                min(uids),
                max(uids),
                wkb_digest([(dkbm, uid, sha) for _, uid, dkbm, sha, _ in members]),
            )
        )
    return out


def record_proof(
    session: Session,
    job: ImportJob | JobFile,
    docs: dict[int, int],
    groups: list[ProofGroup],
    batch_no: int,
) -> int:
    """One ``import.promote`` audit entry per group (see the module docstring); returns the
    next batch number."""
    for group in groups:
        trail.record_event(
            session,
            PROMOTE_EVENT,
            "plot",
            f"{group.first_uid}-{group.last_uid}",
            details={
                "job": job.id,
                "batch": batch_no,
                "file_sha256": job.sha256,
                "source_document_id": docs[group.collective_id],
                "count": group.count,
                "first_dkbm": group.first_dkbm,
                "last_dkbm": group.last_dkbm,
                "first_uid": group.first_uid,
                "last_uid": group.last_uid,
                "digest": group.digest,
            },
            collective_id=group.collective_id,
        )
        batch_no += 1
    return batch_no


def insert_many(
    session: Session,
    table: Any,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    *,
    geometry: str | None = None,
) -> None:
    """Bulk-insert ``rows`` into ``table`` in the caller's transaction (``geometry``: a WKB column).

    SQLite: the driver's executemany through SQLAlchemy Core's Connection with plain tuples, because
    SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself; the caller
    gives values in SQLAlchemy's own storage forms (``db_value``) so the ORM reads them back alike.
    """
    if not rows:
        return
    conn = session.connection()
    srid = registry_srid()
    if conn.dialect.name == "sqlite":
        marks = ", ".join(f"GeomFromWKB(?, {srid})" if c == geometry else "?" for c in columns)
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        conn.exec_driver_sql(sql, rows)
        return
    # PostgreSQL: COPY on the session's own connection (same transaction). psycopg 3's
    # executemany pipelines one INSERT per row, which profiled at 30 s of a 60 s 300k import.
    cols = list(columns)
    geo_at = cols.index(geometry) if geometry is not None else None
    with (
        conn.connection.driver_connection.cursor() as cur,
        cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy,
    ):
        if geo_at is None:
            for row in rows:
                copy.write_row(row)
            return
        wkb = np.empty(len(rows), dtype=object)
        wkb[:] = [row[geo_at] for row in rows]
        ewkb = shapely.to_wkb(
            shapely.set_srid(shapely.from_wkb(wkb), srid), hex=True, include_srid=True
        )
        for row, hexed in zip(rows, ewkb, strict=True):
            copy.write_row((*row[:geo_at], hexed, *row[geo_at + 1 :]))


def db_value(session: Session, value: Any) -> Any:
    """A datetime or bool as SQLAlchemy stores it on this database (for driver-level inserts)."""
    if session.get_bind().dialect.name != "sqlite":
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def verify_promotion(session: Session, details: dict[str, Any] | str) -> bool:
    """Recompute one ``import.promote`` entry's digest from the registry (what an auditor does)."""
    if isinstance(details, str):
        details = json.loads(details)
    rows = session.execute(
        select(PLOT.c.dkbm, PLOT.c.uid, func.ST_AsBinary(PLOT.c.geom))
        .where(
            PLOT.c.source_document_id == details["source_document_id"],
            PLOT.c.version == 1,
            PLOT.c.uid >= details["first_uid"],
            PLOT.c.uid <= details["last_uid"],
        )
        .order_by(PLOT.c.uid)
    ).all()
    proof = [(d, u, hashlib.sha256(bytes(w)).hexdigest()) for d, u, w in rows]
    return len(proof) == details["count"] and wkb_digest(proof) == details["digest"]
