"""Deep links into the delivery history page.

The history page's state lives in its URL; other pages and the banner link to a
filtered view with ``history_link``. The history is the app's default page, which
Streamlit always serves at the root URL, so its links are ``/?...``. Parameters:

``tenant``, ``endpoint``, ``status``, ``event_type``, ``category`` (triage category),
``window`` (``1h`` | ``24h`` | ``7d`` | ``custom``: ``intel.deliveries.query.HISTORY_WINDOWS``),
``since`` / ``until`` (RFC 3339, with ``window=custom``), ``id`` (the delivery whose detail
is open), ``page`` (1-based).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from intel.timeutil import to_rfc3339

HISTORY_PATH = "/"
HISTORY_PARAMS = (
    "tenant", "endpoint", "status", "event_type", "category", "window", "since", "until",
    "id", "page",
)


def history_link(**params: object) -> str:
    """``/?tenant=acme&window=custom&since=...``; unknown parameters are an error."""
    unknown = set(params) - set(HISTORY_PARAMS)
    if unknown:
        raise ValueError(f"unknown history parameter(s): {', '.join(sorted(unknown))}")
    clean: dict[str, str] = {}
    for key in HISTORY_PARAMS:
        value = params.get(key)
        if value is None or value == "":
            continue
        clean[key] = to_rfc3339(value) if isinstance(value, datetime) else str(value)
    if ("since" in clean or "until" in clean) and "window" not in clean:
        clean["window"] = "custom"
    return HISTORY_PATH + ("?" + urlencode(clean) if clean else "")
