"""Property-based run over every API operation of the OpenAPI document (issue 9, item 8).

Schemathesis (v4) reads /api/v1/openapi.json from the app in process (WSGI) and Hypothesis
generates bodies, query strings and path ids for each operation: schema-valid ones (positive) and
schema-violating ones (negative: wrong types, missing fields, out-of-range numbers). Each case is
sent with the Bearer token of a collective admin and of a bureau reviewer. Every response must:

- not be a 5xx;
- use a status code the document names (each operation documents its refusals as ``4XX``);
- have the documented content type and, where the document gives one, conform to its schema.

Path ids are either generated or taken from a world of real objects (tests/factories), so the
body of an operation is also parsed and checked for objects that exist.

The run is bounded and repeatable: ``SANQUAN_FUZZ_EXAMPLES`` examples per operation and mode
(default 10) with Hypothesis derandomised; raise it (and set ``SANQUAN_FUZZ_RANDOM=1`` for fresh
examples each run) to search harder. Schemathesis' pytest plugin is not used: its runner does not
yet support pytest 9, and plain Hypothesis over ``operation.as_strategy`` is all this needs.
"""

from __future__ import annotations

import logging
import os
import traceback

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.audit import trail
from app.extensions import db
from tests.conftest import token_for
from tests.factories import make_world

pytestmark = pytest.mark.hostile

EXAMPLES = int(os.environ.get("SANQUAN_FUZZ_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
USERS = ("admin_a", "bureau")


class _Tracebacks(logging.Handler):
    """Keeps the tracebacks of unhandled errors, so a 5xx failure shows its cause."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.seen.append("".join(traceback.format_exception(*record.exc_info))[-2000:])


@pytest.fixture
def tracebacks():
    handler = _Tracebacks()
    logger = logging.getLogger("app.core.web")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_every_api_operation_survives_generated_input(app, baseline, tracebacks):
    with app.app_context(), trail.acting(trail.AuditContext(actor="factory", role="system")):
        world = make_world(baseline.collective_a)
        db.session.commit()
    bearers = [{"Authorization": f"Bearer {token_for(app, u)}"} for u in USERS]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    operations = sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        names = [p.name for p in operation.path_parameters]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies = [operation.as_strategy(mode)]
            if names and all(n in world for n in names):
                known = {n: world[n] for n in names}
                strategies.append(operation.as_strategy(mode, path_parameters=known))

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=not os.environ.get("SANQUAN_FUZZ_RANDOM"),
                phases=(Phase.explicit, Phase.generate),  # no shrinking: keep the run bounded
                suppress_health_check=list(HealthCheck),
            )
            @given(case=st.one_of(strategies))
            def run(case) -> None:
                nonlocal sent
                for headers in bearers:
                    sent += 1
                    case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:1500])
    assert operations >= 50
    assert sent >= operations * EXAMPLES
    report = "\n\n".join(failures + tracebacks.seen[:3])
    assert not failures and not tracebacks.seen, report
