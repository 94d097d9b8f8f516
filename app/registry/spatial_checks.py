"""Spatial queries on plots that must stay fast at county scale (300k plots): overlaps and maps.

Both databases answer through their spatial index, never a table scan:

* PostGIS: ``geom && <probe>`` lets the planner use the GiST index ``idx_plot_geom``; the exact
  ``ST_Intersects`` and the intersection area only run on the few candidates.
* SpatiaLite: a plain ``ST_Intersects`` in a WHERE clause does *not* use the R*Tree (27 ms per
  query at 100k plots); the index is reached through the ``SpatialIndex`` virtual table
  (``search_frame``), which returns candidate ROWIDs from ``idx_plot_geom`` (0.24 ms p95).

One plot drawn over a whole village could overlap thousands: the overlap query returns at most
OVERLAP_MAX_HITS plots (lowest uids first), so what one check returns and records stays bounded.

An overlap counts only when the *interior* intersection exceeds the tolerance (LADM-COL, SOLA):
neighbours that share an edge have an intersection of zero area and never count. Only current
plots (``end_lifespan IS NULL``) take part; historical versions stay in the index but are
filtered out.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from flask import current_app
from shapely.geometry.base import BaseGeometry
from sqlalchemy import TextClause, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, scoped_session

from app.core.models import utcnow
from app.core.spatial import registry_srid
from app.extensions import db

GEOMETRY_LOCK_KEY = 0x504C4F54  # "PLOT": pg_advisory_xact_lock key for plot geometry writes


def hold_geometry_writes(session: Session | scoped_session[Any]) -> datetime:
    """Hold every other plot geometry write back until ``session``'s transaction ends; return
    the moment from which the hold is certain.

    Two writers that each check overlaps against what is committed would miss each other if
    both checked before either committed (a web edit beside an import's overlap check, two
    edits at once). So every geometry write and every import's check against the registry
    takes this hold first. PostgreSQL: a transaction-scoped advisory lock, taken after any
    writer holding it has committed. SQLite: the transaction already holds the database's
    write lock (BEGIN IMMEDIATE, app.core.database), which does the same.

    Take it before the transaction's first audited write: the audit chain's lock comes after
    this one in every writer, or two writers could each hold the lock the other waits for.

    The returned time matters to a check that runs now and a write that lands later (an
    import validated now, promoted later): every geometry written by someone else after the
    check has ``begin_lifespan`` later than it, so ``since=`` that time finds them all.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": GEOMETRY_LOCK_KEY})
    return utcnow()


# The candidate filter for each backend; ``:wkb``/``:srid`` is the probe geometry.
_SQLITE_CANDIDATES = (
    "p.ROWID IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = 'plot' "
    "AND f_geometry_column = 'geom' AND search_frame = GeomFromWKB(:wkb, :srid))"
)
_PG_CANDIDATES = "p.geom && ST_GeomFromWKB(:wkb, :srid)"


def overlap_sql(dialect: str, *, exclude: bool) -> str:
    """The overlap query for a dialect (also used verbatim by bench/overlap.py)."""
    if dialect == "sqlite":
        probe = "GeomFromWKB(:wkb, :srid)"
        candidates = _SQLITE_CANDIDATES
    else:
        probe = "ST_GeomFromWKB(:wkb, :srid)"
        candidates = _PG_CANDIDATES
    not_self = "AND p.uid <> :exclude_uid " if exclude else ""
    # Only the constant fragments above are interpolated; every value is a bound parameter.
    return (
        "SELECT uid, area FROM ("  # noqa: S608
        f"SELECT p.uid AS uid, ST_Area(ST_Intersection(p.geom, {probe})) AS area "
        f"FROM plot AS p WHERE {candidates} AND p.end_lifespan IS NULL {not_self}"
        f"AND ST_Intersects(p.geom, {probe})"
        ") AS hits WHERE area > :tolerance ORDER BY uid"
    )


@functools.lru_cache(maxsize=8)
def _overlap_statement(dialect: str, exclude: bool) -> TextClause:
    """The compiled-once text() of the overlap query (SQLAlchemy then caches its compilation)."""
    return text(overlap_sql(dialect, exclude=exclude))


def overlapping_plots(
    geom: BaseGeometry,
    *,
    exclude_uid: int | None = None,
    tolerance_m2: float | None = None,
    connection: Connection | None = None,
    limit: int | None = None,
) -> list[tuple[int, float]]:
    """Current plots whose interiors share more than ``tolerance_m2`` with ``geom``.

    ``geom`` is in the registry CRS. Returns ``[(plot_uid, overlap_m2), ...]`` sorted by uid,
    at most ``limit`` of them (default OVERLAP_MAX_HITS): a result of exactly ``limit`` may
    have been cut, after its last uid. ``exclude_uid`` leaves out the plot being revised. The
    tolerance defaults to the app's OVERLAP_TOLERANCE_M2.
    """
    if tolerance_m2 is None:
        tolerance_m2 = configured_tolerance_m2()
    conn = connection if connection is not None else db.session.connection()
    statement = _overlap_statement(conn.dialect.name, exclude_uid is not None)
    params: dict[str, object] = {
        "wkb": shapely.to_wkb(geom, include_srid=False),
        "srid": registry_srid(),
        "tolerance": float(tolerance_m2),
    }
    if exclude_uid is not None:
        params["exclude_uid"] = exclude_uid
    # Cut on the client, not with LIMIT: SpatiaLite plans the query a third slower with one
    # (bench/overlap.py A/B), and the ORDER BY needs every row on the server either way.
    rows = conn.execute(statement, params).fetchmany(max_hits() if limit is None else int(limit))
    return [(int(uid), float(area)) for uid, area in rows]


def configured_tolerance_m2() -> float:
    """The overlap tolerance in m² (config OVERLAP_TOLERANCE_M2, default 1 m²; the same setting
    land.tolerance_m2 reads)."""
    return float(current_app.config.get("OVERLAP_TOLERANCE_M2", 1.0))


def max_hits() -> int:
    """OVERLAP_MAX_HITS: the most overlapping plots one overlap check returns."""
    return int(current_app.config.get("OVERLAP_MAX_HITS") or 200)


@dataclass(frozen=True)
class Neighbour:
    uid: int
    collective_id: int
    dkbm: str
    geom: BaseGeometry


def plots_near(
    geom: BaseGeometry,
    *,
    margin_m: float = 30.0,
    collective_id: int | None = None,
    limit: int = 60,
) -> list[Neighbour]:
    """Current plots whose bounding boxes come within ``margin_m`` of ``geom``'s, for maps.

    Uses the same spatial index as the overlap query; at most ``limit`` plots.
    """
    minx, miny, maxx, maxy = geom.bounds
    frame = shapely.box(minx - margin_m, miny - margin_m, maxx + margin_m, maxy + margin_m)
    conn = db.session.connection()
    if conn.dialect.name == "sqlite":
        candidates = _SQLITE_CANDIDATES
        as_binary = "AsBinary(p.geom)"
    else:
        candidates = _PG_CANDIDATES
        as_binary = "ST_AsBinary(p.geom)"
    same = "AND p.collective_id = :collective_id " if collective_id is not None else ""
    # Constant fragments only; every value is a bound parameter.
    sql = (
        f"SELECT p.uid, p.collective_id, p.dkbm, {as_binary} FROM plot AS p "  # noqa: S608
        f"WHERE {candidates} AND p.end_lifespan IS NULL {same}ORDER BY p.uid LIMIT :limit"
    )
    params: dict[str, object] = {
        "wkb": shapely.to_wkb(frame, include_srid=False),
        "srid": registry_srid(),
        "limit": int(limit),
    }
    if collective_id is not None:
        params["collective_id"] = collective_id
    return [
        Neighbour(int(uid), int(cid), dkbm, shapely.from_wkb(bytes(wkb)))
        for uid, cid, dkbm, wkb in conn.execute(text(sql), params)
        if wkb is not None
    ]
