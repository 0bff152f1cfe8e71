"""Deep links from an incident to the deliveries behind it."""

from __future__ import annotations

from datetime import timedelta

from intel.deliveries.links import history_link
from intel.incidents.lifecycle import Incident


def affected_deliveries_link(incident: Incident) -> str:
    """The delivery history filtered to the incident's target, failed, over its window
    (from one report window before detection until it resolved, or open-ended)."""
    window_s = int((incident.details.get("opened") or {}).get("window_s", 300))
    params: dict = {
        "status": "failed",
        "since": incident.detected_at - timedelta(seconds=window_s),
        "until": incident.resolved_at,
    }
    if incident.type == "endpoint_spike":
        params["endpoint"] = incident.target
    elif incident.type == "tenant_spike":
        params["tenant"] = incident.target
    return history_link(**params)
