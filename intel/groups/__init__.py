"""Failure groups: failures folded by endpoint, triage category and failure signature.

``failure_groups(conn, since=, until=, tenant=)`` aggregates in SQL and folds the
distinct rows in Python (``intel.groups.query``, ``intel.groups.fold``); ``group_link``
is the delivery-history deep link showing one group's failures.
"""

from intel.groups.fold import FailureGroup, FailureRow, fold_rows
from intel.groups.links import group_link
from intel.groups.query import GroupsResult, failure_groups, failure_rows, tenants_with_failures

__all__ = [
    "FailureGroup",
    "FailureRow",
    "GroupsResult",
    "failure_groups",
    "failure_rows",
    "fold_rows",
    "group_link",
    "tenants_with_failures",
]
