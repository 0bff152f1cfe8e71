"""Property-based tests of the whole OpenAPI schema with schemathesis, in process (ASGI),
as an admin token, on SQLite and PostgreSQL: no server error, and every response — its
status, content type, headers and body — as the schema says.

``ignored_auth`` also checks that every route the schema says needs a bearer token
refuses a request without one (or with a wrong one). Examples per operation are few so
the run stays short in CI (``pytest -n 2``); the generation is derandomised so a failure
is reproducible.

One app serves the schema (schemathesis reads it at collection); each test points it at
that test's database, world and tokens (the ``api`` fixture's dependency overrides).
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from intel.api import create_app

MAX_EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
]

APP = create_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.generation.update(max_examples=MAX_EXAMPLES)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_schema(case, api):
    APP.dependency_overrides.clear()
    APP.dependency_overrides.update(api.client.app.dependency_overrides)
    case.call_and_validate(headers=api.headers("admin"), checks=CHECKS)
