"""An import job in one collective (for the scope matrix: ``job_id``).

The job is a finished validation of a small file, so every job route (page, report, mapping,
promote, discard) has something to answer for its own collective's admin, and must answer 404
for anyone else's.
"""

from __future__ import annotations

import json

from app.extensions import db
from app.imports.models import ImportJob, JobStatus


def make(collective_id: int, ctx: dict) -> dict:
    """Create this area's objects in the collective; return {url argument: value}."""
    job = ImportJob(
        kind="parcels",
        collective_id=collective_id,
        status=JobStatus.VALIDATED,
        filename="factory.geojson",
        sha256="0" * 64,
        size=0,
        path="00/" + "0" * 64 + ".geojson",
        created_by="factory",
        created_by_role="collective_admin",
        summary_json=json.dumps({"features": 0, "valid": 0, "invalid": 0, "warnings": 0}),
    )
    db.session.add(job)
    db.session.flush()
    return {"job_id": job.id}
