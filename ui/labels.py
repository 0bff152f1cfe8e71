"""Streamlit helpers shared by the Labels, Accuracy and Triage pages."""

from __future__ import annotations

import json

import streamlit as st

from intel.redact import redact_text, redact_url
from intel.triage.result import PERMANENT, RATE_LIMITED, TRANSIENT, UNKNOWN

#: Badge colour and meaning per category (as the delivery history shows them).
CATEGORY_STYLE: dict[str, tuple[str, str]] = {
    TRANSIENT: ("green", "safe to retry"),
    PERMANENT: ("red", "investigate"),
    RATE_LIMITED: ("yellow", "wait"),
    UNKNOWN: ("gray", "manual review"),
}
CATEGORY_ICON = {TRANSIENT: "🟢", PERMANENT: "🔴", RATE_LIMITED: "🟡", UNKNOWN: "⚪"}


def category_badge(category: str) -> None:
    """A coloured badge for one of the four categories (fixed text, never user input)."""
    colour, meaning = CATEGORY_STYLE.get(category, ("gray", ""))
    if category in CATEGORY_STYLE:
        st.badge(f"{category} · {meaning}", color=colour)
    else:
        st.text(category)


def show_delivery(delivery: dict) -> None:
    """A delivery's status, error, headers and body, all as text (never markdown); the
    endpoint's credentials redacted."""
    http = delivery.get("http_status")
    st.text(
        f"Delivery {delivery.get('id')} · tenant {delivery.get('tenant')} · "
        f"{delivery.get('event_type') or '(no event type)'}\n"
        f"Endpoint: {redact_url(delivery.get('endpoint'))}\n"
        f"Status: {delivery.get('status')} · HTTP {http if http is not None else '(none)'} · "
        f"attempts {delivery.get('attempts')} · last attempt {delivery.get('last_attempt_at')}"
    )
    st.caption("Transport error")
    st.code(redact_text(delivery.get("error")) or "(none)", language=None, wrap_lines=True)
    st.caption("Response headers")
    headers = delivery.get("response_headers")
    st.code(
        json.dumps(headers, indent=2, ensure_ascii=False, default=str) if headers else "(none)",
        language=None,
        wrap_lines=True,
    )
    st.caption("Response body (start)")
    body = delivery.get("response_body")
    st.code(body[:4000] if body else "(none)", language=None, wrap_lines=True)

