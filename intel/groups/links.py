"""Deep link from a failure group to the delivery history filtered to it."""

from __future__ import annotations

from datetime import timedelta

from intel.deliveries.links import history_link
from intel.groups.fold import FailureGroup


def group_link(group: FailureGroup, *, tenant: str | None = None) -> str:
    """``/?endpoint=...&category=...&status=failed&since=...&until=...``.

    The window is the group's first to last failure (``until`` one second after the
    last, as the history window excludes its end); ``tenant`` is the groups view's
    tenant filter, if any (the group then counts only that tenant's failures). The
    history cannot filter by signature, so it may list more failures of the same
    category on that endpoint in that window.
    """
    return history_link(
        tenant=tenant,
        endpoint=group.endpoint,
        category=group.category,
        status="failed",
        since=group.first_seen,
        until=group.last_seen + timedelta(seconds=1),
    )
