"""Folding failures into groups (pure): one group per problem an operator acts on once.

Input rows are failures already aggregated by the database on their raw fields (see
``intel.groups.query``); each row carries a count, first/last seen and one example.

1. **Variants.** Each row is classified by triage and reduced to its normalised failure
   signature (``intel.triage.signature``: numbers, ids, hosts, IPs, URLs and HTML
   stripped). Rows of one endpoint and tenant with the same signature are one
   :class:`Variant`: "connection refused" to ten pod IPs is one variant, not ten.
2. **Cells.** Variants of one place (the endpoint, or with ``per="tenant"`` the tenant)
   and one *kind* (``intel.groups.kinds``: the problem behind the failure, e.g. 410 Gone
   in HTML, JSON or plain text and 404 on the same route are all "endpoint gone or URL
   wrong") are one cell. A cell has one category.
3. **Groups.** A cell with at least ``floor`` failures is a group of its own. Where a
   *tenant-wide* kind (a rejected signature, a gone URL, a rejected payload ...) hits
   several endpoints of one tenant, together at least ``floor`` failures and none of
   them holding 80 % or more, those cells are one tenant group: the tenant fixes it once.
   Cells under ``floor`` left over are *sporadic*: those of one kind across the platform
   are one group ("endpoint down or failing, sporadic, on 40 endpoints of 18 tenants"),
   which the operator handles once (replay in bulk, or go through its list of endpoints).
   A sporadic cell alone in its kind stays a group of its own.

``floor`` defaults to 1.5 % of the failures being folded, at least 5
(:func:`own_group_floor`);
``floor=1`` turns sporadic folding off. The raw variants stay inside each group
(``FailureGroup.variants``) with their own example, rule and action.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from intel.groups.kinds import KIND_BY_KEY, group_action, kind_of
from intel.triage.engine import classify_key
from intel.triage.result import CATEGORIES
from intel.triage.signature import raw_key, signature_of

SEVERAL = "(several)"
PER = ("endpoint", "tenant")
SCOPES = ("endpoint", "tenant", "sporadic")
#: Defaults of :func:`own_group_floor`.
MIN_OWN_GROUP = 5
OWN_GROUP_SHARE = 0.015
#: A tenant's endpoints are one tenant group only when no one of them holds this share.
DOMINANT_SHARE = 0.8
#: The figures of :func:`fold_figures` are over this many biggest groups.
TOP = 20


@dataclass(frozen=True, slots=True)
class FailureRow:
    """Failures sharing raw fields (as the SQL aggregate returns them)."""

    endpoint: str
    tenant: str
    http_status: int | None
    error: str | None
    body: str | None  # the start of the response body
    headers: dict | None  # the example's response headers
    count: int
    first_seen: datetime
    last_seen: datetime
    example_id: str


def _text(status: int | None, error: str | None, body: str | None) -> str:
    parts = []
    if status is not None:
        parts.append(f"HTTP {status}")
    if error:
        parts.append(error)
    if body:
        parts.append(body)
    return " | ".join(parts) or "(no status, error or body)"


@dataclass(slots=True)
class Variant:
    """One raw form inside a group: an endpoint's (and tenant's) failures sharing one
    normalised signature, with triage's answer for them and the biggest raw form's
    example."""

    endpoint: str
    tenant: str
    signature: str
    status: int | None  # the HTTP status, given or read from the text
    category: str
    kind: str
    rule: str
    action: str
    score: int
    reason: str
    count: int
    first_seen: datetime
    last_seen: datetime
    example_id: str
    http_status: int | None
    error: str | None
    body: str | None
    _best: int = field(default=0, repr=False)  # count of the raw form giving the example

    @property
    def example_text(self) -> str:
        """The example as one text: status, error and body start."""
        return _text(self.http_status, self.error, self.body)


@dataclass(slots=True)
class FailureGroup:
    """One problem: failures of one category and kind on one endpoint (``scope``
    "endpoint"), on several endpoints of one tenant ("tenant"), or sporadic across
    the platform ("sporadic"). ``endpoint`` and ``tenant`` are the one endpoint / tenant
    or ``(several)``. The example, signature, score, reason and rule are those of the
    biggest variant; ``recommended_action`` is the most cautious of the variants'."""

    scope: str
    category: str
    kind: str
    endpoint: str
    tenant: str
    endpoints: int
    tenants: int
    count: int
    first_seen: datetime
    last_seen: datetime
    recommended_action: str
    variants: list[Variant]  # biggest first

    @property
    def example(self) -> Variant:
        return self.variants[0]

    @property
    def example_id(self) -> str:
        return self.example.example_id

    @property
    def example_http_status(self) -> int | None:
        return self.example.http_status

    @property
    def example_error(self) -> str | None:
        return self.example.error

    @property
    def example_body(self) -> str | None:
        return self.example.body

    @property
    def example_text(self) -> str:
        return self.example.example_text

    @property
    def signature(self) -> str:
        return self.example.signature

    @property
    def score(self) -> int:
        return self.example.score

    @property
    def reason(self) -> str:
        return self.example.reason

    @property
    def rule(self) -> str:
        return self.example.rule

    @property
    def kind_title(self) -> str:
        return KIND_BY_KEY[self.kind].title

    @property
    def forms(self) -> int:
        """Distinct normalised signatures folded in."""
        return len({v.signature for v in self.variants})

    @property
    def statuses(self) -> str:
        """The HTTP statuses of the group, commonest first ("HTTP 404, 410"), or "no
        HTTP response"."""
        seen: Counter[int | None] = Counter()
        for v in self.variants:
            seen[v.status] += v.count
        codes = [c for c, _ in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0] or 0))]
        named = [str(c) for c in codes if c is not None]
        parts = []
        if named:
            shown = named[:5] + (["…"] if len(named) > 5 else [])
            parts.append("HTTP " + ", ".join(shown))
        if None in seen:
            parts.append("no HTTP response")
        return " · ".join(parts)

    @property
    def title(self) -> str:
        """The problem in a few words: the kind and its statuses."""
        return f"{self.kind_title} — {self.statuses}" if self.statuses else self.kind_title

    def by_endpoint(self) -> list[tuple[str, str, int]]:
        """(endpoint, tenant or "(several)", failures) of the group, biggest first."""
        counts: Counter[str] = Counter()
        tenants: dict[str, set[str]] = defaultdict(set)
        for v in self.variants:
            counts[v.endpoint] += v.count
            tenants[v.endpoint].add(v.tenant)
        return [
            (ep, _one(tenants[ep]), n)
            for ep, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ]


def _one(names: set[str]) -> str:
    return next(iter(names)) if len(names) == 1 else SEVERAL


def own_group_floor(total: int, *, share: float = OWN_GROUP_SHARE,
                    minimum: int = MIN_OWN_GROUP) -> int:
    """Failures a cell needs to be a group of its own: ``share`` of the ``total``
    failures being folded, at least ``minimum``."""
    return max(minimum, math.ceil(share * total))


def _delivery(row: FailureRow) -> dict:
    return {
        "status": "failed",
        "http_status": row.http_status,
        "error": row.error,
        "response_body": row.body,
        "response_headers": row.headers,
    }


def variants_of(rows: Iterable[FailureRow]) -> list[Variant]:
    """The rows folded by endpoint, tenant and normalised signature."""
    out: dict[tuple[str, str, str], Variant] = {}
    for row in rows:
        # One raw key for both answers: classify_delivery(d) is classify_key(raw_key(d)),
        # failure_signature(d) is signature_of(raw_key(d)).render().
        key_ = raw_key(_delivery(row))
        sig = signature_of(key_)
        signature = sig.render()
        key = (row.endpoint, row.tenant, signature)
        variant = out.get(key)
        if variant is None:
            result = classify_key(key_)
            out[key] = Variant(
                endpoint=row.endpoint, tenant=row.tenant, signature=signature,
                status=sig.status, category=result.category,
                kind=kind_of(result.category, result.recommended_action).key,
                rule=result.rule, action=result.recommended_action, score=result.score,
                reason=result.reason, count=row.count, first_seen=row.first_seen,
                last_seen=row.last_seen, example_id=row.example_id,
                http_status=row.http_status, error=row.error, body=row.body,
                _best=row.count,
            )
            continue
        variant.count += row.count
        variant.first_seen = min(variant.first_seen, row.first_seen)
        variant.last_seen = max(variant.last_seen, row.last_seen)
        if (row.count, variant.example_id) > (variant._best, row.example_id):
            # the biggest raw form gives the example (ties: the smallest id); triage's
            # reason quotes that example's evidence
            result = classify_key(key_)
            variant._best = row.count
            variant.example_id = row.example_id
            variant.http_status, variant.error, variant.body = (
                row.http_status, row.error, row.body)
            variant.score, variant.reason = result.score, result.reason
    return list(out.values())


@dataclass(slots=True)
class _Cell:
    variants: list[Variant] = field(default_factory=list)
    count: int = 0
    endpoints: set[str] = field(default_factory=set)
    tenants: set[str] = field(default_factory=set)

    def add(self, v: Variant) -> None:
        self.variants.append(v)
        self.count += v.count
        self.endpoints.add(v.endpoint)
        self.tenants.add(v.tenant)


CellKey = tuple[str, str, str]  # (place, category, kind)


def _group(scope: str, cells: Sequence[_Cell], category: str, kind: str) -> FailureGroup:
    variants = sorted((v for c in cells for v in c.variants),
                      key=lambda v: (-v.count, v.example_id, v.signature))
    endpoints = {e for c in cells for e in c.endpoints}
    tenants = {t for c in cells for t in c.tenants}
    actions: Counter[str] = Counter()
    for v in variants:
        actions[v.action] += v.count
    return FailureGroup(
        scope=scope, category=category, kind=kind,
        endpoint=_one(endpoints), tenant=_one(tenants),
        endpoints=len(endpoints), tenants=len(tenants),
        count=sum(c.count for c in cells),
        first_seen=min(v.first_seen for v in variants),
        last_seen=max(v.last_seen for v in variants),
        recommended_action=group_action(dict(actions)),
        variants=variants,
    )


def fold_variants(variants: Iterable[Variant], *, per: str = "endpoint",
                  floor: int | None = None) -> list[FailureGroup]:
    """Groups of ``variants``, biggest first (see the module docstring). ``floor``
    None: :func:`own_group_floor` of their failures."""
    if per not in PER:
        raise ValueError(f"fold per {per!r}: expected one of {', '.join(PER)}")
    cells: dict[CellKey, _Cell] = defaultdict(_Cell)
    for v in variants:
        place = v.endpoint if per == "endpoint" else v.tenant
        cells[(place, v.category, v.kind)].add(v)
    if floor is None:
        floor = own_group_floor(sum(c.count for c in cells.values()))
    floor = max(1, floor)

    groups: list[FailureGroup] = []
    taken: set[CellKey] = set()
    if per == "endpoint":
        # a tenant-wide kind on several endpoints of one tenant: one tenant group
        buckets: dict[tuple[str, str, str], list[CellKey]] = defaultdict(list)
        for key, cell in cells.items():
            if KIND_BY_KEY[key[2]].tenant_wide and len(cell.tenants) == 1:
                buckets[(next(iter(cell.tenants)), key[1], key[2])].append(key)
        for (_, category, kind), keys in buckets.items():
            counts = [cells[k].count for k in keys]
            total = sum(counts)
            if len(keys) >= 2 and total >= floor and max(counts) < DOMINANT_SHARE * total:
                groups.append(_group("tenant", [cells[k] for k in keys], category, kind))
                taken.update(keys)
    own_scope = "endpoint" if per == "endpoint" else "tenant"
    sporadic: dict[tuple[str, str], list[CellKey]] = defaultdict(list)
    for key, cell in cells.items():
        if key in taken:
            continue
        if cell.count >= floor:
            groups.append(_group(own_scope, [cell], key[1], key[2]))
        else:
            sporadic[(key[1], key[2])].append(key)
    for (category, kind), keys in sporadic.items():
        if len(keys) == 1:
            groups.append(_group(own_scope, [cells[keys[0]]], category, kind))
        else:
            groups.append(_group("sporadic", [cells[k] for k in keys], category, kind))
    return sort_groups(groups)


def sort_groups(groups: Iterable[FailureGroup]) -> list[FailureGroup]:
    """Biggest first, then the most recent, then by place, category and kind."""
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return sorted(
        groups,
        key=lambda g: (-g.count, -g.last_seen.timestamp(), SCOPES.index(g.scope),
                       g.endpoint, g.tenant, order.get(g.category, 99), g.kind),
    )


def fold_rows(rows: Iterable[FailureRow], *, per: str = "endpoint",
              floor: int | None = None) -> list[FailureGroup]:
    """The rows folded into groups, biggest first (:func:`variants_of`, then
    :func:`fold_variants`)."""
    return fold_variants(variants_of(rows), per=per, floor=floor)


@dataclass(frozen=True, slots=True)
class FoldFigures:
    """How well a fold reads: ``groups``, the share of the failures in the ``top``
    biggest, and ``clashes``: (endpoint, action) pairs shared by two or more of those
    groups (an operator would fix them with the same action on the same endpoint)."""

    failures: int
    groups: int
    top: int
    top_share: float
    clashes: tuple[tuple[str, str], ...]


def fold_figures(groups: Sequence[FailureGroup], *, top: int = TOP) -> FoldFigures:
    total = sum(g.count for g in groups)
    biggest = groups[:top]
    seen: Counter[tuple[str, str]] = Counter()
    for g in biggest:
        for endpoint in {v.endpoint for v in g.variants}:
            seen[(endpoint, g.recommended_action)] += 1
    return FoldFigures(
        failures=total,
        groups=len(groups),
        top=top,
        top_share=(sum(g.count for g in biggest) / total) if total else 1.0,
        clashes=tuple(sorted(k for k, n in seen.items() if n > 1)),
    )


__all__ = [
    "PER",
    "SEVERAL",
    "FailureGroup",
    "FailureRow",
    "FoldFigures",
    "Variant",
    "fold_figures",
    "fold_rows",
    "fold_variants",
    "own_group_floor",
    "sort_groups",
    "variants_of",
]
