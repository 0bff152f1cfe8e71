"""The settings table: strict validation with messages naming the key."""

import pytest

from intel.cli import main
from intel.settings import (
    Settings,
    SettingsError,
    describe_settings,
    load_settings,
    parse_settings,
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"detecter": {}}, "unknown key 'detecter'"),
        ({"detector": {"burst": 2}}, "unknown key 'detector.burst'"),
        ({"detector": {"burst_ratio": "high"}}, "detector.burst_ratio"),
        ({"detector": {"burst_ratio": 0.5}}, "detector.burst_ratio"),
        ({"replay": {"allow_private_networks": "yes"}}, "replay.allow_private_networks"),
        ({"worker": {"interval_s": -1}}, "worker.interval_s"),
        ({"insights": {"cache_ttl_s": 1.5}}, "insights.cache_ttl_s"),
        ([1, 2], "expected a mapping"),
    ],
)
def test_bad_settings_name_the_key(data, message):
    with pytest.raises(SettingsError, match=message.replace(".", r"\.")):
        parse_settings(data)


@pytest.mark.parametrize(
    ("data", "check"),
    [
        (None, lambda s: s == Settings()),
        ({}, lambda s: s.replay.allow_private_networks is False),
        ({"detector": {"burst_ratio": 2}}, lambda s: s.detector.burst_ratio == 2.0),
        ({"replay": {"allow_private_networks": True}}, lambda s: s.replay.allow_private_networks),
    ],
)
def test_good_settings(data, check):
    assert check(parse_settings(data))


def test_every_key_is_documented():
    rows = describe_settings()
    assert rows
    assert all(row["description"] for row in rows), [r["key"] for r in rows if not r["description"]]


@pytest.mark.parametrize("name", ["config.yaml", "config.demo.yaml"])
def test_shipped_config_files_are_valid(name):
    from intel.settings import REPO_ROOT

    load_settings(REPO_ROOT / name)


def test_bad_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("detector: [unclosed\n")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(bad)
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "missing.yaml")


def test_cli_refuses_to_start_on_a_bad_config(tmp_path, monkeypatch, capsys):
    from intel.settings import get_settings

    bad = tmp_path / "c.yaml"
    bad.write_text("worker:\n  interval: 30\n")
    monkeypatch.setenv("INTEL_CONFIG", str(bad))
    get_settings.cache_clear()
    try:
        assert main(["db", "status", "--db", f"sqlite:///{tmp_path / 'x.db'}"]) == 2
    finally:
        get_settings.cache_clear()
    assert "unknown key 'worker.interval'" in capsys.readouterr().err


def test_cli_db_upgrade_then_status(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert main(["db", "status", "--db", url]) == 1
    assert main(["db", "upgrade", "--db", url]) == 0
    assert main(["db", "status", "--db", url]) == 0
    assert "up to date" in capsys.readouterr().out


def test_readme_documents_every_setting():
    from intel.settings import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [row["key"] for row in describe_settings() if f"`{row['key']}`" not in readme]
    assert not missing, f"README.md does not document: {missing}"
