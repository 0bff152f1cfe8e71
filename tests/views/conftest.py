import pytest
import streamlit as st

from intel.settings import get_settings
from tests.views.apptest import write_config


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches():
    # st.cache_data outlives an AppTest run: without this, one test's data leaks into the next.
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture(autouse=True)
def demo_config(tmp_path_factory, monkeypatch):
    """Every view test runs with demo mode on and the tenant-scoped test identities
    (``tests/views/apptest.py: AUTH_YAML``); a test that needs other settings writes its
    own file with ``write_config`` (which adds the same auth section)."""
    path = write_config(tmp_path_factory.mktemp("config"))
    monkeypatch.setenv("INTEL_CONFIG", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()
