"""The sidecar worker loop (``python -m intel worker``).

* Ticks fall on multiples of ``worker.interval_s`` (UTC), run ``worker.tick_lag_s`` after
  their instant. After a pause (or a takeover) the missed ticks since the last completed
  one — the heartbeat says which — are replayed in order, up to ``worker.catchup_max_s``;
  the incidents' dedup keys (and the database's unique index on active ones) keep a
  replayed tick from opening anything twice.
* Exactly one worker acts: the holder of the lease (``intel.worker.lease``). The leader
  renews it several times per lease; standbys poll it at the same pace and take over
  once it lapses — within ``lease_ttl_s`` plus a poll, i.e. within a tick.
* A database outage is logged once, retried with exponential backoff (up to
  ``worker.backoff_max_s``) and resumed from where it stopped; Redis is optional and
  its outages never stop detection (``intel.worker.events``).
* ``stop`` (set by SIGTERM/SIGINT in the CLI) ends the loop between ticks; the lease is
  released so a standby takes over at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from intel.incidents.queries import incident_body
from intel.redact import redact_text
from intel.timeutil import to_rfc3339, utcnow
from intel.worker import heartbeat, lease
from intel.worker.events import RedisEvents
from intel.worker.notify import Notifier
from intel.worker.tick import Detector, TickResult

log = logging.getLogger(__name__)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def check_interval(interval_s: float) -> int:
    if interval_s < 1 or interval_s != int(interval_s):
        raise ValueError(f"worker.interval_s must be a whole number of seconds >= 1, "
                         f"got {interval_s!r}")
    return int(interval_s)


class Worker:
    def __init__(
        self,
        engine: Engine,
        settings,
        *,
        holder: str | None = None,
        redis_url: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.engine = engine
        self.settings = settings
        self.interval = check_interval(settings.worker.interval_s)
        self.holder = holder or worker_id()
        self.clock = clock
        self.detector = Detector(settings, self.interval)
        notes = settings.notifications
        self.notifier = (Notifier(notes.webhook_url, notes.timeout_s, notes.retries,
                                  notes.app_url) if notes.webhook_url else None)
        self.events = (RedisEvents(redis_url, notes.redis_channel,
                                   settings.worker.backoff_max_s) if redis_url else None)
        self.is_leader = False
        self.last_tick: datetime | None = None
        self.ticks = 0
        self.last_result: TickResult | None = None
        self._db_down_since: float | None = None
        self._backoff = 1.0

    # -- timing --------------------------------------------------------------------------

    def _floor(self, when: datetime) -> datetime:
        lagged = when.timestamp() - self.settings.worker.tick_lag_s
        return datetime.fromtimestamp(lagged // self.interval * self.interval, UTC)

    def due_ticks(self, now: datetime) -> list[datetime]:
        """Tick instants to run now: the latest one, and any missed since the last."""
        latest = self._floor(now)
        if self.last_tick is None:
            return [latest]
        if latest <= self.last_tick:
            return []
        oldest = latest - timedelta(seconds=self.settings.worker.catchup_max_s)
        first = self.last_tick + timedelta(seconds=self.interval)
        if first < oldest:
            skipped = (oldest - first).total_seconds() // self.interval
            log.warning("paused for %s: skipping %d ticks older than catchup_max_s",
                        latest - self.last_tick, skipped)
            first = self._floor(oldest + timedelta(seconds=self.settings.worker.tick_lag_s))
        out = []
        t = first
        while t <= latest:
            out.append(t)
            t += timedelta(seconds=self.interval)
        return out

    def _wait(self, now: datetime) -> float:
        poll = max(self.settings.worker.lease_ttl_s / 3.0, 0.05)
        if not self.is_leader:
            return poll
        nxt = self._floor(now) + timedelta(
            seconds=self.interval + self.settings.worker.tick_lag_s)
        return max(min((nxt - now).total_seconds(), poll), 0.01)

    # -- one iteration -------------------------------------------------------------------

    def step(self) -> float:
        """Take/renew the lease, run the due ticks if leader; seconds to wait next."""
        now = self.clock()
        ttl = self.settings.worker.lease_ttl_s
        leader = lease.acquire(self.engine, self.holder, now, ttl)
        if leader and not self.is_leader:
            log.info("%s is the detector leader", self.holder)
            self.detector.reset()
            with self.engine.connect() as conn:
                self.last_tick = heartbeat.last_tick_at(conn)
        elif not leader and self.is_leader:
            log.warning("%s lost the detector lease; standing by", self.holder)
            self.detector.reset()
        self.is_leader = leader
        if leader:
            for at in self.due_ticks(now):
                self.run_tick(at)
        return self._wait(self.clock())

    def run_tick(self, at: datetime) -> TickResult:
        started = time.perf_counter()
        wall = self.clock()
        ttl = self.settings.worker.lease_ttl_s
        with self.engine.begin() as conn:
            lease.fence(conn, self.holder, wall, ttl)
            result = self.detector.tick(conn, at)
            duration = (time.perf_counter() - started) * 1000
            info = heartbeat.tick_info(
                at, interval_s=self.interval, active=result.active,
                timings_ms={k: round(v, 1) for k, v in result.timings_ms.items()},
            )
            heartbeat.beat(conn, self.holder, wall, duration, info)
        self.last_tick = at
        self.last_result = result
        self.ticks += 1
        if result.notable:
            log.info("tick %s: %s", to_rfc3339(at), redact_text(", ".join(
                f"{t.kind} {t.incident.dedup_key}" for t in result.notable)))
        if self.notifier is not None:
            self.notifier.notify(result.transitions)
        if self.events is not None:
            self.events.publish([
                {"kind": t.kind, "at": to_rfc3339(at), "incident": incident_body(t.incident, at)}
                for t in result.notable
            ])
            self.events.heartbeat({**info, "holder": self.holder, "beat_at": to_rfc3339(wall)},
                                  int(self.settings.worker.stale_after_s))
        return result

    # -- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        log.info("worker %s: ticks every %d s (buckets of %d s)", self.holder, self.interval,
                 self.detector.bucket_s)
        while not stop.is_set():
            try:
                wait = self.step()
                if self._db_down_since is not None:
                    log.info("database is back after %.0f s",
                             time.monotonic() - self._db_down_since)
                    self._db_down_since = None
                self._backoff = 1.0
            except lease.LeaseLost as exc:
                log.warning("%s", exc)
                self.is_leader = False
                self.detector.reset()
                wait = 0.0
            except (OperationalError, DBAPIError) as exc:
                if self._db_down_since is None:
                    self._db_down_since = time.monotonic()
                    log.warning("database unavailable (%s); retrying with backoff",
                                str(exc).splitlines()[0][:300])
                wait = self._backoff
                self._backoff = min(self._backoff * 2, self.settings.worker.backoff_max_s)
            stop.wait(wait)
        self.shutdown()

    def shutdown(self) -> None:
        if self.is_leader:
            try:
                lease.release(self.engine, self.holder, self.clock())
                log.info("%s released the detector lease", self.holder)
            except (OperationalError, DBAPIError) as exc:
                log.warning("could not release the lease: %s", exc)
            self.is_leader = False
        if self.notifier is not None:
            self.notifier.close()
