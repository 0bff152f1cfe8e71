from datetime import UTC, datetime, timedelta

import pytest

from intel.timeutil import parse_duration, parse_since, parse_timestamp, to_rfc3339

T = datetime(2025, 11, 5, 16, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-05T16:30:00Z", T),
        ("2025-11-05T16:30:00z", T),
        ("2025-11-05T16:30:00+00:00", T),
        ("2025-11-05T17:30:00+01:00", T),
        ("2025-11-05T16:30:00", T),  # no offset: UTC
        ("2025-11-05 16:30:00", T),
        (T, T),
    ],
)
def test_parse_timestamp(text, expected):
    assert parse_timestamp(text) == expected
    assert parse_timestamp(text).tzinfo is not None


@pytest.mark.parametrize("bad", ["", "yesterday", "2025-13-01T00:00:00Z", None, 12])
def test_parse_timestamp_rejects(bad):
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_timestamp(bad)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("7d", 604800), ("250ms", 0.25), (45, 45)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_parse_since_and_format():
    assert parse_since("24h", T) == T - timedelta(hours=24)
    assert parse_since("2025-11-01T00:00:00Z", T) == datetime(2025, 11, 1, tzinfo=UTC)
    assert to_rfc3339(T) == "2025-11-05T16:30:00Z"
    assert to_rfc3339(None) is None
