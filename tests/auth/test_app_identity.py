"""The app's sign-in, pure half: OIDC, trusted proxy header, demo mode, in that order."""

from __future__ import annotations

import pytest

from intel.auth import Role
from intel.auth.app_identity import (
    ANONYMOUS,
    SIGNED_IN,
    UNAUTHORISED,
    RequestFacts,
    clean_name,
    demo_name_problem,
    demo_roles,
    peer_trusted,
    proxy_name,
    resolve,
)
from intel.settings.auth import AuthSettings

USERS = {
    "lead@example.com": {"role": "admin"},
    "ops@acme.io": {"role": "operator", "tenants": ["acme"]},
    "Watcher@Example.com": {"role": "viewer", "tenants": ["acme", "beta"]},
}
PROXY = {"proxy_header": "X-Forwarded-Email", "trusted_proxies": ["10.0.0.5", "127.0.0.1"]}


def auth(**fields) -> AuthSettings:
    return AuthSettings.model_validate({"users": USERS, **fields})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("alice@example.com", "alice@example.com"),
        ("  Alice@Example.COM ", "alice@example.com"),
        ("accounts.google.com:bob@example.com", "bob@example.com"),
        ("a" * 254, "a" * 254),
        ("a" * 255, None),
        ("", None),
        ("   ", None),
        (None, None),
        (42, None),
        ("alice@example.com, lead@example.com", None),  # two values joined
        ("alice@example.com\nX-Evil: 1", None),
        ("alice\x00@example.com", None),
        ("lead@example.com\u202e", None),  # an invisible right-to-left override
        ("accounts.google.com:", None),
    ],
)
def test_clean_name(value, expected):
    assert clean_name(value) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (("ops@acme.io",), "ops@acme.io"),
        ((), None),
        (("ops@acme.io", "lead@example.com"), None),  # sent twice: believed for neither
        (("",), None),
    ],
)
def test_proxy_name(values, expected):
    assert proxy_name(values) == expected


@pytest.mark.parametrize(
    ("peer", "trusted", "expected"),
    [
        ("10.0.0.5", ["10.0.0.5"], True),
        ("10.0.0.6", ["10.0.0.5"], False),
        ("10.0.3.9", ["10.0.0.0/16"], True),
        ("10.1.0.1", ["10.0.0.0/16"], False),
        ("::ffff:10.0.0.5", ["10.0.0.5"], True),  # IPv4-mapped IPv6
        ("2001:db8::1", ["2001:db8::/32"], True),
        ("2001:db9::1", ["2001:db8::/32"], False),
        (None, ["127.0.0.1"], True),  # Streamlit's "no address" is a loopback peer
        (None, ["::1"], True),
        (None, ["127.0.0.0/8"], True),
        (None, ["10.0.0.5"], False),
        ("127.0.0.1", ["10.0.0.5"], False),
        ("not an ip", ["10.0.0.5"], False),
        ("10.0.0.5", [], False),
        (None, [], False),
    ],
)
def test_peer_trusted(peer, trusted, expected):
    assert peer_trusted(peer, trusted) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("alice", None), ("Alice O'Neil", None), ("ops@acme.io", None), ("a", "2-60"),
     ("x" * 61, "2-60"), ("<img src=x>", "2-60"), ("![m](http://h/b)", "2-60"),
     (":red[boo]", "2-60")],
)
def test_demo_name_problem(name, expected):
    problem = demo_name_problem(name)
    assert (problem is None) if expected is None else (expected in problem)


@pytest.mark.parametrize(
    ("demo_role", "name", "expected"),
    [
        ("admin", "visitor", (Role.viewer, Role.operator, Role.admin)),
        ("operator", "visitor", (Role.viewer, Role.operator)),
        ("viewer", "visitor", (Role.viewer,)),
        ("viewer", "lead@example.com", (Role.admin,)),  # listed: exactly its role
        ("admin", "OPS@acme.io", (Role.operator,)),
        ("admin", None, (Role.viewer, Role.operator, Role.admin)),
    ],
)
def test_demo_roles(demo_role, name, expected):
    assert demo_roles(auth(demo=True, demo_role=demo_role), name) == expected


# (settings, facts, state, name, role, tenants, via)
CASES = {
    "nothing configured: anonymous": (
        {}, RequestFacts(demo_name="alice"), ANONYMOUS, None, None, None, None),
    "oidc mapped": (
        {}, RequestFacts(oidc_configured=True, oidc_logged_in=True,
                         oidc_email="Lead@Example.com"),
        SIGNED_IN, "lead@example.com", Role.admin, frozenset(), "oidc"),
    "oidc tenant-scoped": (
        {}, RequestFacts(oidc_configured=True, oidc_logged_in=True, oidc_email="ops@acme.io"),
        SIGNED_IN, "ops@acme.io", Role.operator, frozenset({"acme"}), "oidc"),
    "oidc not listed, default none": (
        {}, RequestFacts(oidc_configured=True, oidc_logged_in=True,
                         oidc_email="stranger@x.io"),
        UNAUTHORISED, None, None, None, "oidc"),
    "oidc not listed, default viewer": (
        {"default_role": "viewer"},
        RequestFacts(oidc_configured=True, oidc_logged_in=True, oidc_email="stranger@x.io"),
        SIGNED_IN, "stranger@x.io", Role.viewer, frozenset(), "oidc"),
    "oidc without e-mail": (
        {"default_role": "viewer"},
        RequestFacts(oidc_configured=True, oidc_logged_in=True, oidc_email=None),
        UNAUTHORISED, None, None, None, "oidc"),
    "oidc configured, not logged in": (
        {}, RequestFacts(oidc_configured=True, oidc_logged_in=False), ANONYMOUS,
        None, None, None, None),
    "oidc configured: demo is off": (
        {"demo": True}, RequestFacts(oidc_configured=True, demo_name="alice"), ANONYMOUS,
        None, None, None, None),
    "proxy from a trusted address": (
        PROXY, RequestFacts(peer_direct=True, peer="10.0.0.5", proxy_values=("ops@acme.io",)),
        SIGNED_IN, "ops@acme.io", Role.operator, frozenset({"acme"}), "proxy"),
    "proxy on loopback": (
        PROXY, RequestFacts(peer_direct=True, peer=None, proxy_values=("lead@example.com",)),
        SIGNED_IN, "lead@example.com", Role.admin, frozenset(), "proxy"),
    "proxy header from an untrusted address": (
        PROXY, RequestFacts(peer_direct=True, peer="203.0.113.9",
                            proxy_values=("lead@example.com",)),
        ANONYMOUS, None, None, None, None),
    "proxy header without trusted proxies": (
        {"proxy_header": "X-Forwarded-Email"},
        RequestFacts(peer=None, proxy_values=("lead@example.com",)),
        ANONYMOUS, None, None, None, None),
    "proxy, but the peer address may come from X-Forwarded-For": (
        PROXY, RequestFacts(peer="10.0.0.5", proxy_values=("ops@acme.io",)),
        ANONYMOUS, None, None, None, None),
    "proxy header sent twice": (
        PROXY, RequestFacts(peer_direct=True, peer="10.0.0.5",
                            proxy_values=("ops@acme.io", "lead@example.com")),
        ANONYMOUS, None, None, None, None),
    "proxy not listed": (
        PROXY, RequestFacts(peer_direct=True, peer="10.0.0.5", proxy_values=("stranger@x.io",)),
        UNAUTHORISED, None, None, None, "proxy"),
    "proxy configured: demo is off": (
        {**PROXY, "demo": True}, RequestFacts(peer="203.0.113.9", demo_name="alice"),
        ANONYMOUS, None, None, None, None),
    "oidc wins over the proxy": (
        PROXY, RequestFacts(oidc_configured=True, oidc_logged_in=True,
                            oidc_email="ops@acme.io", peer="10.0.0.5", peer_direct=True,
                            proxy_values=("lead@example.com",)),
        SIGNED_IN, "ops@acme.io", Role.operator, frozenset({"acme"}), "oidc"),
    "demo, nobody typed a name": (
        {"demo": True}, RequestFacts(), ANONYMOUS, None, None, None, None),
    "demo, a bad name": (
        {"demo": True}, RequestFacts(demo_name="<b>x</b>"), ANONYMOUS, None, None, None, None),
    "demo, default role": (
        {"demo": True}, RequestFacts(demo_name=" alice "),
        SIGNED_IN, "alice", Role.admin, frozenset(), "demo"),
    "demo, picked viewer": (
        {"demo": True}, RequestFacts(demo_name="alice", demo_role="viewer"),
        SIGNED_IN, "alice", Role.viewer, frozenset(), "demo"),
    "demo, picked above the ceiling": (
        {"demo": True, "demo_role": "operator"},
        RequestFacts(demo_name="alice", demo_role="admin"),
        SIGNED_IN, "alice", Role.operator, frozenset(), "demo"),
    "demo, picked nonsense": (
        {"demo": True, "demo_role": "viewer"},
        RequestFacts(demo_name="alice", demo_role="root"),
        SIGNED_IN, "alice", Role.viewer, frozenset(), "demo"),
    "demo, a listed name keeps its entry": (
        {"demo": True}, RequestFacts(demo_name="ops@acme.io", demo_role="admin"),
        SIGNED_IN, "ops@acme.io", Role.operator, frozenset({"acme"}), "demo"),
}


@pytest.mark.parametrize(("settings", "facts", "state", "name", "role", "tenants", "via"),
                         list(CASES.values()), ids=list(CASES))
def test_resolve(settings, facts, state, name, role, tenants, via):
    got = resolve(auth(**settings), facts)
    assert got.state == state
    assert got.via == via
    if state == SIGNED_IN:
        assert (got.identity.name, got.identity.role, got.identity.tenants,
                got.identity.via) == (name, role, tenants, via)
    else:
        assert got.identity is None


def test_unauthorised_names_who_is_signed_in():
    got = resolve(auth(**PROXY), RequestFacts(peer_direct=True, peer="10.0.0.5",
                                              proxy_values=("Eve@X.io",)))
    assert (got.state, got.who) == (UNAUTHORISED, "eve@x.io")


@pytest.mark.parametrize(
    ("settings", "facts", "methods", "note"),
    [
        ({"demo": True}, RequestFacts(), ("demo",), None),
        ({}, RequestFacts(), (), None),
        ({"demo": True}, RequestFacts(oidc_configured=True), ("oidc",), "Demo mode is off"),
        ({"proxy_header": "X-Forwarded-Email"}, RequestFacts(), ("proxy",),
         "trusted_proxies is empty"),
        (PROXY, RequestFacts(peer="203.0.113.9", peer_direct=True), ("proxy",),
         "did not come through"),
        (PROXY, RequestFacts(peer="10.0.0.5", peer_direct=True), ("proxy",),
         "no usable X-Forwarded-Email"),
        (PROXY, RequestFacts(peer="10.0.0.5", proxy_values=("ops@acme.io",)), ("proxy",),
         "FORWARDED_ALLOW_IPS"),
    ],
)
def test_anonymous_says_what_is_offered_and_why_not(settings, facts, methods, note):
    got = resolve(auth(**settings), facts)
    assert got.state == ANONYMOUS and got.methods == methods
    if note is None:
        assert not got.notes
    else:
        assert any(note in n for n in got.notes)
