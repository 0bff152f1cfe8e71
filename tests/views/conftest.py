import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches():
    # st.cache_data outlives an AppTest run: without this, one test's data leaks into the next.
    st.cache_data.clear()
    yield
    st.cache_data.clear()
