"""One replay over HTTP: build the signed request, send it, describe what came back."""

from __future__ import annotations

import email.utils
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpcore
import httpx

from intel import __version__
from intel.replay.safety import OutboundPolicy, OutboundRefused, PinnedBackend, check_url
from intel.replay.signing import BadSecret, encode_payload, webhook_headers
from intel.timeutil import utcnow

USER_AGENT = f"AetherLink-Replay/{__version__}"

SUCCEEDED = "succeeded"
FAILED = "failed"
REFUSED = "refused"
RATE_LIMITED = "rate_limited"  # a 429: the receiver refused it; may be sent again later


@dataclass(frozen=True)
class SendResult:
    """What one send did. ``outcome`` is succeeded | failed | refused | rate_limited."""

    outcome: str
    started_at: datetime
    finished_at: datetime
    http_status: int | None = None
    error: str | None = None
    headers: dict | None = None
    body: str | None = None
    duration_ms: float | None = None
    retry_after_s: float | None = None

    @property
    def sent(self) -> bool:
        """True when a request went out (everything but a refusal)."""
        return self.outcome != REFUSED


def ssl_context_for(verify=True) -> ssl.SSLContext:
    """One TLS context (loading the CA bundle is slow: share it between clients)."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    return httpx.create_ssl_context(verify=verify, trust_env=False)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, with its connection pool on the checking, pinning backend."""

    def __init__(
        self, policy: OutboundPolicy, *, limits: httpx.Limits, verify=True, resolver=None
    ):
        ssl_context = ssl_context_for(verify)
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(policy, resolver=resolver),
        )


def make_client(
    *,
    allow_private_networks: bool,
    timeout_s: float,
    max_connections: int = 100,
    verify=True,
    resolver=None,
) -> httpx.AsyncClient:
    """The client replays go through: pinned, no proxies from the environment, no redirects.

    ``verify`` is httpx's (True, or an ``ssl.SSLContext`` with extra trust); ``resolver``
    replaces the system resolver (``intel.replay.safety.Resolver``).
    """
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    transport = PinnedTransport(
        OutboundPolicy(allow_private_networks=allow_private_networks),
        limits=limits,
        verify=verify,
        resolver=resolver,
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or an HTTP date), or None."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - now).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def describe_error(exc: BaseException, timeout_s: float) -> str:
    """A transport error as an operator reads it (kept close to what clients print)."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timeout: connecting took longer than {timeout_s:g} s"
    if isinstance(exc, httpx.ReadTimeout):
        return f"timeout: no response within {timeout_s:g} s"
    if isinstance(exc, httpx.WriteTimeout):
        return f"timeout: sending the body took longer than {timeout_s:g} s"
    if isinstance(exc, httpx.PoolTimeout):
        return f"timeout: no free connection within {timeout_s:g} s"
    if isinstance(exc, httpx.ConnectError):
        return f"connect error: {exc}" if str(exc) else "connect error"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"connection closed without a complete response: {exc}"
    if isinstance(exc, httpx.ReadError):
        return f"read error: {exc}"
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"


async def send_replay(
    client: httpx.AsyncClient,
    *,
    delivery_id: str,
    url: str,
    payload: object,
    secret: str | None,
    timeout_s: float,
    body_excerpt_chars: int = 2000,
    clock: Callable[[], datetime] = utcnow,
    extra_headers: dict | None = None,
) -> SendResult:
    """Send one replay of ``delivery_id``'s payload to ``url`` and describe the outcome."""
    started = clock()
    reason = check_url(url)
    message = encode_payload(payload)
    if reason is None and message is None:
        reason = "refused: the delivery has no stored payload to replay"
    headers: dict = {}
    if reason is None:
        try:
            headers = webhook_headers(delivery_id, message.body, started, secret)
        except BadSecret as exc:
            reason = f"refused: {exc}"
    if reason is not None:
        return SendResult(REFUSED, started, clock(), error=reason, duration_ms=0.0)
    headers["content-type"] = message.content_type
    if extra_headers:
        headers.update(extra_headers)
    t0 = time.perf_counter()
    try:
        async with client.stream("POST", url, content=message.body, headers=headers) as resp:
            chunks: list[bytes] = []
            size = 0
            limit = body_excerpt_chars * 4  # bytes enough for that many characters
            async for chunk in resp.aiter_bytes():
                if size < limit:
                    chunks.append(chunk)
                size += len(chunk)
                if size >= limit:
                    break
            raw = b"".join(chunks)
            text = raw.decode(resp.encoding or "utf-8", errors="replace")[:body_excerpt_chars]
            status = resp.status_code
            resp_headers = dict(resp.headers.items())
            retry_header = resp.headers.get("retry-after")
    except OutboundRefused as exc:
        return SendResult(REFUSED, started, clock(), error=str(exc), duration_ms=0.0)
    except (httpx.HTTPError, OSError) as exc:
        duration = (time.perf_counter() - t0) * 1000.0
        return SendResult(
            FAILED, started, clock(), error=describe_error(exc, timeout_s), duration_ms=duration
        )
    duration = (time.perf_counter() - t0) * 1000.0
    finished = clock()
    if 200 <= status < 300:
        outcome = SUCCEEDED
    elif status == 429:
        outcome = RATE_LIMITED
    else:
        outcome = FAILED
    retry_after = parse_retry_after(retry_header, finished)
    return SendResult(
        outcome,
        started,
        finished,
        http_status=status,
        headers=resp_headers,
        body=text,
        duration_ms=duration,
        retry_after_s=retry_after,
    )
