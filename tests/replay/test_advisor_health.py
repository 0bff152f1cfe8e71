"""An endpoint's health as the advisor shows it (``intel.advisor.health``): its label and
note on the affected-endpoints table, and the incident that covers a delivery. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intel.advisor.health import EndpointHealth, OpenIncident, incident_covering
from intel.settings.replay import ReplaySettings

OK = datetime(2026, 11, 5, 15, 30, tzinfo=UTC)
URL = "https://hooks.acme.example/in"
INCIDENT = OpenIncident(id="inc-1", type="endpoint_spike", target=URL, severity="warning",
                        detected_at=OK)


@pytest.mark.parametrize(
    ("health", "incident", "cutoff", "label", "note"),
    [
        pytest.param(EndpointHealth(last_success_at=OK), INCIDENT, 1, "incident", None,
                     id="incident-first"),
        pytest.param(EndpointHealth(), None, 1, "down", None, id="no-success"),
        pytest.param(EndpointHealth(last_success_at=OK, down_failures_since=1), None, 1,
                     "failing again", None, id="failing-again"),
        pytest.param(EndpointHealth(last_success_at=OK, down_failures_since=3), None, 3,
                     "failing again", None, id="failing-again-at-cutoff"),
        pytest.param(EndpointHealth(last_success_at=OK, episodes=3, recent_deliveries=10),
                     None, 1, "unstable", None, id="unstable"),
        pytest.param(EndpointHealth(last_success_at=OK,
                                    last_down_failure_at=OK + timedelta(minutes=1)),
                     None, 1, "down", None, id="failed-after-success-untolerated"),
        pytest.param(EndpointHealth(last_success_at=OK, last_down_failure_at=OK), None, 1,
                     "recovered", None, id="recovered"),
        pytest.param(EndpointHealth(last_success_at=OK, down_failures_since=2,
                                    last_down_failure_at=OK + timedelta(minutes=1)),
                     None, 3, "recovered",
                     "2 transport/5xx failure(s) since its latest success at "
                     "2026-11-05T15:30:00Z, fewer than replay.advisor_down_again_failures (3): "
                     "still counted as recovered", id="recovered-tolerated"),
    ],
)
def test_label_and_note(health, incident, cutoff, label, note):
    settings = ReplaySettings(advisor_down_again_failures=cutoff)
    assert health.label(incident, settings) == label
    assert health.note(label, settings) == note


@pytest.mark.parametrize(
    ("on", "covering"),
    [
        ({}, None),
        ({"*": "platform"}, "platform"),
        ({"acme": "tenant", "*": "platform"}, "tenant"),
        ({URL: "endpoint", "acme": "tenant", "*": "platform"}, "endpoint"),
        ({"beta": "other tenant", "https://other.example/": "other endpoint"}, None),
    ],
)
def test_the_incident_covering_a_delivery(on, covering):
    incidents = {target: OpenIncident(id=name, type="burst", target=target, severity="warning",
                                      detected_at=OK) for target, name in on.items()}
    found = incident_covering(incidents, URL, "acme")
    assert (found.id if found else None) == covering
