"""One error shape for every error, hostile input answered with a 400 naming the
parameter (never a 500), bounded and credential-free response text — on SQLite and
PostgreSQL."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import insert

from intel.api import deps
from intel.api.serialize import mask_credentials, to_json
from intel.deliveries.caps import CHARS_MARKER
from intel.deliveries.write import upsert_deliveries
from intel.incidents.lifecycle import Incident, Transition
from intel.incidents.store import apply_transitions
from intel.settings import get_settings
from intel.store.schema import deliveries as deliveries_table
from intel.store.schema import delivery_attempts
from tests.scope.world import NOW, h

ERROR_KEYS = {"status", "code", "message", "where"}


def assert_error(response, status: int, code: str, where: str | None = "any") -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert ERROR_KEYS <= set(error) <= ERROR_KEYS | {"problems", "reference"}
    assert error["status"] == status and error["code"] == code and error["message"]
    if where != "any":
        assert error["where"] == where
    return error


# --- hostile parameters: each one was a 500 (or a crash) before -------------------------

HUGE = "9" * 30

HOSTILE = [
    ("GET", "/deliveries?page=9223372036854775807", None, "query.page", "page: must be ≤ 10000"),
    ("GET", "/deliveries?per_page=" + HUGE, None, "query.per_page", "per_page:"),
    ("GET", "/audit?offset=99999999999999999999", None, "query.offset", "offset: must be ≤"),
    ("GET", "/audit?limit=" + HUGE, None, "query.limit", "limit: must be ≤ 1000"),
    ("GET", "/audit?since=99999999h", None, "query.since", "since: the look-back"),
    ("GET", "/audit?since=" + "9" * 400 + "h", None, "query.since", "since:"),
    ("GET", "/replay/recommendations?since=1000000d", None, "query.since", "since:"),
    ("GET", "/anomalies/history?since=1000000d", None, "query.since", "since:"),
    ("GET", "/anomalies/history?limit=" + HUGE, None, "query.limit", "limit:"),
    ("GET", "/insights/endpoints?limit=" + HUGE, None, "query.limit", "limit:"),
    ("GET", "/insights/tenants?period=1000000d", None, "query.period", "period:"),
    ("GET", "/deliveries?window=custom&since=9999-12-31T23:59:59-01:00", None, "query.since",
     "since:"),
    ("GET", "/deliveries?window=custom&since=0001-01-01T00:00:00%2B01:00", None,
     "query.since", "since:"),
    ("GET", "/deliveries/abc%00def", None, "path.delivery_id", "delivery_id: not text"),
    ("GET", "/triage/deliveries/" + "x" * 5000, None, "path.delivery_id", "delivery_id:"),
    ("GET", "/deliveries?tenant=ac%00me", None, "query.tenant", "tenant: not text"),
    ("GET", "/replay/jobs/%00", None, "path.job_id", "job_id: not text"),
    ("POST", "/triage/deliveries/batch", '{"ids": ["\\ud800"]}', "body.ids[0]",
     "ids[0]: not text"),
    ("POST", "/triage/deliveries/batch", '{"ids": ["a\\u0000b"]}', "body.ids[0]",
     "ids[0]: not text"),
    ("POST", "/triage/deliveries/batch", '{"ids": [' + ",".join(['"x"'] * 101) + "]}",
     "body.ids", "at most 100"),
    ("POST", "/replay/jobs", '{"ids": ["\\udfff"]}', "body.ids[0]", "ids[0]: not text"),
    ("POST", "/replay/jobs", '{"recommended": true, "since": "1000000d"}', "body.since",
     "since:"),
    ("POST", "/anomalies/inc-tenant-acme/acknowledge", '{"note": "\\ud83d"}', "body.note",
     "note: not text"),
]


@pytest.mark.parametrize(("method", "path", "body", "where", "fragment"), HOSTILE,
                         ids=[f"{m} {p[:60]} {b[:30] if b else ''}" for m, p, b, *_ in HOSTILE])
def test_hostile_parameters_are_400_naming_the_parameter(api, method, path, body, where,
                                                         fragment):
    kw = {"content": body, "headers": {**api.headers("admin"),
                                       "content-type": "application/json"}} if body else {
        "headers": api.headers("admin")}
    response = api.client.request(method, path, **kw)
    error = assert_error(response, 400, "bad_parameter", where)
    assert fragment in error["message"]
    assert not api.launched


# --- the one shape, for every status -------------------------------------------------------


def test_401_shape(api):
    error = assert_error(api.get("/audit", None), 401, "unauthenticated", "header.Authorization")
    assert "Bearer" in error["message"]


def test_403_shape(api):
    error = assert_error(api.post("/replay/jobs", "viewer", json={"ids": ["x"]}), 403,
                         "forbidden", None)
    assert error["message"] == "viewer (viewer) may not replay: needs the operator role"


def test_404_shapes(api):
    assert_error(api.get("/deliveries/nope"), 404, "not_found", None)
    assert_error(api.get("/no/such/route"), 404, "not_found", None)


def test_405_shape(api):
    response = api.client.delete("/deliveries/x", headers=api.headers("admin"))
    assert_error(response, 405, "method_not_allowed", None)
    assert response.headers["allow"] == "GET"


def test_409_shape(api):
    assert api.post("/anomalies/inc-burst/acknowledge", json={}).status_code == 200
    error = assert_error(api.post("/anomalies/inc-burst/acknowledge", json={}), 409, "conflict")
    assert "inc-burst" in error["message"]


def test_422_shape_names_the_field(api):
    error = assert_error(api.post("/triage/deliveries/batch", json={"ids": "d1"}), 422,
                         "invalid_body", "body.ids")
    assert error["message"].startswith("ids: ")
    several = assert_error(api.post("/replay/jobs", json={"ids": [1, {}], "recommended": "x"}),
                           422, "invalid_body")
    assert len(several["problems"]) >= 2


def test_bad_json_shape(api):
    response = api.client.post("/triage/deliveries/batch", content=b'{"ids": [',
                               headers={**api.headers("admin"),
                                        "content-type": "application/json"})
    assert_error(response, 400, "bad_json", "body")


def test_413_shape(api):
    big = b'{"ids": ["' + b"x" * (2 * 1024 * 1024) + b'"]}'
    response = api.client.post("/triage/deliveries/batch", content=big,
                               headers={**api.headers("admin"),
                                        "content-type": "application/json"})
    assert_error(response, 413, "too_large", "body")


def test_unexpected_errors_are_500_in_the_shape_and_say_nothing(api, monkeypatch):
    import intel.api.routes_audit as routes

    def boom(*args, **kwargs):
        raise RuntimeError("postgres://root:hunter2@db/secret exploded")

    monkeypatch.setattr(routes, "list_events", boom)
    error = assert_error(api.get("/audit"), 500, "internal", None)
    assert error["reference"] and error["reference"] in error["message"]
    assert "hunter2" not in str(error) and "exploded" not in str(error)


def test_health_says_only_status_and_version(api):
    response = api.client.get("/health")
    assert response.status_code == 200 and set(response.json()) == {"status", "version"}


def test_health_without_a_store_is_503_in_the_shape(api):
    from sqlalchemy import create_engine

    nowhere = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none",
                            connect_args={"connect_timeout": 2})
    api.client.app.dependency_overrides[deps.engine] = lambda: nowhere
    error = assert_error(api.client.get("/health"), 503, "unavailable", None)
    assert "nobody" not in error["message"]
    nowhere.dispose()


# --- response text: bounded, credentials masked -------------------------------------------


def _insert_raw(engine, delivery_id: str, **over) -> None:
    """Straight into the tables, past the import's caps: what an older import or another
    writer may have stored."""
    row = {"id": delivery_id, "tenant": "acme", "endpoint": "https://acme.example/hook",
           "event_type": "invoice.paid", "status": "failed", "http_status": 503,
           "error": None, "response_headers": None, "response_body": None, "attempts": 1,
           "created_at": h(1.1), "last_attempt_at": h(1), "duration_ms": 5.0,
           "payload": None, "extra": None, "updated_at": h(1)}
    row.update(over)
    with engine.begin() as conn:
        conn.execute(insert(deliveries_table).values(**row))
        conn.execute(insert(delivery_attempts).values(
            delivery_id=delivery_id, attempt_no=1, kind="delivery", status="failed",
            http_status=503, error=row["error"], response_body=row["response_body"],
            finished_at=row["last_attempt_at"]))


def test_a_50_mb_stored_body_gives_a_bounded_response(api):
    limit = get_settings().limits.api_text_chars
    huge = "A" * (50 * 1024 * 1024)
    _insert_raw(api.engine, "huge", response_body=huge, error="E" * (5 * 1024 * 1024),
                response_headers={"X-Big": "h" * (1024 * 1024)}, payload={"blob": "p" * 10**6})
    del huge
    started = time.perf_counter()
    response = api.get("/deliveries/huge")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    # every text field at most the limit plus its marker: ~6 texts, far below 50 MB
    assert len(response.content) < 8 * (limit + 100)
    marker = CHARS_MARKER.format(n=50 * 1024 * 1024 - limit)
    assert body["response_body"] == "A" * limit + marker
    assert body["attempts_timeline"][0]["response_body"].endswith(marker)
    assert body["error"].endswith(CHARS_MARKER.format(n=5 * 1024 * 1024 - limit))
    assert body["response_headers"]["X-Big"].startswith("h" * limit + "…[truncated")
    assert body["payload"]["blob"].startswith("p" * limit + "…[truncated")
    assert elapsed < 20
    listing = api.get("/deliveries", params={"window": "24h", "per_page": 500})
    assert listing.status_code == 200 and len(listing.content) < 2 * 1024 * 1024
    row = next(d for d in listing.json()["deliveries"] if d["id"] == "huge")
    assert row["response_body"].endswith(marker)
    assert api.get("/triage/deliveries/huge").status_code == 200


SECRET_URL = "https://hookuser:s3cr3t-pw@hooks.example/in"


def test_credentials_in_endpoint_urls_are_masked_everywhere(api):
    masked = "https://***@hooks.example/in"
    with api.engine.begin() as conn:
        upsert_deliveries(conn, [
            {"id": f"cred-{i}", "tenant": "acme", "endpoint": SECRET_URL,
             "event_type": "invoice.paid", "status": "failed", "http_status": None,
             "error": f"Post \"{SECRET_URL}\": dial tcp: connection refused",
             "response_headers": None, "response_body": None, "attempts": 1,
             "created_at": h(2 + i / 10) - timedelta(minutes=1),
             "last_attempt_at": h(2 + i / 10), "duration_ms": None,
             "payload": {"callback": SECRET_URL}}
            for i in range(5)
        ], now=NOW)
        apply_transitions(conn, [Transition("open", Incident(
            id="inc-cred", dedup_key=f"endpoint_spike|{SECRET_URL}", type="endpoint_spike",
            target=SECRET_URL, severity="warning", status="active", current_failures=5,
            peak_failures=5, baseline=0.5, detected_at=h(0.2), updated_at=h(0.2)))], h(0.2))
    detail = api.get("/deliveries/cred-0")
    assert detail.json()["endpoint"] == masked
    created = api.post("/replay/jobs", json={"ids": ["cred-1", "cred-2"]})
    assert created.status_code == 202, created.text
    job = created.json()["job_id"]
    responses = {
        "detail": detail,
        "list": api.get("/deliveries", params={"window": "24h", "per_page": 500}),
        "filtered": api.get("/deliveries", params={"endpoint": SECRET_URL}),
        "triage": api.get("/triage/deliveries/cred-0"),
        "advisor": api.get("/replay/recommendations"),
        "job": created,
        "progress": api.get(f"/replay/jobs/{job}", params={"items": True}),
        "endpoints": api.get("/insights/endpoints", params={"limit": 100}),
        "recommendations": api.get("/insights/recommendations"),
        "active": api.get("/anomalies/active"),
        "history": api.get("/anomalies/history"),
        "audit": api.get("/audit", params={"limit": 1000}),
    }
    for name, response in responses.items():
        assert response.status_code in (200, 202), (name, response.text[:300])
        assert "s3cr3t" not in response.text and "hookuser" not in response.text, name
    assert responses["filtered"].json()["total"] == 5  # the filter still finds them
    assert masked in responses["endpoints"].text and masked in responses["active"].text
    links = [r["link"] for r in responses["endpoints"].json()["endpoints"]]
    assert any("%2A%2A%2A%40" in link or "***%40" in link for link in links), links


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://u:p@h/x", "https://***@h/x"),
        ("see http://a@b@c/ and ftp://x:y@z", "see http://***@c/ and ftp://***@z"),
        ("/?endpoint=https%3A%2F%2Fu%3Ap%40h%2Fx&s=1", "/?endpoint=https%3A%2F%2F***%40h%2Fx&s=1"),
        ("mail me at a@b.example", "mail me at a@b.example"),
        ("https://host/path?a=b@c", "https://host/path?a=b@c"),
    ],
)
def test_mask_credentials(text, expected):
    assert mask_credentials(text) == expected


def test_masking_is_linear_on_hostile_text():
    started = time.perf_counter()
    for text in ("a" * 5_000_000 + "@", "://" + "a" * 5_000_000,
                 "%3A%2F%2F" + "a" * 5_000_000, "1a" * 2_500_000 + "@"):
        mask_credentials(text)
    assert time.perf_counter() - started < 5


def test_to_json_caps_keys_and_values():
    out = to_json({"k" * 500: ["v" * 500, {"x": "https://a:b@h/"}]}, text_chars=300)
    [(key, value)] = out.items()
    assert key.startswith("k" * 300 + "…[truncated")
    assert value[0].startswith("v" * 300) and value[1] == {"x": "https://***@h/"}
