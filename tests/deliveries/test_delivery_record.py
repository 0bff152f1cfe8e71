"""Validation of one import record (CONTRACTS §1): each field's good and bad values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intel.deliveries.record import (
    InvalidRecord,
    from_text_cells,
    jsonable,
    validate_record,
)

T = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
BASE = {
    "id": "d1",
    "tenant": "acme",
    "endpoint": "https://hooks.acme.example/in",
    "status": "failed",
    "created_at": "2026-11-05T16:30:00Z",
}


def _rec(**over):
    rec = dict(BASE)
    for key, value in over.items():
        if value is _DROP:
            rec.pop(key, None)
        else:
            rec[key] = value
    return rec


_DROP = object()


class _Thing:
    def __str__(self) -> str:
        return "thing"


GOOD = [
    # (case, overrides, field, expected value)
    ("minimal-defaults-attempts", {}, "attempts", 1),
    ("minimal-defaults-last-attempt", {}, "last_attempt_at", T),
    ("created-no-offset-is-utc", {"created_at": "2026-11-05T16:30:00"}, "created_at", T),
    ("created-offset", {"created_at": "2026-11-05T18:30:00+02:00"}, "created_at", T),
    ("created-space-separator", {"created_at": "2026-11-05 16:30:00Z"}, "created_at", T),
    ("created-fraction", {"created_at": "2026-11-05T16:30:00.250Z"}, "created_at",
     T.replace(microsecond=250000)),
    ("created-datetime-object", {"created_at": T}, "created_at", T),
    ("last-attempt", {"last_attempt_at": "2026-11-05T17:30:00Z"}, "last_attempt_at",
     T.replace(hour=17)),
    ("status-delivered", {"status": "delivered"}, "status", "delivered"),
    ("status-pending", {"status": "pending"}, "status", "pending"),
    ("http-status", {"http_status": 503}, "http_status", 503),
    ("http-status-integral-float", {"http_status": 503.0}, "http_status", 503),
    ("http-status-null", {"http_status": None}, "http_status", None),
    ("attempts", {"attempts": 3}, "attempts", 3),
    ("attempts-integral-float", {"attempts": 2.0}, "attempts", 2),
    ("event-type", {"event_type": "invoice.paid"}, "event_type", "invoice.paid"),
    ("event-type-null", {"event_type": None}, "event_type", None),
    ("error", {"error": "dial tcp: connection refused"}, "error", "dial tcp: connection refused"),
    ("error-nul-replaced", {"error": "a\x00b"}, "error", "a\ufffdb"),
    ("body", {"response_body": "<html>502</html>"}, "response_body", "<html>502</html>"),
    ("headers", {"response_headers": {"Retry-After": "30"}}, "response_headers",
     {"Retry-After": "30"}),
    ("duration-int", {"duration_ms": 12}, "duration_ms", 12.0),
    ("duration-float", {"duration_ms": 12.5}, "duration_ms", 12.5),
    ("payload-object", {"payload": {"a": [1, 2]}}, "payload", {"a": [1, 2]}),
    ("payload-string", {"payload": "a=1&b=2"}, "payload", "a=1&b=2"),
    ("unknown-field-kept", {"region": "eu"}, "extra", {"region": "eu"}),
    ("unknown-datetime-as-text", {"seen": T}, "extra", {"seen": "2026-11-05T16:30:00Z"}),
    ("no-unknown-fields", {}, "extra", None),
    ("unknown-never-an-error", {"blob": _Thing(), "nan": float("nan"), "nul": "a\x00",
                                "deep": {"x": [float("inf"), b"b"]}},
     "extra", {"blob": "thing", "nan": None, "nul": "a\ufffd", "deep": {"x": [None, "b"]}}),
    ("http-endpoint", {"endpoint": "http://10.0.0.1:8080/x"}, "endpoint",
     "http://10.0.0.1:8080/x"),
]


@pytest.mark.parametrize(("overrides", "field", "expected"),
                         [g[1:] for g in GOOD], ids=[g[0] for g in GOOD])
def test_good_values(overrides, field, expected):
    row = validate_record(_rec(**overrides))
    assert row[field] == expected
    if isinstance(expected, datetime):
        assert row[field].tzinfo is not None


BAD = [
    # (case, overrides, expected message fragment)
    ("missing-id", {"id": _DROP}, "missing required field 'id'"),
    ("missing-tenant", {"tenant": _DROP}, "missing required field 'tenant'"),
    ("missing-endpoint", {"endpoint": _DROP}, "missing required field 'endpoint'"),
    ("missing-status", {"status": _DROP}, "missing required field 'status'"),
    ("missing-created", {"created_at": _DROP}, "missing required field 'created_at'"),
    ("empty-tenant", {"tenant": "  "}, "missing required field 'tenant'"),
    ("null-id", {"id": None}, "missing required field 'id'"),
    ("id-number", {"id": 5}, "id: must be a string, got integer 5"),
    ("id-too-long", {"id": "x" * 201}, "id: longer than 200 characters"),
    ("id-nul", {"id": "a\x00"}, "id: contains a NUL character"),
    ("endpoint-not-url", {"endpoint": "hooks.acme.example"}, "endpoint: not an http(s) URL"),
    ("endpoint-ftp", {"endpoint": "ftp://x.example/a"}, "endpoint: not an http(s) URL"),
    ("status-unknown", {"status": "ok"},
     "status: unknown status 'ok' (expected delivered, failed or pending)"),
    ("status-case", {"status": "FAILED"}, "status: unknown status 'FAILED'"),
    ("status-number", {"status": 1}, "status: must be a string"),
    ("created-bad", {"created_at": "yesterday"},
     "created_at: not an RFC 3339 timestamp: 'yesterday'"),
    ("created-date-only", {"created_at": "2026-11-05"}, "created_at: not an RFC 3339 timestamp"),
    ("created-impossible", {"created_at": "2026-02-30T10:00:00Z"},
     "created_at: not a valid date and time"),
    ("created-epoch", {"created_at": 1767225600},
     "created_at: must be an RFC 3339 timestamp string, got integer"),
    ("last-attempt-bad", {"last_attempt_at": "soon"}, "last_attempt_at: not an RFC 3339"),
    ("http-status-string", {"http_status": "503"},
     "http_status: must be an integer or null, got string '503'"),
    ("http-status-bool", {"http_status": True}, "http_status: must be an integer or null"),
    ("http-status-zero", {"http_status": 0}, "http_status: must be an HTTP status code"),
    ("http-status-fraction", {"http_status": 503.5}, "http_status: must be an integer or null"),
    ("attempts-zero", {"attempts": 0}, "attempts: must be an integer >= 1, got 0"),
    ("attempts-negative", {"attempts": -2}, "attempts: must be an integer >= 1, got -2"),
    ("attempts-fraction", {"attempts": 1.5}, "attempts: must be an integer >= 1, got 1.5"),
    ("attempts-string", {"attempts": "2"}, "attempts: must be an integer >= 1, got '2'"),
    ("error-number", {"error": 42}, "error: must be a string or null, got integer"),
    ("body-object", {"response_body": {"a": 1}}, "response_body: must be a string or null"),
    ("headers-string", {"response_headers": "Retry-After: 30"},
     "response_headers: must be an object or null, got string"),
    ("headers-list", {"response_headers": [["a", "b"]]},
     "response_headers: must be an object or null, got array"),
    ("headers-nan", {"response_headers": {"x": float("nan")}},
     "response_headers: nan is not a JSON number"),
    ("duration-string", {"duration_ms": "12"}, "duration_ms: must be a number, got string"),
    ("duration-negative", {"duration_ms": -1}, "duration_ms: must be a finite number >= 0"),
    ("duration-infinite", {"duration_ms": float("inf")}, "duration_ms: must be a finite number"),
    ("payload-array", {"payload": [1, 2]},
     "payload: must be an object or a string, got array"),
    ("payload-number", {"payload": 5}, "payload: must be an object or a string, got integer"),
    ("payload-nul", {"payload": {"a": "x\x00"}}, "payload: contains a NUL character"),
]


@pytest.mark.parametrize(("overrides", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_values(overrides, message):
    with pytest.raises(InvalidRecord) as info:
        validate_record(_rec(**overrides))
    assert any(message in problem for problem in info.value.problems), info.value.problems


def test_every_problem_is_reported_at_once():
    with pytest.raises(InvalidRecord) as info:
        validate_record({"id": "x", "status": "ok", "created_at": "nope", "attempts": 0})
    problems = info.value.problems
    assert "missing required field 'tenant'" in problems
    assert "missing required field 'endpoint'" in problems
    assert any(p.startswith("status:") for p in problems)
    assert any(p.startswith("created_at:") for p in problems)
    assert any(p.startswith("attempts:") for p in problems)
    assert str(info.value) == "; ".join(problems)


def test_a_record_must_be_an_object():
    with pytest.raises(InvalidRecord, match="must be an object, got array"):
        validate_record([1, 2])


CELLS = [
    # (case, cells, expected typed values or None, problem fragment or None)
    ("empty-is-null", {"http_status": "", "payload": "", "region": ""},
     {"http_status": None, "payload": None, "region": None}, None),
    ("integer", {"http_status": " 503 ", "attempts": "2"},
     {"http_status": 503, "attempts": 2}, None),
    ("integer-pandas-float", {"http_status": "503.0"}, {"http_status": 503}, None),
    ("integer-bad", {"attempts": "two"}, None, "attempts: must be an integer, got 'two'"),
    ("number", {"duration_ms": "12.5"}, {"duration_ms": 12.5}, None),
    ("number-bad", {"duration_ms": "fast"}, None, "duration_ms: must be a number"),
    ("number-nan", {"duration_ms": "nan"}, None, "duration_ms: must be a finite number"),
    ("headers-json", {"response_headers": '{"Retry-After": "30"}'},
     {"response_headers": {"Retry-After": "30"}}, None),
    ("headers-bad-json", {"response_headers": "{Retry-After: 30}"}, None,
     "response_headers: bad JSON in object field"),
    ("payload-json", {"payload": '{"a": 1}'}, {"payload": {"a": 1}}, None),
    ("payload-bad-json", {"payload": '{"a": }'}, None, "payload: bad JSON in object field"),
    ("payload-text", {"payload": "a=1&b=2"}, {"payload": "a=1&b=2"}, None),
    ("payload-nan-refused", {"payload": '{"a": NaN}'}, None, "NaN is not valid JSON"),
    ("text-kept", {"error": " refused "}, {"error": " refused "}, None),
    ("non-text-passes", {"http_status": 503}, {"http_status": 503}, None),
]


@pytest.mark.parametrize(("cells", "expected", "problem"), [c[1:] for c in CELLS],
                         ids=[c[0] for c in CELLS])
def test_text_cells(cells, expected, problem):
    values, problems = from_text_cells(cells)
    if problem is None:
        assert problems == []
        assert values == expected
    else:
        assert any(problem in p for p in problems), problems


def test_jsonable_converts_parquet_values():
    from decimal import Decimal

    assert jsonable({"t": T, "b": b"hi", "d": Decimal("1.5"), "l": (1, 2)}) == {
        "t": "2026-11-05T16:30:00Z", "b": "hi", "d": 1.5, "l": [1, 2]
    }
    with pytest.raises(ValueError):
        jsonable(float("inf"))
