"""Untrusted text never reaches Markdown, and endpoint credentials are never shown.

Every page of app.py is opened on a store whose tenant, endpoint, error, response body and
headers, event type, incident target, label note and audit summary hold Markdown and
HTML meant to load an image, colour text or link to javascript:, and whose endpoint URL
carries a password. No element that renders Markdown may hold such a value unescaped;
the password shows nowhere.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from intel import audit
from intel.deliveries.write import upsert_deliveries
from intel.detect.signals import Signal
from intel.incidents.lifecycle import advance
from intel.incidents.store import apply_transitions
from intel.labels.store import create_label
from intel.settings import get_settings
from intel.store.db import make_engine
from tests.views.apptest import APP, as_identity, texts

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
IMAGE = "![x](http://evil.example/x.png)"
HTML = "<img src=x onerror=alert(1)>"
COLOUR = ":red[alarm]"
LINK = "[link](javascript:alert(1))"
SECRET = "s3cret"
TENANT = f"acme{IMAGE}"
ENDPOINT = f"https://ops:{SECRET}@evil.example/hook/{COLOUR}"
ERROR = f"{LINK} {IMAGE} via https://ops:{SECRET}@evil.example/"
BODY = f"{HTML} {COLOUR}"

# A value that escaped into Markdown: an image or a link (to anywhere), raw HTML, a
# colour directive.
UNSAFE = re.compile(r"!\[[^\]]*\]\(|\]\(javascript:|<img|:red\[")


def _signal(target: str) -> Signal:
    return Signal(
        type="endpoint_spike", target=target, window="5m", window_s=300, failures=40,
        total=40, expected=3.0, ratio=13.3, p_value=1e-9, base_ratio=0.01, base_rate=0.0001,
        base_failures=10, base_total=1000, firing=True, abnormal=True, severity="critical",
        excess=37.0,
    )


@pytest.fixture
def hostile(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    records = []
    for i in range(6):
        at = NOW - timedelta(minutes=30 + i)
        records.append({
            "id": f"h{i}", "tenant": TENANT, "endpoint": ENDPOINT, "event_type": COLOUR,
            "status": "failed" if i < 4 else "delivered",
            "http_status": 401 if i < 4 else 200, "error": ERROR if i < 4 else None,
            "response_headers": {"X-Evil": IMAGE}, "response_body": BODY, "attempts": 1,
            "created_at": at, "last_attempt_at": at, "duration_ms": 5.0,
            "payload": {"html": HTML}, "extra": None,
        })
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        upsert_deliveries(conn, records, now=NOW)
        step = advance({}, [_signal(ENDPOINT)], NOW - timedelta(minutes=3), 300)
        apply_transitions(conn, step.transitions, NOW - timedelta(minutes=3))
        create_label(conn, delivery_id="h0", category="unknown", labeler="lead", now=NOW,
                     note=f"{IMAGE} {HTML}")
        audit.record(conn, actor="lead", action="replay.single", at=NOW,
                     target_type="delivery", target_id=f"h1{LINK}",
                     summary=f"{IMAGE} {HTML} {COLOUR} {ENDPOINT}", details={"x": LINK})
    engine.dispose()
    yield sqlite_url
    get_settings.cache_clear()


VISITS = [
    ("views/history.py", {"id": "h0", "window": "7d"}),
    ("views/history.py", {"id": IMAGE, "tenant": TENANT, "endpoint": ENDPOINT,
                          "status": COLOUR}),
    ("views/advisor.py", {"job": IMAGE, "tenant": HTML}),
    ("views/advisor.py", {"job": f"{LINK}{COLOUR}"}),
    ("views/groups.py", {"window": "7d", "tenant": TENANT}),
    ("views/anomalies.py", {}),
    ("views/insights.py", {"period": IMAGE}),
    ("views/explore.py", {"by": "tenant,endpoint", "window": "7d"}),
    ("views/explore.py", {"by": IMAGE}),
    ("views/labels.py", {}),
    ("views/accuracy.py", {}),
    ("views/audit.py", {"actor": IMAGE, "target": HTML}),
    ("views/audit.py", {}),
]


def _shown_anywhere(at: AppTest) -> str:
    parts = list(texts(at))
    parts += [str(e.value) for kind in ("text", "code", "json") for e in at.get(kind)]
    for df in at.dataframe:
        frame = df.value
        # Link cells show "Open ↗"; their target is the history filter (see the report).
        keep = [c for c in frame.columns if c not in ("link", "history")]
        parts.append(frame[keep].to_csv())
    parts += [str(o) for w in (*at.selectbox, *at.multiselect) for o in w.options]
    return "\n".join(parts)


@pytest.mark.parametrize(("page", "params"), VISITS,
                         ids=[f"{p.split('/')[1][:-3]}-{i}" for i, (p, _) in enumerate(VISITS)])
def test_no_hostile_value_reaches_markdown_and_no_password_shows(hostile, page, params):
    at = as_identity(AppTest.from_file(APP, default_timeout=60), "alice", "admin", now=NOW)
    at.run()
    assert not at.exception, at.exception
    at.switch_page(page)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    if page.endswith("groups.py") and at.dataframe:  # open the group's detail
        at.session_state["groups_table"] = {"selection": {"rows": [0], "columns": []}}
        at.run()
    if page.endswith("audit.py") and at.dataframe and not params:  # open the event
        table = at.dataframe[0]
        at.session_state[table.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
        at.run()
    assert not at.exception, at.exception
    rendered = texts(at)
    unsafe = [t for t in rendered if UNSAFE.search(t)]
    assert not unsafe, unsafe
    assert SECRET not in _shown_anywhere(at)


def test_the_hostile_values_are_on_screen_as_text(hostile):
    """The positive control: the values are shown, as text, not dropped."""
    at = as_identity(AppTest.from_file(APP, default_timeout=60), "alice", "admin", now=NOW)
    at.run()
    at.switch_page("views/history.py")
    at.query_params["id"] = "h0"
    at.query_params["window"] = "7d"
    at.run()
    assert not at.exception, at.exception
    codes = [c.value for c in at.code]
    assert BODY in codes  # the response body, verbatim
    assert any(LINK in c and "https://***@evil.example/" in c for c in codes)  # the error
    assert any("https://***@evil.example/hook/" in t.value for t in at.text)  # redacted
    table = next(d.value for d in at.dataframe if "ID" in d.value.columns)
    assert set(table["Tenant"]) == {TENANT}
    assert set(table["Endpoint"]) == {f"https://***@evil.example/hook/{COLOUR}"}
