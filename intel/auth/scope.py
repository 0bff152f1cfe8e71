"""Tenant scope: which tenants an identity may see.

Outside its scope a tenant's data is as if it did not exist: queries add
``scope.where(column)`` to their WHERE clause, single items answer "not found", and
platform-wide figures (bursts, totals over every tenant) are only for unrestricted scopes.
An empty set of tenants means *all* tenants (CONTRACTS §6), so ``TenantScope.of([])`` is
``ALL``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false


@dataclass(frozen=True)
class TenantScope:
    tenants: frozenset[str] | None = None  # None: every tenant

    @classmethod
    def of(cls, tenants: Iterable[str] | None) -> TenantScope:
        names = frozenset(t for t in (tenants or ()) if t)
        return cls(names or None)

    @property
    def unrestricted(self) -> bool:
        return self.tenants is None

    def allows(self, tenant: object) -> bool:
        return self.tenants is None or (isinstance(tenant, str) and tenant in self.tenants)

    def where(self, column: ColumnElement) -> list[ColumnElement]:
        """Clauses to add to a query over ``column`` (a tenant column); empty when unrestricted."""
        if self.tenants is None:
            return []
        if not self.tenants:
            return [false()]
        return [column.in_(sorted(self.tenants))]

    def filter_values(self, values: Iterable[str]) -> list[str]:
        """The values (tenant names) this scope allows, in their order."""
        return [v for v in values if self.allows(v)]

    def cache_key(self) -> str:
        """A stable text for cache keys: results differ per scope."""
        return "*" if self.tenants is None else ",".join(sorted(self.tenants))

    def describe(self) -> str:
        if self.tenants is None:
            return "all tenants"
        return "tenants " + ", ".join(sorted(self.tenants))


ALL = TenantScope(None)
