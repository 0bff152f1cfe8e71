"""AppTest of app.py for every role and a tenant-scoped identity, on every page.

- viewer: no action button anywhere (replay, acknowledge, label, model);
- operator: replay, acknowledge and label, but not the model switch;
- admin: all of it;
- a tenant-scoped identity (``acme-*`` in ``tests/views/apptest.py: AUTH_YAML``) sees only
  its tenant on every page: the other tenant's name and endpoint appear nowhere;
- demo mode is labelled on every page (sidebar badge and a caption in the page).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from intel import audit
from intel.deliveries.write import upsert_deliveries
from intel.detect.signals import Signal
from intel.incidents.lifecycle import advance
from intel.incidents.store import apply_transitions
from intel.labels.store import create_label
from intel.settings import get_settings
from intel.store.db import make_engine
from intel.store.schema import audit_log, incidents
from tests.views.apptest import APP, as_identity, texts

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
ACME = "https://hooks.acme.example/in"
GLOBEX = "https://api.globex.example/hooks"
PAGES = {
    "history": "views/history.py",
    "advisor": "views/advisor.py",
    "groups": "views/groups.py",
    "anomalies": "views/anomalies.py",
    "insights": "views/insights.py",
    "explore": "views/explore.py",
    "labels": "views/labels.py",
    "accuracy": "views/accuracy.py",
    "audit": "views/audit.py",
}
# What each role may be offered, by button label (or key prefix for the label picks).
REPLAY = {"Replay all recommended", "↻ Replay now"}
ACK = {"Mark as known issue"}
LABEL = {"labels_pick_", "Import", "Skip", "New sample"}
MODEL = {"Train model"}


def _d(n: int, tenant: str, endpoint: str, minutes: int, status: str = "failed", **over):
    at = NOW - timedelta(minutes=minutes)
    rec = {
        "id": f"{tenant[0]}{n:03d}", "tenant": tenant, "endpoint": endpoint,
        "event_type": "invoice.paid", "status": status,
        "http_status": 200 if status == "delivered" else 503, "error": None,
        "response_headers": None, "response_body": "Service Unavailable" if status != "delivered"
        else None, "attempts": 1, "created_at": at, "last_attempt_at": at,
        "duration_ms": 20.0, "payload": {"n": n}, "extra": None,
    }
    rec.update(over)
    return rec


def _signal(target: str, failures: int, kind: str) -> Signal:
    return Signal(
        type=kind, target=target, window="5m", window_s=300, failures=failures,
        total=failures, expected=3.0, ratio=failures / 3.0, p_value=1e-9, base_ratio=0.01,
        base_rate=0.0001, base_failures=10, base_total=1000, firing=True, abnormal=True,
        severity="critical", excess=failures - 3.0,
    )


@pytest.fixture
def world(sqlite_url, monkeypatch):
    """Two tenants, acme and globex, with failures, successes, incidents, labels and audit
    entries each; plus a platform-wide audit entry."""
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    engine = make_engine(sqlite_url)
    records = []
    for tenant, url in (("acme", ACME), ("globex", GLOBEX)):
        records += [_d(i, tenant, url, 60 + i) for i in range(4)]
        records += [_d(10 + i, tenant, url, 5 + i, status="delivered") for i in range(3)]
        records.append(_d(20, tenant, url, 90, http_status=404, response_body="Not Found"))
    with engine.begin() as conn:
        upsert_deliveries(conn, records, now=NOW)
        step = advance({}, [_signal(ACME, 40, "endpoint_spike"),
                            _signal(GLOBEX, 30, "endpoint_spike")], NOW - timedelta(minutes=3),
                       300)
        apply_transitions(conn, step.transitions, NOW - timedelta(minutes=3))
        for inc in step.active.values():
            tenant = "acme" if inc.target == ACME else "globex"
            conn.execute(sa.update(incidents).where(incidents.c.id == inc.id)
                         .values(tenant=tenant))
        create_label(conn, delivery_id="a000", category="transient-endpoint-down",
                     labeler="lead", now=NOW)
        create_label(conn, delivery_id="g000", category="permanent-4xx", labeler="lead",
                     now=NOW)
        for tenant in ("acme", "globex"):
            event = audit.record(conn, actor="lead", action="replay.single", at=NOW,
                                 target_type="delivery", target_id=f"{tenant[0]}001",
                                 summary=f"replayed a delivery of {tenant}")
            conn.execute(sa.update(audit_log).where(audit_log.c.id == event)
                         .values(tenant=tenant))
        audit.record(conn, actor="system", action="detector.start", at=NOW,
                     summary="platform-wide event")
    engine.dispose()
    yield sqlite_url
    get_settings.cache_clear()


def _signed_in(user: str, role: str | None = None) -> AppTest:
    at = as_identity(AppTest.from_file(APP, default_timeout=60), user, role, now=NOW)
    at.run()
    assert not at.exception, at.exception
    return at


def _visit(at: AppTest, page: str, **params: str) -> AppTest:
    at.switch_page(PAGES[page])
    for key in list(at.query_params):
        del at.query_params[key]
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, (page, at.exception)
    return at


def _tour(user: str, role: str | None = None):
    """(page name, AppTest after visiting it) for every page, history with a delivery open
    and groups over the whole seeded window."""
    at = _signed_in(user, role)
    for page in PAGES:
        params = {}
        if page == "history":
            params = {"id": "a001", "window": "7d"}
        elif page == "groups":
            params = {"window": "7d"}
        yield page, _visit(at, page, **params)


def _offered(at: AppTest) -> set[str]:
    """The actions a page offers: button labels, label-pick keys, the model toggle and the
    label file upload."""
    out = set()
    for b in at.button:
        out.add(b.label)
        if (b.key or "").startswith("labels_pick_"):
            out.add("labels_pick_")
    if any(t.label == "Use model in triage" for t in at.toggle):
        out.add("toggle:model")
    if at.get("file_uploader"):
        out.add("upload")
    return out


def everything(at: AppTest) -> str:
    """Every string a page put on screen: Markdown, text, code, tables, pickers, charts."""
    parts = list(texts(at))
    parts += [str(e.value) for kind in ("text", "code", "json") for e in at.get(kind)]
    parts += [df.value.to_csv() for df in at.dataframe]
    parts += [str(o) for w in (*at.selectbox, *at.multiselect) for o in w.options]
    parts += [str(e.proto) for kind in ("arrow_vega_lite_chart", "vega_lite_chart")
              for e in at.get(kind)]
    parts += [str(e.proto.url) for e in at.get("link_button")]
    return "\n".join(parts)


def test_every_page_is_labelled_demo_mode(world):
    for page, at in _tour("alice", "viewer"):
        assert any("DEMO MODE" in m.value for m in at.sidebar.markdown), page
        assert any("DEMO MODE" in c.value for c in at.main.caption), page


def test_a_viewer_is_offered_no_action_anywhere(world):
    seen = set()
    for page, at in _tour("alice", "viewer"):
        offered = _offered(at)
        seen |= offered
        assert not offered & (REPLAY | ACK | LABEL | MODEL), (page, offered)
        assert not offered & {"toggle:model", "upload"}, (page, offered)
    assert "Refresh" in seen  # reading controls are there: the check could fail


def test_an_operator_replays_acknowledges_and_labels_but_not_the_model(world):
    seen = {}
    for page, at in _tour("alice", "operator"):
        seen[page] = _offered(at)
        assert not seen[page] & (MODEL | {"toggle:model"}), (page, seen[page])
    assert seen["history"] >= REPLAY
    assert "Replay all recommended" in seen["advisor"]
    assert seen["anomalies"] >= ACK
    assert {"labels_pick_", "Skip", "upload"} <= seen["labels"]


def test_an_admin_is_offered_everything(world):
    seen = {}
    for page, at in _tour("alice", "admin"):
        seen[page] = _offered(at)
    assert seen["history"] >= REPLAY and seen["anomalies"] >= ACK
    assert {"labels_pick_", "upload"} <= seen["labels"]
    assert {"Train model", "toggle:model"} <= seen["accuracy"]


# Pages where the unrestricted identity sees both tenants (the positive control).
BOTH = {"history", "advisor", "groups", "anomalies", "insights", "explore", "audit"}


def test_an_unrestricted_identity_sees_both_tenants(world):
    for page, at in _tour("alice", "viewer"):
        shown = everything(at)
        if page in BOTH:
            assert "globex" in shown and "acme" in shown, page


@pytest.mark.parametrize("user", ["acme-viewer", "acme-operator", "acme-admin"])
def test_a_tenant_scoped_identity_sees_only_its_tenant_on_every_page(world, user):
    for page, at in _tour(user):
        shown = everything(at)
        assert "globex" not in shown, (page, [p for p in shown.splitlines() if "globex" in p])
        assert "platform-wide event" not in shown, page
        if page in BOTH - {"insights"}:
            assert "acme" in shown, page
        if page == "labels":
            assert any("1 label(s) as CSV" in c.value for c in at.caption)
        if page == "accuracy":
            assert {m.label: m.value for m in at.metric}["Labelled deliveries"] == "1"


def test_a_delivery_of_another_tenant_is_not_in_the_store(world):
    at = _signed_in("acme-operator")
    _visit(at, "history", id="g001", window="7d")
    assert any("No delivery with this id" in w.value for w in at.warning)
    assert "globex" not in everything(at)
    assert not _offered(at) & REPLAY - {"Replay all recommended"}
