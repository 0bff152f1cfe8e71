"""Credentials in endpoint URLs (``https://user:pass@host/``) are never shown: not in
notifications (nor the notifier's log), incident headlines and audit entries, insights
recommendation texts or the advisor's reasons. (Replays: tests/replay/test_sender_hostile.py.)"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import httpx

from intel.audit import AuditFilter, list_events
from intel.incidents.lifecycle import Incident, Transition
from intel.incidents.store import apply_transitions
from intel.insights.recommendations import recommendations
from intel.worker.notify import Notifier, payload
from tests.insights.world import NOW, delivery, write

CREDS = "https://ops:hunter2@hooks.acme.example/in"


def _incident(**over) -> Incident:
    base = dict(
        id="inc-1", dedup_key=f"endpoint_spike|{CREDS}", type="endpoint_spike", target=CREDS,
        severity="critical", status="active", current_failures=45, peak_failures=45,
        baseline=3.0, detected_at=NOW, updated_at=NOW,
        details={"opened": {"headline": f"45 failures to {CREDS} in 5 min — 15x normal"},
                 "triage": {"top": {"category": "transient-endpoint-down", "share": 0.9,
                                    "recommended_action": f"retry {CREDS} later"}}},
    )
    base.update(over)
    return Incident(**base)


def test_notifications_never_carry_credentials():
    for kind in ("open", "escalate", "resolve"):
        body = json.dumps(payload(Transition(kind, _incident()), app_url="http://ops:8501"))
        assert "hunter2" not in body and "ops:hunter2" not in body
        assert "***@hooks.acme.example" in body
    assert "View affected deliveries" in body and "endpoint=" not in body  # window only
    plain = _incident(target="https://hooks.acme.example/in")
    assert "endpoint=https%3A%2F%2Fhooks.acme.example" in json.dumps(
        payload(Transition("open", plain), app_url="http://ops:8501"))
    fallback = _incident(details={})  # no stored headline: made from the target
    assert "hunter2" not in fallback.headline and "***@" in fallback.headline


def test_the_notifier_log_never_carries_credentials(caplog):
    def refuse(request):
        raise httpx.ConnectError(f"cannot reach {request.url}")

    notifier = Notifier("https://bot:tok3n@chat.example/hook", retries=0)
    client = httpx.Client(transport=httpx.MockTransport(refuse))
    with caplog.at_level(logging.WARNING):
        notifier._post(client, {"text": "x"})
    notifier.close()
    assert "tok3n" not in caplog.text and "***@chat.example" in caplog.text


def test_incident_audit_entries_never_carry_credentials(engine):
    with engine.begin() as conn:
        apply_transitions(conn, [Transition("open", _incident())], NOW)
    events, _ = list_events(engine, AuditFilter(action_prefix="incident"))
    text = json.dumps(events, default=str)
    assert events and "hunter2" not in text and "***@hooks.acme.example" in text


def test_recommendation_texts_never_carry_credentials(engine):
    rows = [delivery(CREDS, "t1", "failed", NOW - timedelta(hours=1 + i / 100), http_status=429)
            for i in range(12)]
    write(engine, rows)
    found = [r for r in recommendations(engine, "24h", NOW) if r["target"] == CREDS]
    assert found
    for rec in found:
        assert "hunter2" not in rec["text"] + rec["evidence"]
        assert "***@hooks.acme.example" in rec["text"]

