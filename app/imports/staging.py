"""The staging table: features written window by window, then checked set-based in SQL.

Everything that needs the whole file or the registry runs here as a handful of statements over
the staged rows instead of a query per feature: duplicate codes inside the file (GROUP BY),
codes already in the registry (a join on dkbm), overlaps with current plots (a spatial join that
uses the plot table's spatial index: ``&&`` + ST_Relate on PostGIS, the SpatialIndex virtual table
on SpatiaLite) and plots whose household (CBFBM) is unknown.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

import shapely
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.core.spatial import registry_srid
from app.imports.models import ImportJob, ImportProblem, ImportStaging
from app.imports.problems import Problem

STAGING = ImportStaging.__table__
PROBLEMS = ImportProblem.__table__

#: Problem codes that are about the geometry (for the report's geometry count).
GEOMETRY_PROBLEMS = frozenset(
    {
        "empty",
        "not_polygon",
        "ring_self_intersection",
        "self_intersection",
        "too_few_points",
        "hole_outside_shell",
        "nested_holes",
        "disconnected_interior",
        "nested_shells",
        "duplicate_rings",
        "invalid_coordinate",
        "ring_not_closed",
        "other",
    }
)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


#: Staged columns, in the order insert_rows() writes them.
COLUMNS = (
    "job_id",
    "idx",
    "batch",
    "ok",
    "valid_geom",
    "collective_id",
    "dkbm",
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
    "wkb",
)
_CHUNK = 10_000
_OK, _COLLECTIVE = COLUMNS.index("ok"), COLUMNS.index("collective_id")


def clean_collectives(rows: list[tuple[Any, ...]]) -> frozenset[int]:
    """The collectives of the rows (in COLUMNS order) staged without errors."""
    return frozenset(r[_COLLECTIVE] for r in rows if r[_OK] and r[_COLLECTIVE] is not None)


# Binary COPY: the geometry goes as bytes, not as escaped text the server must parse again.
_PG_TYPES = [
    "int4", "int4", "int4", "bool", "bool", "int4", "varchar", "varchar", "varchar", "varchar",
    "bool", "float8", "float8", "varchar", "varchar", "varchar", "varchar", "varchar", "varchar",
    "bytea",
]  # fmt: skip


def insert_rows(session: Session, job_id: int, rows: list[tuple[Any, ...]]) -> None:
    """Stage one window, as fast as each database takes rows in bulk.

    PostgreSQL: binary COPY FROM STDIN on the session's own connection (same transaction).
    SQLite: the driver's executemany with plain tuples, in chunks (SQLAlchemy's per-row
    parameter processing would cost more than SQLite's insert itself). Scratch rows only: the
    registry is written by promote.py, set-based from here.
    """
    _insert_rows(session.connection(), job_id, rows)


def _insert_rows(conn: Connection, job_id: int, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    cols = ", ".join(COLUMNS)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        sql = f"COPY import_staging ({cols}) FROM STDIN (FORMAT BINARY)"
        with raw.cursor() as cur, cur.copy(sql) as copy:
            copy.set_types(_PG_TYPES)
            for row in rows:
                copy.write_row((job_id, *row[1:]))
        return
    marks = ", ".join("?" * len(COLUMNS))
    sql = f"INSERT INTO import_staging ({cols}) VALUES ({marks})"  # noqa: S608 - fixed names
    values = [(job_id, *row[1:]) for row in rows]
    for part in _chunks(values, _CHUNK):
        conn.exec_driver_sql(sql, part)


class RowWriter:
    """Stages a window's rows in a thread while the caller checks the next window.

    SQLite inserts in our process with the GIL released; PostgreSQL takes a COPY in its own
    process while we wait on the socket. Either way writing window k and checking window k+1
    overlap on two cores. The caller must ``wait()`` before it uses the session again (insert
    problems, commit, read staging back): one write at a time, on the connection of the
    session's current transaction, and the session untouched meanwhile.
    """

    def __init__(self, session: Session, job_id: int) -> None:
        self.session = session
        self.job_id = job_id
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        self.wait()
        conn = self.session.connection()

        def run() -> None:
            try:
                _insert_rows(conn, self.job_id, rows)
            except BaseException as exc:  # noqa: BLE001 - raised again by wait()
                self._error = exc

        self._thread = threading.Thread(target=run, name="import-stage", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def analyze(session: Session) -> None:
    """Refresh the planner's statistics of the staging table once a file is staged.

    PostgreSQL has none for rows written in the current transaction, and without them it plans
    the checks and the promotion for a handful of rows (a hash of every staged row per batch).
    ANALYZE samples ~30k rows and runs inside the transaction. SQLite plans well without.
    Only a table's owner may ANALYZE it and the app owns no table (docs/DEPLOYMENT.md): it calls
    the owner's ``import_staging_analyze()`` (migration 0004), which analyzes this table only.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT import_staging_analyze()")


def insert_problems(session: Session, job_id: int, problems: Iterable[Problem]) -> None:
    """Store problems as they are, uncapped and uncounted (jobs go through ProblemLog)."""
    rows = [p.row(job_id) for p in problems]
    if rows:
        session.execute(insert(PROBLEMS), rows)


#: Problems that report a group of overlapping plots as one finding (overlaps.group_problem).
GROUP_PROBLEMS = frozenset({"duplicate_plots", "stacked_plots"})


class ProblemLog:
    """A job's problems as stored: at most ``limit`` of each kind (problem code), every one
    counted (IMPORT_REPORT_MAX_PER_KIND).

    A file with an error on each of 300k features, or a stack of plots, must not write millions
    of report rows; the report shows the first ``limit`` of a kind and "and N more". Capping
    what is *stored* never changes which rows are faulty: a window's rows are judged from its
    whole list before the list gets here, and the feature-level errors not stored are kept (by
    index, ``unstored_errors``) for ``mark_errors``. ``kinds`` carries the tallies of an earlier
    log on (a promotion's re-check replaces a few kinds and keeps the rest).
    """

    def __init__(
        self, session: Session, job_id: int, limit: int, kinds: Iterable[dict[str, Any]] = ()
    ) -> None:
        self.session = session
        self.job_id = job_id
        self.limit = max(int(limit), 0)
        # (problem, severity, whole file?) -> [total, stored]
        self._tally: dict[tuple[str, str, bool], list[int]] = {}
        self._stored: dict[str, int] = {}
        for k in kinds:
            self._tally[(k["problem"], k["severity"], bool(k["file"]))] = [k["total"], k["shown"]]
            self._stored[k["problem"]] = self._stored.get(k["problem"], 0) + k["shown"]
        self.unstored_errors: set[int] = set()

    def add(self, problems: Iterable[Problem]) -> None:
        """Store the problems still under their kind's limit; count all of them."""
        rows: list[dict[str, Any]] = []
        tally, stored, limit = self._tally, self._stored, self.limit
        for p in problems:
            counts = tally.setdefault((p.problem, p.severity, p.idx is None), [0, 0])
            counts[0] += 1
            kept = stored.get(p.problem, 0)
            if kept < limit:
                stored[p.problem] = kept + 1
                counts[1] += 1
                rows.append(p.row(self.job_id))
            elif p.severity == "error" and p.idx is not None:
                self.unstored_errors.add(p.idx)
        if rows:
            self.session.execute(insert(PROBLEMS), rows)

    def kinds(self) -> list[dict[str, Any]]:
        """Per kind: its code, severity, whether it is about the whole file, how many were found
        and how many the report shows (the rest are "N more of this kind")."""
        return [
            {"problem": k[0], "severity": k[1], "file": k[2], "total": t, "shown": n}
            for k, (t, n) in sorted(self._tally.items())
        ]


def kinds_without(summary: dict[str, Any], problems: Iterable[str]) -> list[dict[str, Any]]:
    """A stored summary's per-kind tallies minus the kinds ``problems`` (to be counted again)."""
    drop = set(problems)
    return [k for k in summary.get("problem_kinds", []) if k["problem"] not in drop]


def fetch_geometries(
    session: Session, job_id: int, indices: list[int]
) -> dict[int, tuple[Any, str | None]]:
    """{idx: (geometry, dkbm)} of staged features with valid geometry (for cross-window checks)."""
    out: dict[int, tuple[Any, str | None]] = {}
    for part in _chunks(indices, 5000):
        result = session.execute(
            select(STAGING.c.idx, STAGING.c.dkbm, STAGING.c.wkb).where(
                STAGING.c.job_id == job_id,
                STAGING.c.valid_geom.is_(True),
                STAGING.c.idx.in_(part),
            )
        )
        for idx, dkbm, wkb in result:
            out[idx] = (shapely.from_wkb(bytes(wkb)), dkbm)
    return out


# --------------------------------------------------------------------------------------------
# Set-based checks against the whole file and the registry
# --------------------------------------------------------------------------------------------


def duplicate_codes(session: Session, job_id: int) -> list[Problem]:
    """Codes that occur more than once in the file: every occurrence is an error."""
    dup = (
        select(STAGING.c.dkbm, func.count().label("n"))
        .where(STAGING.c.job_id == job_id, STAGING.c.dkbm.is_not(None))
        .group_by(STAGING.c.dkbm)
        .having(func.count() > 1)
        .subquery()
    )
    rows = session.execute(
        select(STAGING.c.idx, STAGING.c.dkbm, dup.c.n)
        .join(dup, dup.c.dkbm == STAGING.c.dkbm)
        .where(STAGING.c.job_id == job_id)
        .order_by(STAGING.c.idx)
    )
    return [
        Problem(
            idx,
            code,
            "duplicate_code",
            "error",
            f"地块编码 {code} 在文件中出现 {n} 次",
            f"Plot code {code} occurs {n} times in the file",
        )
        for idx, code, n in rows
    ]


def codes_in_registry(session: Session, job_id: int) -> list[Problem]:
    """Codes that a current plot of the registry already has."""
    rows = session.execute(
        text(
            "SELECT s.idx, s.dkbm, p.uid FROM import_staging s JOIN plot p "
            "ON p.dkbm = s.dkbm AND p.end_lifespan IS NULL "
            "WHERE s.job_id = :job ORDER BY s.idx"
        ),
        {"job": job_id},
    )
    return [
        Problem(
            idx,
            code,
            "code_in_registry",
            "error",
            f"地块编码 {code} 已被登记库中的现有地块使用",
            f"Plot code {code} is already used by a current plot of the registry",
            other_uid=uid,
            other_code=code,
        )
        for idx, code, uid in rows
    ]


_OVERLAP_SQL = {
    # One set-based join: the GiST index on plot.geom answers &&, ST_Relate keeps pairs whose
    # interiors meet (neighbours that only touch are dropped before the overlay).
    "postgresql": """
        SELECT idx, dkbm, uid, other, area FROM (
          SELECT s.idx, s.dkbm, p.uid, p.dkbm AS other,
                 ST_Area(ST_Intersection(s.g, p.geom)) AS area
          FROM (SELECT idx, dkbm, ST_GeomFromWKB(wkb, :srid) AS g FROM import_staging
                WHERE job_id = :job AND valid_geom) s
          JOIN plot p ON p.geom && s.g AND ST_Relate(s.g, p.geom, 'T********')
          WHERE p.end_lifespan IS NULL{later}
        ) q WHERE area > :tol ORDER BY idx, uid
    """,
    # SpatiaLite: the R*Tree of plot.geom through the SpatialIndex virtual table.
    "sqlite": """
        SELECT idx, dkbm, uid, other, area FROM (
          SELECT s.idx AS idx, s.dkbm AS dkbm, p.uid AS uid, p.dkbm AS other,
                 ST_Area(ST_Intersection(s.g, p.geom)) AS area
          FROM (SELECT idx, dkbm, GeomFromWKB(wkb, :srid) AS g FROM import_staging
                WHERE job_id = :job AND valid_geom) s
          JOIN plot p ON p.ROWID IN (
              SELECT ROWID FROM SpatialIndex
              WHERE f_table_name = 'plot' AND f_geometry_column = 'geom'
                AND search_frame = s.g)
          WHERE p.end_lifespan IS NULL AND ST_Relate(s.g, p.geom, 'T********') = 1{later}
        ) q WHERE area > :tol ORDER BY idx, uid
    """,
}

_ANY_PLOT_SQL = {
    "postgresql": "SELECT 1 FROM plot WHERE geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, :srid) "
    "AND end_lifespan IS NULL LIMIT 1",
    # (SpatiaLite's SpatialIndex answers nothing to "SELECT 1 … LIMIT 1": select the ROWID)
    "sqlite": "SELECT ROWID FROM SpatialIndex WHERE f_table_name = 'plot' "
    "AND f_geometry_column = 'geom' AND search_frame = BuildMbr(:x0, :y0, :x1, :y1, :srid)",
}


# Only registry plots whose current version began at or after :since (written after an earlier
# check), leaving out the plots this job's own transaction has written (promotion beside
# validation keeps their uids in import_promoted).
_SINCE = " AND p.begin_lifespan >= :since"
_NOT_OURS = " AND p.uid NOT IN (SELECT uid FROM import_promoted)"


def registry_overlaps(
    session: Session,
    job_id: int,
    tolerance: float,
    extent: tuple[float, float, float, float] | None = None,
    *,
    since: datetime | None = None,
    not_promoted: bool = False,
) -> list[Problem]:
    """Staged plots overlapping current registry plots by more than ``tolerance`` m².

    ``extent`` (the staged features' bounds) lets one index probe answer the common case, a
    collective's first import into an area with no plots yet, without touching every row.
    ``since`` narrows the check to plots written since an earlier, complete one (see
    spatial_checks.hold_geometry_writes); ``not_promoted`` leaves out the job's own plots.
    """
    dialect = session.get_bind().dialect.name
    srid = registry_srid()
    later = (_SINCE if since is not None else "") + (_NOT_OURS if not_promoted else "")
    params: dict[str, Any] = {"job": job_id, "tol": tolerance, "srid": srid}
    if since is not None:
        params["since"] = since
        # Almost always nobody drew a plot meanwhile: say so without the spatial join.
        recent = session.execute(
            text(f"SELECT 1 FROM plot p WHERE p.end_lifespan IS NULL{later} LIMIT 1"),  # noqa: S608
            {"since": since},
        ).first()
        if recent is None:
            return []
    if extent is not None:
        x0, y0, x1, y1 = extent
        near = session.execute(
            text(_ANY_PLOT_SQL[dialect]),
            {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "srid": srid},
        ).first()
        if near is None:
            return []
    rows = session.execute(text(_OVERLAP_SQL[dialect].format(later=later)), params)
    return [
        Problem(
            idx,
            code,
            "registry_overlap",
            "error",
            f"与登记库中的地块 {other} 重叠 {area:.2f} 平方米，超过容差",
            f"Overlaps registry plot {other} by {area:.2f} m², more than the tolerance",
            other_uid=uid,
            other_code=other,
            area_m2=float(area),
        )
        for idx, code, uid, other, area in rows
    ]


def unknown_households(session: Session, job_id: int) -> list[Problem]:
    """CBFBM naming no current household of the plot's collective. A warning: the plot can be
    registered unlinked (reserve land has no household), and linked once the household exists."""
    rows = session.execute(
        text(
            "SELECT s.idx, s.dkbm, s.cbfbm FROM import_staging s "
            "LEFT JOIN household h ON h.cbfbm = s.cbfbm AND h.end_lifespan IS NULL "
            "AND h.collective_id = s.collective_id "
            "WHERE s.job_id = :job AND s.cbfbm IS NOT NULL AND h.id IS NULL ORDER BY s.idx"
        ),
        {"job": job_id},
    )
    return [
        Problem(
            idx,
            code,
            "household_unknown",
            "warning",
            f"承包方编码 {cbfbm} 不是本集体的现有承包方，地块将不关联承包方",
            f"Household code {cbfbm} is not a current household of the collective; the plot "
            "will not be linked to a household",
            other_code=cbfbm,
        )
        for idx, code, cbfbm in rows
    ]


def mark_errors(session: Session, job_id: int, also: Iterable[int] = ()) -> None:
    """A staged row is promotable only when no error names it: a stored problem, an error the
    report did not keep (ProblemLog.unstored_errors), or a plot of an overlapping group found
    after its own window was staged (``also``)."""
    bad = select(PROBLEMS.c.idx).where(
        PROBLEMS.c.job_id == job_id,
        PROBLEMS.c.severity == "error",
        PROBLEMS.c.idx.is_not(None),
    )
    session.execute(
        update(STAGING).where(STAGING.c.job_id == job_id, STAGING.c.idx.in_(bad)).values(ok=False)
    )
    for part in _chunks(sorted(set(also)), 5000):
        session.execute(
            update(STAGING)
            .where(STAGING.c.job_id == job_id, STAGING.c.idx.in_(part), STAGING.c.ok.is_(True))
            .values(ok=False)
        )


def intact(session: Session, job_id: int, features: int) -> bool:
    """Are all of the job's ``features`` rows still staged? On PostgreSQL the staging table is
    UNLOGGED (no WAL for scratch rows): a server crash empties it, and a job validated before
    the crash must then be imported again rather than promote nothing."""
    staged = session.scalar(select(func.count()).where(STAGING.c.job_id == job_id))
    return staged == features


def clear(session: Session, job_id: int) -> None:
    session.execute(delete(STAGING).where(STAGING.c.job_id == job_id))


# --------------------------------------------------------------------------------------------
# Summary and report
# --------------------------------------------------------------------------------------------


def summarise(
    session: Session, job_id: int, features: int, log: ProblemLog, invalid: int | None = None
) -> dict[str, Any]:
    """Counts for the job page and the report, exact however few problems the report keeps.

    ``invalid`` (features with at least one error) defaults to the staged rows not marked ok,
    which is what promotion goes by (parcels: call after ``mark_errors``); households pass it.
    """
    kinds = log.kinds()

    def total(*, problem: Iterable[str] | None = None, severity: str | None = None) -> int:
        wanted = set(problem) if problem is not None else None
        return sum(
            k["total"]
            for k in kinds
            if (wanted is None or k["problem"] in wanted)
            and (severity is None or k["severity"] == severity)
        )

    if invalid is None:
        invalid = int(
            session.scalar(
                select(func.count())
                .select_from(STAGING)
                .where(STAGING.c.job_id == job_id, STAGING.c.ok.is_(False))
            )
            or 0
        )
    file_errors = sum(k["total"] for k in kinds if k["file"] and k["severity"] == "error")
    # valid / invalid count features (with or without a feature-level error); an error of the
    # whole file (a missing field, data outside the registry CRS's area) blocks promotion on its
    # own, through file_errors, without hiding how many features are sound. A feature has at
    # most one geometry error, so their total counts features.
    return {
        "features": features,
        "valid": max(features - invalid, 0),
        "invalid": invalid,
        "file_errors": file_errors,
        "errors": total(severity="error"),
        "warnings": total(severity="warning"),
        "geometry_invalid": sum(
            k["total"]
            for k in kinds
            if k["problem"] in GEOMETRY_PROBLEMS and k["severity"] == "error" and not k["file"]
        ),
        "overlaps": total(problem=("overlap",)) // 2
        + total(problem=("registry_overlap", *GROUP_PROBLEMS)),
        "problem_kinds": kinds,
        "report_limit": log.limit,
        "omitted": sum(k["total"] - k["shown"] for k in kinds),
    }


def omitted_kinds(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The kinds of which the report keeps only the first ones: {problem, severity, total,
    shown, more}, for "and 12,345 more of this kind"."""
    out: dict[str, dict[str, Any]] = {}
    for k in summary.get("problem_kinds", []):
        row = out.setdefault(
            k["problem"],
            {"problem": k["problem"], "severity": k["severity"], "total": 0, "shown": 0},
        )
        row["total"] += k["total"]
        row["shown"] += k["shown"]
        if k["severity"] == "error":
            row["severity"] = "error"
    return [{**r, "more": r["total"] - r["shown"]} for r in out.values() if r["total"] > r["shown"]]


def iter_problems(session: Session, job_id: int, *, limit: int | None = None, offset: int = 0):
    q = (
        select(ImportProblem)
        .where(ImportProblem.job_id == job_id)
        .order_by(ImportProblem.idx.is_not(None), ImportProblem.idx, ImportProblem.id)
        .offset(offset)
    )
    if limit is not None:
        q = q.limit(limit)
        return list(session.scalars(q))
    return session.scalars(q.execution_options(yield_per=2000))


def problem_dict(p: ImportProblem) -> dict[str, Any]:
    return {
        "index": p.idx,
        "code": p.code,
        "problem": p.problem,
        "severity": p.severity,
        "message_zh": p.message_zh,
        "message_en": p.message_en,
    }


def overlap_dict(p: ImportProblem) -> dict[str, Any]:
    if p.problem == "overlap":
        return {
            "a": {"index": p.idx, "code": p.code},
            "b": {"index": p.other_idx, "code": p.other_code},
            "area_m2": round(p.area_m2 or 0.0, 4),
            "with": "file",
        }
    return {
        "a": {"index": p.idx, "code": p.code},
        "b": {"uid": p.other_uid, "code": p.other_code},
        "area_m2": round(p.area_m2 or 0.0, 4),
        "with": "registry",
    }


def overlaps(session: Session, job_id: int) -> Iterator[ImportProblem]:
    q = (
        select(ImportProblem)
        .where(
            ImportProblem.job_id == job_id,
            ((ImportProblem.problem == "overlap") & (ImportProblem.idx < ImportProblem.other_idx))
            | (ImportProblem.problem == "registry_overlap"),
        )
        .order_by(ImportProblem.idx, ImportProblem.id)
    )
    return session.scalars(q.execution_options(yield_per=2000))


def write_report(session: Session, job: ImportJob, out: IO[str]) -> None:
    """The JSON report, streamed: problems and overlaps are written as they are read, so a file
    with a problem on every one of 300k features does not build one huge list in memory."""
    summary = job.summary
    head = {
        "job": job.id,
        "kind": job.kind,
        "file": job.filename,
        "sha256": job.sha256,
        "status": job.status,
        "promoted": job.promoted,
        **{k: v for k, v in summary.items() if k not in {"problems", "overlaps"}},
        "overlap_count": summary.get("overlaps"),
        # per kind, when the report keeps only the first IMPORT_REPORT_MAX_PER_KIND: how many
        # more of it there are
        "more_of_kind": {k["problem"]: k["more"] for k in omitted_kinds(summary)},
    }
    text_head = json.dumps(head, ensure_ascii=False, indent=1)
    out.write(text_head[:-2] + ",\n")  # reopen the object to append the two lists
    out.write(' "overlaps": [')
    for i, p in enumerate(overlaps(session, job.id)):
        out.write(("," if i else "") + "\n  " + json.dumps(overlap_dict(p), ensure_ascii=False))
    out.write("\n ],\n")
    out.write(' "problems": [')
    for i, p in enumerate(iter_problems(session, job.id)):
        out.write(("," if i else "") + "\n  " + json.dumps(problem_dict(p), ensure_ascii=False))
    out.write("\n ]\n}\n")
