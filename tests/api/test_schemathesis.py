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

import pytest
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
from intel.settings import get_settings
from tests.api.matrix import fill, names
from tests.labels.labels_data import fake_model

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


#: Path parameters naming items of the world (``tests.api.matrix.names``): generated ids
#: are nearly always unknown (a 404), so each generated case is also sent with them, and
#: its answer for an item that exists is held to the schema too.
KNOWN = {"delivery_id": "{acme}", "job_id": "{acme_job}", "incident_id": "inc-tenant-acme"}


def _use(api) -> None:
    APP.dependency_overrides.clear()
    APP.dependency_overrides.update(api.client.app.dependency_overrides)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_schema(case, api):
    _use(api)
    case.call_and_validate(headers=api.headers("admin"), checks=CHECKS)
    known = {k: v for k, v in KNOWN.items() if k in (case.path_parameters or {})}
    if known:
        case.path_parameters = {**case.path_parameters, **fill(known, names(api))}
        case.call_and_validate(headers=api.headers("admin"), checks=CHECKS)


# --- every operation's success answer, held to the schema ------------------------------------

#: One request per operation that succeeds on the world (as admin). The property test's
#: inputs are mostly refused (400, 404, 422); these make sure every operation's 2xx body
#: is checked against its declared model as well.
SUCCESS = [
    ("GET", "/health", {}),
    ("GET", "/deliveries", {"query": {"window": "24h", "per_page": 500}}),
    ("GET", "/deliveries/{delivery_id}", {"path_parameters": {"delivery_id": "{acme}"}}),
    ("GET", "/triage/deliveries/{delivery_id}",
     {"path_parameters": {"delivery_id": "{acme}"}}),
    ("POST", "/triage/deliveries/batch", {"body": {"ids": ["{acme}", "{globex}", "nope"]}}),
    ("GET", "/triage/accuracy", {}),
    ("PUT", "/triage/model", {"body": {"enabled": True, "confirmed": True, "note": "t"}}),
    ("GET", "/replay/recommendations", {"query": {"since": "24h"}}),
    ("POST", "/replay/jobs", {"body": {"ids": ["{acme}"]}}),
    ("GET", "/replay/jobs/{job_id}",
     {"path_parameters": {"job_id": "{acme_job}"}, "query": {"items": "true"}}),
    ("POST", "/replay/jobs/{job_id}/cancel",
     {"path_parameters": {"job_id": "{acme_job}"}, "body": {}}),
    ("GET", "/insights/endpoints", {"query": {"period": "7d"}}),
    ("GET", "/insights/tenants", {}),
    ("GET", "/insights/operators", {}),
    ("GET", "/insights/system-health", {}),
    ("GET", "/insights/recommendations", {}),
    ("GET", "/insights/adoption", {}),
    ("GET", "/anomalies/active", {}),
    ("GET", "/anomalies/history", {"query": {"since": "7d"}}),
    ("POST", "/anomalies/{incident_id}/acknowledge",
     {"path_parameters": {"incident_id": "inc-tenant-acme"}, "body": {"note": "known"}}),
    ("GET", "/audit", {"query": {"limit": 1000}}),
]


def test_every_operation_has_a_success_case():
    operations = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert {(m, p) for m, p, _ in SUCCESS} == operations


@pytest.mark.parametrize(("method", "path", "request_"), SUCCESS,
                         ids=[f"{m} {p}" for m, p, _ in SUCCESS])
def test_success_answers_keep_the_schema(api, method, path, request_):
    _use(api)
    fake_model(get_settings().triage.model_path)  # the model switch has figures to show
    case = schema[path][method].Case(**fill(request_, names(api)))
    response = case.call_and_validate(headers=api.headers("admin"), checks=CHECKS)
    assert 200 <= response.status_code < 300, response.text
    body = response.json()
    assert body, "an empty success body checks nothing"
