"""The only pages anyone not signed in (or signed in without a role) ever sees.

``app.py`` navigates to exactly one of these and nothing else: no incident banner, no
data. Names come from an identity provider or a proxy header, so they are shown with
``st.text`` only.
"""

from __future__ import annotations

import streamlit as st

from ui.safe import md
from ui.session import sign_in


def sign_in_page() -> None:
    signin = sign_in()
    st.title("🔒 Sign in")
    st.write("AetherLink Ops Intelligence shows webhook deliveries and their payloads: "
             "sign in to use it.")
    if "oidc" in signin.methods:
        st.button("Log in", on_click=st.login, type="primary", key="login")
    if "proxy" in signin.methods:
        st.info("This deployment signs you in through its sign-in proxy: open the app "
                "through the proxy's address.", icon="🛡️")
    if signin.demo:
        st.info("Demo mode: type a name in the sidebar to continue.", icon="👈")
    if not signin.methods:
        st.warning(
            "No sign-in is configured. An administrator sets up OIDC (an [auth] section in "
            ".streamlit/secrets.toml) or a trusted proxy header (auth.proxy_header and "
            "auth.trusted_proxies in the settings); auth.demo: true is for a local demo only.",
            icon="⚙️",
        )
    for note in signin.notes:
        st.caption(md(note))


def not_authorised_page() -> None:
    signin = sign_in()
    st.title("⛔ Not authorised")
    st.write("You are signed in as:")
    st.text(signin.who or "(unknown)")
    st.write("This account has no role in this app. Ask an administrator to add it to "
             "auth.users in the settings.")
    if signin.via == "oidc":
        st.button("Log out", on_click=st.logout, key="logout_unauthorised")
