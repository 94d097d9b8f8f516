"""Promotion: staged plots become registry plots, in bulk, in one transaction, provably.

Design (why the audit trail gets one entry per batch, not one per plot)
----------------------------------------------------------------------
Plots are written with SQLAlchemy Core ``executemany`` (registry_object rows, then plot rows,
version 1, citing a SourceDocument that holds the imported file's SHA-256). Core statements do not
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
from datetime import date, datetime
from typing import Any

import numpy as np
import shapely
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from app.audit import trail
from app.core.models import utcnow
from app.core.spatial import registry_srid
from app.imports.models import ImportJob, ImportStaging
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
            text(
                "SELECT nextval(pg_get_serial_sequence('registry_object', 'id')) "
                "FROM generate_series(1, :n)"
            ),
            {"n": n},
        )
        return sorted(r[0] for r in rows)
    top = session.scalar(select(func.coalesce(func.max(REGISTRY_OBJECT.c.id), 0)))
    return list(range(int(top) + 1, int(top) + 1 + n))


def create_source_document(
    session: Session, job: ImportJob, collective_id: int | None, actor: str | None
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


_PLOT_COLUMNS = (
    "dkbm",
    "collective_id",
    "name",
    "land_class",
    "land_use",
    "is_basic_farmland",
    "contract_area_m2",
    "measured_area_m2",
    "east",
    "south",
    "west",
    "north",
    "cbfbm",
    "wkb_sha256",
)


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
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the job's promotable staged plots to the registry; returns how many.

    The caller runs this inside one transaction and commits once (or rolls back: nothing is
    half-written). Rows are read back from staging in idx order, batch by batch, so memory stays
    bounded; households are linked by CBFBM within the plot's collective.
    """
    ctx = trail.current()
    actor = ctx.actor if ctx else None
    reason = f"import job {job.id}: {job.filename}"
    now = utcnow()
    where = [STAGING.c.job_id == job.id]
    if valid_only:
        where.append(STAGING.c.ok.is_(True))
    docs: dict[int | None, int] = {}
    if session.get_bind().dialect.name == "postgresql":
        total = _promote_postgresql(
            session, job, valid_only, docs, now, actor, reason, progress, batch_size
        )
        if docs:
            job.source_document_id = next(iter(docs.values()))
        return total
    cols = [STAGING.c[c] for c in _PLOT_COLUMNS]
    bulk = _SpatialiteBulk(session)
    bulk.__enter__()
    try:
        total, batch_no = _promote_batches(
            session, job, where, cols, docs, now, actor, reason, progress, batch_size
        )
    except BaseException as exc:
        bulk.__exit__(type(exc))
        raise
    bulk.__exit__(None)
    if docs:
        job.source_document_id = next(iter(docs.values()))
    return total


def _promote_batches(
    session: Session,
    job: ImportJob,
    where: list[Any],
    cols: list[Any],
    docs: dict[int | None, int],
    now: datetime,
    actor: str | None,
    reason: str,
    progress: Callable[[int], None] | None,
    batch_size: int,
) -> tuple[int, int]:
    total = 0
    last_idx = -1
    batch_no = 0
    while True:
        rows = session.execute(
            select(STAGING.c.idx, *cols, STAGING.c.wkb)
            .where(*where, STAGING.c.idx > last_idx)
            .order_by(STAGING.c.idx)
            .limit(batch_size)
        ).all()
        if not rows:
            break
        last_idx = rows[-1].idx
        # one audit entry per (batch, collective): auditors filter by collective
        groups: dict[int | None, list[Any]] = {}
        for r in rows:
            groups.setdefault(r.collective_id, []).append(r)
        for collective_id, members in groups.items():
            if collective_id not in docs:
                docs[collective_id] = create_source_document(session, job, collective_id, actor).id
            total += _write_batch(
                session,
                job,
                members,
                collective_id=collective_id,
                source_document_id=docs[collective_id],
                batch_no=batch_no,
                now=now,
                actor=actor,
                reason=reason,
            )
            batch_no += 1
        if progress:
            progress(total)
    return total, batch_no


# PostgreSQL: one statement per batch moves the staged rows server-side, with no round trip of
# 300k geometries through Python: the batch's rows get fresh uids from registry_object's sequence,
# the registry_object and plot rows are inserted from them (data-modifying CTEs, so both inserts
# and the foreign keys between them are one statement), and the (idx, uid, dkbm, wkb_sha256,
# collective) of every row come back for the audit digest. Profiled on 300k plots, reading the
# rows back and COPYing them in again cost 12 s of a 27 s promotion.
_PG_PROMOTE = """
WITH s AS MATERIALIZED (
  SELECT q.*, nextval(pg_get_serial_sequence('registry_object', 'id')) AS uid
  FROM (SELECT idx, dkbm, collective_id, name, land_class, land_use, is_basic_farmland,
               contract_area_m2, measured_area_m2, east, south, west, north, cbfbm, wkb,
               wkb_sha256
        FROM import_staging
        WHERE job_id = :job AND idx > :after AND (ok OR NOT :valid_only)
        ORDER BY idx LIMIT :n) q
), docs AS (
  SELECT (d ->> 0)::int AS collective_id, (d ->> 1)::int AS doc
  FROM jsonb_array_elements(CAST(:docs AS jsonb)) d
), ro AS (
  INSERT INTO registry_object (id, kind, created_at) SELECT uid, 'plot', :now FROM s
), p AS (
  INSERT INTO plot (uid, version, begin_lifespan, end_lifespan, change_reason,
                    source_document_id, changed_by, dkbm, collective_id, contract_uid,
                    household_uid, name, land_class, land_use, is_basic_farmland,
                    contract_area_m2, measured_area_m2, east, south, west, north, geom)
  SELECT s.uid, 1, :now, NULL, :reason, docs.doc, :actor, s.dkbm, s.collective_id, NULL,
         h.uid, s.name, COALESCE(s.land_class, '10'), s.land_use, s.is_basic_farmland,
         s.contract_area_m2, s.measured_area_m2, s.east, s.south, s.west, s.north,
         ST_GeomFromWKB(s.wkb, :srid)
  FROM s JOIN docs ON docs.collective_id = s.collective_id
  LEFT JOIN household h
    ON h.cbfbm = s.cbfbm AND h.collective_id = s.collective_id AND h.end_lifespan IS NULL
)
SELECT idx, uid, dkbm, wkb_sha256, collective_id FROM s ORDER BY idx
"""


def _promote_postgresql(
    session: Session,
    job: ImportJob,
    valid_only: bool,
    docs: dict[int | None, int],
    now: datetime,
    actor: str | None,
    reason: str,
    progress: Callable[[int], None] | None,
    batch_size: int,
) -> int:
    where = [STAGING.c.job_id == job.id]
    if valid_only:
        where.append(STAGING.c.ok.is_(True))
    for (collective_id,) in session.execute(
        select(STAGING.c.collective_id).where(*where).distinct()
    ):
        docs[collective_id] = create_source_document(session, job, collective_id, actor).id
    doc_list = json.dumps([[c, d] for c, d in docs.items()])
    total = 0
    after = -1
    batch_no = 0
    while True:
        rows = session.execute(
            text(_PG_PROMOTE),
            {
                "job": job.id,
                "after": after,
                "valid_only": valid_only,
                "n": batch_size,
                "docs": doc_list,
                "now": now,
                "reason": reason,
                "actor": actor,
                "srid": registry_srid(),
            },
        ).all()
        if not rows:
            return total
        after = rows[-1].idx
        groups: dict[int | None, list[Any]] = {}
        for r in rows:
            groups.setdefault(r.collective_id, []).append(r)
        for collective_id, members in groups.items():
            uids = sorted(r.uid for r in members)
            _record_batch(
                session,
                job,
                batch_no,
                collective_id,
                docs[collective_id],
                [(r.dkbm, r.uid, r.wkb_sha256) for r in members],
                uids,
                members[0].dkbm,
                members[-1].dkbm,
            )
            batch_no += 1
            total += len(members)
        if progress:
            progress(total)


def _record_batch(
    session: Session,
    job: ImportJob,
    batch_no: int,
    collective_id: int | None,
    source_document_id: int,
    proof: list[tuple[str, int, str]],
    uids: list[int],
    first_dkbm: str,
    last_dkbm: str,
) -> None:
    """The batch's ``import.promote`` audit entry (see the module docstring)."""
    trail.record_event(
        session,
        PROMOTE_EVENT,
        "plot",
        f"{uids[0]}-{uids[-1]}",
        details={
            "job": job.id,
            "batch": batch_no,
            "file_sha256": job.sha256,
            "source_document_id": source_document_id,
            "count": len(proof),
            "first_dkbm": first_dkbm,
            "last_dkbm": last_dkbm,
            "first_uid": uids[0],
            "last_uid": uids[-1],
            "digest": wkb_digest(proof),
        },
        collective_id=collective_id,
    )


def _households(session: Session, rows: list[Any]) -> dict[tuple[str, int], int]:
    wanted = sorted({r.cbfbm for r in rows if r.cbfbm})
    if not wanted:
        return {}
    found = session.execute(
        text(
            "SELECT cbfbm, collective_id, uid FROM household "
            "WHERE end_lifespan IS NULL AND cbfbm IN :codes"
        ).bindparams(bindparam("codes", expanding=True)),
        {"codes": wanted},
    )
    return {(c, coll): uid for c, coll, uid in found}


#: Columns of a promoted plot row, in the order _write_batch builds them ("geom" takes WKB).
PLOT_INSERT_COLUMNS = (
    "uid",
    "version",
    "begin_lifespan",
    "end_lifespan",
    "change_reason",
    "source_document_id",
    "changed_by",
    "dkbm",
    "collective_id",
    "contract_uid",
    "household_uid",
    "name",
    "land_class",
    "land_use",
    "is_basic_farmland",
    "contract_area_m2",
    "measured_area_m2",
    "east",
    "south",
    "west",
    "north",
    "geom",
)


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


def _write_batch(
    session: Session,
    job: ImportJob,
    rows: list[Any],
    *,
    collective_id: int | None,
    source_document_id: int,
    batch_no: int,
    now: datetime,
    actor: str | None,
    reason: str,
) -> int:
    uids = reserve_uids(session, len(rows))
    households = _households(session, rows)
    stamp = db_value(session, now)
    yes, no = db_value(session, True), db_value(session, False)
    plots = []
    proof = []
    for uid, r in zip(uids, rows, strict=True):
        plots.append(
            (
                uid,
                1,
                stamp,
                None,
                reason,
                source_document_id,
                actor,
                r.dkbm,
                r.collective_id,
                None,
                households.get((r.cbfbm, r.collective_id)),
                r.name,
                r.land_class or "10",
                r.land_use,
                yes if r.is_basic_farmland else no,
                r.contract_area_m2,
                r.measured_area_m2,
                r.east,
                r.south,
                r.west,
                r.north,
                bytes(r.wkb),
            )
        )
        proof.append((r.dkbm, uid, r.wkb_sha256))
    insert_many(
        session, REGISTRY_OBJECT, ("id", "kind", "created_at"), [(u, "plot", now) for u in uids]
    )
    insert_many(session, PLOT, PLOT_INSERT_COLUMNS, plots, geometry="geom")
    _record_batch(
        session,
        job,
        batch_no,
        collective_id,
        source_document_id,
        proof,
        uids,
        rows[0].dkbm,
        rows[-1].dkbm,
    )
    return len(rows)


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


def geometry_wkb(geom: Any) -> bytes:
    """The canonical WKB of a geometry (little-endian, 2D), as hashed in the digests."""
    return shapely.to_wkb(geom, byte_order=1, output_dimension=2)
