"""The background queue's entry points (RQ). They sit beside ``create_app`` and above every
package, because a worker started some other way than ``flask import worker`` has no app yet and
builds one here; the packages name these functions for the queue and never import this module.
"""

from __future__ import annotations

from typing import Any

from flask import has_app_context

from app import create_app
from app.extensions import db
from app.imports.runners import execute


def run_import_job(job_id: int, action: str, kw: dict[str, Any]) -> None:
    """Run one action of an import job: inside the worker's app context (``flask import
    worker``), or a new app built from the environment when the worker was started some other
    way (app.imports.runners.RQ_TASK names this function)."""
    if has_app_context():
        try:
            execute(job_id, action, **kw)
        finally:
            db.session.remove()
        return
    with create_app().app_context():
        try:
            execute(job_id, action, **kw)
        finally:
            db.session.remove()
