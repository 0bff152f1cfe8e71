"""An incident's headline: the one sentence an operator reads first.

The banner, the Anomalies page, notifications, the audit summaries and the API's
``headline`` field all read it from here. It tells the incident's figures at its peak
and now, and its state::

    45 failures to api.customer.com/webhooks in 5 min — 15x normal          (at its peak)
    api.customer.com/webhooks: peak 45 failures in 5 min, 15x normal; now 12
    api.customer.com/webhooks recovering: peak 45 failures in 5 min, 15x normal; now 3
    api.customer.com/webhooks resolved: peak 45 failures in 5 min, 15x normal

Never "0 failures … 0.0x normal": an incident's numbers are its peak's, and "now" is said
as a count only. Without a known window (an incident stored before peaks were) it names
the incident's type and target instead. ``incident_headline`` is pure (table-tested);
``headline_of`` reads an ``Incident``.
"""

from __future__ import annotations

import math
from typing import Any

from intel.detect.rules import RULES_BY_TYPE, format_ratio, format_window, headline, target_label
from intel.redact import redact_url

ACTIVE, RECOVERING, RESOLVED = "active", "recovering", "resolved"
STATES = (ACTIVE, RECOVERING, RESOLVED)

# state -> (what follows the subject, whether "now" is said); the figures are the peak's
SENTENCES: dict[str, tuple[str, bool]] = {
    ACTIVE: ("{subject}: {figures}", True),
    RECOVERING: ("{subject} recovering: {figures}", True),
    RESOLVED: ("{subject} resolved: {figures}", False),
}
# the same without figures (no failures known): the state in words
BARE: dict[str, str] = {
    ACTIVE: "{subject}: anomaly detected",
    RECOVERING: "{subject}: recovering",
    RESOLVED: "{subject}: resolved",
}


def incident_state(status: str, normal_since: Any) -> str:
    """``active`` (abnormal), ``recovering`` (back to normal, settling) or ``resolved``."""
    if status != "active":
        return RESOLVED
    return RECOVERING if normal_since is not None else ACTIVE


def _subject(incident_type: str, target: str, known_window: bool) -> str:
    rule = RULES_BY_TYPE.get(incident_type)
    if rule is None or not known_window:
        return f"{incident_type} on {redact_url(target)}"
    return rule.subject.format(where=target_label(incident_type, target))


def incident_headline(
    incident_type: str,
    target: str,
    *,
    state: str,
    peak: int,
    window_s: int | None,
    peak_ratio: float | None,
    now: int,
) -> str:
    """The headline of an incident of ``incident_type`` on ``target``.

    ``peak``: the most failures seen in its window (``window_s`` seconds; None when not
    known) and ``peak_ratio`` how many times normal that was (None: not known; infinite:
    nothing was expected); ``now``: its failures in that window at the last tick.
    """
    if state not in STATES:
        raise ValueError(f"unknown incident state {state!r} (known: {', '.join(STATES)})")
    known_window = bool(window_s and window_s > 0)
    subject = _subject(incident_type, target, known_window)
    if peak <= 0:
        return BARE[state].format(subject=subject)
    ratio_known = peak_ratio is not None and not (
        isinstance(peak_ratio, float) and math.isnan(peak_ratio))
    if (state == ACTIVE and now >= peak and known_window and ratio_known
            and incident_type in RULES_BY_TYPE):
        return headline(incident_type, target, peak, int(window_s), float(peak_ratio))
    figures = f"peak {peak} failure{'s' if peak != 1 else ''}"
    if known_window:
        figures += f" in {format_window(int(window_s))}"
    if ratio_known:
        figures += f", {format_ratio(float(peak_ratio))} normal"
    template, says_now = SENTENCES[state]
    if says_now:
        figures += f"; now {max(int(now), 0)}"
    return template.format(subject=subject, figures=figures)


def peak_ratio(peak: int, peak_baseline: float | None) -> float | None:
    """How many times normal the peak was (infinite when nothing was expected)."""
    if peak_baseline is None:
        return None
    if peak_baseline > 1e-9:
        return peak / peak_baseline
    return math.inf if peak > 0 else None


def peak_figures(incident) -> tuple[int | None, float | None]:
    """(window seconds, expected failures) at the incident's peak: the stored peak
    columns, else what the opening or last facts say when they were the peak."""
    details = incident.details or {}
    opened = details.get("opened") or {}
    last = details.get("last") or {}
    window_s = incident.peak_window_s or opened.get("window_s") or last.get("window_s")
    expected = incident.peak_baseline
    if expected is None:
        for facts in (last, opened):
            if facts.get("failures") == incident.peak_failures and "expected" in facts:
                expected = float(facts["expected"])
                break
    return (int(window_s) if window_s else None), expected


def headline_of(incident) -> str:
    """``incident_headline`` of an ``intel.incidents.lifecycle.Incident``."""
    window_s, expected = peak_figures(incident)
    return incident_headline(
        incident.type,
        incident.target,
        state=incident_state(incident.status, incident.normal_since),
        peak=int(incident.peak_failures or 0),
        window_s=window_s,
        peak_ratio=peak_ratio(int(incident.peak_failures or 0), expected),
        now=int(incident.current_failures or 0),
    )
