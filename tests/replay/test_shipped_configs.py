"""Every shipped config is safe for the replay and worker guarantees at start-up: a
standby worker takes over a dead leader within one tick (``worker.lease_ttl_s`` shorter
than ``worker.interval_s``, checked when the settings load, so the worker refuses to
start otherwise), and the demo's replay timings hold."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from intel.cli import main as cli_main
from intel.settings import REPO_ROOT, load_settings
from intel.settings.worker import WorkerSettings

SHIPPED = sorted(p.name for p in REPO_ROOT.glob("config*.yaml"))


def test_the_shipped_configs_are_found():
    assert {"config.yaml", "config.demo.yaml"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_leader_takeover_within_a_tick(name):
    worker = load_settings(REPO_ROOT / name).worker
    assert worker.lease_ttl_s < worker.interval_s


@pytest.mark.parametrize(
    ("interval", "lease", "ok"),
    [(30, 20, True), (15, 10, True), (15, 14.9, True), (15, 15, False), (15, 20, False),
     (1, 30, False)],
)
def test_lease_must_be_shorter_than_the_tick(interval, lease, ok):
    if ok:
        assert WorkerSettings(interval_s=interval, lease_ttl_s=lease).lease_ttl_s == lease
        return
    with pytest.raises(ValidationError, match=r"worker.lease_ttl_s .* must be shorter than "
                                              r"worker.interval_s"):
        WorkerSettings(interval_s=interval, lease_ttl_s=lease)


def test_the_worker_refuses_to_start_with_a_long_lease(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("worker:\n  interval_s: 15\n  lease_ttl_s: 20\n")
    code = cli_main(["worker", "--config", str(config), "--once",
                     "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert code == 2
    err = capsys.readouterr().err
    assert "worker.lease_ttl_s (20 s) must be shorter than worker.interval_s (15 s)" in err
