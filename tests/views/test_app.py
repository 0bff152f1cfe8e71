"""app.py as a whole: sign-in (OIDC, trusted proxy header, demo mode), navigation, banner,
and its start-up checks."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from intel.settings import get_settings
from tests.views.apptest import APP, as_identity, texts, write_config

OIDC_SECRETS = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback",
                         "cookie_secret": "x" * 32, "client_id": "id", "client_secret": "s",
                         "server_metadata_url": "https://idp.example/.well-known/openid"}}


@pytest.fixture
def app_env(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield sqlite_url
    get_settings.cache_clear()


def _settings(tmp_path, monkeypatch, text: str) -> None:
    path = tmp_path / "auth.yaml"
    path.write_text(text)
    monkeypatch.setenv("INTEL_CONFIG", str(path))
    get_settings.cache_clear()


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def _sign_in_only(at: AppTest) -> None:
    """The sign-in page and nothing else: no banner, no data, no other page."""
    assert [t.value for t in at.title] == ["🔒 Sign in"]
    assert not at.dataframe and not at.metric and not at.get("vega_lite_chart")
    assert not [c for c in at.caption if "detector" in c.value]  # the incident banner
    assert not at.get("link_button")


def test_anonymous_demo_visitor_sees_the_sign_in_page_only(app_env):
    at = _run(_app())
    _sign_in_only(at)
    assert any("type a name in the sidebar" in i.value for i in at.info)
    assert any(w.label == "Your name" for w in at.sidebar.text_input)



def test_signing_out_of_a_page_leaves_the_sign_in_page_only(app_env):
    at = _run(as_identity(_app(), "alice"))
    at.switch_page("views/insights.py")
    _run(at)
    assert any("Insights" in t.value for t in at.title)
    at.sidebar.text_input(key="demo_name").input("")  # the visitor empties the name box
    _run(at)
    _sign_in_only(at)


def test_typing_a_name_signs_in_and_opens_the_history(app_env):
    at = _run(_app())
    at.sidebar.text_input[0].input("alice")
    _run(at)
    assert any("Delivery history" in t.value for t in at.title)
    assert at.session_state["demo_name"] == "alice"
    assert at.sidebar.selectbox(key="demo_role").options == ["viewer", "operator", "admin"]
    assert "alice · admin · all tenants" in [t.value for t in at.sidebar.text]
    at.sidebar.selectbox(key="demo_role").set_value("viewer")
    _run(at)
    assert "alice · viewer · all tenants" in [t.value for t in at.sidebar.text]


def test_a_bad_demo_name_is_refused(app_env):
    at = as_identity(_app(), "![m](http://evil.example/b)")
    _run(at)
    _sign_in_only(at)
    assert any("2-60 letters" in e.value for e in at.sidebar.error)


def test_a_listed_demo_name_has_its_configured_role_and_tenants(app_env):
    at = _run(as_identity(_app(), "acme-viewer", "admin"))
    assert at.sidebar.selectbox(key="demo_role").options == ["viewer"]
    assert "acme-viewer · viewer · tenants acme" in [t.value for t in at.sidebar.text]


def test_without_any_sign_in_configured_nobody_gets_in(app_env, tmp_path, monkeypatch):
    _settings(tmp_path, monkeypatch, "auth:\n  demo: false\n")
    at = _run(as_identity(_app(), "alice"))
    _sign_in_only(at)
    assert any("No sign-in is configured" in w.value for w in at.warning)
    assert not at.sidebar.text_input  # no demo name box
    assert not any("DEMO MODE" in t for t in texts(at))


def test_oidc_signed_in_user_mapped_to_a_role(app_env, tmp_path, monkeypatch):
    _settings(tmp_path, monkeypatch, "auth:\n  demo: true\n  users:\n"
              "    lead@example.com: {role: operator, tenants: [acme]}\n")
    at = _app()
    at.secrets = OIDC_SECRETS
    at.user = {"is_logged_in": True, "email": "Lead@Example.com", "name": "Lead"}
    _run(at)
    assert any("Delivery history" in t.value for t in at.title)
    assert "lead@example.com · operator · tenants acme" in [t.value for t in at.sidebar.text]
    assert [b.label for b in at.sidebar.button] == ["Log out"]
    assert not at.sidebar.text_input  # a real sign-in is configured: demo mode is off
    assert not any("DEMO MODE" in t for t in texts(at))


def test_oidc_not_logged_in_gets_the_log_in_button(app_env):
    at = _app()
    at.secrets = OIDC_SECRETS
    at.user = {"is_logged_in": False}
    at = as_identity(at, "alice")  # a typed demo name does not get round OIDC
    _run(at)
    _sign_in_only(at)
    assert [b.label for b in at.button] == ["Log in"]
    assert any("Demo mode is off" in c.value for c in at.caption)


def test_oidc_user_without_a_role_is_not_authorised(app_env, tmp_path, monkeypatch):
    _settings(tmp_path, monkeypatch, "auth:\n  default_role: none\n")
    at = _app()
    at.secrets = OIDC_SECRETS
    at.user = {"is_logged_in": True, "email": "stranger@**evil**.example"}
    _run(at)
    assert [t.value for t in at.title] == ["⛔ Not authorised"]
    assert "stranger@**evil**.example" in [t.value for t in at.text]  # as text, never Markdown
    assert not any("**evil**" in t for t in texts(at))
    assert not at.dataframe and not at.metric
    assert [b.label for b in at.button] == ["Log out"]


PROXY_YAML = ("auth:\n  proxy_header: X-Forwarded-Email\n  trusted_proxies: [10.0.0.5]\n"
              "  users:\n    ops@acme.io: {role: viewer, tenants: [acme]}\n")


@pytest.mark.parametrize(
    ("peer", "values", "forwarded_allow_ips", "signed_in"),
    [
        ("10.0.0.5", ("ops@acme.io",), "", True),
        ("203.0.113.9", ("ops@acme.io",), "", False),  # straight from the internet
        (None, ("ops@acme.io",), "", False),  # loopback is not a trusted proxy here
        ("10.0.0.5", ("ops@acme.io", "lead@example.com"), "", False),  # sent twice
        ("10.0.0.5", (), "", False),
        # uvicorn may have taken the address from a client's X-Forwarded-For
        ("10.0.0.5", ("ops@acme.io",), None, False),
        ("10.0.0.5", ("ops@acme.io",), "127.0.0.1", False),
    ],
    ids=["trusted", "untrusted", "loopback", "twice", "absent", "xff-default", "xff-loopback"],
)
def test_proxy_header_is_believed_only_from_a_trusted_address(
    app_env, tmp_path, monkeypatch, peer, values, forwarded_allow_ips, signed_in
):
    _settings(tmp_path, monkeypatch, PROXY_YAML)
    if forwarded_allow_ips is None:
        monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    else:
        monkeypatch.setenv("FORWARDED_ALLOW_IPS", forwarded_allow_ips)
    import ui.session

    # Streamlit's AppTest has no request: feed the header and the peer address the way
    # st.context would give them (this function is the app's only reader of both).
    monkeypatch.setattr(ui.session, "request_context",
                        lambda header: (values if header == "X-Forwarded-Email" else (), peer))
    at = _run(_app())
    if signed_in:
        assert any("Delivery history" in t.value for t in at.title)
        assert "ops@acme.io · viewer · tenants acme" in [t.value for t in at.sidebar.text]
    else:
        _sign_in_only(at)
        assert any("proxy" in i.value for i in at.info)


def test_app_stops_with_a_named_error_on_a_bad_config(app_env, tmp_path, monkeypatch):
    bad = write_config(tmp_path, "replay:\n  allow_private: true\n")
    monkeypatch.setenv("INTEL_CONFIG", str(bad))
    get_settings.cache_clear()
    at = _app().run()
    assert any("Configuration error" in e.value for e in at.error)
    assert any("unknown key 'replay.allow_private'" in c.value for c in at.code)


def test_app_refuses_an_unmigrated_database(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    at = _app().run()
    assert any("python -m intel db upgrade" in e.value for e in at.error)


def test_a_database_error_never_shows_its_password(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://ops:s3cret@127.0.0.1:1/nowhere")
    get_settings.cache_clear()
    at = _app().run()
    assert any("Cannot reach the database" in e.value for e in at.error)
    shown = " ".join([c.value for c in at.code] + texts(at))
    assert "s3cret" not in shown


def _navigation() -> dict[str, list[tuple[str, str, str, str | None]]]:
    """app.py's PAGES table, read from the source (running app.py needs a Streamlit run)."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(APP).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PAGES":
            return ast.literal_eval(node.value)
    raise AssertionError("app.py has no PAGES table")


def test_navigation_names_the_design_cards_four_views():
    pages = {title: (file, path) for group in _navigation().values()
             for file, title, _, path in group}
    assert pages["Triage"] == ("views/groups.py", "groups")
    assert pages["Advisor"] == ("views/advisor.py", "advisor")
    assert pages["Anomalies"] == ("views/anomalies.py", "anomalies")
    assert pages["Insights"] == ("views/insights.py", "insights")
    for other in ("Deliveries", "Explore", "Labels", "Accuracy", "Audit trail"):
        assert other in pages
    from pathlib import Path

    root = Path(APP).parent
    assert all((root / file).is_file() for file, _ in pages.values())
