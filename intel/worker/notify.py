"""Outgoing notifications: a Slack-compatible webhook when an incident opens, escalates or
resolves, so awareness does not depend on someone watching the page.

The payload is Slack's incoming-webhook JSON (``text`` plus ``blocks``), which Slack,
Mattermost, Rocket.Chat and most chat tools accept. Posting happens on a background
thread with retries, so a slow or dead webhook never delays a tick. Endpoint URLs'
credentials (``https://user:pass@host/``) never reach a message or a log line.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx

from intel.incidents.lifecycle import Transition
from intel.incidents.links import affected_deliveries_link
from intel.redact import has_credentials, redact_text, redact_url
from intel.timeutil import to_rfc3339

log = logging.getLogger(__name__)

NOTIFIED = ("open", "escalate", "resolve")
_ICONS = {"open": "🚨", "escalate": "🔺", "resolve": "✅"}
_VERBS = {"open": "Incident opened", "escalate": "Incident escalated to critical",
          "resolve": "Incident resolved"}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _without_credentials(path: str) -> str:
    """The history link without an ``endpoint`` filter that holds a URL's user:password
    (the filter needs the stored URL; a message leaving the product must not carry it, so
    it links to the window's failures instead)."""
    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not (k == "endpoint" and has_credentials(v))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def payload(transition: Transition, app_url: str | None = None) -> dict:
    """The Slack-compatible message for one transition."""
    inc = transition.incident
    kind = transition.kind
    head = redact_text(f"{_ICONS[kind]} {_VERBS[kind]} [{inc.severity}]: {inc.headline}")
    lines = [
        f"*{_escape(head)}*",
        f"type `{inc.type}` · target `{_escape(redact_url(inc.target))}` · "
        f"{inc.current_failures} failures now, peak {inc.peak_failures}, "
        f"baseline {inc.baseline:.2f}",
        f"detected {to_rfc3339(inc.detected_at)}"
        + (f" · resolved {to_rfc3339(inc.resolved_at)}" if inc.resolved_at else ""),
    ]
    triage = inc.details.get("triage") or {}
    top = triage.get("top")
    if top:
        lines.append(f"mostly {top['category']} ({top['share']:.0%}): "
                     f"{_escape(top['recommended_action'])}")
    if app_url:
        path = _without_credentials(affected_deliveries_link(inc))
        link = urljoin(app_url.rstrip("/") + "/", path.lstrip("/"))
        lines.append(f"<{link}|View affected deliveries>")
    text = redact_text("\n".join(lines))
    return {
        "text": head,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


class Notifier:
    """Posts notifications on a daemon thread; ``close`` waits for the queue to drain."""

    def __init__(self, url: str, timeout_s: float = 5.0, retries: int = 3,
                 app_url: str | None = None):
        self.url = url
        self.timeout_s = timeout_s
        self.retries = retries
        self.app_url = app_url
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
        self._thread.start()

    def notify(self, transitions) -> int:
        n = 0
        for t in transitions:
            if t.kind in NOTIFIED:
                self._queue.put(payload(t, self.app_url))
                n += 1
        return n

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout_s) as client:
            while True:
                body = self._queue.get()
                if body is None:
                    self._queue.task_done()
                    return
                self._post(client, body)
                self._queue.task_done()

    def _post(self, client: httpx.Client, body: dict) -> None:
        for attempt in range(self.retries + 1):
            try:
                response = client.post(self.url, json=body)
                if response.status_code < 300:
                    self.sent += 1
                    return
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if attempt < self.retries:
                time.sleep(min(0.5 * 2**attempt, 5.0))
        self.failed += 1
        log.warning("notification to the webhook failed after %d attempts: %s",
                    self.retries + 1, redact_text(problem))

    def close(self, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        self._queue.put(None)
        self._thread.join(max(deadline - time.monotonic(), 0))
