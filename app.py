"""AetherLink Ops Intelligence: the operator app (run with `streamlit run app.py`).

Every run: check the settings and the database, resolve who is using the app
(``ui.session.sign_in``), then either the sign-in page (or "not authorised") and nothing
else, or the pages with the incident banner, all scoped to the identity.
"""

import streamlit as st

from intel.redact import redact_text
from intel.settings import SettingsError, get_settings
from intel.store.db import is_up_to_date
from ui.banner import render_banner
from ui.session import demo_notice, engine, identity_sidebar, sign_in
from ui.signin import not_authorised_page, sign_in_page

st.set_page_config(page_title="AetherLink Ops Intelligence", page_icon="📡", layout="wide")

try:
    get_settings()
except SettingsError as exc:
    st.error("Configuration error — fix it and restart:", icon="⚙️")
    st.code(str(exc), language=None, wrap_lines=True)
    st.stop()

try:
    schema_ok = is_up_to_date(engine())
except Exception as exc:  # unreachable database, bad URL (which may hold a password)
    st.error("Cannot reach the database.", icon="🛑")
    st.code(redact_text(f"{type(exc).__name__}: {exc}"), language=None, wrap_lines=True)
    st.stop()
if not schema_ok:
    st.error("The database schema is out of date: run `python -m intel db upgrade`.", icon="🛠️")
    st.stop()

signin = sign_in()
identity_sidebar(signin)
if signin.demo:
    demo_notice()

PAGES = {
    # The design card's four views by its names: Triage, Advisor, Anomalies, Insights.
    "Operate": [
        ("views/history.py", "Deliveries", "📬", None),  # the default page, served at /
        ("views/groups.py", "Triage", "🩺", "groups"),  # url kept: links already shared
        ("views/advisor.py", "Advisor", "🔁", "advisor"),
        ("views/anomalies.py", "Anomalies", "🚨", "anomalies"),
    ],
    "Understand": [
        ("views/insights.py", "Insights", "📊", "insights"),
        ("views/explore.py", "Explore", "🔎", "explore"),
    ],
    "Validate triage": [
        ("views/labels.py", "Labels", "🏷️", "labels"),
        ("views/accuracy.py", "Accuracy", "🎯", "accuracy"),
    ],
    "Govern": [
        ("views/audit.py", "Audit trail", "📜", "audit"),
    ],
    "Help": [
        ("views/guide.py", "Operator guide", "📖", "guide"),
    ],
}

if signin.identity is None:
    # Only the sign-in (or "not authorised") page, under every page's address: a deep
    # link shows it, and after signing in the same address opens the page it named.
    only = sign_in_page if signin.state == "anonymous" else not_authorised_page
    title, icon = (("Sign in", "🔒") if signin.state == "anonymous"
                   else ("Not authorised", "⛔"))
    routes = [st.Page(only, title=title, icon=icon, url_path=path or "signin",
                      default=path is None)
              for group in PAGES.values() for _, _, _, path in group]
    st.navigation(routes, position="hidden").run()
    st.stop()

navigation = st.navigation({
    group: [st.Page(file, title=title, icon=icon, url_path=path, default=path is None)
            for file, title, icon, path in pages]
    for group, pages in PAGES.items()
})
render_banner(signin.identity)
navigation.run()
