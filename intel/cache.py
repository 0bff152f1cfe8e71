"""A TTL cache for JSON-able results: Redis when it answers, process memory otherwise.

``ResultCache.get_or_compute(query, params, compute)`` returns the cached value of
``compute()`` for ``query`` and ``params`` (a JSON-able mapping), computing and storing
it on a miss. Keys are ``<namespace>:<query>:<hash of params>`` (for example
``intel:insights:endpoints:3f2a...``); values are JSON text with a TTL.

Without ``REDIS_URL``, or while Redis is down, the in-process TTL cache answers and the
caller sees no difference. A failed Redis call marks Redis down for ``retry_s`` seconds;
after that the next call tries it again (redis-py reconnects by itself), so the cache
goes back to Redis when Redis comes back. Every value is also written to the memory
cache, so a Redis outage starts from warm memory rather than from nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "intel:insights"


def params_hash(params: Mapping[str, Any]) -> str:
    """A short, stable hash of a JSON-able mapping (key order does not matter)."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:24]


class MemoryTTLCache:
    """A bounded, thread-safe TTL map of text values (least recently used goes first)."""

    def __init__(self, *, max_entries: int = 2048, clock: Callable[[], float] = time.monotonic):
        self._data: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, value = item
            if expires <= self._clock():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    def set(self, key: str, value: str, ttl_s: float) -> None:
        with self._lock:
            self._data[key] = (self._clock() + ttl_s, value)
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)

    def ttl(self, key: str) -> float | None:
        with self._lock:
            item = self._data.get(key)
            return None if item is None else max(0.0, item[0] - self._clock())

    def delete_prefix(self, prefix: str) -> int:
        with self._lock:
            keys = [k for k in self._data if k.startswith(prefix)]
            for k in keys:
                del self._data[k]
            return len(keys)

    def __len__(self) -> int:
        return len(self._data)


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    redis_errors: int = 0
    last_source: str = ""  # "redis" | "memory" | "computed"


class ResultCache:
    """Redis-first TTL cache with an in-process fallback."""

    def __init__(
        self,
        redis_url: str | None,
        *,
        ttl_s: float = 300,
        namespace: str = DEFAULT_NAMESPACE,
        retry_s: float = 5.0,
        timeout_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        memory: MemoryTTLCache | None = None,
    ):
        if ttl_s < 0:
            raise ValueError(f"cache ttl_s must be >= 0, got {ttl_s}")
        self.ttl_s = ttl_s
        self.namespace = namespace.rstrip(":")
        self.retry_s = retry_s
        self._clock = clock
        self.memory = memory or MemoryTTLCache(clock=clock)
        self.stats = CacheStats()
        self._redis_url = redis_url
        self._redis = None
        self._down_until = 0.0
        self._lock = threading.Lock()
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(
                redis_url,
                socket_connect_timeout=timeout_s,
                socket_timeout=timeout_s,
                health_check_interval=30,
            )

    # --- keys -----------------------------------------------------------------

    def key(self, query: str, params: Mapping[str, Any]) -> str:
        if not query or ":" in query:
            raise ValueError(f"cache query name must be non-empty without ':', got {query!r}")
        return f"{self.namespace}:{query}:{params_hash(params)}"

    # --- state ----------------------------------------------------------------

    @property
    def configured_redis(self) -> bool:
        return self._redis is not None

    @property
    def backend(self) -> str:
        """``redis`` when Redis is configured and not marked down, else ``memory``."""
        return "redis" if self._redis_usable() else "memory"

    def _redis_usable(self) -> bool:
        return self._redis is not None and self._clock() >= self._down_until

    def _redis_failed(self, exc: Exception) -> None:
        with self._lock:
            first = self._down_until <= self._clock()
            self._down_until = self._clock() + self.retry_s
            self.stats.redis_errors += 1
        if first:
            log.warning(
                "Redis cache unavailable (%s); using the in-process cache, retrying in %.0f s",
                exc, self.retry_s,
            )

    def _redis_call(self, fn: Callable[[Any], Any]) -> tuple[bool, Any]:
        """(ok, result) of ``fn(client)``; a Redis failure marks Redis down: (False, None)."""
        if not self._redis_usable():
            return False, None
        import redis

        try:
            return True, fn(self._redis)
        except (redis.RedisError, OSError) as exc:
            self._redis_failed(exc)
            return False, None

    # --- use ------------------------------------------------------------------

    def get(self, key: str) -> Any | None:
        """The cached value (decoded), or None on a miss."""
        ok, raw = self._redis_call(lambda r: r.get(key))
        if ok:
            if raw is not None:
                self.stats.last_source = "redis"
                return json.loads(raw)
            return None
        text = self.memory.get(key)
        if text is not None:
            self.stats.last_source = "memory"
            return json.loads(text)
        return None

    def set(self, key: str, value: Any) -> None:
        if self.ttl_s <= 0:
            return
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
        self.memory.set(key, text, self.ttl_s)
        self._redis_call(lambda r: r.set(key, text, ex=max(1, round(self.ttl_s))))

    def get_or_compute(
        self, query: str, params: Mapping[str, Any], compute: Callable[[], Any]
    ) -> Any:
        """The cached result for (query, params), or ``compute()`` stored for ``ttl_s``."""
        key = self.key(query, params)
        value = self.get(key)
        if value is not None:
            self.stats.hits += 1
            return value
        self.stats.misses += 1
        value = compute()
        self.set(key, value)
        self.stats.last_source = "computed"
        # Hand back what a later hit would return: plain JSON types only.
        return json.loads(json.dumps(value, allow_nan=False))

    def invalidate(self, query: str | None = None) -> int:
        """Drop cached values of ``query`` (or of the whole namespace)."""
        prefix = f"{self.namespace}:{query}:" if query else f"{self.namespace}:"
        dropped = self.memory.delete_prefix(prefix)

        def _drop(r) -> int:
            keys = list(r.scan_iter(match=prefix + "*", count=500))
            return r.delete(*keys) if keys else 0

        ok, n = self._redis_call(_drop)
        return dropped + (int(n) if ok and n else 0)

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()


@lru_cache(maxsize=4)
def _shared_cache(redis_url: str | None, ttl_s: float, retry_s: float) -> ResultCache:
    return ResultCache(redis_url, ttl_s=ttl_s, retry_s=retry_s)


def get_cache() -> ResultCache:
    """The process-wide insights cache: ``REDIS_URL``, ``insights.cache_ttl_s`` and
    ``insights.redis_retry_s`` (one per distinct setting, e.g. when REDIS_URL changes)."""
    from intel.settings import get_settings, redis_url

    section = get_settings().insights
    return _shared_cache(redis_url(), float(section.cache_ttl_s), float(section.redis_retry_s))
