"""Shared test data for the labels tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import DEV_SET

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
#: The labelled dev set (143 real-world failures), shared by the sessions' projects.
DEV_SET = DEV_SET


def failure(i: int, **fields) -> dict:
    at = T0 + timedelta(minutes=i)
    rec = {
        "id": f"d{i:03d}", "tenant": "acme", "endpoint": "https://hooks.acme.example/in",
        "event_type": "invoice.paid", "status": "failed", "http_status": 503, "error": None,
        "response_headers": None, "response_body": "Service Unavailable", "attempts": 1,
        "created_at": at, "last_attempt_at": at, "duration_ms": 10.0, "payload": None,
        "extra": None,
    }
    rec.update(fields)
    return rec
