"""Delivery history queries: a declarative filter, pages, totals, one delivery's detail.

:class:`HistoryFilter` is the filter vocabulary of the history page (in the spirit of
datasette's ``filters.py``): one value object that produces the SQL ``WHERE`` clauses,
a sentence for humans ("Failed deliveries to https://… for tenant acme in the last
24 h") and the URL parameters of ``intel.deliveries.links.history_link``, and parses
them back (``HistoryFilter.from_params(f.to_params()) == f``).

URL semantics (parameters of ``history_link``): an absent filter is no filter, so
``/?tenant=acme`` lists every status. Only the bare ``/`` (no parameter
at all: the navigation entry) opens :data:`LANDING_PARAMS`, the operator's default view:
failed deliveries in the last 24 h. ``window`` defaults to ``24h``; ``status=all`` is
accepted and means no status filter.

Time windows: ``1h``/``24h``/``7d`` are "the last ..." as of the ``now`` the caller
gives, inclusive of ``now``; the page pins ``now`` per view so its rows stay put while
an operator pages and selects (new traffic appears on refresh). ``custom`` is
``since <= last_attempt_at < until`` (either bound optional; a failure counts at its
``last_attempt_at``).

Everything is aggregated and paginated in SQL; nothing loads the table.

Tenant scope (CONTRACTS §6): every query takes ``scope`` (default: every tenant) and
adds ``tenant IN (...)`` to its WHERE clause, so a delivery of another tenant is absent
from pages, totals and filter options, and :func:`get_delivery` answers None for it, as
for an id that does not exist.

Triage category filter. Triage is computed on demand, never stored (seed decision), so
SQL cannot filter by category. :func:`category_matches` streams the view's failed and
pending deliveries (id, time and the five columns triage reads; no payload) in chunks
through ``classify_frame`` (the batch form, memoised per raw failure), keeps the ids in
the wanted category in history order and counts every category. Pages are slices of
that id list, fetched by id; the page caches it per view (its ``now`` is pinned), so
paging and selecting never re-triage.

Why not ``GROUP BY`` the failure signature and classify each group once: measured on
the simulator's million deliveries, the 39k failures of a week had 24k distinct raw
signatures (bodies and errors carry request ids, IPs, times), so grouping saved little
and the GROUP BY sort over the text columns cost more than it saved. One pass is paid
once per view (``bench/bench_history.py``, 1M deliveries: a day's 5k failures 0.4 s on
SQLite / 0.06 s on PostgreSQL, a week's 33k 1.8 s / 0.4 s); later pages take ~7 ms.

A delivered delivery is not a failure, so the category filter lists failed and pending
deliveries only. As a guard, a category filter over more than
:data:`CATEGORY_SCAN_LIMIT` failed and pending deliveries is not run: the page says so
and asks for a narrower view (a tenant, an endpoint or a shorter window).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Text, and_, case, cast, false, func, select, text

from intel.auth.scope import ALL as EVERY_TENANT
from intel.auth.scope import TenantScope
from intel.deliveries.links import HISTORY_PARAMS
from intel.store.schema import DELIVERY_STATUSES, deliveries, delivery_attempts
from intel.timeutil import ensure_utc, parse_timestamp, to_rfc3339
from intel.timewindows import CUSTOM, WindowSet, lookback
from intel.triage.result import CATEGORIES
from intel.urlparams import one, page_number

#: The windows the history offers (``intel.deliveries.links`` documents them).
HISTORY_WINDOWS = WindowSet(("1h", "24h", "7d", CUSTOM), default="24h")
WINDOWS: dict[str, timedelta] = HISTORY_WINDOWS.spans  # bench/bench_history.py reads these
DEFAULT_WINDOW = HISTORY_WINDOWS.default
ALL = "all"
#: The view of the bare ``/`` (no parameter at all).
LANDING_PARAMS: dict[str, str] = {"window": DEFAULT_WINDOW, "status": "failed"}
PER_PAGE = 100
MAX_PER_PAGE = 1000
#: A category filter over more failed+pending deliveries than this is refused.
CATEGORY_SCAN_LIMIT = 100_000
_SCAN_CHUNK = 2000
OPTION_LIMIT = 500

#: Columns of a history row (everything but the payload and the bookkeeping).
LIST_COLUMNS = (
    "id", "tenant", "endpoint", "event_type", "status", "http_status", "error",
    "response_headers", "response_body", "attempts", "created_at", "last_attempt_at",
    "duration_ms",
)


class FilterError(ValueError):
    """A URL parameter of the history page is invalid (the message names it)."""


@dataclass(frozen=True)
class HistoryFilter:
    """What the history shows. ``None`` means "no filter" for every field."""

    tenant: str | None = None
    endpoint: str | None = None
    status: str | None = None
    event_type: str | None = None
    category: str | None = None
    window: str = DEFAULT_WINDOW
    since: datetime | None = None  # window == "custom" only
    until: datetime | None = None  # window == "custom" only

    def __post_init__(self) -> None:
        try:
            HISTORY_WINDOWS.parse(self.window)
        except ValueError as exc:
            raise FilterError(str(exc)) from None
        if self.status is not None and self.status not in DELIVERY_STATUSES:
            raise FilterError(
                f"status: expected one of {', '.join(DELIVERY_STATUSES)} or all, "
                f"got {self.status!r}"
            )
        if self.category is not None and self.category not in CATEGORIES:
            raise FilterError(
                f"category: expected one of {', '.join(CATEGORIES)}, got {self.category!r}"
            )
        if self.window != "custom" and (self.since or self.until):
            raise FilterError("since/until need window=custom")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, ensure_utc(value))
        if self.since and self.until and self.until <= self.since:
            raise FilterError(
                f"until ({to_rfc3339(self.until)}) must be after since ({to_rfc3339(self.since)})"
            )
        for name in ("tenant", "endpoint", "event_type"):
            value = getattr(self, name)
            if value is not None and value == "":
                object.__setattr__(self, name, None)

    # --- time -------------------------------------------------------------------------

    def time_range(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """(since, until) of the window as of ``now``; for named windows until is now."""
        return HISTORY_WINDOWS.resolve(self.window, now, self.since, self.until)

    # --- SQL ---------------------------------------------------------------------------

    def where(self, now: datetime, *, with_status: bool = True) -> list:
        """The WHERE clauses (the category is not SQL: see the module docstring)."""
        c = deliveries.c
        clauses = []
        if self.tenant is not None:
            clauses.append(c.tenant == self.tenant)
        if self.endpoint is not None:
            clauses.append(c.endpoint == self.endpoint)
        if with_status and self.status is not None:
            clauses.append(c.status == self.status)
        if self.event_type is not None:
            clauses.append(c.event_type == self.event_type)
        since, until = self.time_range(now)
        if since is not None:
            clauses.append(c.last_attempt_at >= since)
        if until is not None:
            if self.window == "custom":
                clauses.append(c.last_attempt_at < until)
            else:
                clauses.append(c.last_attempt_at <= until)
        return clauses

    def failure_where(self, now: datetime) -> list:
        """The clauses of the view's failed and pending deliveries (what triage reads)."""
        clauses = self.where(now, with_status=False)
        if self.status is None:
            clauses.append(deliveries.c.status.in_(("failed", "pending")))
        elif self.status == "delivered":
            clauses.append(false())  # a delivered delivery has no triage category
        else:
            clauses.append(deliveries.c.status == self.status)
        return clauses

    # --- words ---------------------------------------------------------------------------

    def describe(self, now: datetime | None = None) -> str:
        """``Failed deliveries to https://… for tenant acme in the last 24 h``."""
        if self.status:
            head = f"{self.status.capitalize()} deliveries"
        else:
            head = "Failed and pending deliveries" if self.category else "Deliveries"
        parts = [head]
        if self.endpoint:
            parts.append(f"to {self.endpoint}")
        if self.tenant:
            parts.append(f"for tenant {self.tenant}")
        if self.event_type:
            parts.append(f"of type {self.event_type}")
        if self.category:
            parts.append(f"triaged {self.category}")
        if self.window != "custom":
            parts.append(f"in {lookback(self.window).brief}")
            if now is not None:
                parts.append(f"(as of {ensure_utc(now):%Y-%m-%d %H:%M} UTC)")
        elif self.since and self.until:
            parts.append(f"from {self.since:%Y-%m-%d %H:%M} to {self.until:%Y-%m-%d %H:%M} UTC")
        elif self.since:
            parts.append(f"since {self.since:%Y-%m-%d %H:%M} UTC")
        elif self.until:
            parts.append(f"before {self.until:%Y-%m-%d %H:%M} UTC")
        else:
            parts.append("at any time")
        return " ".join(parts)

    # --- URL ----------------------------------------------------------------------------

    def to_params(self) -> dict[str, str]:
        """The canonical URL parameters (``history_link(**f.to_params())``)."""
        out: dict[str, str] = {}
        for name in ("tenant", "endpoint", "event_type", "category"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out["status"] = self.status or ALL
        out["window"] = self.window
        if self.since is not None:
            out["since"] = to_rfc3339(self.since)
        if self.until is not None:
            out["until"] = to_rfc3339(self.until)
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> HistoryFilter:
        """Parse URL parameters; raises :class:`FilterError` naming a bad one."""
        flt, problems = parse_filter(params)
        if problems:
            raise FilterError("; ".join(problems))
        return flt


def parse_filter(params: Mapping[str, Any]) -> tuple[HistoryFilter, list[str]]:
    """A filter from URL parameters, leniently: a bad parameter is left out and named in
    the returned problems (the page shows them). The bare parameter set (none of the
    history's parameters) gives :data:`LANDING_PARAMS`."""
    if not any(one(params, name) is not None for name in HISTORY_PARAMS):
        params = LANDING_PARAMS
    problems: list[str] = []
    values: dict[str, Any] = {}
    for name in ("tenant", "endpoint", "event_type"):
        values[name] = one(params, name)
    status = one(params, "status")
    if status is not None and status != ALL:
        if status in DELIVERY_STATUSES:
            values["status"] = status
        else:
            problems.append(
                f"status: expected one of {', '.join(DELIVERY_STATUSES)} or all, got {status!r}"
            )
    category = one(params, "category")
    if category is not None:
        if category in CATEGORIES:
            values["category"] = category
        else:
            problems.append(f"category: expected one of {', '.join(CATEGORIES)}, got {category!r}")
    times: dict[str, datetime] = {}
    for name in ("since", "until"):
        raw = one(params, name)
        if raw is not None:
            try:
                times[name] = parse_timestamp(raw)
            except ValueError:
                problems.append(f"{name}: not an RFC 3339 timestamp: {raw!r}")
    named = one(params, "window")
    window, problem = HISTORY_WINDOWS.read(named)
    if problem:
        problems.append(problem)
    if named is None or problem:
        window = CUSTOM if times else DEFAULT_WINDOW
    if window != "custom" and times:
        problems.append(f"since/until are ignored with window={window}")
        times = {}
    if "since" in times and "until" in times and times["until"] <= times["since"]:
        problems.append("until must be after since; until ignored")
        del times["until"]
    return HistoryFilter(window=window, **values, **times), problems


@dataclass(frozen=True)
class HistoryView:
    """The whole state of the history page: filter, page number and open delivery."""

    flt: HistoryFilter = field(default_factory=HistoryFilter)
    page: int = 1
    id: str | None = None

    def to_params(self) -> dict[str, str]:
        out = self.flt.to_params()
        if self.page > 1:
            out["page"] = str(self.page)
        if self.id:
            out["id"] = self.id
        return out


def parse_view(params: Mapping[str, Any]) -> tuple[HistoryView, list[str]]:
    """The page's state from its URL parameters (lenient, see :func:`parse_filter`)."""
    flt, problems = parse_filter(params)
    page = 1
    raw_page = one(params, "page")
    if raw_page is not None:
        try:
            page = page_number(raw_page)
        except ValueError as exc:
            problems.append(f"page: {exc}")
    return HistoryView(flt=flt, page=page, id=one(params, "id")), problems


# --- queries ---------------------------------------------------------------------------


@dataclass
class HistoryPage:
    """One page of the view, with its totals."""

    rows: list[dict]
    total: int  # rows matching the whole view
    by_status: dict[str, int]  # matching rows per status
    page: int
    per_page: int
    by_category: dict[str, int] | None = None  # with a category filter: the triage totals
    note: str | None = None  # why the view could not be computed as asked

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        return 0 if not self.rows else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return 0 if not self.rows else self.first + len(self.rows) - 1


def _list_select():
    return select(*(deliveries.c[name] for name in LIST_COLUMNS))


def _order():
    return (deliveries.c.last_attempt_at.desc(), deliveries.c.id)


def _where(flt: HistoryFilter, now: datetime, scope: TenantScope, **kw) -> list:
    return [*flt.where(now, **kw), *scope.where(deliveries.c.tenant)]


def status_totals(
    conn, flt: HistoryFilter, now: datetime, *, scope: TenantScope = EVERY_TENANT
) -> dict[str, int]:
    """Matching deliveries per status (zeros left out), in one aggregate statement.

    Not ``GROUP BY status``: SQLite sorts for it. Two shapes, each reading one index:

    * no tenant, endpoint, event type or tenant scope: one count per status as scalar
      subqueries, each a range count on (status, last_attempt_at);
    * with one of them: conditional counts in one pass over the covering (that column,
      last_attempt_at, status) index.
    """
    status = deliveries.c.status
    wanted = [flt.status] if flt.status else list(DELIVERY_STATUSES)
    if (flt.tenant is None and flt.endpoint is None and flt.event_type is None
            and scope.unrestricted):
        base = flt.where(now, with_status=False)
        counts = conn.execute(
            select(
                *(
                    select(func.count()).where(*base, status == s).scalar_subquery()
                    for s in wanted
                )
            )
        ).one()
    else:
        counts = conn.execute(
            select(*(func.count(case((status == s, 1))) for s in wanted))
            .where(*_where(flt, now, scope))
        ).one()
    return {s: int(n) for s, n in zip(wanted, counts, strict=True) if n}


def view_page(
    engine: Engine,
    flt: HistoryFilter,
    now: datetime,
    page: int = 1,
    per_page: int = PER_PAGE,
    *,
    matches: CategoryMatches | None = None,
    scope: TenantScope = EVERY_TENANT,
) -> HistoryPage:
    """One page of the view ordered by ``last_attempt_at`` desc, ``id``, and its totals,
    within ``scope``.

    With a category filter, ``matches`` (from :func:`category_matches` for the same
    filter, ``now`` and scope) saves the triage pass: the page caches it per view.
    """
    page = max(1, int(page))
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    with engine.connect() as conn:
        if flt.category is not None:
            return _category_page(conn, flt, now, page, per_page, matches, scope)
        by_status = status_totals(conn, flt, now, scope=scope)
        rows = conn.execute(
            _list_select()
            .where(*_where(flt, now, scope))
            .order_by(*_order())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).mappings()
        rows = [dict(r) for r in rows]
    return HistoryPage(rows, sum(by_status.values()), by_status, page, per_page)


def page(
    engine: Engine, flt: HistoryFilter, now: datetime, page: int = 1, per_page: int = PER_PAGE,
    *, scope: TenantScope = EVERY_TENANT,
) -> tuple[list[dict], int]:
    """``(rows, total)`` of one page of the view (see :func:`view_page` for more)."""
    result = view_page(engine, flt, now, page=page, per_page=per_page, scope=scope)
    return result.rows, result.total


# --- the category filter ----------------------------------------------------------------


@dataclass(frozen=True)
class CategoryMatches:
    """The view's failed and pending deliveries triaged: which match the category."""

    category: str
    ids: tuple[str, ...]  # matching ids, ordered like the history (newest first, then id)
    by_category: dict[str, int]  # every candidate's category, counted
    by_status: dict[str, int]  # matching ones per status
    candidates: int  # failed and pending deliveries in the view
    note: str | None = None  # set (and nothing scanned) when the view is too broad


def category_matches(
    conn, flt: HistoryFilter, now: datetime, *, scope: TenantScope = EVERY_TENANT
) -> CategoryMatches:
    """Triage the view's failed and pending deliveries (within ``scope``) and keep those
    in ``flt.category``: one streamed pass over their signature columns (see the module
    docstring). The result is what the page caches per view and scope."""
    import pandas as pd

    from intel.triage import classify_frame
    from intel.triage.engine import PRECOMPUTED_HEADERS_COLUMN

    wanted = flt.category
    if wanted is None:
        raise ValueError("category_matches needs a filter with a category")
    where = [*flt.failure_where(now), *scope.where(deliveries.c.tenant)]
    candidates = int(conn.execute(select(func.count()).where(*where)).scalar() or 0)
    empty = dict.fromkeys(CATEGORIES, 0)
    if candidates > CATEGORY_SCAN_LIMIT:
        note = (
            f"The triage filter needs a narrower view: {candidates:,} failed and pending "
            f"deliveries match (limit {CATEGORY_SCAN_LIMIT:,}). Pick a tenant or an endpoint, "
            "or a shorter window."
        )
        return CategoryMatches(wanted, (), empty, {}, candidates, note)
    c = deliveries.c
    names = ["id", "last_attempt_at", "status", "http_status", "error", "response_body"]
    # Headers come as JSON text and only the few header names triage reads are kept
    # (the batch form's precomputed-headers column): decoding every header document
    # was a third of the pass.
    columns = [*(c[name] for name in names), cast(c.response_headers, Text)]
    matches: list[tuple[datetime, str, str]] = []
    by_category = dict(empty)
    stream = conn.execution_options(yield_per=_SCAN_CHUNK).execute(
        select(*columns).where(*where)
    )
    try:
        for chunk in stream.partitions():
            values = list(zip(*chunk, strict=True))
            frame = pd.DataFrame(
                {name: pd.Series(values[i], dtype=object) for i, name in enumerate(names)}
            )
            frame[PRECOMPUTED_HEADERS_COLUMN] = pd.Series(
                [_triage_headers(h) for h in values[len(names)]], dtype=object
            )
            categories = classify_frame(frame)["category"].to_numpy()
            for category, count in pd.Series(categories).value_counts().items():
                by_category[str(category)] = by_category.get(str(category), 0) + int(count)
            hit = categories == wanted
            if hit.any():
                picked = frame.loc[hit, ["last_attempt_at", "id", "status"]]
                matches.extend(picked.itertuples(index=False, name=None))
    finally:
        stream.close()
    # newest first, then id: sort by id, then stably by time descending
    matches.sort(key=lambda m: m[1])
    matches.sort(key=lambda m: m[0], reverse=True)
    by_status: dict[str, int] = {}
    for _, _, status in matches:
        by_status[status] = by_status.get(status, 0) + 1
    return CategoryMatches(
        wanted, tuple(m[1] for m in matches), by_category, by_status, candidates
    )


def _triage_headers(textual: str | None) -> tuple:
    """The headers triage reads, from the JSON text of ``response_headers``."""
    from intel.triage.signature import RELEVANT_HEADERS, relevant_headers

    if not textual:
        return ()
    low = textual.lower()
    if "\\u" not in low and not any(name in low for name in RELEVANT_HEADERS):
        return ()  # none of the names triage reads: skip decoding the document
    return relevant_headers(textual)


def _category_page(
    conn, flt: HistoryFilter, now: datetime, page: int, per_page: int,
    matches: CategoryMatches | None, scope: TenantScope,
) -> HistoryPage:
    if matches is None or matches.category != flt.category:
        matches = category_matches(conn, flt, now, scope=scope)
    start = (page - 1) * per_page
    ids = list(matches.ids[start : start + per_page])
    rows: list[dict] = []
    if ids:
        fetched = {
            r["id"]: dict(r)
            for r in conn.execute(
                _list_select().where(deliveries.c.id.in_(ids), *scope.where(deliveries.c.tenant))
            ).mappings()
        }
        rows = [fetched[i] for i in ids if i in fetched]
    return HistoryPage(
        rows, len(matches.ids), dict(matches.by_status), page, per_page,
        by_category=dict(matches.by_category), note=matches.note,
    )


# --- triage of displayed rows -----------------------------------------------------------


def with_triage(rows: list[dict], classify=None) -> list[dict]:
    """The rows with ``category``, ``score``, ``reason``, ``recommended_action`` added
    (None for delivered ones: they are not failures). ``classify`` maps a frame to
    triage columns; default the rules (``intel.triage.classify_frame``); the app passes
    ``intel.labels.modelstore.triage_frame`` so the operator's model switch applies."""
    if not rows:
        return rows
    import pandas as pd

    from intel.triage import classify_frame

    classify = classify or classify_frame

    failures = [i for i, r in enumerate(rows) if r.get("status") != "delivered"]
    out = [dict(r, category=None, score=None, reason=None, recommended_action=None) for r in rows]
    if failures:
        frame = pd.DataFrame([{k: rows[i].get(k) for k in LIST_COLUMNS} for i in failures])
        result = classify(frame)
        for position, i in enumerate(failures):
            item = result.iloc[position]
            out[i]["category"] = str(item["category"])
            out[i]["score"] = int(item["score"])
            out[i]["reason"] = str(item["reason"])
            out[i]["recommended_action"] = str(item["recommended_action"])
    return out


# --- one delivery ------------------------------------------------------------------------


def get_delivery(
    engine: Engine, delivery_id: str, *, scope: TenantScope = EVERY_TENANT
) -> dict | None:
    """Every field of one delivery, and ``attempts_timeline``: its attempts in order.
    None when there is no such delivery or its tenant is outside ``scope``."""
    with engine.connect() as conn:
        row = conn.execute(
            select(deliveries).where(
                deliveries.c.id == delivery_id, *scope.where(deliveries.c.tenant)
            )
        ).mappings().first()
        if row is None:
            return None
        delivery = dict(row)
        attempts = conn.execute(
            select(delivery_attempts)
            .where(delivery_attempts.c.delivery_id == delivery_id)
            .order_by(
                delivery_attempts.c.finished_at,
                delivery_attempts.c.attempt_no,
                delivery_attempts.c.id,
            )
        ).mappings()
        delivery["attempts_timeline"] = [dict(a) for a in attempts]
    return delivery


def triage_of(delivery: Mapping[str, Any]):
    """The triage result of one delivery (``classify_delivery``)."""
    from intel.triage import classify_delivery

    return classify_delivery(dict(delivery))


# --- filter options ----------------------------------------------------------------------


def _distinct(conn, column: str, limit: int) -> list[str]:
    # A loose index scan: one index seek per distinct value (the column leads an index),
    # so it stays fast however many rows share a value. Column names are fixed here.
    sql = text(
        f"WITH RECURSIVE d(v, n) AS ("
        f" SELECT (SELECT MIN({column}) FROM deliveries), 1"
        f" UNION ALL"
        f" SELECT (SELECT MIN({column}) FROM deliveries WHERE {column} > d.v), d.n + 1"
        f" FROM d WHERE d.v IS NOT NULL AND d.n < :limit"
        f") SELECT v FROM d WHERE v IS NOT NULL"
    )
    return [r[0] for r in conn.execute(sql, {"limit": limit})]


def _distinct_in_scope(conn, column: str, scope: TenantScope, limit: int) -> list[str]:
    # A scoped identity's options: the values of its tenants' rows (the tenant index
    # narrows them first).
    col = deliveries.c[column]
    rows = conn.execute(
        select(col)
        .where(col.is_not(None), *scope.where(deliveries.c.tenant))
        .group_by(col)
        .order_by(col)
        .limit(limit)
    )
    return [r[0] for r in rows]


def tenants(
    engine: Engine, limit: int = OPTION_LIMIT, *, scope: TenantScope = EVERY_TENANT
) -> list[str]:
    """Known tenants within ``scope``, sorted (at most ``limit``)."""
    with engine.connect() as conn:
        if scope.unrestricted:
            return _distinct(conn, "tenant", limit)
        # A scope names its few tenants: keep those with a delivery (one index seek each).
        return [
            t for t in sorted(scope.tenants or ())[:limit]
            if conn.execute(
                select(deliveries.c.id).where(deliveries.c.tenant == t).limit(1)
            ).first() is not None
        ]


def event_types(
    engine: Engine, limit: int = OPTION_LIMIT, *, scope: TenantScope = EVERY_TENANT
) -> list[str]:
    """Known event types (of deliveries within ``scope``), sorted (at most ``limit``)."""
    with engine.connect() as conn:
        if scope.unrestricted:
            return _distinct(conn, "event_type", limit)
        return _distinct_in_scope(conn, "event_type", scope, limit)


def endpoints(
    engine: Engine,
    tenant: str | None = None,
    *,
    since: datetime | None = None,
    limit: int = OPTION_LIMIT,
    scope: TenantScope = EVERY_TENANT,
) -> list[str]:
    """Known endpoints (of deliveries within ``scope``), sorted; with ``tenant``, that
    tenant's endpoints (seen since ``since``, if given)."""
    with engine.connect() as conn:
        if tenant is None and scope.unrestricted:
            return _distinct(conn, "endpoint", limit)
        clauses = scope.where(deliveries.c.tenant)
        if tenant is not None:
            clauses.append(deliveries.c.tenant == tenant)
        if since is not None:
            clauses.append(deliveries.c.last_attempt_at >= since)
        rows = conn.execute(
            select(deliveries.c.endpoint)
            .where(and_(*clauses))
            .group_by(deliveries.c.endpoint)
            .order_by(deliveries.c.endpoint)
            .limit(limit)
        )
        return [r[0] for r in rows]
