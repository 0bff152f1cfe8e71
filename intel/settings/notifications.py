"""Outgoing incident notifications (owned by the worker)."""

from pydantic import Field

from intel.settings._base import Section


class NotificationSettings(Section):
    webhook_url: str | None = Field(
        None, description="Slack-compatible incoming-webhook URL; unset means no notifications."
    )
    timeout_s: float = Field(5.0, gt=0, description="Timeout of one notification request.")
