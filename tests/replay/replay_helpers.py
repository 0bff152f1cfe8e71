"""Replay test helpers: a real HTTP receiver on 127.0.0.1 and seeding of deliveries.

The receiver counts receipts per ``webhook-id``, remembers every request (headers, body,
arrival time), tracks concurrency per path, and answers per path with a behaviour:
status, headers, body, delay, or dropping the connection without an answer. It verifies
Standard Webhooks signatures for paths given a secret (401 on a bad one).

``accepted`` counts, per ``webhook-id``, the receipts a real receiver would have acted on:
answered 2xx (however late: a timeout on the sender's side is still a 2xx here), or read
and left without an answer (dropped). A non-2xx answer is a rejection: the receiver did
not take the message, so a later replay of it is no duplicate. Fault modes for
``Receiver.route``: ``TIMEOUT`` (answers 200 after the replay timeout), ``DROP`` (reads
the request, closes the connection), ``slow_200`` (answers 200 slowly, within it).
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from intel.deliveries.write import upsert_deliveries
from intel.secretbox import default_box
from intel.settings.replay import ReplaySettings
from intel.store.schema import endpoints

T0 = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class Answer:
    status: int | None = 200  # None: drop the connection without an answer
    headers: dict = field(default_factory=dict)
    body: str = '{"ok":true}'
    delay_s: float = 0.0


def timeout(after_s: float) -> Answer:
    """Accepts the request and answers 200 only after ``after_s`` (beyond the replay's
    timeout: the sender never learns it was received)."""
    return Answer(200, delay_s=after_s)


DROP = Answer(None)  # reads the whole request, then closes the connection unanswered


def slow_200(delay_s: float) -> Answer:
    """Answers 200 after ``delay_s`` (within the replay's timeout)."""
    return Answer(200, delay_s=delay_s)


@dataclass
class Receipt:
    path: str
    headers: dict
    body: bytes
    at: float
    verified: bool | None


class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.receipts: Counter = Counter()  # webhook-id -> times received
        self.accepted: Counter = Counter()  # webhook-id -> times taken (2xx or unanswered)
        self.requests: list[Receipt] = []
        self.routes: dict[str, Callable[[Receipt, int], Answer] | Answer] = {}
        self.secrets: dict[str, str] = {}  # path prefix -> secret to verify with
        self.in_flight: Counter = Counter()
        self.max_in_flight: Counter = Counter()
        self.calls: Counter = Counter()  # per path
        self.server: ThreadingHTTPServer | None = None
        self.scheme = "http"
        self.host = "127.0.0.1"

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str, host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def route(self, prefix: str, answer: Callable[[Receipt, int], Answer] | Answer) -> None:
        self.routes[prefix] = answer

    def answer_for(self, receipt: Receipt, n: int) -> Answer:
        for prefix in sorted(self.routes, key=len, reverse=True):
            if receipt.path.startswith(prefix):
                answer = self.routes[prefix]
                return answer(receipt, n) if callable(answer) else answer
        return Answer()

    def times_for(self, path: str) -> list[float]:
        return [r.at for r in self.requests if r.path == path]


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            path = self.path
            verified = None
            secret = next((s for p, s in receiver.secrets.items() if path.startswith(p)), None)
            if secret:
                try:
                    Webhook(secret).verify(body, headers, json_parse=False)
                    verified = True
                except WebhookVerificationError:
                    verified = False
            receipt = Receipt(path, headers, body, time.monotonic(), verified)
            with receiver.lock:
                receiver.receipts[headers.get("webhook-id")] += 1
                receiver.requests.append(receipt)
                receiver.calls[path] += 1
                n = receiver.calls[path]
                receiver.in_flight[path] += 1
                receiver.max_in_flight[path] = max(
                    receiver.max_in_flight[path], receiver.in_flight[path]
                )
            try:
                answer = receiver.answer_for(receipt, n)
                if verified is False:
                    answer = Answer(401, body='{"error":"invalid signature"}')
                if answer.status is None or 200 <= answer.status < 300:
                    with receiver.lock:
                        receiver.accepted[headers.get("webhook-id")] += 1
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                if answer.status is None:
                    self.close_connection = True
                    return
                data = answer.body.encode()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if not any(name.lower() == "content-type" for name in answer.headers):
                    self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                with receiver.lock:
                    receiver.in_flight[path] -= 1

    return Handler


class _Server(ThreadingHTTPServer):
    # a burst of replays connecting at once must not overflow the listen queue (the
    # default 5 makes connects time out, which the replay rightly calls never sent)
    request_queue_size = 256


def serve(receiver: Receiver, ssl_context: ssl.SSLContext | None = None) -> Receiver:
    """Start ``receiver`` on 127.0.0.1, an ephemeral port, in a daemon thread."""
    server = _Server(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    if ssl_context is not None:
        server.socket = ssl_context.wrap_socket(server.socket, server_side=True)
        receiver.scheme = "https"
        receiver.host = "localhost"
    receiver.server = server
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return receiver


def settings(**over) -> ReplaySettings:
    base = dict(allow_private_networks=True, timeout_s=5.0, global_rate_per_s=1000.0,
                per_endpoint_concurrency=2, heartbeat_s=0.2, runner_stale_after_s=2.0)
    base.update(over)
    return ReplaySettings(**base)


def delivery(i: int | str, endpoint: str, **over) -> dict:
    did = i if isinstance(i, str) else f"d{i:04d}"
    rec = {
        "id": did,
        "tenant": "acme",
        "endpoint": endpoint,
        "event_type": "invoice.paid",
        "status": "failed",
        "http_status": 503,
        "error": None,
        "response_headers": None,
        "response_body": "<html>503 Service Temporarily Unavailable</html>",
        "attempts": 1,
        "created_at": T0,
        "last_attempt_at": T0 + timedelta(seconds=1),
        "duration_ms": 12.0,
        "payload": {"id": did, "amount": 10, "note": "héllo"},
        "extra": None,
    }
    rec.update(over)
    return rec


def seed(engine, records: list[dict], secrets: dict[str, str] | None = None) -> None:
    """Store ``records`` and the endpoints' signing ``secrets`` (encrypted, as stored)."""
    with engine.begin() as conn:
        upsert_deliveries(conn, records, now=T0)
        for url, secret in (secrets or {}).items():
            conn.execute(endpoints.insert().values(url=url,
                                                   signing_secret=default_box().seal(secret),
                                                   disabled=False, updated_at=T0))


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
