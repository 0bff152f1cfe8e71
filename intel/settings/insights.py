"""Insights: caching, trends and recommendation thresholds (owned by insights)."""

from pydantic import Field

from intel.settings._base import Section


class InsightsSettings(Section):
    cache_ttl_s: int = Field(
        300, ge=0, description="Seconds an insights or Explore result stays cached (0: off)."
    )
    redis_retry_s: float = Field(
        5.0, gt=0,
        description="After a Redis error, seconds served from the in-process cache before "
        "Redis is tried again.",
    )
    trend_threshold: float = Field(
        0.10, ge=0,
        description="Trend arrows: failures changed by more than this share of the previous "
        "period's count (otherwise →).",
    )
    top_limit: int = Field(10, ge=1, le=100, description="Rows in the top-N tables.")
    recommend_min_failures: int = Field(
        10, ge=1, description="Recommendations about failures need at least this many."
    )
    recommend_rate_limited_share: float = Field(
        0.25, gt=0, le=1,
        description="Suggest rate-limiting an endpoint when this share of its failures are 429.",
    )
    recommend_tenant_failure_ratio: float = Field(
        0.25, gt=0, le=1,
        description="Flag a tenant when this share of its finished deliveries fails.",
    )
    recommend_dead_days: int = Field(
        3, ge=1,
        description="Suggest disabling an endpoint that failed every delivery this many days.",
    )
