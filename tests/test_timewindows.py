"""The look-back table and the window sets pages offer (``intel.timewindows``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from intel.timeutil import parse_duration
from intel.timewindows import (
    ALL_TIME,
    CUSTOM,
    LOOKBACKS,
    WindowError,
    WindowSet,
    lookback,
    resolve,
)

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
HISTORY = WindowSet(("1h", "24h", "7d", CUSTOM), default="24h")
AUDIT = WindowSet(("1h", "24h", "7d", "30d", ALL_TIME, CUSTOM), default=ALL_TIME)


@pytest.mark.parametrize(
    ("key", "span", "label", "brief", "words"),
    [
        ("1h", timedelta(hours=1), "1 h", "the last hour", "the last hour"),
        ("24h", timedelta(hours=24), "24 h", "the last 24 h", "the last 24 hours"),
        ("7d", timedelta(days=7), "7 d", "the last 7 days", "the last 7 days"),
        ("30d", timedelta(days=30), "30 d", "the last 30 days", "the last 30 days"),
    ],
)
def test_the_table(key, span, label, brief, words):
    lb = lookback(key)
    assert (lb.key, lb.span, lb.label, lb.brief, lb.words) == (key, span, label, brief, words)
    # A key passed on as a look-back (``since=24h``) means the same span.
    assert parse_duration(key) == span


def test_the_table_holds_exactly_these_keys():
    assert list(LOOKBACKS) == ["1h", "24h", "7d", "30d"]


@pytest.mark.parametrize("bad", ["2d", "24H", "", None, "all", "custom"])
def test_lookback_rejects_what_is_not_a_lookback(bad):
    with pytest.raises(WindowError, match=r"window: expected one of 1h, 24h, 7d, 30d, got"):
        lookback(bad)


@pytest.mark.parametrize(
    ("keys", "default", "message"),
    [
        (("1h", "2d"), "1h", "unknown key '2d'"),
        (("1h", "1h"), "1h", "a key twice"),
        (("1h", "24h"), "7d", "default '7d' not in"),
    ],
)
def test_a_window_set_is_checked(keys, default, message):
    with pytest.raises(ValueError, match=message):
        WindowSet(keys, default=default)


@pytest.mark.parametrize(
    ("windows", "spans"),
    [
        (HISTORY, {"1h": timedelta(hours=1), "24h": timedelta(hours=24),
                   "7d": timedelta(days=7)}),
        (AUDIT, {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7),
                 "30d": timedelta(days=30)}),
        (WindowSet(("24h", "7d", "30d"), default="24h"),
         {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}),
    ],
)
def test_spans_are_the_offered_lookbacks(windows, spans):
    assert windows.spans == spans


@pytest.mark.parametrize(
    ("windows", "labels"),
    [
        (HISTORY, ["1 h", "24 h", "7 d", "Custom"]),
        (AUDIT, ["1 h", "24 h", "7 d", "30 d", "All", "Custom"]),
    ],
)
def test_labels(windows, labels):
    assert [windows.label(k) for k in windows.keys] == labels


@pytest.mark.parametrize(
    ("windows", "value", "expected"),
    [
        (HISTORY, "7d", "7d"),
        (HISTORY, "custom", "custom"),
        (AUDIT, "all", "all"),
        (AUDIT, "30d", "30d"),
    ],
)
def test_parse_accepts_the_offered_keys(windows, value, expected):
    assert windows.parse(value) == expected
    assert windows.check(value) == expected
    assert windows.read(value) == (expected, None)


@pytest.mark.parametrize(
    ("windows", "value", "name", "message"),
    [
        (HISTORY, "30d", "window", "window: expected one of 1h, 24h, 7d, custom, got '30d'"),
        (HISTORY, "all", "window", "window: expected one of 1h, 24h, 7d, custom, got 'all'"),
        (AUDIT, "forever", "window",
         "window: expected one of 1h, 24h, 7d, 30d, all, custom, got 'forever'"),
        (HISTORY, " 24h", "query.window",
         "query.window: expected one of 1h, 24h, 7d, custom, got ' 24h'"),
        (HISTORY, 24, "window", "window: expected one of 1h, 24h, 7d, custom, got 24"),
    ],
)
def test_parse_names_the_value_and_the_choices(windows, value, name, message):
    with pytest.raises(WindowError) as caught:
        windows.parse(value, name)
    assert str(caught.value) == message
    # check leaves naming the parameter to its caller
    with pytest.raises(ValueError) as unnamed:
        windows.check(value)
    assert name + ": " + str(unnamed.value) == message
    assert windows.read(value, name) == (windows.default, message)


@pytest.mark.parametrize("absent", [None, "", "  "])
def test_read_of_nothing_is_the_default_without_a_problem(absent):
    assert HISTORY.read(absent) == ("24h", None)
    assert AUDIT.read(absent) == ("all", None)


CET = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("window", "since", "until", "expected"),
    [
        ("1h", None, None, (NOW - timedelta(hours=1), NOW)),
        ("24h", None, None, (NOW - timedelta(hours=24), NOW)),
        ("7d", None, None, (NOW - timedelta(days=7), NOW)),
        ("30d", None, None, (NOW - timedelta(days=30), NOW)),
        ("all", None, None, (None, None)),
        ("custom", None, None, (None, None)),
        ("custom", NOW - timedelta(days=2), None, (NOW - timedelta(days=2), None)),
        ("custom", None, NOW, (None, NOW)),
        ("custom", datetime(2026, 11, 1, 1, 0, tzinfo=CET), datetime(2026, 11, 2),
         (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))),
    ],
)
def test_resolve(window, since, until, expected):
    got = resolve(window, NOW, since, until)
    assert got == expected
    assert all(t is None or t.tzinfo == UTC for t in got)


def test_resolve_reads_now_as_utc():
    assert resolve("1h", datetime(2026, 11, 5, 17, 30, tzinfo=CET)) == (
        NOW - timedelta(hours=1), NOW)


@pytest.mark.parametrize(
    ("window", "since", "until", "message"),
    [
        ("2d", None, None, "window: expected one of 1h, 24h, 7d, 30d, all, custom, got '2d'"),
        ("24h", NOW, None, "since/until need window=custom, got window='24h'"),
        ("all", None, NOW, "since/until need window=custom, got window='all'"),
    ],
)
def test_resolve_refuses(window, since, until, message):
    with pytest.raises(WindowError) as caught:
        resolve(window, NOW, since, until)
    assert str(caught.value) == message


def test_a_set_resolves_only_what_it_offers():
    assert HISTORY.resolve("7d", NOW) == (NOW - timedelta(days=7), NOW)
    with pytest.raises(WindowError, match="got '30d'"):
        HISTORY.resolve("30d", NOW)
