"""Bulk replay jobs against a real local server: preview, limits, Retry-After, circuit
breaker, cancel, overlapping jobs, audit; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from intel.audit import AuditFilter, list_events
from intel.replay import jobs as J
from intel.replay.runner import JobRunner, run_job
from intel.store.schema import replay_items, replay_jobs
from intel.timeutil import utcnow
from tests.replay.replay_helpers import T0, Answer, delivery, seed, settings, wait_for


def _items(engine, job_id):
    with engine.connect() as conn:
        return {
            r.delivery_id: r
            for r in conn.execute(sa.select(replay_items).where(replay_items.c.job_id == job_id))
        }


def test_job_is_persisted_with_preview_before_it_starts(engine, receiver):
    a, b = receiver.url("/a"), receiver.url("/b")
    seed(engine, [delivery(i, a) for i in range(3)] + [delivery(10, b, tenant="beta"),
                                                         delivery(11, b, status="delivered",
                                                                  tenant="beta")])
    ids = ["d0000", "d0001", "d0002", "d0010", "d0011", "d0001"]  # duplicate folded
    job_id, preview = J.create_job(engine, ids, operator="alice", source="manual", now=T0,
                                   filters={"why": "test"})
    assert preview.count == 5 and preview.already_delivered == 1 and preview.to_send == 4
    assert preview.endpoints[0] == {"endpoint": a, "tenant": "acme", "count": 3}
    assert preview.tenants == ["acme", "beta"]
    job = J.get_job(engine, job_id)
    assert job["status"] == "pending" and job["total"] == 5
    assert job["preview"]["endpoints"][1]["endpoint"] == b
    assert [r.position for r in sorted(_items(engine, job_id).values(),
                                       key=lambda r: r.position)] == [0, 1, 2, 3, 4]
    assert not receiver.requests  # nothing sent at creation
    (event,) = list_events(engine, AuditFilter(action_prefix="replay.job.create"))[0]
    assert event["actor"] == "alice" and event["details"]["count"] == 5
    assert event["details"]["delivery_ids"][:2] == ["d0000", "d0001"]


def test_unknown_ids_write_nothing(engine, receiver):
    seed(engine, [delivery(1, receiver.url("/a"))])
    with pytest.raises(J.UnknownDeliveries, match="nope"):
        J.create_job(engine, ["d0001", "nope"], operator="a", source="cli", now=T0)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(replay_jobs)).scalar() == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"operator": "", "source": "cli"}, "operator"),
        ({"operator": "a", "source": "bogus"}, "source"),
    ],
)
def test_bad_job_input(sqlite_engine, kwargs, message):
    engine = sqlite_engine
    with pytest.raises(J.JobError, match=message):
        J.create_job(engine, ["x"], now=T0, **kwargs)


def test_bulk_job_succeeds_and_is_audited(engine, receiver):
    urls = [receiver.url(f"/ep{e}") for e in range(4)]
    seed(engine, [delivery(i, urls[i % 4]) for i in range(40)])
    job_id, _ = J.create_job(engine, [f"d{i:04d}" for i in range(40)], operator="bob",
                             source="manual", now=T0)
    result = run_job(engine, job_id, settings(per_endpoint_concurrency=3))
    assert result.ran and result.status == "completed"
    assert result.summary["succeeded"] == 40
    assert all(n == 1 for n in receiver.receipts.values()) and len(receiver.receipts) == 40
    summary = J.job_summary(engine, job_id)
    assert summary["attempted"] == 40 and len(summary["deliveries"]) == 40
    assert {d["outcome"] for d in summary["deliveries"]} == {"succeeded"}
    actions = [e["action"] for e in list_events(engine, AuditFilter(action_prefix="replay"))[0]]
    assert actions == ["replay.job.finish", "replay.job.start", "replay.job.create"]
    finish = list_events(engine, AuditFilter(action_prefix="replay.job.finish"))[0][0]
    assert finish["details"]["succeeded"] == 40 and finish["actor"] == "bob"


def test_per_endpoint_concurrency_is_respected(sqlite_engine, receiver):
    engine = sqlite_engine
    receiver.route("/", Answer(200, delay_s=0.05))
    urls = [receiver.url("/one"), receiver.url("/two")]
    seed(engine, [delivery(i, urls[i % 2]) for i in range(24)])
    job_id, _ = J.create_job(engine, [f"d{i:04d}" for i in range(24)], operator="a",
                             source="cli", now=T0)
    run_job(engine, job_id, settings(per_endpoint_concurrency=2))
    assert receiver.max_in_flight["/one"] == 2
    assert receiver.max_in_flight["/two"] == 2


def test_global_rate_is_respected(sqlite_engine, receiver):
    engine = sqlite_engine
    urls = [receiver.url(f"/r{e}") for e in range(5)]
    seed(engine, [delivery(i, urls[i % 5]) for i in range(11)])
    job_id, _ = J.create_job(engine, [f"d{i:04d}" for i in range(11)], operator="a",
                             source="cli", now=T0)
    run_job(engine, job_id, settings(global_rate_per_s=20.0, per_endpoint_concurrency=4))
    times = sorted(r.at for r in receiver.requests)
    assert times[-1] - times[0] >= 10 / 20.0 * 0.9  # 11 starts at 20/s: >= 0.5 s apart


def test_retry_after_pauses_the_endpoint_and_the_item_is_sent_again(sqlite_engine, receiver):
    engine = sqlite_engine
    receiver.route(
        "/limited",
        lambda r, n: Answer(429, headers={"Retry-After": "1"}) if n == 1 else Answer(200),
    )
    url = receiver.url("/limited")
    seed(engine, [delivery(i, url) for i in range(3)])
    job_id, _ = J.create_job(engine, ["d0000", "d0001", "d0002"], operator="a", source="cli",
                             now=T0)
    result = run_job(engine, job_id, settings(per_endpoint_concurrency=1))
    assert result.summary["succeeded"] == 3
    times = receiver.times_for("/limited")
    assert len(times) == 4  # the 429'd one went out again after the pause
    assert times[1] - times[0] >= 0.95  # paused for as long as asked
    assert result.summary["endpoints"][0]["pauses"] == 1
    items = _items(engine, job_id)
    assert items["d0000"].state == "succeeded"


def test_retry_after_beyond_the_limit_stops_the_endpoint(sqlite_engine, receiver):
    engine = sqlite_engine
    receiver.route("/slowdown", Answer(429, headers={"Retry-After": "3600"}))
    url = receiver.url("/slowdown")
    seed(engine, [delivery(i, url) for i in range(4)])
    job_id, _ = J.create_job(engine, [f"d{i:04d}" for i in range(4)], operator="a",
                             source="cli", now=T0)
    result = run_job(engine, job_id, settings(per_endpoint_concurrency=1, max_retry_after_s=60))
    assert len(receiver.requests) == 1
    items = _items(engine, job_id)
    assert items["d0000"].state == "failed" and "3600 s" in items["d0000"].reason
    assert {items[f"d{i:04d}"].state for i in (1, 2, 3)} == {"skipped"}
    assert result.summary["failed"] == 1 and result.summary["skipped"] == 3


def test_circuit_breaker_stops_a_failing_endpoint_and_says_so(sqlite_engine, receiver):
    engine = sqlite_engine
    receiver.route("/dead", Answer(503))
    dead, alive = receiver.url("/dead"), receiver.url("/alive")
    seed(engine, [delivery(i, dead) for i in range(10)] + [delivery(i, alive)
                                                            for i in range(10, 15)])
    job_id, _ = J.create_job(engine, [f"d{i:04d}" for i in range(15)], operator="a",
                             source="cli", now=T0)
    result = run_job(engine, job_id, settings(per_endpoint_concurrency=1,
                                              circuit_breaker_failures=3))
    assert receiver.calls["/dead"] == 3
    assert receiver.calls["/alive"] == 5
    items = _items(engine, job_id)
    skipped = [i for i in items.values() if i.state == "skipped"]
    assert len(skipped) == 7
    assert all("circuit breaker: 3 consecutive failures" in i.reason for i in skipped)
    stopped = [e for e in result.summary["endpoints"] if e["stopped"]]
    assert stopped[0]["endpoint"] == dead
    progress = J.job_progress(engine, job_id)
    note = progress["notes"][0]
    assert note["count"] == 7 and "circuit breaker" in note["reason"]


def test_circuit_breaker_with_items_in_flight_leaves_nothing_pending(sqlite_engine,
                                                                     receiver):
    engine = sqlite_engine
    receiver.route("/dead", Answer(502, delay_s=0.2))
    url = receiver.url("/dead")
    seed(engine, [delivery(i, url) for i in range(30)])
    job_id, _ = J.create_job(engine, [f"d{i:04d}" for i in range(30)], operator="a",
                             source="cli", now=T0)
    # A slow rate keeps workers waiting at the limiter with an item in hand when the
    # breaker trips: those items must end skipped, not stay pending.
    result = run_job(engine, job_id, settings(per_endpoint_concurrency=4, global_rate_per_s=10,
                                              circuit_breaker_failures=3))
    assert result.status == "completed"
    states = {i.state for i in _items(engine, job_id).values()}
    assert states == {"failed", "skipped"}
    assert receiver.calls["/dead"] <= 3 + 3  # the trip, plus what was already in flight
    assert result.summary["failed"] == receiver.calls["/dead"]
    assert result.summary["failed"] + result.summary["skipped"] == 30


def test_cancel_stops_sending_and_cancels_the_rest(engine, receiver):
    receiver.route("/", Answer(200, delay_s=0.05))
    url = receiver.url("/c")
    seed(engine, [delivery(i, url) for i in range(60)])
    job_id, _ = J.create_job(engine, [f"d{i:04d}" for i in range(60)], operator="a",
                             source="cli", now=T0)
    runner = JobRunner(engine, job_id, settings(per_endpoint_concurrency=1, heartbeat_s=0.1))
    thread = threading.Thread(target=runner.run)
    thread.start()
    assert wait_for(lambda: len(receiver.requests) >= 5)
    J.request_cancel(engine, job_id, operator="lead", now=T0)
    thread.join(10)
    assert not thread.is_alive()
    job = J.get_job(engine, job_id)
    assert job["status"] == "cancelled"
    summary = J.job_summary(engine, job_id)
    assert summary["cancelled"] > 0
    assert summary["succeeded"] + summary["cancelled"] == 60
    assert summary["succeeded"] == len(receiver.requests)
    actions = {e["action"] for e in list_events(engine, AuditFilter(action_prefix="replay"))[0]}
    assert {"replay.job.cancel", "replay.job.finish"} <= actions


def test_cancel_of_a_pending_job_closes_it(engine, receiver):
    seed(engine, [delivery(1, receiver.url("/p"))])
    job_id, _ = J.create_job(engine, ["d0001"], operator="a", source="cli", now=T0)
    job = J.request_cancel(engine, job_id, operator="a", now=T0)
    assert job["status"] == "cancelled"
    assert run_job(engine, job_id, settings()).ran is False
    assert not receiver.requests
    with pytest.raises(J.JobError, match="already cancelled"):
        J.request_cancel(engine, job_id, operator="a", now=T0)


def test_overlapping_jobs_never_send_a_delivery_twice(engine, receiver):
    receiver.route("/", Answer(200, delay_s=0.01))
    urls = [receiver.url(f"/o{e}") for e in range(3)]
    seed(engine, [delivery(i, urls[i % 3]) for i in range(60)])
    ids = [f"d{i:04d}" for i in range(60)]
    jobs = [
        J.create_job(engine, ids, operator="alice", source="manual", now=T0)[0],
        J.create_job(engine, list(reversed(ids)), operator="bob", source="manual", now=T0)[0],
        J.create_job(engine, ids[::2], operator="carol", source="manual", now=T0)[0],
    ]
    s = settings(per_endpoint_concurrency=3)
    threads = [threading.Thread(target=run_job, args=(engine, j, s)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)  # generous: on a loaded 2-core CI machine three runners take a while
    assert not any(t.is_alive() for t in threads), "a runner did not finish"
    assert len(receiver.receipts) == 60
    assert max(receiver.receipts.values()) == 1
    total_succeeded = sum(J.job_summary(engine, j)["succeeded"] for j in jobs)
    assert total_succeeded == 60
    skipped = [d for j in jobs for d in J.job_summary(engine, j)["deliveries"]
               if d["outcome"] == "skipped"]
    assert len(skipped) == 60 + 30
    # the first job claimed every delivery when it was created: the others skip them as
    # "in another job", naming it (or, once it delivered one, as already delivered)
    blocked = [d for d in skipped if d["reason"] == f"in another job ({jobs[0]})"]
    assert all(d["in_job"] == jobs[0] for d in blocked)
    done = ("already delivered", f"already replayed successfully (job {jobs[0]})")
    assert all(d["reason"] in done for d in skipped if d not in blocked)
    assert sum(J.job_summary(engine, j)["in_other_jobs"].get(jobs[0], 0)
               for j in jobs[1:]) == len(blocked)


def test_a_job_never_started_is_run_by_the_next_runner(engine, receiver):
    from intel.replay.runner import resume_stale_jobs

    seed(engine, [delivery(1, receiver.url("/late"))])
    old, _ = J.create_job(engine, ["d0001"], operator="a", source="manual", now=T0)
    recent, _ = J.create_job(engine, ["d0001"], operator="b", source="manual", now=utcnow())
    (result,) = resume_stale_jobs(engine, settings())  # the recent one may still be starting
    assert result.job_id == old and result.status == "completed"
    assert J.get_job(engine, recent)["status"] == "pending"
    assert receiver.receipts["d0001"] == 1


def test_a_running_job_is_not_taken_by_a_second_runner(engine, receiver):
    receiver.route("/", Answer(200, delay_s=0.05))
    url = receiver.url("/solo")
    seed(engine, [delivery(i, url) for i in range(8)])
    job_id, _ = J.create_job(engine, [f"d{i:04d}" for i in range(8)], operator="a",
                             source="cli", now=T0)
    s = settings(per_endpoint_concurrency=1, runner_stale_after_s=30)
    first = threading.Thread(target=run_job, args=(engine, job_id, s))
    first.start()
    assert wait_for(lambda: len(receiver.requests) >= 2)
    second = run_job(engine, job_id, s)
    assert second.ran is False and "being run by" in second.message
    first.join(20)
    assert max(receiver.receipts.values()) == 1 and len(receiver.receipts) == 8
