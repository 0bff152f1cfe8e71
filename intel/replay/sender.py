"""One replay over HTTP: build the signed request, send it, describe what came back.

Everything that comes back is the receiver's to choose, so describing it never raises:
any status, any headers (a ``Retry-After`` of ``inf`` or ``1e300``, a charset that is
not a text encoding), any body. The wait a 429 asks for is read by
``intel.replay.retry_after`` (the advisor's parser too); stored headers are capped to
``limits.max_headers_bytes`` and the body to ``replay.body_excerpt_chars``.

An endpoint URL's ``user:password@`` is stripped before sending (httpx would send it as
Basic auth) unless ``replay.forward_url_credentials`` is on; error texts never carry it.
The endpoint's signing secret arrives encrypted and is decrypted here, right before
signing (``intel.secretbox``).
"""

from __future__ import annotations

import codecs
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx

from intel import __version__
from intel.deliveries.caps import cap_headers, storable_text
from intel.redact import redact_text
from intel.replay.retry_after import RetryHint, retry_hint
from intel.replay.safety import OutboundPolicy, OutboundRefused, PinnedBackend, check_url
from intel.replay.signing import BadSecret, encode_payload, webhook_headers
from intel.secretbox import SecretBox, SecretError, default_box
from intel.settings.limits import LimitSettings
from intel.timeutil import utcnow

USER_AGENT = f"AetherLink-Replay/{__version__}"

SUCCEEDED = "succeeded"
FAILED = "failed"
REFUSED = "refused"
UNKNOWN = "unknown"  # the request may have been received (see ``classify_error``)
RATE_LIMITED = "rate_limited"  # a 429: the receiver refused it; may be sent again later

#: Transport errors raised before any byte of the request can have reached the receiver:
#: DNS, connection refused, connect or TLS handshake failure or timeout (httpx raises
#: ``ConnectError``/``ConnectTimeout`` for all of them), no free pooled connection, a URL
#: or request httpx would not send.
NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    httpx.InvalidURL,
)


def classify_error(exc: BaseException) -> str:
    """The outcome of a send that raised ``exc`` before a response status arrived:
    ``failed`` when the request provably never left (``NEVER_SENT``), else ``unknown``
    (a read or write timeout, a connection closed or reset after connecting, anything
    unforeseen: the receiver may have the request)."""
    return FAILED if isinstance(exc, NEVER_SENT) else UNKNOWN


@dataclass(frozen=True)
class SendResult:
    """What one send did. ``outcome`` is succeeded | failed | refused | unknown |
    rate_limited (see ``intel.replay.states`` for the outcome rule)."""

    outcome: str
    started_at: datetime
    finished_at: datetime
    http_status: int | None = None
    error: str | None = None
    headers: dict | None = None
    body: str | None = None
    duration_ms: float | None = None
    retry_after_s: float | None = None
    retry_after_capped: bool = False  # the receiver asked for longer than any cap
    retry_after_from: str | None = None  # "Retry-After: 120"

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


def describe_error(exc: BaseException, timeout_s: float) -> str:
    """A transport error as an operator reads it (kept close to what clients print),
    without any credentials a URL in it carries (nor a character no store holds)."""
    return storable_text(redact_text(_describe_error(exc, timeout_s)))


def _describe_error(exc: BaseException, timeout_s: float) -> str:
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
    return f"{type(exc).__name__}: {exc}"


def outbound_url(url: str, forward_credentials: bool = False) -> str:
    """The URL a replay connects to: without its ``user:password@`` unless forwarding is
    on (httpx turns a URL's userinfo into a Basic ``Authorization`` header)."""
    if forward_credentials or "@" not in url:
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _charset(content_type: object) -> str | None:
    if not isinstance(content_type, str):
        return None
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def decode_body(raw: bytes, content_type: object = None) -> str:
    """The body as text: its declared charset when that is a text encoding (``base64``,
    ``zlib`` and such codecs are not), else UTF-8; undecodable bytes replaced."""
    name = _charset(content_type)
    encoding = "utf-8"
    if name:
        try:
            info = codecs.lookup(name)
            if getattr(info, "_is_text_encoding", True):
                encoding = info.name
        except (LookupError, ValueError, TypeError):
            pass
    try:
        return raw.decode(encoding, errors="replace")
    except Exception:  # a codec that still cannot decode: plain UTF-8
        return raw.decode("utf-8", errors="replace")


def describe_response(
    *,
    started: datetime,
    finished: datetime,
    status: object,
    headers: object,
    body: bytes,
    duration_ms: float | None,
    body_excerpt_chars: int = 2000,
    limits: LimitSettings | None = None,
) -> SendResult:
    """What a response means for the replay (pure; never raises for any status, headers
    or body): succeeded (2xx), rate_limited (429, with the wait it asked for) or failed."""
    limits = limits or LimitSettings()
    code = status if isinstance(status, int) and not isinstance(status, bool) else None
    if code is not None and 200 <= code < 300:
        outcome = SUCCEEDED
    elif code == 429:
        outcome = RATE_LIMITED
    else:
        outcome = FAILED
    pairs: dict = {}
    if isinstance(headers, Mapping):
        items = list(headers.items())
    elif isinstance(headers, list | tuple):
        items = [item for item in headers if isinstance(item, list | tuple) and len(item) == 2]
    else:
        items = []
    for name, value in items:
        key = name.decode("latin-1") if isinstance(name, bytes | bytearray) else str(name)
        text = value.decode("latin-1") if isinstance(value, bytes | bytearray) else str(value)
        key, text = storable_text(key.lower()), storable_text(text)
        pairs[key] = f"{pairs[key]}, {text}" if key in pairs else text
    stored, _cut = cap_headers(pairs, limits.max_headers_bytes)
    hint: RetryHint | None = retry_hint(pairs, finished) if outcome == RATE_LIMITED else None
    # no NUL (PostgreSQL text cannot hold one) nor unpaired surrogate (utf-7 makes them)
    text = storable_text(
        decode_body(body if isinstance(body, bytes) else b"", pairs.get("content-type"))
    )
    return SendResult(
        outcome,
        started,
        finished,
        http_status=code if code is not None and 100 <= code <= 999 else None,
        headers=dict(stored),
        body=text[:max(0, body_excerpt_chars)],
        duration_ms=duration_ms,
        retry_after_s=hint.seconds if hint else None,
        retry_after_capped=hint.capped if hint else False,
        retry_after_from=hint.describe() if hint else None,
    )


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
    forward_credentials: bool = False,
    secret_box: SecretBox | None = None,
    limits: LimitSettings | None = None,
) -> SendResult:
    """Send one replay of ``delivery_id``'s payload to ``url`` and describe the outcome.

    ``secret`` is the endpoint's stored (encrypted) signing secret, opened with
    ``secret_box`` (default: the process's, ``intel.secretbox.default_box``).
    """
    started = clock()
    reason = check_url(url)
    message = encode_payload(payload)
    if reason is None and message is None:
        reason = "refused: the delivery has no stored payload to replay"
    headers: dict = {}
    if reason is None:
        try:
            plain = (secret_box or default_box()).open(secret) if secret else None
            headers = webhook_headers(delivery_id, message.body, started, plain)
        except SecretError as exc:
            reason = f"refused: the endpoint's signing secret cannot be used: {exc}"
        except BadSecret as exc:
            reason = f"refused: {exc}"
    if reason is not None:
        return SendResult(REFUSED, started, clock(), error=redact_text(reason), duration_ms=0.0)
    headers["content-type"] = message.content_type
    if extra_headers:
        headers.update(extra_headers)
    target = outbound_url(url, forward_credentials)
    t0 = time.perf_counter()
    status: int | None = None
    resp_headers: list = []
    chunks: list[bytes] = []
    limit = body_excerpt_chars * 4  # bytes enough for that many characters
    try:
        async with client.stream("POST", target, content=message.body, headers=headers) as resp:
            # The receiver answered: from here on its status is the outcome, even if
            # reading the body fails.
            status = resp.status_code
            resp_headers = list(resp.headers.raw)
            size = 0
            async for chunk in resp.aiter_bytes():
                if size < limit:
                    chunks.append(chunk)
                size += len(chunk)
                if size >= limit:
                    break
    except OutboundRefused as exc:
        return SendResult(REFUSED, started, clock(), error=redact_text(str(exc)),
                          duration_ms=0.0)
    except (httpx.HTTPError, OSError) as exc:
        if status is None:
            duration = (time.perf_counter() - t0) * 1000.0
            return SendResult(classify_error(exc), started, clock(),
                              error=describe_error(exc, timeout_s), duration_ms=duration)
    raw = b"".join(chunks)[:limit]
    duration = (time.perf_counter() - t0) * 1000.0
    return describe_response(
        started=started, finished=clock(), status=status, headers=resp_headers, body=raw,
        duration_ms=duration, body_excerpt_chars=body_excerpt_chars, limits=limits,
    )


@dataclass(frozen=True)
class RateLimitPlan:
    """What the runner does after a 429: ``pause`` the endpoint ``pause_s`` and send the
    item again, ``give_up`` on the item (too many retries), or ``stop`` the endpoint (it
    asked to wait longer than ``replay.max_retry_after_s``)."""

    action: str
    pause_s: float
    reason: str


def plan_rate_limit(result: SendResult, retries: int, *, max_retry_after_s: float,
                    rate_limit_pause_s: float, rate_limit_retries: int) -> RateLimitPlan:
    """The runner's answer to a 429 (pure)."""
    wait = result.retry_after_s
    source = result.retry_after_from or "Retry-After"
    if wait is not None and (result.retry_after_capped or wait > max_retry_after_s):
        asked = f"more than {wait:g} s" if result.retry_after_capped else f"{wait:g} s"
        return RateLimitPlan(
            "stop", 0.0,
            f"rate-limited: the endpoint asked to wait {asked} ({source}), longer than "
            f"replay.max_retry_after_s ({max_retry_after_s:g} s)",
        )
    if retries >= rate_limit_retries:
        return RateLimitPlan("give_up", 0.0,
                             f"rate-limited: still HTTP 429 after {retries} retries")
    pause = wait if wait is not None else rate_limit_pause_s
    return RateLimitPlan(
        "pause", pause,
        f"rate-limited (HTTP 429): endpoint paused {pause:g} s "
        + (f"as {source} asked" if wait is not None else "(no usable Retry-After)")
        + f"; retry {retries + 1} of {rate_limit_retries}",
    )
