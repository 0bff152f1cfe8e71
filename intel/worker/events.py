"""Publishing to Redis (optional): incident transitions on a channel, and a copy of the
heartbeat under a key with a TTL, for anything that wants push updates.

Redis is never required: while it is down the worker logs it once, retries with
backoff, and keeps detecting; publishing resumes when Redis is back.
"""

from __future__ import annotations

import json
import logging
import time

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "intel:heartbeat:detector"


class RedisEvents:
    def __init__(self, url: str, channel: str, backoff_max_s: float = 30.0,
                 clock=time.monotonic):
        self.url = url
        self.channel = channel
        self.backoff_max_s = backoff_max_s
        self.clock = clock
        self._client = None
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._backoff = 1.0
        self.published = 0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def _connect(self):
        if self._client is None:
            import redis

            self._client = redis.Redis.from_url(self.url, socket_connect_timeout=1,
                                                socket_timeout=1)
        return self._client

    def _run(self, action) -> bool:
        now = self.clock()
        if self.down and now < self._retry_at:
            return False
        try:
            action(self._connect())
        except Exception as exc:  # redis.ConnectionError, TimeoutError, ...
            if not self.down:
                log.warning("Redis unavailable (%s); detection goes on, retrying with backoff",
                            exc)
                self._down_since = now
                self._backoff = 1.0
            else:
                self._backoff = min(self._backoff * 2, self.backoff_max_s)
            self._retry_at = now + self._backoff
            self._client = None
            return False
        if self.down:
            log.info("Redis is back after %.0f s", now - self._down_since)
            self._down_since = None
        return True

    def heartbeat(self, info: dict, ttl_s: int) -> bool:
        text = json.dumps(info, default=str)
        return self._run(lambda r: r.set(HEARTBEAT_KEY, text, ex=max(int(ttl_s), 1)))

    def publish(self, messages: list[dict]) -> bool:
        if not messages:
            return True

        def send(r):
            pipe = r.pipeline()
            for m in messages:
                pipe.publish(self.channel, json.dumps(m, default=str))
            pipe.execute()

        ok = self._run(send)
        if ok:
            self.published += len(messages)
        return ok
