"""Failure groups: failures folded into the problems an operator acts on once.

``failure_groups(conn, since=, until=, tenant=, per=, floor=, scope=)`` aggregates in SQL
and folds the distinct rows in Python (``intel.groups.query``, ``intel.groups.fold``,
``intel.groups.kinds``); ``group_link`` is the delivery-history deep link showing one
group's failures.
"""

from intel.groups.fold import (
    FailureGroup,
    FailureRow,
    FoldFigures,
    Variant,
    fold_figures,
    fold_rows,
    fold_variants,
    own_group_floor,
)
from intel.groups.kinds import KINDS, Kind, kind_of
from intel.groups.links import group_link
from intel.groups.query import (
    CategoryCount,
    GroupsResult,
    failure_groups,
    failure_rows,
    tenants_with_failures,
)

__all__ = [
    "KINDS",
    "CategoryCount",
    "FailureGroup",
    "FailureRow",
    "FoldFigures",
    "GroupsResult",
    "Kind",
    "Variant",
    "failure_groups",
    "failure_rows",
    "fold_figures",
    "fold_rows",
    "fold_variants",
    "group_link",
    "kind_of",
    "own_group_floor",
    "tenants_with_failures",
]
