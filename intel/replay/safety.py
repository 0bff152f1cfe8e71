"""Outbound safety: where a replay may connect (SSRF protection).

A replay goes only to ``http`` or ``https`` URLs. The destination's host is resolved at
connection time and *every* address it resolves to is checked; the connection is then
made to one of those checked addresses (``PinnedBackend``), so a DNS answer that changes
between a check and the connection (DNS rebinding) cannot reach an internal address. TLS
still uses the URL's hostname for SNI and certificate verification, and the ``Host``
header is the URL's, because httpx/httpcore build both from the URL; only the socket is
pinned.

Address classes (``classify_address``):

* ``loopback``, ``private`` (RFC 1918, IPv6 unique-local), ``link-local`` and ``CGNAT``
  (100.64.0.0/10): refused unless ``replay.allow_private_networks`` is on (the demo's
  sandbox lives on 127.0.0.1).
* ``cloud-metadata`` (169.254.169.254, fd00:ec2::254, 169.254.170.2, 100.100.100.200),
  ``unspecified`` (0.0.0.0, ::), ``multicast`` and ``reserved`` (anything else that is not
  globally routable): refused always, whatever the setting.

IPv4 addresses embedded in IPv6 (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, Teredo, NAT64
``64:ff9b::/96``) are judged by the IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress
import socket
import typing
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = ("http", "https")

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")

#: Classes a replay may reach only with ``replay.allow_private_networks`` on.
PRIVATE_CLASSES = frozenset({"loopback", "private", "link-local", "CGNAT"})
#: Classes a replay never reaches.
ALWAYS_REFUSED = frozenset({"cloud-metadata", "unspecified", "multicast", "reserved"})

_DESCRIBE = {
    "loopback": "a loopback address",
    "private": "a private-network address",
    "link-local": "a link-local address",
    "CGNAT": "a carrier-grade NAT (100.64.0.0/10) address",
    "cloud-metadata": "a cloud metadata service address",
    "unspecified": "the unspecified address",
    "multicast": "a multicast address",
    "reserved": "a reserved, non-routable address",
}


class OutboundRefused(Exception):
    """The destination is not allowed; ``str(exc)`` says why (shown to operators)."""


@dataclass(frozen=True)
class OutboundPolicy:
    allow_private_networks: bool = False


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    if addr in NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def classify_address(addr: IPAddress | str) -> str | None:
    """The address class of ``addr`` (see the module docstring), or None when public."""
    if isinstance(addr, str):
        addr = ipaddress.ip_address(addr.split("%", 1)[0])
    if addr in METADATA_ADDRESSES:
        return "cloud-metadata"
    if isinstance(addr, ipaddress.IPv6Address):
        inner = _embedded_ipv4(addr)
        if inner is not None:
            return classify_address(inner)
    if addr.is_unspecified:
        return "unspecified"
    if addr.is_loopback:
        return "loopback"
    if addr.is_link_local:
        return "link-local"
    if isinstance(addr, ipaddress.IPv4Address) and addr in CGNAT:
        return "CGNAT"
    if addr.is_multicast:
        return "multicast"
    if addr.is_reserved:
        return "reserved"
    if addr.is_private:
        return "private"
    if not addr.is_global:
        return "reserved"
    return None


def refusal_for_address(host: str, addr: IPAddress | str, policy: OutboundPolicy) -> str | None:
    """Why a connection to ``addr`` (resolved from ``host``) is refused, or None."""
    cls = classify_address(addr)
    if cls is None:
        return None
    shown = str(addr)
    what = f"{shown} is" if host.strip("[]") == shown else f"{host} resolves to {shown},"
    if cls in ALWAYS_REFUSED:
        return f"refused: {what} {_DESCRIBE[cls]} (never allowed)"
    if policy.allow_private_networks:
        return None
    return (
        f"refused: {what} {_DESCRIBE[cls]}; replays to private networks are off "
        "(replay.allow_private_networks)"
    )


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be a replay destination (scheme or host), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"refused: not a valid URL ({exc})"
    scheme = (parts.scheme or "").lower()
    if scheme not in ALLOWED_SCHEMES:
        return f"refused: scheme {scheme or '(none)'!r} is not allowed (only http and https)"
    if not parts.hostname:
        return "refused: the URL has no host"
    return None


Resolver = typing.Callable[[str, int], typing.Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host``, in its order, de-duplicated."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


async def resolve_checked(
    host: str, port: int, policy: OutboundPolicy, resolver: Resolver | None = None
) -> list[str]:
    """Every address ``host`` resolves to, all checked; raises ``OutboundRefused``.

    One refused address refuses the host: a name that answers with a mix of public and
    internal addresses is exactly what DNS rebinding looks like.
    """
    literal = host.strip("[]")
    try:
        addresses = [str(ipaddress.ip_address(literal.split("%", 1)[0]))]
    except ValueError:
        addresses = await (resolver or system_resolver)(host, port)
    if not addresses:
        raise httpcore.ConnectError(f"DNS: {host} resolved to no address")
    for address in addresses:
        reason = refusal_for_address(host, address, policy)
        if reason:
            raise OutboundRefused(reason)
    return addresses


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks and connects in one step: the socket goes to a checked address."""

    def __init__(
        self,
        policy: OutboundPolicy,
        inner: httpcore.AsyncNetworkBackend | None = None,
        resolver: Resolver | None = None,
    ):
        self.policy = policy
        self.resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await resolve_checked(host, port, self.policy, self.resolver)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"DNS: resolving {host} timed out") from None
        except OSError as exc:  # socket.gaierror, or a resolver's own error: nothing sent
            raise httpcore.ConnectError(f"DNS: cannot resolve {host}: {exc}") from None
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise OutboundRefused("refused: unix sockets are not a replay destination")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
