"""Folding failures into groups (pure): endpoint x category x failure signature.

Input rows are failures already aggregated by the database on their raw fields (see
``intel.groups.query``); each row carries a count, first/last seen and one example.
Rows whose normalised signature (``intel.triage.failure_signature``: numbers, ids, hosts,
IPs and URLs stripped) and category agree on the same endpoint fold into one group, so
"connection refused" to ten pod IPs is one problem, not ten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from intel.triage.engine import classify_key
from intel.triage.result import CATEGORIES
from intel.triage.signature import raw_key, signature_of

SEVERAL = "(several)"


@dataclass(frozen=True, slots=True)
class FailureRow:
    """Failures sharing raw fields (as the SQL aggregate returns them)."""

    endpoint: str
    http_status: int | None
    error: str | None
    body: str | None  # the start of the response body
    headers: dict | None  # the example's response headers
    count: int
    first_seen: datetime
    last_seen: datetime
    example_id: str
    tenant_min: str
    tenant_max: str


@dataclass(slots=True)
class FailureGroup:
    endpoint: str
    category: str
    signature: str
    count: int
    first_seen: datetime
    last_seen: datetime
    example_id: str
    example_http_status: int | None
    example_error: str | None
    example_body: str | None
    score: int
    reason: str
    recommended_action: str
    rule: str
    tenant: str  # the one tenant, or "(several)"
    variants: int = 1  # distinct raw forms folded in
    _best: int = field(default=0, repr=False)  # count of the row giving the example

    @property
    def example_text(self) -> str:
        """The example as one text: status, error and body start."""
        parts = []
        if self.example_http_status is not None:
            parts.append(f"HTTP {self.example_http_status}")
        if self.example_error:
            parts.append(self.example_error)
        if self.example_body:
            parts.append(self.example_body)
        return " | ".join(parts) or "(no status, error or body)"


def _delivery(row: FailureRow) -> dict:
    return {
        "status": "failed",
        "http_status": row.http_status,
        "error": row.error,
        "response_body": row.body,
        "response_headers": row.headers,
    }


FOLD_BY = ("signature", "rule")


def fold_rows(rows: Iterable[FailureRow], *, by: str = "signature") -> list[FailureGroup]:
    """Groups, biggest first (then most recent, then endpoint/category/signature).

    ``by="signature"`` folds by endpoint, category and normalised failure signature;
    ``by="rule"`` folds coarser, by endpoint, category and the triage rule that explains
    the failure (e.g. every "422 field required" message of an endpoint, whatever the
    field), keeping the biggest variant's signature. The example is the one of the
    biggest raw form in the group; the score, reason and action are triage's answer
    for that example.
    """
    if by not in FOLD_BY:
        raise ValueError(f"fold by {by!r}: expected one of {', '.join(FOLD_BY)}")
    groups: dict[tuple[str, str, str], FailureGroup] = {}
    tenants: dict[tuple[str, str, str], set[str]] = {}
    for row in rows:
        # One raw key for both answers: classify_delivery(d) is classify_key(raw_key(d)),
        # failure_signature(d) is signature_of(raw_key(d)).render().
        key_ = raw_key(_delivery(row))
        result = classify_key(key_)
        signature = signature_of(key_).render()
        key = (row.endpoint, result.category, signature if by == "signature" else result.rule)
        seen = {row.tenant_min, row.tenant_max}
        group = groups.get(key)
        if group is None:
            groups[key] = FailureGroup(
                endpoint=row.endpoint,
                category=result.category,
                signature=signature,
                count=row.count,
                first_seen=row.first_seen,
                last_seen=row.last_seen,
                example_id=row.example_id,
                example_http_status=row.http_status,
                example_error=row.error,
                example_body=row.body,
                score=result.score,
                reason=result.reason,
                recommended_action=result.recommended_action,
                rule=result.rule,
                tenant="",
                _best=row.count,
            )
            tenants[key] = seen
            continue
        group.count += row.count
        group.variants += 1
        group.first_seen = min(group.first_seen, row.first_seen)
        group.last_seen = max(group.last_seen, row.last_seen)
        tenants[key] |= seen
        if (row.count, group.example_id) > (group._best, row.example_id):
            group._best = row.count
            group.example_id = row.example_id
            group.signature = signature
            group.example_http_status = row.http_status
            group.example_error = row.error
            group.example_body = row.body
            group.score = result.score
            group.reason = result.reason
            group.recommended_action = result.recommended_action
            group.rule = result.rule
    for key, group in groups.items():
        names = tenants[key]
        group.tenant = next(iter(names)) if len(names) == 1 else SEVERAL
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return sorted(
        groups.values(),
        key=lambda g: (-g.count, -g.last_seen.timestamp(), g.endpoint,
                       order.get(g.category, 99), g.signature),
    )
