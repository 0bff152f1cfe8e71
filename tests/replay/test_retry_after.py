"""The one Retry-After / rate-limit reset parser (intel.replay.retry_after): every value a
receiver can send is usable, capped or unusable, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intel.replay.retry_after import (
    MAX_WAIT_S,
    add_wait,
    delay_seconds,
    reset_seconds,
    retry_hint,
)

NOW = datetime(2026, 11, 5, 16, 0, tzinfo=UTC)
EPOCH = int(NOW.timestamp())
CAP = (MAX_WAIT_S, True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", (120.0, False)),
        (" 30 ", (30.0, False)),
        ("1.5", (1.5, False)),
        ("0", (0.0, False)),
        (30, (30.0, False)),  # a JSON number in imported headers
        (2.5, (2.5, False)),
        (["45"], (45.0, False)),  # a list: its first item
        ("Thu, 05 Nov 2026 16:02:00 GMT", (120.0, False)),
        ("Thu, 05 Nov 2026 15:00:00 GMT", (0.0, False)),  # past: now
        ("Fri, 31 Dec 9999 23:59:59 GMT", CAP),
        ("inf", CAP),
        ("Infinity", CAP),
        ("1e300", CAP),
        ("1e400", CAP),  # beyond float: infinity
        (10**400, CAP),  # an integer beyond any float
        (float("inf"), CAP),
        ("604801", CAP),
        ("nan", None),
        (float("nan"), None),
        ("-5", None),
        (-5, None),
        ("-inf", None),
        ("soon", None),
        ("", None),
        ("1_000", None),
        ("Thu, 05 Nov 2026 16:02:00", None),  # no zone
        ("Thu, 99 Nov 2026 16:02:00 GMT", None),
        ("9" * 500, None),  # longer than any header value worth reading
        (None, None),
        (True, None),
        ({"seconds": 30}, None),
        ([], None),
        (b"60", (60.0, False)),
        (object(), None),
    ],
)
def test_retry_after_values(value, expected):
    assert delay_seconds(value, NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("60", (60.0, False)),
        (str(EPOCH + 90), (90.0, False)),  # epoch seconds
        (str((EPOCH + 90) * 1000), (90.0, False)),  # epoch milliseconds
        (str(EPOCH - 90), (0.0, False)),  # already reset
        ("30, 60", (30.0, False)),
        ("30;w=60", (30.0, False)),
        (EPOCH + 10, (10.0, False)),
        ("1e300", CAP),
        ("inf", CAP),
        ("nan", None),
        ("-1", None),
        ("later", None),
        ({"a": 1}, None),
        ("Thu, 05 Nov 2026 16:01:00 GMT", (60.0, False)),
    ],
)
def test_reset_values(value, expected):
    assert reset_seconds(value, NOW) == expected


@pytest.mark.parametrize(
    ("headers", "seconds", "capped", "source"),
    [
        ({"Retry-After": "30"}, 30.0, False, "Retry-After: 30"),
        ({"retry-after": "inf"}, MAX_WAIT_S, True, "Retry-After: inf"),
        ({"X-RateLimit-Reset": "1e300"}, MAX_WAIT_S, True, "X-RateLimit-Reset: 1e300"),
        ({"Retry-After": "nan", "RateLimit-Reset": "20"}, 20.0, False, "RateLimit-Reset: 20"),
        ({"Retry-After": "soon", "X-RateLimit-Reset": str(EPOCH + 5)}, 5.0, False, None),
        ({"X-RateLimit-Reset-After": "2.5"}, 2.5, False, "X-RateLimit-Reset-After: 2.5"),
        ({"RateLimit": "limit=100, remaining=0, reset=30"}, 30.0, False, None),
        ({"RateLimit": '"default";r=0;t=12'}, 12.0, False, None),
        ([["Retry-After", "7"]], 7.0, False, None),  # a list of pairs
        ([{"name": "retry-after", "value": "8"}], 8.0, False, None),
        ({" RETRY-AFTER ": 9}, 9.0, False, None),
    ],
)
def test_retry_hint_reads_the_first_usable_header(headers, seconds, capped, source):
    hint = retry_hint(headers, NOW)
    assert (hint.seconds, hint.capped) == (seconds, capped)
    if source:
        assert hint.describe() == source


@pytest.mark.parametrize(
    "headers",
    [None, {}, "Retry-After: 30", 42, [1, 2, 3], {"Retry-After": None},
     {"Retry-After": {"nested": ["x"]}}, {1: "30"}, {"Retry-After": "nan"},
     {"Retry-After": "-1"}, [("a",)], {"ratelimit": "no reset here"}],
)
def test_retry_hint_unusable(headers):
    assert retry_hint(headers, NOW) is None


def test_a_shown_value_is_cut_and_on_one_line():
    hint = retry_hint({"Retry-After": "inf" + " \n" * 5 + "x" * 80}, NOW)
    assert hint is None  # not a number: unusable, whatever it says
    hint = retry_hint({"X-RateLimit-Reset": "30;" + "w" * 150}, NOW)
    assert hint.seconds == 30 and len(hint.describe()) < 100 and "\n" not in hint.describe()


@pytest.mark.parametrize(
    ("at", "seconds", "expected"),
    [
        (NOW, 30.0, NOW + timedelta(seconds=30)),
        (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), MAX_WAIT_S, None),  # past year 9999
        (NOW, float("inf"), None),
    ],
)
def test_add_wait_never_overflows(at, seconds, expected):
    assert add_wait(at, seconds) == expected


# --- properties -------------------------------------------------------------------------

json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
json_values = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=8,
)
header_names = st.sampled_from(
    ["Retry-After", "retry-after", "RateLimit-Reset", "X-RateLimit-Reset", "x-rate-limit-reset",
     "X-RateLimit-Reset-After", "RateLimit", "Content-Type"]
) | st.text(max_size=12)
numberish = st.one_of(
    st.floats().map(repr), st.integers().map(str), st.sampled_from(
        ["inf", "-inf", "nan", "1e300", "1e-300", "+5", "0x10", "5e", "١٢", "Infinity"]),
    st.from_regex(r"[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} [A-Z+\-0-9]{3,5}",
                  fullmatch=True),
)
any_headers = st.one_of(
    json_values,
    st.dictionaries(header_names, numberish | json_values, max_size=5),
    st.lists(st.tuples(header_names, numberish | json_values), max_size=4),
)
any_time = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                        timezones=st.just(UTC))


@settings(max_examples=400, deadline=None)
@given(headers=any_headers, now=any_time)
def test_retry_hint_never_raises_and_stays_in_bounds(headers, now):
    hint = retry_hint(headers, now)
    if hint is not None:
        assert 0.0 <= hint.seconds <= MAX_WAIT_S
        assert not hint.capped or hint.seconds == MAX_WAIT_S
        assert len(hint.describe()) < 100
        add_wait(now, hint.seconds)  # never raises either


@settings(max_examples=300, deadline=None)
@given(value=numberish | json_values, now=any_time, cap=st.floats(0, 1e9))
def test_parsers_never_raise(value, now, cap):
    for parse in (delay_seconds, reset_seconds):
        got = parse(value, now, cap_s=cap)
        assert got is None or 0.0 <= got[0] <= cap
