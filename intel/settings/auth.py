"""Who may sign in to the app, and as what (CONTRACTS §6; the API uses tokens instead)."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator

from intel.settings._base import Section

RoleName = Literal["viewer", "operator", "admin"]


class AuthUser(Section):
    role: RoleName = Field(..., description="viewer | operator | admin")
    tenants: list[str] = Field(
        default_factory=list, description="Tenants this identity may see; empty: all tenants."
    )


class AuthSettings(Section):
    demo: bool = Field(
        False,
        description="Demo mode: anyone who opens the app types a name and acts under it (with "
        "demo_role), labelled on every page. Only for a local demo (config.demo.yaml turns it "
        "on); never in production, where sign-in is OIDC or a trusted proxy header.",
    )
    demo_role: RoleName = Field(
        "admin", description="Role of a demo-mode identity not listed in auth.users."
    )
    users: dict[str, AuthUser] = Field(
        default_factory=dict,
        description="Signed-in identities (the OIDC e-mail, or the proxy header's value, "
        "compared case-insensitively) mapped to a role and tenants, e.g. "
        "{'lead@example.com': {role: admin}, 'ops@acme.io': {role: operator, tenants: [acme]}}.",
    )
    default_role: Literal["none", "viewer", "operator", "admin"] = Field(
        "none",
        description="Role of a signed-in identity not listed in auth.users; 'none' refuses it "
        "(it sees a 'not authorised' page).",
    )
    proxy_header: str = Field(
        "",
        description="Trusted reverse-proxy identity header (oauth2-proxy / IAP style), e.g. "
        "X-Forwarded-Email; empty: not used. Only honoured on requests from trusted_proxies.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of the reverse proxy whose proxy_header is "
        "believed; a request from anywhere else is not signed in by the header.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    @field_validator("users")
    @classmethod
    def _lowercase(cls, value: dict[str, AuthUser]) -> dict[str, AuthUser]:
        lowered = {k.strip().lower(): v for k, v in value.items()}
        if len(lowered) != len(value):
            raise ValueError("two entries differ only in case")
        return lowered

    def user(self, name: str) -> AuthUser | None:
        """The role and tenants configured for a signed-in name, or the default role's."""
        found = self.users.get(name.strip().lower())
        if found is not None:
            return found
        if self.default_role == "none":
            return None
        return AuthUser(role=self.default_role)
