"""An operator lead's day, in a real browser against the whole running product.

The product is started by ``scripts/run`` (demo data, worker, API, sandbox, live traffic)
on ports of the test's choosing; Chromium is Debian's. The steps run in order on the same
product, as a person would take them: look at every page, filter the history, open a
delivery, label by keyboard, acknowledge an incident from the banner, make the core
decision (replay the safe failures, see the permanent ones) and watch the replay finish,
share an Explore view, and check that a viewer is offered no action.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.browser import Operator, number_before, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# (sidebar title, address, heading, operator-guide image)
PAGES = [
    ("Deliveries", "/", "📬 Delivery history", "history"),
    ("Triage", "/groups", "🩺 Triage", "triage"),
    ("Advisor", "/advisor", "🧠 Replay advisor", "advisor"),
    ("Anomalies", "/anomalies", "🚨 Anomalies", "anomalies"),
    ("Insights", "/insights", "📊 Insights", "insights"),
    ("Explore", "/explore", "🔎 Explore", "explore"),
    ("Labels", "/labels", "🏷️ Labels", "labels"),
    ("Accuracy", "/accuracy", "🎯 Triage accuracy", "accuracy"),
    ("Audit trail", "/audit", "📜 Audit trail", "audit"),
    ("Operator guide", "/guide", "Operator guide", "guide"),
]
# Buttons that act: a viewer must see none of them anywhere.
ACTIONS = ("Replay all recommended", "Replay now", "Mark as known issue", "Train model",
           "Start replay", "Cancel job", "Skip")
LABEL_KEYS = ("1", "2", "3")  # transient, permanent, rate-limited


def _api(product, path: str) -> dict:
    request = urllib.request.Request(product.api_url + path,
                                     headers={"Authorization": f"Bearer {product.api_token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _heading(lead: Operator, text: str):
    return lead.page.get_by_role("heading", name=text, exact=True)


def test_every_page_opens_without_an_exception(product, page, shots_dir):
    lead = Operator(page, product.app_url, shots_dir / "01-pages").open("/")
    for title, address, heading, image in PAGES:
        if address != "/":
            lead.nav(title)
        expect(_heading(lead, heading)).to_be_visible()
        assert urlparse(page.url).path == address, f"{title}: at {page.url}"
        lead.assert_no_exception(title)
        lead.shot(image, docs_name=image)


def test_history_filters_by_deep_link_and_by_click_and_opens_a_delivery(product, page,
                                                                          shots_dir):
    lead = Operator(page, product.app_url, shots_dir / "02-history")
    lead.open("/?tenant=initech&status=failed&window=7d")
    main = lead.main_text()
    assert "Failed deliveries for tenant initech in the last 7 days" in main, main[:800]
    lead.shot("deep-link")

    lead.click("24 h")
    assert parse_qs(urlparse(page.url).query)["window"] == ["24h"], page.url
    assert "Failed deliveries for tenant initech in the last 24" in lead.main_text()
    lead.shot("clicked-24h")

    # The table is a canvas: click the first row's selection box, where a person would.
    table = page.locator("[class*='st-key-hist_table_'] [data-testid='stDataFrame']")
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    page.mouse.click(box["x"] + 16, box["y"] + 38 + 17)
    lead.clicks += 1
    lead.settle()
    opened = wait_until(lambda: parse_qs(urlparse(page.url).query).get("id"), 30,
                        "the selected row's delivery id in the address")
    delivery_id = opened[0]
    expect(page.get_by_role("heading", name="Delivery detail")).to_be_visible()
    expect(page.get_by_test_id("stCode").filter(has_text=delivery_id).first).to_be_visible()
    assert "tenant initech" in lead.main_text()
    lead.assert_no_exception("delivery detail")
    page.get_by_text(delivery_id).first.scroll_into_view_if_needed()
    lead.shot("delivery-detail", docs_name="delivery-detail")


def _queue_position(lead: Operator) -> int:
    return number_before(lead.main_text(), "of 40") or 0


def test_label_three_deliveries_by_keyboard(product, page, shots_dir, db):
    lead = Operator(page, product.app_url, shots_dir / "03-labels").open("/labels")
    expect(page.get_by_role("button", name=re.compile("transient-endpoint-down"))
           ).to_be_enabled()
    lead.shot("queue", docs_name="labels")
    for key in LABEL_KEYS:
        before = _queue_position(lead)
        lead.press(key)
        # The next delivery is up before the next key, as a person would wait to read it.
        wait_until(lambda b=before: _queue_position(lead) > b, 60,
                   f"the queue to move on after key {key}", every_s=0.5)
        lead.assert_no_exception(f"after key {key}")
    with db.connect() as conn:
        labels = conn.execute(sa.text(
            "SELECT category FROM labels WHERE labeler = 'lead' ORDER BY labeled_at")).all()
        audited = conn.execute(sa.text(
            "SELECT count(*) FROM audit_log WHERE actor = 'lead' AND action LIKE 'label.%'"
        )).scalar()
    assert [r.category for r in labels] == ["transient-endpoint-down", "permanent-4xx",
                                            "rate-limited"]
    assert audited >= 3
    lead.shot("labelled")


def _burst(product, endpoint: str, tenant: str, n: int) -> None:
    """``n`` failures to one endpoint in the last minute, imported as a platform would."""
    now = datetime.now(UTC)
    path = product.workdir / "burst.jsonl"
    with path.open("w") as f:
        for i in range(n):
            f.write(json.dumps({
                "id": f"e2e-burst-{i}", "tenant": tenant, "endpoint": endpoint,
                "status": "failed", "event_type": "invoice.paid", "http_status": 503,
                "error": "HTTP 503", "response_body": "Service Unavailable",
                "created_at": (now - timedelta(seconds=60 - i * 60 / n)).isoformat(),
                "payload": {"n": i},
            }) + "\n")
    product.run_cli("import", str(path))


def test_acknowledge_an_incident_from_the_banner(product, page, shots_dir, db):
    endpoint = f"{product.sandbox_url}/hooks/initech/invoices"
    _burst(product, endpoint, "initech", 80)
    lead = Operator(page, product.app_url, shots_dir / "04-incident").open("/")

    def banner_offers_ack():
        page.reload()
        lead.sign_in()
        return page.get_by_role("button", name="Mark as known issue").count() > 0

    wait_until(banner_offers_ack, 120, "the banner's 'Mark as known issue'", every_s=3)
    lead.shot("banner", docs_name="banner")
    lead.click("Mark as known issue")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    lead.shot("confirm")
    lead.click("Mark as known issue", within=dialog)
    with db.connect() as conn:
        acked = conn.execute(sa.text(
            "SELECT acknowledged_by FROM incidents WHERE target = :t AND status = 'active'"),
            {"t": endpoint}).scalars().all()
    assert acked == ["lead"], acked
    expect(page.get_by_role("button", name="Mark as known issue")).to_have_count(0)
    lead.shot("acknowledged")


def test_core_decision_replay_the_safe_ones_see_the_permanent_ones(product, page, shots_dir,
                                                                  db):
    """The seed's headline: from opening the app to a started replay of the safe failures
    with the permanent ones identified. Its wall time and actions are written beside the
    screenshots (``decision.json``) for the summary."""
    lead = Operator(page, product.app_url, shots_dir / "05-decision")
    started = time.monotonic()
    lead.open("/")
    panel = lead.main_text()
    recommended = number_before(panel, "deliveries recommended for replay")
    permanent = number_before(panel, "are permanent failures")
    failures = number_before(panel, "failed deliveries")
    assert recommended and permanent and failures, panel[:1500]
    lead.click("Replay all recommended")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    lead.shot("confirm", docs_name="replay-confirm")
    lead.click("Start replay", within=dialog)
    expect(page.get_by_text("Job ").first).to_be_visible()
    replay_started_s = time.monotonic() - started
    lead.nav("Triage")
    expect(page.get_by_role("heading", name="By problem")).to_be_visible()
    decision_s = time.monotonic() - started
    lead.shot("permanent-problems")
    figures = {"failures_in_view": failures, "recommended": recommended,
               "permanent": permanent, "replay_started_s": round(replay_started_s, 1),
               "decision_s": round(decision_s, 1), "actions": lead.clicks}
    (lead.shots / "decision.json").write_text(json.dumps(figures, indent=2))
    print(f"decision: {figures}")
    assert lead.clicks <= 5, figures

    with db.connect() as conn:
        job_id = conn.execute(sa.text(
            "SELECT id FROM replay_jobs WHERE created_by = 'lead' ORDER BY created_at DESC"
        )).scalars().first()
    assert job_id

    def finished():
        with db.connect() as conn:
            return conn.execute(sa.text("SELECT status FROM replay_jobs WHERE id = :j"),
                                {"j": job_id}).scalar() in ("completed", "failed",
                                                            "cancelled")

    wait_until(finished, 180, f"replay job {job_id} to finish", every_s=2)
    with db.connect() as conn:
        states = dict(conn.execute(sa.text(
            "SELECT state, count(*) FROM replay_items WHERE job_id = :j GROUP BY state"),
            {"j": job_id}).all())
        sent = conn.execute(sa.text(
            "SELECT delivery_id FROM replay_items WHERE job_id = :j"), {"j": job_id}
        ).scalars().all()
    # Every item ended; how many succeeded is the sandbox's schedule (the closed-loop
    # benchmark measures that), so it is recorded, not asserted.
    assert sum(states.values()) == len(sent) and not set(states) & {"pending", "sending"}, \
        states
    assert states.get("succeeded", 0) > 0, states
    figures["replay_states"] = states
    (lead.shots / "decision.json").write_text(json.dumps(figures, indent=2))

    lead.nav("Advisor")
    expect(page.get_by_text(re.compile(rf"Job {job_id} .*completed")).first).to_be_visible()
    lead.shot("advisor-after", docs_name="advisor-after")
    with db.connect() as conn:
        done = conn.execute(sa.text(
            "SELECT delivery_id FROM replay_items WHERE job_id = :j "
            "AND state IN ('succeeded', 'unknown')"), {"j": job_id}).scalars().all()
    now_recommended = _api(product, "/replay/recommendations?since=24h")["recommended_ids"]
    assert not set(done) & set(now_recommended), "a replayed delivery is recommended again"
    after = number_before(lead.main_text(), "deliveries recommended for replay")
    assert after is not None and after < recommended, (recommended, after)


def test_explore_view_is_shared_by_its_link(product, page, browser, shots_dir):
    lead = Operator(page, product.app_url, shots_dir / "06-explore").open("/explore")
    lead.choose("Measure", "Failure ratio")
    shared = page.get_by_test_id("stCode").filter(has_text="/explore?").inner_text().strip()
    assert "measure=failure_ratio" in shared, shared
    lead.shot("view", docs_name="explore-share")

    other = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    try:
        colleague = Operator(other, product.app_url, shots_dir / "06-explore", name="colleague")
        colleague.open(shared)
        expect(other.get_by_role("combobox", name="Measure")).to_have_value("Failure ratio")
        assert parse_qs(urlparse(other.url).query) == parse_qs(urlparse(shared).query)
        colleague.assert_no_exception("shared explore link")
        colleague.shot("opened-by-colleague")
    finally:
        other.context.close()


def test_a_viewer_is_offered_no_action(product, page, shots_dir):
    viewer = Operator(page, product.app_url, shots_dir / "07-viewer", name="guest",
                      role="viewer").open("/")
    for title, address, heading, _ in PAGES:
        if address != "/":
            viewer.nav(title)
        expect(_heading(viewer, heading)).to_be_visible()
        viewer.assert_no_exception(f"viewer on {title}")
        offered = [b for b in viewer.buttons() for a in ACTIONS if a in b]
        assert not offered, f"viewer sees {offered} on {title}"
        viewer.shot(title.lower().replace(" ", "-"))


def test_the_checked_in_openapi_schema_is_the_running_apis(product):
    """docs/openapi.json is what the API serves (a route added without re-exporting fails)."""
    from tests.e2e.product import REPO

    with urllib.request.urlopen(product.api_url + "/openapi.json", timeout=30) as response:
        served = json.loads(response.read())
    checked_in = json.loads((REPO / "docs" / "openapi.json").read_text())
    assert served == checked_in, ("docs/openapi.json differs from the running API: run "
                                  "python -m intel api --export-openapi docs/openapi.json")
