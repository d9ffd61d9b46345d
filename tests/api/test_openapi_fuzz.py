"""Property-based requests generated from the app's own OpenAPI description.

Every operation is called with a bounded number of generated requests, authenticated as an
executive (widest scope); no response may be a server error or disagree with the schema.
Two request-side heuristics are left out: "schema-valid data must be accepted" (some rules
cannot be said in a schema: a stage's required fields, a pipeline key that must exist; those
answer 422) and "schema-violating data must be rejected" (the API ignores unknown query
parameters and accepts what the JSON parser can coerce, such as a date given as a timestamp).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from api_support import World, make_world
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

# Enough to reach every parameter's edge cases; bounded so `make test` stays quick.
EXAMPLES_PER_OPERATION = 15

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.fixture
def world(db: None) -> Iterator[World]:
    # Requests go through the real WSGI handler, which closes the database connection after
    # each request; the test's transaction lives on that connection, so keep it open (as
    # Django's own test client does).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield make_world()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
@pytest.mark.django_db
def test_no_operation_fails_or_breaks_its_schema(case: schemathesis.Case, world: World) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {world.executive_token}", "Accept-Language": "en"},
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
    )
