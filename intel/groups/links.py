"""Deep link from a failure group to the delivery history filtered to it."""

from __future__ import annotations

from datetime import timedelta

from intel.deliveries.links import history_link
from intel.groups.fold import SEVERAL, FailureGroup


def group_link(group: FailureGroup, *, tenant: str | None = None) -> str:
    """``/?endpoint=...&category=...&status=failed&since=...&until=...``.

    The window is the group's first to last failure (``until`` one second after the
    last, as the history window excludes its end). The filters are the group's place:
    its endpoint when it has one, else its tenant when it has one (a tenant group, or a
    sporadic group of one tenant), and the view's ``tenant`` filter, if any. The history cannot
    filter by kind or signature, so it may list more failures of the same category
    there in that window (a sporadic group's link lists the category's failures of
    every endpoint).
    """
    endpoint = group.endpoint if group.endpoint != SEVERAL else None
    if tenant is None and endpoint is None and group.tenant != SEVERAL:
        tenant = group.tenant
    return history_link(
        tenant=tenant,
        endpoint=endpoint,
        category=group.category,
        status="failed",
        since=group.first_seen,
        until=group.last_seen + timedelta(seconds=1),
    )
