"""Running service calls at the same moment on real commits, for the `concurrency` tests.

Each job runs in its own thread with its own application context, so its own session and
connection; a barrier releases them together and the database decides who wins (SQLite:
BEGIN IMMEDIATE serialises writers; PostgreSQL: row and advisory locks).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from app.audit import trail
from app.core.errors import DomainError
from app.extensions import db

ACTOR = trail.AuditContext(actor="tester", role="collective_admin")


@dataclass(frozen=True)
class Outcome:
    """What one job ended in: ``result`` is "ok", the DomainError's code, or "crash: …";
    ``message`` is what the user would read (the refusal's message), None otherwise."""

    result: str
    message: str | None = None


def race_outcomes(app: Flask, jobs: list[Callable[[], object]]) -> list[Outcome]:
    """Run the jobs at once; each one's outcome, with the refusal's message."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[Outcome] = [Outcome("not run")] * len(jobs)

    def run(i: int, job: Callable[[], object]) -> None:
        with app.app_context(), app.test_request_context(), trail.acting(ACTOR):
            try:
                barrier.wait(timeout=10)
                job()
                db.session.commit()
                outcomes[i] = Outcome("ok")
            except DomainError as exc:
                db.session.rollback()
                outcomes[i] = Outcome(exc.code, str(exc.message))
            except Exception as exc:  # noqa: BLE001 - a crash is reported to the test as a result
                db.session.rollback()
                outcomes[i] = Outcome(f"crash: {exc!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def race(app: Flask, jobs: list[Callable[[], object]]) -> list[str]:
    """Run the jobs at once; each one's outcome: "ok", the DomainError code, or "crash: …"."""
    return [o.result for o in race_outcomes(app, jobs)]
