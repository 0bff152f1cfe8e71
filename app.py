"""AetherLink Ops Intelligence: the operator app (run with `streamlit run app.py`)."""

import streamlit as st

from intel.settings import SettingsError, get_settings
from intel.store.db import is_up_to_date
from ui.banner import render_banner
from ui.session import engine, operator_sidebar

st.set_page_config(page_title="AetherLink Ops Intelligence", page_icon="📡", layout="wide")

try:
    get_settings()
except SettingsError as exc:
    st.error(f"Configuration error — fix it and restart: {exc}", icon="⚙️")
    st.stop()

try:
    schema_ok = is_up_to_date(engine())
except Exception as exc:  # unreachable database, bad URL
    st.error(f"Cannot reach the database: {exc}", icon="🛑")
    st.stop()
if not schema_ok:
    st.error("The database schema is out of date: run `python -m intel db upgrade`.", icon="🛠️")
    st.stop()

pages = {
    "Operate": [
        st.Page("views/history.py", title="Deliveries", icon="📬",
                default=True),
        st.Page("views/advisor.py", title="Replay advisor", icon="🔁", url_path="advisor"),
        st.Page("views/groups.py", title="Failure groups", icon="🧩", url_path="groups"),
        st.Page("views/anomalies.py", title="Anomalies", icon="🚨", url_path="anomalies"),
    ],
    "Understand": [
        st.Page("views/insights.py", title="Insights", icon="📊", url_path="insights"),
        st.Page("views/explore.py", title="Explore", icon="🔎", url_path="explore"),
    ],
    "Validate triage": [
        st.Page("views/labels.py", title="Labels", icon="🏷️", url_path="labels"),
        st.Page("views/accuracy.py", title="Accuracy", icon="🎯", url_path="accuracy"),
    ],
    "Govern": [
        st.Page("views/audit.py", title="Audit trail", icon="📜", url_path="audit"),
    ],
}

navigation = st.navigation(pages)
operator_sidebar()
render_banner()
navigation.run()
