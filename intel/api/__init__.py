"""The REST API over triage, replay, anomalies, insights, deliveries and the audit trail."""

from intel.api.app import create_app

__all__ = ["create_app"]
