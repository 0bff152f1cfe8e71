"""Access control (CONTRACTS §6): roles, identities, tenant scope and API tokens.

- ``Role`` and ``PERMISSIONS``: who may do what, one table.
- ``Identity``: name, role and tenants, from authentication only (token, sign-in, proxy
  header, demo). Its ``name`` is the actor of every write it makes.
- ``TenantScope`` (``identity.scope``): what it may see; ``ALL`` is unrestricted.
- ``intel.auth.tokens``: create, list, revoke and authenticate API tokens.
"""

from intel.auth.identity import Identity, PermissionDenied, cli_identity
from intel.auth.roles import PERMISSIONS, Permission, Role, allows, minimum_role, parse_role
from intel.auth.scope import ALL, TenantScope

__all__ = [
    "ALL",
    "PERMISSIONS",
    "Identity",
    "Permission",
    "PermissionDenied",
    "Role",
    "TenantScope",
    "allows",
    "cli_identity",
    "minimum_role",
    "parse_role",
]
