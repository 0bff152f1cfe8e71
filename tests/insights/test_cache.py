"""The insights cache: real Redis keys with a 300 s TTL, and the in-process fallback when
Redis is absent or stopped (a throwaway redis-server killed mid-test)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis

from intel.cache import MemoryTTLCache, ResultCache, params_hash
from intel.insights.api import endpoints_body, load_insights
from tests.insights.world import NOW, A, build_world, delivery, write


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Counter:
    def __init__(self, value) -> None:
        self.value = value
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.value


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ({"period": "24h", "limit": 10}, {"limit": 10, "period": "24h"}, True),
        ({"period": "24h", "limit": 10}, {"period": "7d", "limit": 10}, False),
        ({"by": ["tenant", "hour"]}, {"by": ["hour", "tenant"]}, False),
    ],
)
def test_params_hash(a, b, same):
    assert (params_hash(a) == params_hash(b)) is same


def test_key_format():
    cache = ResultCache(None)
    key = cache.key("endpoints", {"period": "24h", "limit": 10})
    prefix, query, digest = key.rsplit(":", 2)
    assert prefix == "intel:insights" and query == "endpoints" and len(digest) == 24
    with pytest.raises(ValueError, match="query name"):
        cache.key("a:b", {})


def test_memory_cache_expires_and_evicts():
    clock = Clock()
    memory = MemoryTTLCache(max_entries=2, clock=clock)
    memory.set("a", "1", 10)
    memory.set("b", "2", 10)
    assert memory.get("a") == "1"  # a is now the most recently used
    memory.set("c", "3", 10)
    assert memory.get("b") is None and memory.get("a") == "1"
    clock.t += 10
    assert memory.get("a") is None


def test_without_redis_the_memory_cache_answers():
    clock = Clock()
    cache = ResultCache(None, ttl_s=300, clock=clock)
    compute = Counter({"x": 1})
    assert cache.backend == "memory"
    assert cache.get_or_compute("q", {"p": 1}, compute) == {"x": 1}
    assert cache.get_or_compute("q", {"p": 1}, compute) == {"x": 1}
    assert compute.calls == 1 and cache.stats.last_source == "memory"
    clock.t += 301
    cache.get_or_compute("q", {"p": 1}, compute)
    assert compute.calls == 2


def test_results_are_copies():
    cache = ResultCache(None)
    value = cache.get_or_compute("q", {}, lambda: {"rows": [1]})
    value["rows"].append(2)
    assert cache.get_or_compute("q", {}, lambda: {"rows": []}) == {"rows": [1]}


def test_ttl_zero_disables_caching():
    cache = ResultCache(None, ttl_s=0)
    compute = Counter({"x": 1})
    cache.get_or_compute("q", {}, compute)
    cache.get_or_compute("q", {}, compute)
    assert compute.calls == 2


@pytest.mark.redis
def test_redis_keys_hold_json_with_a_300s_ttl(redis_url):
    cache = ResultCache(redis_url, ttl_s=300)
    compute = Counter({"rows": [1, 2]})
    assert cache.get_or_compute("endpoints", {"period": "24h"}, compute) == {"rows": [1, 2]}
    assert cache.get_or_compute("endpoints", {"period": "24h"}, compute) == {"rows": [1, 2]}
    assert compute.calls == 1 and cache.stats.last_source == "redis"
    client = redis.Redis.from_url(redis_url)
    key = cache.key("endpoints", {"period": "24h"})
    assert json.loads(client.get(key)) == {"rows": [1, 2]}
    assert 295 <= client.ttl(key) <= 300
    client.close()
    cache.close()


@pytest.mark.redis
def test_insights_bodies_are_cached_in_redis(engine, redis_url):
    build_world(engine)
    cache = ResultCache(redis_url, ttl_s=300)
    first = load_insights(engine, now=NOW, period="24h", cache=cache)
    client = redis.Redis.from_url(redis_url)
    keys = sorted(k.decode() for k in client.scan_iter("intel:insights:*"))
    assert [k.split(":")[2] for k in keys] == sorted(
        ["adoption", "endpoints", "operators", "recommendations", "system-health", "tenants"]
    )
    for key in keys:
        assert 295 <= client.ttl(key) <= 300
    # A new failure is not seen until the entry expires or is invalidated.
    write(engine, [delivery(A, "t1", "failed", NOW.replace(minute=0), http_status=503)])
    again = endpoints_body(engine, now=NOW, period="24h", cache=cache)
    assert again == first["endpoints"]
    assert cache.invalidate("endpoints") >= 1
    fresh = endpoints_body(engine, now=NOW, period="24h", cache=cache)
    assert fresh["endpoints"][0]["failures"] == first["endpoints"]["endpoints"][0]["failures"] + 1
    client.close()
    cache.close()


# --- Redis stopped mid-test ----------------------------------------------------------------


def _start_redis(sock: Path) -> subprocess.Popen:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    proc = subprocess.Popen(
        [server, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no",
         "--dir", str(sock.parent)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if redis.Redis(unix_socket_path=str(sock)).ping():
                return proc
        except redis.RedisError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail("throwaway redis-server did not start")


def _stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=10)


@pytest.fixture
def throwaway_redis(tmp_path):
    sock = tmp_path / "redis.sock"
    procs = [_start_redis(sock)]
    yield sock, procs
    for proc in procs:
        if proc.poll() is None:
            _stop(proc)


@pytest.mark.redis
def test_fallback_while_redis_is_down_and_back_when_it_returns(throwaway_redis):
    sock, procs = throwaway_redis
    clock = Clock()
    cache = ResultCache(f"unix://{sock}", ttl_s=300, retry_s=5, clock=clock, timeout_s=0.5)
    client = redis.Redis(unix_socket_path=str(sock))
    one = Counter({"v": 1})
    assert cache.get_or_compute("q", {"k": 1}, one) == {"v": 1}
    assert client.exists(cache.key("q", {"k": 1})) and cache.backend == "redis"

    _stop(procs[0])  # Redis goes away
    two = Counter({"v": 2})
    started = time.monotonic()
    assert cache.get_or_compute("q", {"k": 2}, two) == {"v": 2}
    assert cache.get_or_compute("q", {"k": 2}, two) == {"v": 2}  # served from memory
    assert cache.get_or_compute("q", {"k": 1}, one) == {"v": 1}  # warm from write-through
    assert time.monotonic() - started < 2
    assert (one.calls, two.calls) == (1, 1)
    assert cache.backend == "memory" and cache.stats.redis_errors == 1

    procs.append(_start_redis(sock))  # Redis comes back (empty)
    three = Counter({"v": 3})
    assert cache.get_or_compute("q", {"k": 3}, three) == {"v": 3}
    assert not client.exists(cache.key("q", {"k": 3}))  # still within retry_s: memory
    clock.t += 6
    assert cache.backend == "redis"
    assert cache.get_or_compute("q", {"k": 4}, Counter({"v": 4})) == {"v": 4}
    key = cache.key("q", {"k": 4})
    assert client.exists(key) and 295 <= client.ttl(key) <= 300
    client.close()
    cache.close()


@pytest.mark.redis
def test_insights_load_the_same_with_redis_stopped(engine, throwaway_redis):
    sock, procs = throwaway_redis
    build_world(engine)
    expected = load_insights(engine, now=NOW, period="7d")
    cache = ResultCache(f"unix://{sock}", ttl_s=300)
    assert load_insights(engine, now=NOW, period="7d", cache=cache) == expected
    _stop(procs[0])
    cache.invalidate()
    assert load_insights(engine, now=NOW, period="7d", cache=cache) == expected
    assert cache.backend == "memory"
    cache.close()
