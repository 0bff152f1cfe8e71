"""Outgoing incident notifications (owned by the worker)."""

from pydantic import Field

from intel.settings._base import Section


class NotificationSettings(Section):
    webhook_url: str | None = Field(
        None,
        description="Slack-compatible incoming-webhook URL (JSON with 'text' and 'blocks') "
        "posted when an incident opens, escalates or resolves; unset means no notifications.",
    )
    timeout_s: float = Field(5.0, gt=0, description="Timeout of one notification request.")
    retries: int = Field(
        3, ge=0, le=10, description="Retries of a failed notification (with backoff)."
    )
    app_url: str | None = Field(
        None,
        description="Base URL of the app (e.g. http://ops.example:8501), to put links to the "
        "affected deliveries in notifications.",
    )
    redis_channel: str = Field(
        "intel:incidents",
        description="Redis channel the worker publishes incident transitions on (when "
        "REDIS_URL is set); the heartbeat is mirrored to the key intel:heartbeat:detector.",
    )
