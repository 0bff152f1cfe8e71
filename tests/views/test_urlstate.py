"""A page's URL state (``ui.urlstate``): the pure rules tabled, then read/write on a
running page (AppTest)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

from intel.timewindows import ALL_TIME, CUSTOM, WindowSet
from ui import urlstate as U

WINDOWS = WindowSet(("1h", "24h", "7d", ALL_TIME, CUSTOM), default=ALL_TIME)
T1 = datetime(2026, 11, 1, tzinfo=UTC)
T2 = datetime(2026, 11, 2, tzinfo=UTC)


def _implied(params) -> str:
    return CUSTOM if U.one(params, "since") or U.one(params, "until") else ALL_TIME


# The audit trail's shape: text filters, a window kept in the URL, bounds only with a
# custom window, a page number left out at 1.
PARAMS = (
    U.Param("actor"),
    U.Param("window", parse=WINDOWS.check, default=ALL_TIME, keep=True, implied=_implied),
    *U.CUSTOM_BOUNDS,
    U.Param("page", parse=U.page_number, default=1),
)
SPEC = U.UrlSpec.of(*PARAMS)
EMPTY = {"actor": None, "window": "all", "since": None, "until": None, "page": 1}


@pytest.mark.parametrize(
    ("params", "state", "problems"),
    [
        ({}, EMPTY, []),
        ({"actor": "bob", "window": "7d", "page": "3"},
         {**EMPTY, "actor": "bob", "window": "7d", "page": 3}, []),
        ({"actor": "  ", "window": ""}, EMPTY, []),  # blank is absent
        ({"actor": ["alice", "bob"]}, {**EMPTY, "actor": "bob"}, []),  # the last one
        ({"window": "custom", "since": "2026-11-01T00:00:00Z", "until": "2026-11-02"},
         {**EMPTY, "window": "custom", "since": T1, "until": T2}, []),
        ({"since": "2026-11-01T00:00:00Z"},  # bounds without a window: custom
         {**EMPTY, "window": "custom", "since": T1}, []),
        ({"window": "7d", "since": "garbage"},  # bounds of no use are not read
         {**EMPTY, "window": "7d"}, []),
        ({"window": "forever", "page": "x"}, EMPTY,
         ["window: expected one of 1h, 24h, 7d, all, custom, got 'forever'",
          "page: expected a whole number >= 1, got 'x'"]),
        ({"window": "custom", "since": "yesterday", "page": "0"}, {**EMPTY, "window": "custom"},
         ["since: not an RFC 3339 timestamp: 'yesterday'",
          "page: expected a whole number >= 1, got '0'"]),
        ({"window": "forever", "since": "2026-11-01T00:00:00Z"}, EMPTY,  # bad: the default
         ["window: expected one of 1h, 24h, 7d, all, custom, got 'forever'"]),
        ({"other": "x", "actor": "bob"}, {**EMPTY, "actor": "bob"}, []),
    ],
)
def test_parse(params, state, problems):
    assert SPEC.parse(params) == (state, problems)


@pytest.mark.parametrize(
    ("state", "params"),
    [
        (EMPTY, {"window": "all"}),  # kept: the canonical link names it
        ({**EMPTY, "actor": "bob", "page": 2}, {"actor": "bob", "window": "all", "page": "2"}),
        ({**EMPTY, "actor": ""}, {"window": "all"}),
        ({**EMPTY, "window": "custom", "since": T1, "until": T2},
         {"window": "custom", "since": "2026-11-01T00:00:00Z", "until": "2026-11-02T00:00:00Z"}),
        ({**EMPTY, "window": "7d", "since": T1}, {"window": "7d"}),  # bounds of no use
    ],
)
def test_to_params(state, params):
    assert SPEC.to_params(state) == params
    again, problems = SPEC.parse(params)
    assert problems == []
    assert SPEC.to_params(again) == params  # the canonical link reads back to itself


def test_a_spec_names_a_parameter_once():
    with pytest.raises(ValueError, match="a parameter twice"):
        U.UrlSpec.of(U.Param("a"), U.Param("a"))


@pytest.mark.parametrize(
    ("current", "wanted", "remove", "put"),
    [
        ({"window": "all"}, {"window": "all"}, [], {}),  # nothing to do: no rewrite
        ({"window": "all", "other": "x"}, {"window": "all"}, [], {}),  # others left alone
        ({"window": "all", "page": "2"}, {"window": "all"}, ["page"], {}),  # default: removed
        ({"actor": "bob", "window": "7d"}, {"window": "all"}, ["actor"], {"window": "all"}),
        ({}, {"window": "custom", "since": "2026-11-01T00:00:00Z"}, [],
         {"window": "custom", "since": "2026-11-01T00:00:00Z"}),
        ({"actor": ""}, {"window": "all"}, ["actor"], {"window": "all"}),
    ],
)
def test_changes_touch_only_the_page_keys(current, wanted, remove, put):
    assert U.changes(SPEC, current, wanted) == (remove, put)


def test_changes_refuse_a_foreign_key():
    with pytest.raises(ValueError, match="not the page's parameter"):
        U.changes(SPEC, {}, {"other": "x"})


@pytest.mark.parametrize(
    ("params", "own"),
    [
        ({"actor": "bob", "other": "x", "page": ""}, {"actor": "bob"}),
        ({}, {}),
        ({"window": ["7d", "24h"]}, {"window": "24h"}),
    ],
)
def test_own(params, own):
    assert U.own(SPEC, params) == own


@pytest.mark.parametrize(
    ("raw", "parser", "expected"),
    [
        ("3", U.page_number, 3),
        ("1", U.page_number, 1),
        ("0", U.page_number, "expected a whole number >= 1, got '0'"),
        ("-2", U.page_number, "expected a whole number >= 1, got '-2'"),
        ("two", U.page_number, "expected a whole number >= 1, got 'two'"),
        ("tenant", U.choice({"endpoint": 1, "tenant": 2}), "tenant"),
        ("x", U.choice(("endpoint", "tenant")), "expected one of endpoint, tenant, got 'x'"),
    ],
)
def test_parsers(raw, parser, expected):
    if isinstance(expected, str) and expected.startswith("expected"):
        with pytest.raises(ValueError) as caught:
            parser(raw)
        assert str(caught.value) == expected
    else:
        assert parser(raw) == expected


# --- on a running page ----------------------------------------------------------------------


def _page():
    """A page with the spec above: reads (canonically), then writes what the session asks."""
    import streamlit as st

    from intel.timewindows import ALL_TIME, CUSTOM, WindowSet
    from ui import urlstate as U

    windows = WindowSet(("1h", "24h", "7d", ALL_TIME, CUSTOM), default=ALL_TIME)
    spec = U.UrlSpec.of(
        U.Param("actor"),
        U.Param("window", parse=windows.check, default=ALL_TIME, keep=True),
        U.Param("page", parse=U.page_number, default=1),
    )
    state, problems = U.read(spec)
    st.text("\n".join(problems))
    wanted = st.session_state.get("wanted")
    if wanted is not None:
        st.session_state["wrote"] = U.write(spec, {**state, **wanted})
        st.session_state["wanted"] = None
    else:
        st.session_state["wrote"] = U.write(spec, state)


def _run(**params) -> AppTest:
    at = AppTest.from_function(_page, default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_read_makes_the_url_canonical_and_leaves_other_keys():
    at = _run(actor="bob", page="1", window="nope", other="kept")
    assert dict(at.query_params) == {"actor": "bob", "window": "all", "other": "kept"}
    assert "window: expected one of" in at.text[0].value
    assert at.session_state["wrote"] is False  # already canonical after the read


def test_an_unchanged_url_is_not_rewritten():
    at = _run(window="7d")
    assert at.session_state["wrote"] is False
    at.run()
    assert at.session_state["wrote"] is False
    assert dict(at.query_params) == {"window": "7d"}


def test_write_sets_and_removes_only_the_page_keys():
    at = _run(actor="bob", window="7d", page="3", other="kept")
    at.session_state["wanted"] = {"actor": None, "page": 1, "window": "24h"}
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["wrote"] is True
    assert dict(at.query_params) == {"window": "24h", "other": "kept"}


def _marker_page():
    import streamlit as st

    from ui import urlstate as U

    params = {"window": st.session_state.get("window_now", "7d")}
    st.session_state["outside"] = U.changed_outside("marker", params)
    U.mark_synced("marker", params)


def test_changed_outside_until_marked():
    at = AppTest.from_function(_marker_page, default_timeout=30).run()
    assert at.session_state["outside"] is True  # first visit: nothing synced yet
    at.run()
    assert at.session_state["outside"] is False
    at.session_state["window_now"] = "24h"
    at.run()
    assert at.session_state["outside"] is True
