"""Roles and what each may do: one declarative table (CONTRACTS §6).

A role includes every right of the roles below it. Every check in the API, the app and
the worker reads this table, so "who may do what" is answered in one place and the README
can print it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    viewer = "viewer"
    operator = "operator"
    admin = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def includes(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.viewer: 0, Role.operator: 1, Role.admin: 2}


@dataclass(frozen=True)
class Permission:
    action: str
    minimum: Role
    what: str


PERMISSIONS: tuple[Permission, ...] = (
    Permission("read", Role.viewer,
               "read deliveries, triage, the advisor, incidents, insights, Explore, the audit "
               "trail (within the identity's tenants)"),
    Permission("replay", Role.operator, "replay deliveries, start and cancel replay jobs"),
    Permission("acknowledge", Role.operator, "acknowledge an incident ('mark as known issue')"),
    Permission("label", Role.operator, "label deliveries, edit and upload label files"),
    Permission("model.switch", Role.admin, "train the triage model and switch it on or off"),
    Permission("tokens.manage", Role.admin, "create, list and revoke API tokens"),
    Permission("settings.edit", Role.admin, "change settings stored in the database"),
    Permission("deliveries.write", Role.admin, "create or edit deliveries (import, ingest)"),
    Permission("endpoints.write", Role.admin, "create or edit endpoints and their secrets"),
)

_BY_ACTION = {p.action: p for p in PERMISSIONS}


def parse_role(value: object, *, where: str = "role") -> Role:
    """A role from text; anything else is a ValueError naming ``where`` and the choices."""
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        choices = " | ".join(r.value for r in Role)
        raise ValueError(f"{where}: expected {choices}, got {value!r}") from None


def minimum_role(action: str) -> Role:
    try:
        return _BY_ACTION[action].minimum
    except KeyError:
        raise KeyError(f"unknown action {action!r}; known: {', '.join(_BY_ACTION)}") from None


def allows(role: Role, action: str) -> bool:
    """Whether ``role`` may do ``action`` (an unknown action is a KeyError, never a yes)."""
    return Role(role).includes(minimum_role(action))
