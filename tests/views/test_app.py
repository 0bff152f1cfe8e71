"""app.py as a whole: navigation, identity, banner, and its start-up checks."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from intel.settings import get_settings

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def app_env(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield sqlite_url
    get_settings.cache_clear()


def test_app_opens_on_the_delivery_history_in_demo_mode(app_env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert any("Delivery history" in t.value for t in at.title)
    assert any(w.label == "Operator name" for w in at.sidebar.text_input)
    at.sidebar.text_input[0].input("alice").run()
    assert at.session_state["operator_name"] == "alice"


def test_app_stops_with_a_named_error_on_a_bad_config(app_env, tmp_path, monkeypatch):
    bad = tmp_path / "config.yaml"
    bad.write_text("replay:\n  allow_private: true\n")
    monkeypatch.setenv("INTEL_CONFIG", str(bad))
    get_settings.cache_clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert any("unknown key 'replay.allow_private'" in e.value for e in at.error)


def test_app_refuses_an_unmigrated_database(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert any("python -m intel db upgrade" in e.value for e in at.error)
