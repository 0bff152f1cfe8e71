"""JSON bodies: datetimes as RFC 3339 UTC, everything else as JSON already is."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from intel.timeutil import to_rfc3339


def to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_rfc3339(value)
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return to_json(value.item())
    return value
