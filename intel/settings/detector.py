"""Anomaly detector thresholds (owned by the detector)."""

from pydantic import Field

from intel.settings._base import Section


class DetectorSettings(Section):
    burst_ratio: float = Field(
        1.5, gt=1, description="Burst: 5-min failures above this multiple of the 1-h baseline."
    )
    endpoint_spike_ratio: float = Field(
        10.0, gt=1, description="Endpoint spike: failures above this multiple of its 24-h baseline."
    )
    tenant_spike_ratio: float = Field(
        5.0, gt=1, description="Tenant spike: failures above this multiple of its 24-h baseline."
    )
    min_failures: int = Field(
        5, ge=1, description="No incident on fewer failures than this in the short window."
    )
    p_value: float = Field(
        1e-4, gt=0, lt=1,
        description="Significance: how unlikely the current count must be under the baseline rate.",
    )
    settle_s: int = Field(
        600, ge=0, description="Seconds back to normal before an incident resolves itself."
    )
