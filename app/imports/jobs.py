"""Import jobs as the web pages and the API start them (both call these; views commit).

An upload becomes a job (``upload``), waits for the user's field mapping if its fields do not
map themselves (``set_mapping``), and is handed to the background runner for validation and,
once the user read the report, promotion (``runners``). A job that was not promoted may be
discarded. The job's row and its lifecycle are in ``state``, the parcel pipeline in ``parcels``.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from app.core.errors import DomainError
from app.core.i18n import pick
from app.divisions.models import Collective
from app.extensions import db
from app.geo import geometry as geo
from app.imports import liveness
from app.imports import mapping as maps
from app.imports.models import ImportJob, JobStatus
from app.imports.readers import ImportRefused, open_vector, store_file, store_root
from app.imports.runners import enqueue
from app.imports.state import create_job, discard, refusal
from app.registry import history
from app.registry.inputs import require_date


def _refused(exc: ImportRefused | geo.GeoError, field: str | None = None) -> DomainError:
    return DomainError.from_check(exc, field=field)


def declared_effective_on(value: Any) -> str | None:
    """The legal date an importer declares for a file (a date or YYYY-MM-DD; empty: none), as
    the ISO text kept in the job's options. Not in the future (history.legal_date)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    day = require_date(value, "effective_on")
    return history.legal_date(day).isoformat()


def upload(
    collective: Collective,
    kind: str,
    stream: Any,
    filename: str,
    *,
    crs: str | None = None,
    layer: str | None = None,
    members_stream: Any = None,
    members_filename: str | None = None,
    effective_on: Any = None,
) -> ImportJob:
    """Start an import of an uploaded file for a collective (its admin only: checked by callers).

    Parcels whose fields map themselves (NY/T 2539 names) go straight to validation in the
    background; other layouts wait in NEEDS_MAPPING for the user's field mapping. A file that
    cannot be read at all is refused here, before any job exists. ``effective_on``, the day
    the file's data took legal effect (not in the future), becomes the promoted rows' legal
    date; without it they take effect on the day of promotion.
    """
    if kind not in ("parcels", "households"):
        raise DomainError("import_kind", _("Choose what the file contains."), field="kind")
    effective = declared_effective_on(effective_on)
    if crs:
        try:
            geo.parse_crs(crs)
        except geo.GeoError as exc:
            raise _refused(exc, "crs") from exc
    try:
        stored = store_file(store_root(), stream, filename)
        members = (
            store_file(store_root(), members_stream, members_filename or "members")
            if members_stream is not None
            else None
        )
        fields: list[str] = []
        counted = 0
        if kind == "parcels":
            source = open_vector(store_root() / stored.key, stored.filename, layer=layer or None)
            fields, counted = source.fields, max(source.features, 0)
    except ImportRefused as exc:
        raise _refused(exc, "file") from exc
    options: dict[str, Any] = {
        "crs": crs or None,
        "layer": layer or None,
        "fields": fields,
        "effective_on": effective,
    }
    job = create_job(
        kind,
        stored,
        collective_id=collective.id,
        options={k: v for k, v in options.items() if v},
        members=members,
    )
    job.total = counted  # the progress bar's end, counted once here
    if kind == "parcels" and maps.missing_required(
        maps.resolve(fields, None, maps.PARCEL_FIELDS), maps.PARCEL_REQUIRED
    ):
        job.status = JobStatus.NEEDS_MAPPING
    return job


def set_mapping(job: ImportJob, chosen: dict[str, str]) -> ImportJob:
    """Record the user's field mapping {NY/T field: file field} and queue the validation."""
    if job.status not in (JobStatus.NEEDS_MAPPING, JobStatus.VALIDATED, JobStatus.FAILED):
        raise DomainError("job_state", _("This import cannot be changed any more."))
    opts = job.options
    fields = opts.get("fields", [])
    clean = {t: f for t, f in chosen.items() if t in maps.PARCEL_FIELDS and f}
    unknown = [f for f in clean.values() if f not in fields]
    if unknown:
        raise DomainError(
            "mapping_field",
            _("The file has no field %(name)s.", name=unknown[0]),
            field="mapping",
        )
    if "DKBM" not in clean:
        raise DomainError(
            "mapping_required", _("Choose the field that holds the plot code (DKBM)."), field="DKBM"
        )
    opts["mapping"] = clean
    job.options = opts
    job.status = JobStatus.QUEUED
    job.error_code = job.error_zh = job.error_en = None
    return job


def queue_validation(job: ImportJob) -> None:
    """Hand the job's validation to the background runner (after the caller committed)."""
    enqueue(job.id, "validate")


def request_promotion(job: ImportJob, *, valid_only: bool) -> None:
    """Check the job may be promoted now (all or nothing unless ``valid_only``); the caller then
    commits and calls queue_promotion. Refusals say why, in the user's language."""
    why = refusal(job, valid_only)
    if why is not None:
        raise DomainError(why[0], pick(why[1], why[2]))


def queue_promotion(job: ImportJob, *, valid_only: bool) -> None:
    enqueue(job.id, "promote", valid_only=valid_only)


def discard_job(job: ImportJob) -> None:
    """Drop a job that was not promoted (its staged rows go; the report stays)."""
    if job.status not in (
        JobStatus.VALIDATED,
        JobStatus.NEEDS_MAPPING,
        JobStatus.FAILED,
        JobStatus.REFUSED,
    ) and not liveness.claim_stopped(db.session, job):  # a job whose process died may go too
        raise DomainError("job_state", _("This import cannot be discarded now."))
    discard(job)
