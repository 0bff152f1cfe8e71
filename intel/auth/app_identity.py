"""Who is using the app: the pure half of the app's sign-in (``ui/session.py`` only reads
Streamlit's context and hands the facts to ``resolve``).

In this order:

1. **OIDC** (``st.login``; on when ``[auth]`` is in ``.streamlit/secrets.toml``): the
   signed-in e-mail, mapped through ``auth.users`` / ``auth.default_role``.
2. **Trusted reverse-proxy header** (``auth.proxy_header``, e.g. ``X-Forwarded-Email`` from
   oauth2-proxy or IAP): believed only when the request's peer address is in
   ``auth.trusted_proxies``; from anywhere else the header is ignored, whatever it says.
   The peer address must be the connection's own: Streamlit's server (uvicorn) replaces
   it with the ``X-Forwarded-For`` a loopback client sends unless ``FORWARDED_ALLOW_IPS``
   is set empty, so without that the header is not believed at all (``peer_direct``).
3. **Demo mode** (``auth.demo: true`` only): a name typed in the sidebar. Its role is the
   ``auth.users`` entry for that name, else one the visitor picks up to ``auth.demo_role``
   (so a visitor can try viewer, operator and admin). Demo mode is off whenever OIDC or a
   proxy header is configured: a typed name must never get round a real sign-in.

A signed-in name that maps to no role (``default_role: none``) is *unauthorised*: it sees
who it is signed in as and nothing else. Nobody signed in is *anonymous*: a sign-in page.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from intel.auth.identity import Identity
from intel.auth.roles import Role
from intel.settings.auth import AuthSettings

SIGNED_IN = "signed_in"
ANONYMOUS = "anonymous"
UNAUTHORISED = "unauthorised"

MAX_NAME = 254  # the longest e-mail address
_DEMO_NAME = re.compile(r"^[\w .@'-]{2,60}$")
# Google IAP prefixes the e-mail with its issuer: "accounts.google.com:alice@example.com".
_IAP_PREFIX = "accounts.google.com:"
# Streamlit reports a loopback peer as "no address" (st.context.ip_address is None).
_LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


@dataclass(frozen=True)
class RequestFacts:
    """What the app knows about the request of this run (read by ``ui/session.py``)."""

    oidc_configured: bool = False
    oidc_logged_in: bool = False
    oidc_email: object = None
    proxy_values: tuple[str, ...] = ()  # every value of auth.proxy_header in the request
    peer: str | None = None  # st.context.ip_address: None for a loopback peer
    peer_direct: bool = False  # the peer is the TCP peer, never taken from X-Forwarded-For
    demo_name: object = None
    demo_role: object = None


@dataclass(frozen=True)
class AppSignIn:
    state: str  # signed_in | anonymous | unauthorised
    identity: Identity | None = None
    who: str | None = None  # unauthorised: the name signed in as
    via: str | None = None  # oidc | proxy | demo
    methods: tuple[str, ...] = ()  # the sign-in methods this deployment offers
    notes: tuple[str, ...] = field(default=())  # why a configured method did not sign in

    @property
    def demo(self) -> bool:
        return "demo" in self.methods


def clean_name(value: object) -> str | None:
    """A signed-in name (OIDC e-mail, proxy header value) in canonical form, or None when
    it cannot be one: not text, empty, too long, control characters, or a list (a comma:
    two values joined by a proxy)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.lower().startswith(_IAP_PREFIX):
        text = text[len(_IAP_PREFIX):].strip()
    if not text or len(text) > MAX_NAME or "," in text:
        return None
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        return None
    return text.lower()


def proxy_name(values: Sequence[str]) -> str | None:
    """The name in the proxy header: exactly one clean value, else None (a header sent
    twice is ambiguous and believed for neither)."""
    if len(values) != 1:
        return None
    return clean_name(values[0])


def peer_trusted(peer: str | None, trusted_proxies: Sequence[str]) -> bool:
    """Whether the request's peer address is one of the trusted proxies' addresses or
    networks. ``None`` is a loopback peer (how Streamlit reports 127.0.0.1 and ::1)."""
    if not trusted_proxies:
        return False
    if peer is None:
        addresses = list(_LOOPBACK)
    else:
        try:
            address = ipaddress.ip_address(peer.strip())
        except ValueError:
            return False
        addresses = [address]
        mapped = getattr(address, "ipv4_mapped", None)
        if mapped is not None:
            addresses.append(mapped)
    networks = [ipaddress.ip_network(item, strict=False) for item in trusted_proxies]
    return any(a in n for a in addresses for n in networks if a.version == n.version)


def demo_name_problem(name: str) -> str | None:
    """Why a typed demo name is refused, or None."""
    if not _DEMO_NAME.match(name):
        return "Use 2-60 letters, digits, spaces or . @ ' -"
    return None


def demo_roles(auth: AuthSettings, name: str | None) -> tuple[Role, ...]:
    """The roles a demo visitor with ``name`` may pick: a name listed in ``auth.users``
    has exactly its configured role; anyone else any role up to ``auth.demo_role``."""
    listed = auth.users.get(name.strip().lower()) if name else None
    if listed is not None:
        return (Role(listed.role),)
    ceiling = Role(auth.demo_role)
    return tuple(r for r in Role if ceiling.includes(r))


def demo_identity(auth: AuthSettings, name: str, picked: object = None) -> Identity:
    listed = auth.users.get(name.strip().lower())
    if listed is not None:
        return Identity.make(name, listed.role, listed.tenants, via="demo")
    allowed = demo_roles(auth, name)
    role = next((r for r in allowed if r.value == picked), Role(auth.demo_role))
    return Identity.make(name, role, via="demo")


def methods(auth: AuthSettings, oidc_configured: bool) -> tuple[str, ...]:
    found = []
    if oidc_configured:
        found.append("oidc")
    if auth.proxy_header:
        found.append("proxy")
    if auth.demo and not found:
        found.append("demo")
    return tuple(found)


def _signed_in(auth: AuthSettings, name: str, via: str, offered: tuple[str, ...]) -> AppSignIn:
    user = auth.user(name)
    if user is None:
        return AppSignIn(UNAUTHORISED, who=name, via=via, methods=offered)
    identity = Identity.make(name, user.role, user.tenants, via=via)
    return AppSignIn(SIGNED_IN, identity=identity, who=name, via=via, methods=offered)


def resolve(auth: AuthSettings, facts: RequestFacts) -> AppSignIn:
    """The sign-in state of one run of the app (see the module docstring for the order)."""
    offered = methods(auth, facts.oidc_configured)
    notes: list[str] = []
    if auth.demo and "demo" not in offered:
        notes.append("Demo mode is off: a real sign-in (OIDC or a proxy header) is configured.")
    if facts.oidc_configured and facts.oidc_logged_in:
        name = clean_name(facts.oidc_email)
        if name is None:
            return AppSignIn(UNAUTHORISED, who="(an account without a usable e-mail address)",
                             via="oidc", methods=offered)
        return _signed_in(auth, name, "oidc", offered)
    if auth.proxy_header:
        if not auth.trusted_proxies:
            notes.append(f"auth.proxy_header is {auth.proxy_header!r} but "
                         "auth.trusted_proxies is empty: the header is never believed.")
        elif not facts.peer_direct:
            notes.append("auth.proxy_header needs the app started with FORWARDED_ALLOW_IPS set "
                         "empty (as the Procfile does): otherwise the peer address can come "
                         "from a client's X-Forwarded-For, and the header is not believed.")
        elif not peer_trusted(facts.peer, auth.trusted_proxies):
            notes.append("This request did not come through the trusted sign-in proxy.")
        else:
            name = proxy_name(facts.proxy_values)
            if name is not None:
                return _signed_in(auth, name, "proxy", offered)
            notes.append(f"The sign-in proxy sent no usable {auth.proxy_header} header.")
    if "demo" in offered and isinstance(facts.demo_name, str):
        name = facts.demo_name.strip()
        if name and demo_name_problem(name) is None:
            identity = demo_identity(auth, name, facts.demo_role)
            return AppSignIn(SIGNED_IN, identity=identity, who=name, via="demo",
                             methods=offered)
    return AppSignIn(ANONYMOUS, methods=offered, notes=tuple(notes))
