"""Racing replays against a real receiver with a fault mix (a receiver that times out,
one that drops the connection after reading, one that answers 200 slowly, one that is
down, one that is fine), each race repeated for ``ROUNDS`` rounds, on SQLite and
PostgreSQL: three overlapping "replay the recommendation" jobs; a job and
``replay --recommended`` at once. Each round counts what the receiver accepted: nothing
twice, nothing lost, and a later ``--recommended`` resends none of the unknown outcomes."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from intel.cli import main as cli_main
from intel.replay import jobs as J
from intel.replay import states as S
from intel.replay.runner import run_job
from intel.settings import get_settings
from intel.store.schema import replay_items
from intel.timeutil import utcnow
from tests.replay.fault_helpers import (
    TIMEOUT_S,
    TLS,
    fault_settings,
    no_duplicates,
    nothing_lost,
    outcomes,
    world,
)

ROUNDS = 20
MIX = {"ok": 2, "slow": 1, "timeout": 2, "drop": 2, "down": 1}


def _race(*targets) -> None:
    """Run ``targets`` in threads released together; re-raise the first error."""
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def go(fn):
        try:
            barrier.wait(10)
            fn()
        except BaseException as exc:  # handed to the test
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(fn,)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a replay did not finish"
    if errors:
        raise errors[0]


def _recommended(engine, tenant, s, launched_from, operator):
    def run():
        made = J.create_recommended_job(engine, operator=operator, now=utcnow(),
                                        launched_from=launched_from, tenant=tenant,
                                        settings=s)
        if made.created:
            run_job(engine, made.job_id, s, verify=TLS)
    return run


def _expected(engine, receiver, modes: dict[str, str]) -> None:
    """Each fault mode ends as it must: the receiver's answer decides, never a race. A
    request the receiver never got (its connection timed out on a loaded machine) is
    provably not received, so ``failed`` is right for it whatever its mode; what the
    receiver did get must end as its mode answers."""
    want = {"ok": S.SUCCEEDED, "slow": S.SUCCEEDED, "timeout": S.UNKNOWN,
            "drop": S.UNKNOWN, "down": S.FAILED}
    ends = outcomes(engine, modes)
    wrong = {d: (m, ends[d]) for d, m in modes.items()
             if ends[d] != want[m] and not (ends[d] == S.FAILED and not receiver.receipts[d])}
    assert not wrong, f"ended otherwise than their receiver answered: {wrong}"


def _skips_name_the_holder(engine, modes: dict[str, str]) -> None:
    """An item skipped "in another job" names a job that really had the delivery (its
    own item of it was not skipped), and its job's summary counts it under that id."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(replay_items.c.job_id, replay_items.c.delivery_id, replay_items.c.state,
                      replay_items.c.blocked_by, replay_items.c.reason)
            .where(replay_items.c.delivery_id.in_(list(modes)))).all()
    sent_by = {(r.job_id, r.delivery_id) for r in rows if r.state != S.SKIPPED}
    per_job: dict[str, Counter] = {}
    for r in rows:
        if r.blocked_by is None:
            continue
        assert r.state == S.SKIPPED and r.reason.startswith(f"in another job ({r.blocked_by})")
        assert (r.blocked_by, r.delivery_id) in sent_by
        per_job.setdefault(r.job_id, Counter())[r.blocked_by] += 1
    for job_id, counts in per_job.items():
        assert J.job_summary(engine, job_id, include_items=False)["in_other_jobs"] == counts


def _afterwards(engine, receiver, tenant, s, modes) -> None:
    """The issue's repro: the advisor never recommends an unknown outcome again, and a
    later ``--recommended`` sends nothing the receiver already took."""
    advice = J.create_recommended_job(engine, operator="later", now=utcnow(),
                                      launched_from="cli", tenant=tenant, settings=s)
    unknown = {d for d, m in modes.items() if m in ("timeout", "drop")}
    assert not unknown & set(advice.advice["recommended_ids"])
    assert {u["id"] for u in advice.advice["outcome_unknown"]} == unknown
    if advice.created:
        run_job(engine, advice.job_id, s, verify=TLS)


def _after_the_race(engine, receiver, tenant, s, modes) -> None:
    """Nothing twice, nothing lost, every skip names its holder; and a later "replay the
    recommendation" changes none of it."""
    no_duplicates(receiver, modes)
    ends = nothing_lost(engine, modes)
    _expected(engine, receiver, modes)
    _skips_name_the_holder(engine, modes)
    _afterwards(engine, receiver, tenant, s, modes)
    no_duplicates(receiver, modes)
    assert nothing_lost(engine, modes) == ends


def test_three_overlapping_recommended_jobs(engine, receiver):
    s = fault_settings()
    for r in range(ROUNDS):
        tenant = f"t{r:02d}"
        modes = world(engine, receiver, tenant, utcnow(), MIX)
        _race(*(_recommended(engine, tenant, s, src, f"op-{src}")
                for src in ("app", "api", "cli")))
        _after_the_race(engine, receiver, tenant, s, modes)
    # every delivery went out exactly once, over all rounds: one job got it, the other
    # two skipped it ("in another job", naming the holder) or found nothing left
    assert sum(receiver.receipts.values()) == ROUNDS * sum(MIX.values())
    assert len(receiver.receipts) == ROUNDS * sum(MIX.values())


@pytest.fixture
def cli_config(db_url, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("replay:\n  allow_private_networks: true\n  global_rate_per_s: 1000\n"
                      f"  timeout_s: {TIMEOUT_S}\n  heartbeat_s: 0.2\n"
                      "  circuit_breaker_failures: 50\n")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("INTEL_CONFIG", str(config))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_a_job_and_replay_recommended_at_once(engine, receiver, cli_config, capsys):
    s = fault_settings()
    codes = []
    for r in range(ROUNDS):
        tenant = f"u{r:02d}"
        modes = world(engine, receiver, tenant, utcnow(), MIX)
        ids = sorted(modes)

        def manual(ids=ids):
            job_id, _ = J.create_job(engine, ids, operator="alice", source="manual",
                                     now=utcnow())
            run_job(engine, job_id, s, verify=TLS)

        def cli(tenant=tenant):
            codes.append(cli_main(["replay", "--recommended", "--tenant", tenant,
                                   "--operator", "bob", "--json", "--no-resume-stale"]))

        _race(manual, cli)
        _after_the_race(engine, receiver, tenant, s, modes)
    capsys.readouterr()
    assert set(codes) <= {0, 1}  # 1: an item failed or ended unknown (the fault mix)
    # one request per delivery, whoever won each race
    assert sum(receiver.receipts.values()) == ROUNDS * sum(MIX.values())
