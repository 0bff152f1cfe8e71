"""The job runner: sends a job's pending items, safely, and survives being killed.

One runner owns a job at a time: it takes the job with a conditional update (pending, or
running with a stale heartbeat, or failed when resumed explicitly) and beats every
``replay.heartbeat_s``; a runner that finds its beat refused has lost the job and stops
sending, and a runner that lost the job (paused past ``replay.runner_stale_after_s`` and
taken over) claims nothing more: every claim checks it still owns the job. On taking a
job it marks items a dead runner left ``sending`` as ``interrupted`` (an unknown
outcome: never re-sent automatically, see ``intel.replay.states``), then sends the
``pending`` ones:

* per endpoint at most ``replay.per_endpoint_concurrency`` in flight, in item order;
* across the job at most ``replay.global_rate_per_s`` started per second and
  ``replay.max_in_flight`` in flight;
* a 429 pauses that endpoint for its ``Retry-After`` or rate-limit reset header (read by
  ``intel.replay.retry_after``; none usable: ``replay.rate_limit_pause_s``) and the item
  is sent again after the pause, up to ``replay.rate_limit_retries`` times; a wait longer
  than ``replay.max_retry_after_s`` (``inf``, ``1e300`` ...) stops the endpoint's items;
* endpoint URLs in summaries, audit details and log lines are shown without credentials;
* a send that may have reached the receiver without an answer (a timeout after the
  request was written, a dropped connection) ends ``unknown``: never sent again
  automatically;
* ``replay.circuit_breaker_failures`` consecutive failures or unknown outcomes on an
  endpoint stop its remaining items (skipped, with the reason);
* a cancel request is read at each heartbeat: nothing more is sent, items in flight
  finish, the rest become ``cancelled``.

Where it runs: the CLI runs it in-process; the app starts it as a detached subprocess
(``intel.replay.background``) so a closed browser tab or a Streamlit restart does not
stop the job, and the page follows progress from the database. A job left ``running``
with a stale heartbeat is resumed by ``python -m intel replay --resume JOB`` and by the
next runner (``resume_stale_jobs``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import httpx
from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.exc import DBAPIError

from intel import audit
from intel.redact import redact_text, redact_url
from intel.replay import items as I
from intel.replay import jobs as J
from intel.replay import states as S
from intel.replay.sender import (
    FAILED,
    RATE_LIMITED,
    REFUSED,
    SUCCEEDED,
    UNKNOWN,
    SendResult,
    make_client,
    plan_rate_limit,
    send_replay,
    ssl_context_for,
)
from intel.settings.replay import ReplaySettings
from intel.store.schema import replay_items, replay_jobs
from intel.timeutil import utcnow

log = logging.getLogger(__name__)


def new_runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RateLimiter:
    """At most ``rate`` acquisitions per second, first come first served."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._next > now:
                await asyncio.sleep(self._next - now)
                now = self._next
            self._next = max(now, self._next) + self.interval


class WriteBatcher:
    """Coalesces the per-item transactions of concurrent sends into shared transactions.

    Each operation (a claim before a send, an outcome after it) still commits before its
    caller goes on: the caller awaits its own result. Operations queued at the same time
    share one transaction (sorted by delivery id, so two runners take row locks in the
    same order); if that transaction fails, each operation is retried alone so one bad
    item cannot take the others down.
    """

    MAX_BATCH = 64

    def __init__(self, runner: JobRunner, writers: int):
        self.runner = runner
        self.queue: asyncio.Queue = asyncio.Queue()
        self.tasks = [asyncio.create_task(self._writer()) for _ in range(writers)]

    async def submit(self, delivery_id: str, op: Callable):
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((delivery_id, op, future))
        return await future

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _writer(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            batch.sort(key=lambda entry: entry[0])
            try:
                results = await self.runner._db(self._run_together, [op for _d, op, _f in batch])
                outcomes = [(True, r) for r in results]
            except Exception:
                outcomes = []
                for _d, op, _f in batch:
                    try:
                        outcomes.append((True, await self.runner._db(self._run_alone, op)))
                    except Exception as exc:  # handed to the caller
                        outcomes.append((False, exc))
            for (_d, _op, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _run_together(self, ops: list[Callable]) -> list:
        with self.runner.engine.begin() as conn:
            return [op(conn) for op in ops]

    def _run_alone(self, op: Callable):
        with self.runner.engine.begin() as conn:
            return op(conn)


@dataclass
class EndpointState:
    url: str
    queue: deque = field(default_factory=deque)
    paused_until: float = 0.0
    consecutive_failures: int = 0
    stopped: str | None = None  # why its remaining items were skipped
    pauses: int = 0
    paused_s: float = 0.0
    sent: int = 0
    succeeded: int = 0
    retries: dict = field(default_factory=dict)  # delivery_id -> 429 retries

    @property
    def notable(self) -> bool:
        """Worth showing: paused, stopped, or failing."""
        return bool(self.pauses or self.stopped or self.consecutive_failures)

    def note(self) -> dict:
        return {
            "endpoint": redact_url(self.url),
            "sent": self.sent,
            "succeeded": self.succeeded,
            "queued": len(self.queue),
            "consecutive_failures": self.consecutive_failures,
            "pauses": self.pauses,
            "paused_s": round(self.paused_s, 1),
            "paused_for_s": round(max(0.0, self.paused_until - time.monotonic()), 1),
            "stopped": self.stopped,
        }


@dataclass
class RunResult:
    job_id: str
    ran: bool  # False: the job was not ours to run (finished, or another runner has it)
    status: str
    summary: dict
    message: str = ""


class JobRunner:
    """Runs one job. ``run()`` blocks until the job is finished, cancelled or lost."""

    def __init__(
        self,
        engine: Engine,
        job_id: str,
        settings: ReplaySettings,
        *,
        operator: str | None = None,
        runner_id: str | None = None,
        allow_failed: bool = False,
        clock: Callable[[], datetime] = utcnow,
        on_progress: Callable[[dict], None] | None = None,
        verify=True,
    ):
        self.engine = engine
        self.job_id = job_id
        self.settings = settings
        self.operator = operator
        self.runner_id = runner_id or new_runner_id()
        self.allow_failed = allow_failed
        self.clock = clock
        self.on_progress = on_progress
        self.verify = verify
        self.endpoints: dict[str, EndpointState] = {}
        self.counts: dict[str, int] = {}
        self.job: dict = {}
        self._stop: asyncio.Event | None = None
        self._cancelled = False
        self._lost = False
        self._executor: ThreadPoolExecutor | None = None
        self._writes: WriteBatcher | None = None

    # --- database, off the event loop -------------------------------------------------

    async def _db(self, fn, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))

    def _acquire(self) -> tuple[bool, dict | None, int]:
        now = self.clock()
        stale_before = now - timedelta(seconds=self.settings.runner_stale_after_s)
        jobs = replay_jobs
        takeable = [
            jobs.c.status == S.JOB_PENDING,
            and_(
                jobs.c.status == S.JOB_RUNNING,
                or_(jobs.c.runner_heartbeat_at.is_(None),
                    jobs.c.runner_heartbeat_at < stale_before),
            ),
        ]
        if self.allow_failed:
            takeable.append(jobs.c.status == S.JOB_FAILED)
        with self.engine.begin() as conn:
            job = conn.execute(select(jobs).where(jobs.c.id == self.job_id)).mappings()
            job = job.one_or_none()
            if job is None:
                return False, None, 0
            job = dict(job)
            taken = conn.execute(
                update(jobs)
                .where(jobs.c.id == self.job_id, or_(*takeable))
                .values(
                    status=S.JOB_RUNNING,
                    runner_id=self.runner_id,
                    runner_heartbeat_at=now,
                    started_at=job["started_at"] or now,
                    finished_at=None,
                )
            )
            if taken.rowcount != 1:
                return False, job, 0
            operator = self.operator or job["created_by"]
            interrupted = I.recover_interrupted(conn, self.job_id, operator=operator, now=now)
            counts = I.state_counts(conn, self.job_id)
            resumed = job["status"] != S.JOB_PENDING
            if job["source"] != "single":
                audit.record(
                    conn,
                    actor=operator,
                    action="replay.job.start",
                    at=now,
                    target_type="replay_job",
                    target_id=self.job_id,
                    summary=(
                        f"replay job {self.job_id} "
                        + (f"resumed ({interrupted} interrupted in flight, not re-sent)"
                           if resumed else "started")
                        + f": {counts[S.PENDING]} to send"
                    ),
                    details={
                        "runner_id": self.runner_id,
                        "resumed": resumed,
                        "previous_status": job["status"],
                        "previous_runner": job["runner_id"],
                        "interrupted": interrupted,
                        "pending": counts[S.PENDING],
                        "source": job["source"],
                        "created_by": job["created_by"],
                    },
                    tenant=J.job_tenant(conn, self.job_id),
                )
            return True, job, interrupted

    def _pending_items(self) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            return [
                (r.delivery_id, r.endpoint)
                for r in conn.execute(
                    select(replay_items.c.delivery_id, replay_items.c.endpoint)
                    .where(replay_items.c.job_id == self.job_id,
                           replay_items.c.state == S.PENDING)
                    .order_by(replay_items.c.position)
                )
            ]

    def _counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return I.state_counts(conn, self.job_id)

    def _beat(self, notes: list[dict]) -> tuple[bool, bool]:
        """Record the heartbeat; (still ours, cancel requested)."""
        now = self.clock()
        with self.engine.begin() as conn:
            done = conn.execute(
                update(replay_jobs)
                .where(
                    replay_jobs.c.id == self.job_id,
                    replay_jobs.c.runner_id == self.runner_id,
                    replay_jobs.c.status == S.JOB_RUNNING,
                )
                .values(runner_heartbeat_at=now, summary={"endpoints": notes})
            )
            if done.rowcount != 1:
                return False, False
            cancel = conn.execute(
                select(replay_jobs.c.cancel_requested).where(replay_jobs.c.id == self.job_id)
            ).scalar()
            return True, bool(cancel)

    async def _claim(self, delivery_id: str):
        resend = bool(self.job.get("resend_unknown"))
        return await self._writes.submit(
            delivery_id,
            lambda conn: I.claim_item(conn, self.job_id, delivery_id, self.clock(),
                                      runner_id=self.runner_id, resend_unknown=resend,
                                      operator=self._operator),
        )

    async def _finish(self, delivery_id: str, result: SendResult,
                      reason: str | None = None) -> str:
        return await self._writes.submit(
            delivery_id,
            lambda conn: I.finish_item(conn, self.job_id, delivery_id, result,
                                       operator=self._operator, now=self.clock(),
                                       reason=reason),
        )

    def _requeue(self, delivery_id: str, result: SendResult, reason: str) -> None:
        with self.engine.begin() as conn:
            I.requeue_item(conn, self.job_id, delivery_id, result, operator=self._operator,
                           now=self.clock(), reason=reason)

    def _skip(self, delivery_ids: list[str], reason: str) -> int:
        with self.engine.begin() as conn:
            return I.skip_pending(conn, self.job_id, delivery_ids, reason, self.clock())

    def _finalize(self, status: str) -> dict:
        now = self.clock()
        notes = {"endpoints": self._notes()}
        with self.engine.begin() as conn:
            owner = conn.execute(
                select(replay_jobs.c.runner_id).where(replay_jobs.c.id == self.job_id)
            ).scalar()
            if owner != self.runner_id:
                return {}
            left = I.state_counts(conn, self.job_id)
            if status == S.JOB_COMPLETED and (left[S.PENDING] or left[S.SENDING]):
                # Never report a job complete with items unsent: leave it resumable.
                status = S.JOB_FAILED
                notes["error"] = (
                    f"{left[S.PENDING] + left[S.SENDING]} item(s) were left unsent; "
                    f"resume the job (python -m intel replay --resume {self.job_id})"
                )
                log.error("replay job %s: %s", self.job_id, notes["error"])
            summary = I.finalize_job(conn, self.job_id, status, now, notes)
            started = self.job.get("started_at") or now
            details = {
                "status": status,
                "runner_id": self.runner_id,
                "duration_s": round((now - started).total_seconds(), 3),
                **{k: v for k, v in summary.items() if k != "endpoints"},
                "stopped_endpoints": [
                    {"endpoint": redact_url(ep.url), "reason": ep.stopped}
                    for ep in self.endpoints.values() if ep.stopped
                ],
            }
            if self.job.get("source") == "single":
                item = conn.execute(
                    select(replay_items.c.delivery_id, replay_items.c.state,
                           replay_items.c.http_status, replay_items.c.reason)
                    .where(replay_items.c.job_id == self.job_id)
                ).first()
                audit.record(
                    conn,
                    actor=self._operator,
                    action="replay.single",
                    at=now,
                    target_type="delivery",
                    target_id=item.delivery_id if item else None,
                    summary=f"replay of {item.delivery_id if item else '?'}: "
                    f"{item.state if item else status}"
                    + (f" (HTTP {item.http_status})" if item and item.http_status else ""),
                    details={
                        "job_id": self.job_id,
                        "outcome": item.state if item else status,
                        "http_status": item.http_status if item else None,
                        "reason": item.reason if item else None,
                    },
                    tenant=J.job_tenant(conn, self.job_id),
                )
            else:
                audit.record(
                    conn,
                    actor=self._operator,
                    action="replay.job.finish",
                    at=now,
                    target_type="replay_job",
                    target_id=self.job_id,
                    summary=(
                        f"replay job {self.job_id} {status}: {summary['succeeded']} succeeded, "
                        f"{summary['failed']} failed, {summary['unknown']} unknown, "
                        f"{summary['skipped']} skipped, "
                        f"{summary['refused']} refused, {summary['cancelled']} cancelled, "
                        f"{summary['interrupted']} interrupted"
                    ),
                    details=details,
                    tenant=J.job_tenant(conn, self.job_id),
                )
            return summary

    def _mark_failed(self, error: str) -> None:
        """The runner failed: items it left in flight are unknown outcomes
        (``interrupted``), the claims of items it never sent are released (a resume
        claims them again), the job is ``failed`` (resumable)."""
        with self.engine.begin() as conn:
            owner = conn.execute(
                select(replay_jobs.c.runner_id).where(replay_jobs.c.id == self.job_id)
            ).scalar()
            if owner == self.runner_id:
                I.recover_interrupted(conn, self.job_id, operator=self._operator,
                                      now=self.clock())
                I.release_queued(conn, self.job_id)
            conn.execute(
                update(replay_jobs)
                .where(replay_jobs.c.id == self.job_id,
                       replay_jobs.c.runner_id == self.runner_id)
                .values(status=S.JOB_FAILED, finished_at=self.clock(),
                        summary={"error": error[:2000]})
            )
            audit.record(
                conn,
                actor=self._operator,
                action="replay.job.finish",
                at=self.clock(),
                target_type="replay_job",
                target_id=self.job_id,
                summary=f"replay job {self.job_id} failed: {error[:200]}",
                details={"status": S.JOB_FAILED, "error": error[:2000],
                         "runner_id": self.runner_id},
                tenant=J.job_tenant(conn, self.job_id),
            )

    # --- the loop -------------------------------------------------------------------

    def _notes(self, limit: int = 50) -> list[dict]:
        """Endpoints worth showing (paused, stopped, failing), most troubled first."""
        notable = [ep for ep in self.endpoints.values() if ep.notable]
        notable.sort(key=lambda ep: (ep.stopped is None, -ep.consecutive_failures, ep.url))
        return [ep.note() for ep in notable[:limit]]

    @property
    def _operator(self) -> str:
        return self.operator or self.job.get("created_by") or audit.SYSTEM

    def run(self) -> RunResult:
        sqlite = self.engine.dialect.name == "sqlite"
        self._executor = ThreadPoolExecutor(max_workers=1 if sqlite else 4,
                                            thread_name_prefix="replay-db")
        try:
            return asyncio.run(self._main())
        finally:
            self._executor.shutdown(wait=True)

    def _progress(self) -> None:
        if self.on_progress is not None:
            try:
                self.on_progress(dict(self.counts))
            except Exception:  # a progress display must never stop a job
                log.exception("progress callback failed")

    def _count(self, state: str, n: int = 1, pending_too: bool = True) -> None:
        self.counts[state] = self.counts.get(state, 0) + n
        if pending_too:
            self.counts[S.PENDING] = self.counts.get(S.PENDING, 0) - n
        self._progress()

    async def _main(self) -> RunResult:
        acquired, job, _interrupted = await self._db(self._acquire)
        if job is None:
            return RunResult(self.job_id, False, "unknown", {}, f"no replay job {self.job_id}")
        if not acquired:
            summary = await self._db(J.job_summary, self.engine, self.job_id,
                                     include_items=False)
            why = (
                "is already " + job["status"]
                if job["status"] in S.JOB_FINISHED
                else f"is being run by {job['runner_id']}"
                if job["status"] == S.JOB_RUNNING
                else f"is {job['status']}"
            )
            return RunResult(self.job_id, False, job["status"], summary or {},
                             f"replay job {self.job_id} {why}")
        self.job = job
        self.job["started_at"] = job["started_at"] or self.clock()
        try:
            status = await self._send_all()
        except Exception as exc:
            log.exception("replay job %s: runner failed", self.job_id)
            await self._db(self._mark_failed, redact_text(f"{type(exc).__name__}: {exc}"))
            raise
        if self._lost:
            summary = await self._db(J.job_summary, self.engine, self.job_id,
                                     include_items=False)
            return RunResult(self.job_id, False, S.JOB_RUNNING, summary or {},
                             f"replay job {self.job_id} was taken over by another runner")
        summary = await self._db(self._finalize, status)
        return RunResult(self.job_id, True, status, summary)

    async def _send_all(self) -> str:
        s = self.settings
        self._stop = asyncio.Event()
        self.counts = await self._db(self._counts)
        pending = await self._db(self._pending_items)
        for delivery_id, endpoint in pending:
            self.endpoints.setdefault(endpoint, EndpointState(endpoint)).queue.append(delivery_id)
        self._progress()
        limiter = RateLimiter(s.global_rate_per_s)
        in_flight = asyncio.Semaphore(s.max_in_flight)
        sqlite = self.engine.dialect.name == "sqlite"
        self._writes = WriteBatcher(self, writers=1 if sqlite else 2)
        beat = asyncio.create_task(self._heartbeat())
        # Cancel requested before this runner started: nothing is sent.
        ours, cancel = await self._db(self._beat, [])
        if not ours:
            self._lost = True
            self._stop.set()
        elif cancel:
            self._cancelled = True
            self._stop.set()
        # One small connection pool per endpoint (httpx's pool costs grow with its size),
        # all on one TLS context and the same pinned, checked connections.
        tls = ssl_context_for(self.verify)
        clients: dict[str, httpx.AsyncClient] = {}

        def client_for(ep: EndpointState) -> httpx.AsyncClient:
            client = clients.get(ep.url)
            if client is None:
                client = clients[ep.url] = make_client(
                    allow_private_networks=s.allow_private_networks,
                    timeout_s=s.timeout_s,
                    max_connections=s.per_endpoint_concurrency,
                    verify=tls,
                )
            return client

        try:
            workers = [
                asyncio.create_task(self._worker(ep, client_for, limiter, in_flight))
                for ep in self.endpoints.values()
                for _ in range(min(s.per_endpoint_concurrency, len(ep.queue)))
            ]
            if workers:
                await asyncio.gather(*workers)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            await self._writes.close()
            for client in clients.values():
                await client.aclose()
        return S.JOB_CANCELLED if self._cancelled else S.JOB_COMPLETED

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_s)
            notes = self._notes()
            try:
                ours, cancel = await self._db(self._beat, notes)
            except Exception:  # a missed beat is not fatal; the next one may work
                log.exception("replay job %s: heartbeat failed", self.job_id)
                continue
            if not ours:
                log.warning("replay job %s: taken over by another runner; stopping",
                            self.job_id)
                self._lost = True
                self._stop.set()
                return
            if cancel and not self._cancelled:
                log.info("replay job %s: cancel requested; stopping", self.job_id)
                self._cancelled = True
                self._stop.set()

    async def _wait(self, seconds: float) -> None:
        """Sleep ``seconds`` or until the job is stopped."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    async def _worker(self, ep: EndpointState, client_for, limiter: RateLimiter,
                      in_flight: asyncio.Semaphore) -> None:
        s = self.settings
        while not self._stop.is_set() and ep.stopped is None and ep.queue:
            pause = ep.paused_until - time.monotonic()
            if pause > 0:
                await self._wait(pause)
                continue
            delivery_id = ep.queue.popleft()
            async with in_flight:
                await limiter.acquire()
                if (self._stop.is_set() or ep.stopped is not None
                        or ep.paused_until > time.monotonic()):
                    await self._give_back(ep, delivery_id)
                    continue
                claim = await self._claim(delivery_id)
                if claim is I.NOT_MINE:  # another runner of this job has it
                    continue
                if isinstance(claim, I.Skipped):
                    self._count(S.SKIPPED)
                    continue
                self._count(S.SENDING)
                ep.sent += 1
                result = await send_replay(
                    client_for(ep),
                    delivery_id=delivery_id,
                    url=claim.endpoint,
                    payload=claim.payload,
                    secret=claim.secret,
                    timeout_s=s.timeout_s,
                    body_excerpt_chars=s.body_excerpt_chars,
                    clock=self.clock,
                    forward_credentials=s.forward_url_credentials,
                )
            await self._handle(ep, delivery_id, result)

    async def _handle(self, ep: EndpointState, delivery_id: str, result: SendResult) -> None:
        s = self.settings
        self.counts[S.SENDING] = self.counts.get(S.SENDING, 0) - 1
        if result.outcome == RATE_LIMITED:
            retries = ep.retries.get(delivery_id, 0)
            plan = plan_rate_limit(
                result, retries, max_retry_after_s=s.max_retry_after_s,
                rate_limit_pause_s=s.rate_limit_pause_s, rate_limit_retries=s.rate_limit_retries,
            )
            if plan.action == "stop":
                await self._finish(delivery_id, result, plan.reason)
                self._count(S.FAILED, pending_too=False)
                await self._stop_endpoint(ep, plan.reason)
                return
            if plan.action == "give_up":
                await self._finish(delivery_id, result, plan.reason)
                self._count(S.FAILED, pending_too=False)
                return
            ep.retries[delivery_id] = retries + 1
            ep.pauses += 1
            ep.paused_s += plan.pause_s
            ep.paused_until = max(ep.paused_until, time.monotonic() + plan.pause_s)
            await self._db(self._requeue, delivery_id, result, plan.reason)
            self._count(S.PENDING, pending_too=False)
            await self._give_back(ep, delivery_id)
            return
        state = await self._finish(delivery_id, result)
        self._count(state, pending_too=False)
        if result.outcome == SUCCEEDED:
            ep.succeeded += 1
            ep.consecutive_failures = 0
        elif result.outcome in (FAILED, UNKNOWN):
            ep.consecutive_failures += 1
            if ep.consecutive_failures >= s.circuit_breaker_failures and ep.stopped is None:
                last = f"HTTP {result.http_status}" if result.http_status else result.error
                await self._stop_endpoint(
                    ep,
                    f"circuit breaker: {ep.consecutive_failures} consecutive failures on this "
                    f"endpoint (last: {last}); its remaining items were not sent",
                )
        elif result.outcome == REFUSED:
            pass  # nothing was sent; the refusal is per destination, not a failure streak

    async def _give_back(self, ep: EndpointState, delivery_id: str) -> None:
        """Return a popped, unsent item: to the front of its queue, or, when its endpoint
        was stopped meanwhile, skipped with the endpoint's reason (never left pending)."""
        if ep.stopped is None:
            ep.queue.appendleft(delivery_id)
            return
        n = await self._db(self._skip, [delivery_id], ep.stopped)
        self._count(S.SKIPPED, n)

    async def _stop_endpoint(self, ep: EndpointState, reason: str) -> None:
        if ep.stopped is not None:
            return
        ep.stopped = reason
        remaining = list(ep.queue)
        ep.queue.clear()
        if remaining:
            n = await self._db(self._skip, remaining, reason)
            self._count(S.SKIPPED, n)
        log.info("replay job %s: %s: %s", self.job_id, redact_url(ep.url), redact_text(reason))


def run_job(
    engine: Engine,
    job_id: str,
    settings: ReplaySettings,
    *,
    operator: str | None = None,
    allow_failed: bool = False,
    on_progress: Callable[[dict], None] | None = None,
    verify=True,
) -> RunResult:
    """Run (or resume) ``job_id`` in this process until it finishes."""
    runner = JobRunner(engine, job_id, settings, operator=operator, allow_failed=allow_failed,
                       on_progress=on_progress, verify=verify)
    return runner.run()


def resume_stale_jobs(
    engine: Engine, settings: ReplaySettings, *, now: datetime | None = None
) -> list[RunResult]:
    """Run every job nobody runs (a dead runner's, or a pending one never started), one
    after another."""
    now = now or utcnow()
    results = []
    for job_id in J.stale_job_ids(engine, now, settings.runner_stale_after_s):
        log.info("replay job %s: nobody runs it (stale or never started); resuming", job_id)
        try:
            results.append(run_job(engine, job_id, settings))
        except DBAPIError as exc:
            # e.g. a deadlock with a stalled runner that resumed meanwhile: the job is left
            # as it was (never half-taken: one transaction), for the next runner
            log.warning("replay job %s: could not be resumed now: %s", job_id,
                        redact_text(str(exc).splitlines()[0]))
            results.append(RunResult(job_id, False, "unknown", {},
                                     f"replay job {job_id} could not be resumed now"))
    return results
