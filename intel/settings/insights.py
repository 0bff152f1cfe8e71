"""Insights caching (owned by insights)."""

from pydantic import Field

from intel.settings._base import Section


class InsightsSettings(Section):
    cache_ttl_s: int = Field(300, ge=0, description="Seconds an insights result stays cached.")
