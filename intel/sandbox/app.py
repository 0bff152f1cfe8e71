"""The sandbox: local HTTP endpoints that answer like the simulated customers' endpoints.

``POST /hooks/<tenant>/<slug>`` answers as ``intel.simulate.behaviour.endpoint_behaviour``
says the endpoint ``{base}/hooks/<tenant>/<slug>`` answers *now*, following the
simulator's scenario in the database (``sim_events``, re-read every
``replay.sandbox_reload_s`` so live mode's new events take effect): an outage that
recovers, permanent 401/404/410, rate limiting with ``Retry-After``, slow answers, and
connections that fail (closed without an answer). Before that it checks the Standard
Webhooks signature with the endpoint's secret (``endpoints.signing_secret``) and answers
401 when it does not verify. The stored secrets are encrypted (``intel.secretbox``): the
sandbox plays the customer's receiver, so it decrypts them here, in its own process, to
verify; a secret it cannot decrypt (no or wrong ``INTEL_SECRET_KEY``) is answered 500
with the reason, never accepted unverified.

``GET /_sandbox/health`` says whether the scenario is loaded; ``GET /_sandbox/stats``
counts what arrived (per ``webhook-id``, per endpoint, per answer), so a caller can check
that nothing arrived twice.

A minimal ASGI app (no framework), served by uvicorn with ``AbortableH11Protocol``: the
one thing ASGI cannot say is "drop the connection without an answer", so the protocol
keeps each connection's transport where the app can abort it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from uvicorn.protocols.http.h11_impl import H11Protocol

from intel.secretbox import SecretBox, SecretError, default_box
from intel.store.schema import endpoints
from intel.timeutil import to_rfc3339, utcnow

log = logging.getLogger(__name__)

HOOKS_PREFIX = "/hooks/"
MAX_BODY = 5 * 1024 * 1024

# (client host, client port) -> asyncio transport of that connection
_TRANSPORTS: dict[tuple, asyncio.BaseTransport] = {}


class AbortableH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, registering each connection's transport by peer address."""

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        if peer:
            self._sandbox_peer = (str(peer[0]), int(peer[1]))
            _TRANSPORTS[self._sandbox_peer] = transport

    def connection_lost(self, exc) -> None:
        peer = getattr(self, "_sandbox_peer", None)
        if peer is not None:
            _TRANSPORTS.pop(peer, None)
        super().connection_lost(exc)


class Sandbox:
    """The sandbox's state: scenario, secrets and counters; ``__call__`` is the ASGI app."""

    def __init__(
        self,
        engine: Engine,
        *,
        base_url: str,
        reload_s: float = 5.0,
        clock: Callable[[], datetime] = utcnow,
        verify_signatures: bool = True,
        secret_box: SecretBox | None = None,
    ):
        self.engine = engine
        self.secret_box = secret_box
        self.base_url = base_url.rstrip("/")
        self.reload_s = reload_s
        self.clock = clock
        self.verify_signatures = verify_signatures
        self.scenario = None
        self.secrets: dict[str, str] = {}
        self.loaded_at: float | None = None
        self.load_error: str | None = None
        self._reload_lock = threading.Lock()
        self.receipts: Counter = Counter()
        self.per_endpoint: Counter = Counter()
        self.answers: Counter = Counter()
        self.requests = 0

    # --- scenario -----------------------------------------------------------------

    def reload(self) -> None:
        """Re-read the scenario and the endpoints' secrets (blocking; run off the loop)."""
        from intel.simulate.behaviour import load_scenario

        with self._reload_lock:
            try:
                scenario = load_scenario(self.engine)
                with self.engine.connect() as conn:
                    secrets = {
                        url: secret
                        for url, secret in conn.execute(
                            select(endpoints.c.url, endpoints.c.signing_secret)
                        )
                        if secret
                    }
            except Exception as exc:  # keep serving the last good scenario
                self.load_error = f"{type(exc).__name__}: {exc}"
                log.warning("sandbox: reloading the scenario failed: %s", self.load_error)
                self.loaded_at = time.monotonic()
                return
            self.scenario, self.secrets = scenario, secrets
            self.loaded_at = time.monotonic()
            self.load_error = None

    async def _fresh(self) -> None:
        if self.loaded_at is None or time.monotonic() - self.loaded_at >= self.reload_s:
            await asyncio.to_thread(self.reload)

    # --- ASGI -----------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/_sandbox/health":
            await self._fresh()
            await self._json(send, 200, {
                "ok": self.scenario is not None,
                "base_url": self.base_url,
                "endpoints_with_secret": len(self.secrets),
                "load_error": self.load_error,
                "now": to_rfc3339(self.clock()),
            })
            return
        if path == "/_sandbox/stats":
            await self._json(send, 200, self.stats())
            return
        if not path.startswith(HOOKS_PREFIX):
            await self._json(send, 404, {"error": "not found", "path": path})
            return
        body = await self._body(receive)
        if body is None:
            await self._json(send, 413, {"error": "body too large"})
            return
        await self._hook(scope, send, path, body)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await asyncio.to_thread(self.reload)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _body(self, receive) -> bytes | None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    async def _hook(self, scope, send, path: str, body: bytes) -> None:
        from intel.simulate.behaviour import endpoint_behaviour

        await self._fresh()
        url = self.base_url + path
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.requests += 1
        self.receipts[headers.get("webhook-id", "")] += 1
        self.per_endpoint[url] += 1
        stored = self.secrets.get(url)
        if self.verify_signatures and stored:
            try:
                secret = (self.secret_box or default_box()).open(stored)
            except SecretError as exc:
                self.answers[500] += 1
                await self._json(send, 500, {"error": f"sandbox: {exc}"})
                return
            try:
                Webhook(secret).verify(body, headers, json_parse=False)
            except (WebhookVerificationError, ValueError) as exc:
                self.answers[401] += 1
                await self._json(send, 401, {"error": f"webhook signature: {exc}"})
                return
        if self.scenario is None:
            self.answers[503] += 1
            await self._json(send, 503, {"error": "sandbox: no scenario loaded",
                                         "detail": self.load_error})
            return
        behaviour = endpoint_behaviour(self.scenario, url, self.clock())
        if behaviour.delay_s:
            await asyncio.sleep(behaviour.delay_s)
        if behaviour.http_status is None:
            self.answers["dropped"] += 1
            await self._drop(scope, send)
            return
        self.answers[behaviour.http_status] += 1
        data = behaviour.body.encode("utf-8")
        out_headers = [(k.encode("latin-1"), str(v).encode("latin-1"))
                       for k, v in behaviour.headers.items()
                       if k.lower() not in ("content-length",)]
        if not any(k.lower() == b"content-type" for k, _v in out_headers):
            out_headers.append((b"content-type", b"text/plain; charset=utf-8"))
        out_headers.append((b"content-length", str(len(data)).encode()))
        await send({"type": "http.response.start", "status": behaviour.http_status,
                    "headers": out_headers})
        await send({"type": "http.response.body", "body": data})

    async def _drop(self, scope, send) -> None:
        client = scope.get("client")
        transport = _TRANSPORTS.get((str(client[0]), int(client[1]))) if client else None
        if transport is not None:
            transport.abort()
            await asyncio.sleep(0.01)  # let the server see the disconnect
            return
        # Served without AbortableH11Protocol: the closest thing is a broken response.
        await send({"type": "http.response.start", "status": 502, "headers": []})
        raise ConnectionAbortedError("sandbox: dropping the connection")

    @staticmethod
    async def _json(send, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    def stats(self) -> dict:
        return {
            "requests": self.requests,
            "distinct_webhook_ids": len(self.receipts),
            "received_more_than_once": sum(1 for n in self.receipts.values() if n > 1),
            "answers": {str(k): v for k, v in self.answers.items()},
            "per_endpoint": dict(self.per_endpoint.most_common(50)),
        }
