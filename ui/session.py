"""Per-process resources, the run's clock, and who is using the app.

Who: ``sign_in()`` reads what Streamlit knows about this run (the OIDC user, the proxy
header and the peer address, the demo sidebar's name and role) and hands it to
``intel.auth.app_identity.resolve``, which decides; nothing here decides who anyone is.
Pages call ``require_identity()`` and pass ``identity.scope`` to every read and
``identity.name`` as the actor of every write; ``allowed(identity, action)`` re-checks a
permission at the moment of the action.

Test seams (session state keys a browser cannot set: a browser only ever sets the keys of
widgets rendered in the run): ``CLOCK_KEY`` freezes ``now()``. Identities in tests come
through the real paths: demo mode plus ``auth.users`` in the settings, ``AppTest.user``
with ``[auth]`` secrets for OIDC, and ``request_context`` for the proxy header.
"""

from __future__ import annotations

import os
from datetime import datetime

import streamlit as st

from intel.auth import Identity, PermissionDenied
from intel.auth.app_identity import (
    AppSignIn,
    RequestFacts,
    demo_name_problem,
    demo_roles,
    resolve,
)
from intel.settings import Settings, database_url, get_settings
from intel.store.db import (
    Engine,  # the type only: views and ui run no SQL
    get_engine,
)
from intel.timeutil import ensure_utc, utcnow
from ui.safe import md

CLOCK_KEY = "_intel_clock"
DEMO_NAME_KEY = "demo_name"
DEMO_ROLE_KEY = "demo_role"
DEMO_LABEL = ":orange-badge[DEMO MODE]"
DEMO_TEXT = ("Anyone who opens this app types a name and acts under it (auth.demo in the "
             "settings). For a local demo only, never in production.")


def engine() -> Engine:
    """The store engine for ``DATABASE_URL`` (one pool per process)."""
    return get_engine(database_url())


def settings() -> Settings:
    return get_settings()


def now() -> datetime:
    """The run's clock: wall time, or the frozen time a test put in ``CLOCK_KEY``."""
    frozen = st.session_state.get(CLOCK_KEY)
    if isinstance(frozen, datetime) and frozen.tzinfo is not None:
        return ensure_utc(frozen)
    return utcnow()


# --- who ---------------------------------------------------------------------------------


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def request_context(header: str) -> tuple[tuple[str, ...], str | None]:
    """Every value of ``header`` in this session's request, and the peer address
    (``None`` for a loopback peer, as Streamlit reports it)."""
    values = tuple(st.context.headers.get_all(header)) if header else ()
    return values, st.context.ip_address


def peer_is_direct() -> bool:
    """Whether Streamlit's server (uvicorn) reports the TCP peer as the peer address: it
    takes it from X-Forwarded-For for the hosts in FORWARDED_ALLOW_IPS (loopback when
    unset), so only an explicitly empty FORWARDED_ALLOW_IPS makes the address the
    connection's own."""
    return os.environ.get("FORWARDED_ALLOW_IPS") == ""


def request_facts() -> RequestFacts:
    auth = settings().auth
    configured = oidc_configured()
    logged_in = configured and bool(getattr(st.user, "is_logged_in", False))
    values, peer = request_context(auth.proxy_header)
    return RequestFacts(
        oidc_configured=configured,
        oidc_logged_in=logged_in,
        oidc_email=st.user.get("email") if logged_in else None,
        proxy_values=values,
        peer=peer,
        peer_direct=peer_is_direct(),
        demo_name=st.session_state.get(DEMO_NAME_KEY),
        demo_role=st.session_state.get(DEMO_ROLE_KEY),
    )


def sign_in() -> AppSignIn:
    """Who is using the app in this run (signed in, anonymous or unauthorised)."""
    return resolve(settings().auth, request_facts())


def current_identity() -> Identity | None:
    return sign_in().identity


def require_identity() -> Identity:
    """The identity of this run, for a page. ``app.py`` shows only the sign-in page to
    anyone else; this guards a page run on its own (tests, a future entry point)."""
    identity = current_identity()
    if identity is None:
        st.warning("Sign in to use this page.", icon="🔒")
        st.stop()
    return identity


def allowed(identity: Identity, action: str) -> bool:
    """The permission re-checked at the moment of the action: True, or an error and False.
    (Buttons an identity may not use are not offered at all; this is the second lock.)"""
    try:
        identity.require(action)
    except PermissionDenied as exc:
        st.error(md(exc), icon="⛔")
        return False
    return True


# --- the sidebar and the demo label ---------------------------------------------------------


def demo_notice() -> None:
    """The demo-mode label in the page itself (the sidebar carries it too)."""
    st.caption(f"{DEMO_LABEL} {DEMO_TEXT}")


def _demo_inputs() -> None:
    auth = settings().auth
    st.text_input("Your name", key=DEMO_NAME_KEY, max_chars=60,
                  help="Actions you take are recorded in the audit trail under this name.")
    name = (st.session_state.get(DEMO_NAME_KEY) or "").strip()
    if not name:
        return
    problem = demo_name_problem(name)
    if problem:
        st.error(problem)
        return
    roles = [r.value for r in demo_roles(auth, name)]
    if st.session_state.get(DEMO_ROLE_KEY) not in roles:
        st.session_state[DEMO_ROLE_KEY] = roles[-1]
    st.selectbox("Role", roles, key=DEMO_ROLE_KEY, disabled=len(roles) == 1,
                 help="Try the app as a viewer (reads), an operator (also replays, "
                      "acknowledges and labels) or an admin (also the triage model). "
                      "A name listed in auth.users has its configured role.")


def identity_sidebar(signin: AppSignIn) -> None:
    """Who is signed in, how, and the way out (or in, for demo mode)."""
    with st.sidebar:
        if signin.demo:
            st.markdown(DEMO_LABEL)
            st.caption(DEMO_TEXT)
            _demo_inputs()
        identity = signin.identity
        if identity is not None:
            st.caption("Signed in as")
            st.text(identity.describe())
        if signin.via == "oidc" and identity is not None:
            st.button("Log out", on_click=st.logout, key="logout")
