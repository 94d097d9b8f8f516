"""Bulk import bookkeeping: the job, its staged features and the problems found in them.

A job is bookkeeping, not registry data: its progress counters change once per batch, and auditing
every counter tick would bury the real entries. So ``ImportJob`` is not audited row by row
(``__audit__ = False``); instead the job's meaningful steps (upload, validation result, every
promoted batch, discard) are recorded as explicit audit events, see promote.py and state.py.

Staging rows (``import_staging``) and problems (``import_problem``) are scratch space of one job:
they are written batch by batch while a file streams in, checked set-based in SQL against the
registry, promoted, and then deleted.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import BigId, utcnow
from app.extensions import db


class JobStatus:
    NEEDS_MAPPING = "needs_mapping"  # the file's fields do not map themselves: the user maps
    QUEUED = "queued"
    RUNNING = "running"
    VALIDATED = "validated"  # staged and checked; waiting for the user to promote
    PROMOTING = "promoting"
    PROMOTED = "promoted"
    REFUSED = "refused"  # validation found errors and the run was all-or-nothing
    FAILED = "failed"  # the file could not be read at all
    DISCARDED = "discarded"

    ACTIVE = frozenset({QUEUED, RUNNING, PROMOTING})


class ImportJob(db.Model):
    """One uploaded (or command-line) import of a parcels or households file."""

    __tablename__ = "import_job"
    __audit__ = False  # counters tick per batch; the steps are audited as events instead

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # parcels / households
    # The collective the import is for; None for a county-wide command-line import.
    collective_id: Mapped[int | None] = mapped_column(ForeignKey("collective.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    phase: Mapped[str | None] = mapped_column(String(32))  # reading / checking / promoting
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer, default=0)
    # Keys of the stored files under IMPORT_STORE (content-addressed, see readers.store_upload).
    path: Mapped[str] = mapped_column(String(500))
    members_path: Mapped[str | None] = mapped_column(String(500))  # households: CBF_JTCY file
    members_filename: Mapped[str | None] = mapped_column(String(200))
    options_json: Mapped[str] = mapped_column(Text, default="{}")
    summary_json: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_zh: Mapped[str | None] = mapped_column(Text)
    error_en: Mapped[str | None] = mapped_column(Text)
    promoted: Mapped[int] = mapped_column(Integer, default=0)
    source_document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    created_by: Mapped[str] = mapped_column(String(80))
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_by_role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Stamped every few seconds while a process runs the job (app.imports.liveness).
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def scope_collective_id(self) -> int | None:
        return self.collective_id

    @property
    def audit_collective_id(self) -> int | None:
        return self.collective_id

    @property
    def options(self) -> dict[str, Any]:
        return json.loads(self.options_json or "{}")

    @options.setter
    def options(self, value: dict[str, Any]) -> None:
        self.options_json = json.dumps(value, ensure_ascii=False, sort_keys=True)

    @property
    def effective_on(self) -> date | None:
        """The day the imported data took legal effect, if the importer declared one
        (``options["effective_on"]``, ISO); else the rows take effect on the day of promotion."""
        value = self.options.get("effective_on")
        return date.fromisoformat(value) if value else None

    @property
    def summary(self) -> dict[str, Any]:
        return json.loads(self.summary_json) if self.summary_json else {}

    @property
    def is_active(self) -> bool:
        return self.status in JobStatus.ACTIVE

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


class ImportStaging(db.Model):
    """One feature of a parcels file, read, mapped and reprojected, waiting to be promoted.

    Scratch rows, written 300k at a time, so the table is kept cheap to write: the key is
    (job, feature index) and nothing else is numbered; ``job_id`` has no foreign key (jobs are
    never deleted, and a check per staged row cost as much as a tenth of staging); on
    PostgreSQL the table is UNLOGGED (migration 0003): no WAL, emptied by a server crash, which
    ``staging.intact`` notices before a promotion.
    """

    __tablename__ = "import_staging"
    __audit__ = False  # scratch rows; what gets promoted is audited per batch

    job_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 0-based
    batch: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean, default=True)  # no error found (yet)
    valid_geom: Mapped[bool] = mapped_column(Boolean, default=False)  # polygonal and valid
    collective_id: Mapped[int | None] = mapped_column(Integer)
    dkbm: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(80))
    land_class: Mapped[str | None] = mapped_column(String(2))
    land_use: Mapped[str | None] = mapped_column(String(8))
    is_basic_farmland: Mapped[bool] = mapped_column(Boolean, default=False)
    contract_area_m2: Mapped[float | None] = mapped_column(Float)
    measured_area_m2: Mapped[float | None] = mapped_column(Float)
    east: Mapped[str | None] = mapped_column(String(100))
    south: Mapped[str | None] = mapped_column(String(100))
    west: Mapped[str | None] = mapped_column(String(100))
    north: Mapped[str | None] = mapped_column(String(100))
    cbfbm: Mapped[str | None] = mapped_column(String(64))
    wkb_sha256: Mapped[str | None] = mapped_column(String(64))
    # MultiPolygon as little-endian 2D WKB, in the job's validation CRS, which is the registry CRS
    # whenever the job can be promoted (data outside the registry CRS's area of use is checked in
    # its own CRS and never promoted). Plain bytes, not a geometry column: SpatiaLite's per-row
    # geometry triggers would cost more than the rest of staging, and the SQL checks turn it into
    # a geometry on the fly (ST_GeomFromWKB) where they need one.
    wkb: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_import_staging_job_dkbm", "job_id", "dkbm"),)


class ImportProblem(db.Model):
    """One problem of a job: a feature's (``idx``) or the whole file's (``idx`` is None)."""

    __tablename__ = "import_problem"
    __audit__ = False

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_job.id", ondelete="CASCADE"))
    idx: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(64))  # the feature's DKBM / CBFBM as read
    problem: Mapped[str] = mapped_column(String(40))  # stable problem code
    severity: Mapped[str] = mapped_column(String(8))  # error / warning
    message_zh: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    other_idx: Mapped[int | None] = mapped_column(Integer)  # overlaps inside the file
    other_code: Mapped[str | None] = mapped_column(String(64))
    other_uid: Mapped[int | None] = mapped_column(Integer)  # overlaps with a registry plot
    area_m2: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_import_problem_job_idx", "job_id", "idx"),)
