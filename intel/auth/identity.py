"""Who is acting: a name, a role and a tenant scope, from authentication only.

The actor recorded in the audit trail for a write is ``Identity.name``: it comes from a
token, a sign-in or the trusted proxy header, never from a field the caller fills in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from intel.auth.roles import Role, allows, minimum_role
from intel.auth.scope import TenantScope


class PermissionDenied(PermissionError):
    """The identity's role may not do this action (API: 403)."""

    def __init__(self, identity: Identity, action: str):
        self.identity = identity
        self.action = action
        super().__init__(
            f"{identity.name} ({identity.role.value}) may not {action}: "
            f"needs the {minimum_role(action).value} role"
        )


@dataclass(frozen=True)
class Identity:
    name: str
    role: Role
    tenants: frozenset[str] = field(default_factory=frozenset)  # empty: all tenants
    via: str = "token"  # token | oidc | proxy | demo | cli

    @classmethod
    def make(cls, name: str, role: Role | str, tenants: Iterable[str] | None = None,
             via: str = "token") -> Identity:
        return cls(name=name, role=Role(role), tenants=frozenset(tenants or ()), via=via)

    @property
    def scope(self) -> TenantScope:
        return TenantScope.of(self.tenants)

    def can(self, action: str) -> bool:
        return allows(self.role, action)

    def require(self, action: str) -> Identity:
        if not self.can(action):
            raise PermissionDenied(self, action)
        return self

    def describe(self) -> str:
        return f"{self.name} · {self.role.value} · {self.scope.describe()}"


def cli_identity(name: str = "cli") -> Identity:
    """The command line acts with the machine's database access (CONTRACTS §6)."""
    return Identity(name=name, role=Role.admin, via="cli")
