"""Failure signatures: normalisation, status parsing and inference, relevant headers."""

from __future__ import annotations

import pytest

from intel.triage import failure_signature
from intel.triage.signature import (
    MAX_TEXT,
    as_text,
    infer_status,
    normalize_text,
    parse_status,
    relevant_headers,
)

NORMALISE = [
    # (raw, normalised)
    (
        'Post "https://hooks.acme.test/in?x=1": dial tcp 192.0.2.4:443: '
        "connect: connection refused",
        'post "<url>": dial tcp <ip>: connect: connection refused',
    ),
    ("connect ECONNREFUSED [::1]:3000", "connect econnrefused <ip>"),
    ("connect ECONNREFUSED ::1:3000", "connect econnrefused <ip>"),
    ("lookup api.acme.test on 10.0.0.2:53: no such host", "lookup <host> on <ip>: no such host"),
    (
        "HTTPSConnectionPool(host='api.acme.io', port=443): Read timed out. (read timeout=30)",
        "httpsconnectionpool(host='<host>', port=<n>): read timed out. (read timeout=<n>)",
    ),
    ("request 6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b failed", "request <uuid> failed"),
    ("object at 0x7f3a2b1c9d80", "object at <hex>"),
    ("trace deadbeef1234 at /srv/app/handlers/hook.py:12", "trace <hex> at <path>:<n>"),
    ("timeout of 0ms exceeded", "timeout of 0ms exceeded"),
    ("timeout of 15000ms exceeded", "timeout of <n>ms exceeded"),
    ("Error H12 (Request timeout)", "error h12 (request timeout)"),
    ("ERR_NGROK_8012 x509 http2", "err_ngrok_8012 x509 http2"),
    # Java class names are not host names
    (
        "java.net.SocketTimeoutException: Read timed out",
        "java.net.sockettimeoutexception: read timed out",
    ),
    # quoted prose is kept: it names the error
    (
        "ConnectionResetError(104, 'Connection reset by peer')",
        "connectionreseterror(<n>, 'connection reset by peer')",
    ),
    (
        "<html><head><title>502 Bad Gateway</title></head>"
        "<body><center>nginx</center></body></html>",
        "<n> bad gateway nginx",
    ),
    (
        "<urlopen error [Errno 111] Connection refused>",
        "<urlopen error [errno <n>] connection refused>",
    ),
    ("  many   \n\t spaces  ", "many spaces"),
    ("", ""),
]


@pytest.mark.parametrize(("raw", "expected"), NORMALISE)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


SAME = [
    (
        'Post "https://a.acme.test/x": dial tcp 192.0.2.1:443: connect: connection refused',
        'Post "https://b.zeta.io/y/z": dial tcp 198.51.100.7:8443: connect: connection refused',
    ),
    (
        "cURL error 28: Operation timed out after 2001 milliseconds with 0 bytes received",
        "cURL error 28: Operation timed out after 30000 milliseconds with 0 bytes received",
    ),
    ("Error: getaddrinfo ENOTFOUND a-1.acme.test", "Error: getaddrinfo ENOTFOUND b-99.other.com"),
    (
        "http.client.IncompleteRead: IncompleteRead(12 bytes read, 88 more expected)",
        "http.client.IncompleteRead: IncompleteRead(4096 bytes read, 1 more expected)",
    ),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_family_same_signature(a, b):
    assert failure_signature({"error": a}) == failure_signature({"error": b})


def test_signature_format():
    sig = failure_signature(
        {
            "status": "failed",
            "http_status": 503,
            "error": None,
            "response_body": "Busy 42",
            "response_headers": {"Retry-After": "120", "X-Other": "1"},
        }
    )
    assert sig == "503|retry-after=<n>||busy <n>"
    assert failure_signature({"error": "HTTP 404 from hook"}) == "~404||http <n> from hook|"
    assert failure_signature({}) == "-|||"
    assert failure_signature({"status": "delivered"}).startswith("delivered|")
    zero = failure_signature(
        {"http_status": 403, "response_headers": {"X-RateLimit-Remaining": "0"}}
    )
    assert zero == "403|x-ratelimit-remaining=0||"


def test_signature_separates_families():
    a = failure_signature({"error": "connection refused"})
    b = failure_signature({"error": "connection reset by peer"})
    c = failure_signature({"http_status": 503, "error": "connection refused"})
    assert len({a, b, c}) == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (503, 503),
        ("503", 503),
        (" 429 ", 429),
        (404.0, 404),
        ("404.0", 404),
        ("502 Bad Gateway", 502),
        (b"500", 500),
        (None, None),
        (True, None),
        (False, None),
        (503.5, None),
        (float("nan"), None),
        (float("inf"), None),
        ("abc", None),
        ("", None),
        ([503], None),
        ({"s": 503}, None),
        (99, None),
        (600, None),
        (-503, None),
        ("5030", None),
    ],
)
def test_parse_status(value, expected):
    assert parse_status(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("503 Service Unavailable", 503),
        ("<title>504 Gateway Time-out</title>", 504),
        ("Request failed with status code 401", 401),
        ("The requested URL returned error: 404", 404),
        ("urllib.error.HTTPError: HTTP Error 410: Gone", 410),
        ("requests.exceptions.HTTPError: 500 Server Error: Internal Server Error for url", 500),
        ("Http status error [429]", 429),
        ("Error 522 Connection timed out", 522),
        ("status=503 bytes=0", 503),
        ("HTTP/2 403", 403),
        ("Caused by ResponseError('too many 502 error responses')", 502),
        ("429", 429),
        ("dial tcp 192.0.2.1:443: connect: connection refused", None),
        ("[Errno 111] Connection refused (os error 111)", None),
        ("cURL error 52: Empty reply from server", None),
        ("timeout of 5000ms exceeded", None),
        ("HTTP 200 OK", None),
        ("", None),
    ],
)
def test_infer_status(text, expected):
    assert infer_status(text) == expected


def test_given_status_is_not_overridden_by_text():
    assert failure_signature({"http_status": 502, "response_body": "404 Not Found"}).startswith(
        "502|"
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (None, ()),
        ({"Content-Type": "text/html"}, ()),
        ({"Retry-After": " 30 ", "Server": "nginx"}, (("retry-after", "30"),)),
        (
            {"X-RateLimit-Remaining": "0", "retry-after": "5"},
            (("retry-after", "5"), ("x-ratelimit-remaining", "0")),
        ),
        ({"Retry-After": "1", "retry-after": "2"}, (("retry-after", "1"),)),
        ([("Retry-After", "7")], (("retry-after", "7"),)),
        ("Retry-After: 7\nX-Foo: bar", (("retry-after", "7"),)),
        ({"Retry-After": ["1", "2"]}, (("retry-after", "1, 2"),)),
        ({"Retry-After": 3}, (("retry-after", "3"),)),
        (42, ()),
        ({("a",): 1}, ()),
    ],
)
def test_relevant_headers(headers, expected):
    assert relevant_headers(headers) == expected


def test_as_text_bounds_and_types():
    assert as_text(None) == ""
    assert as_text(float("nan")) == ""
    assert as_text(True) == "true"
    assert as_text(b"caf\xc3\xa9") == "café"
    assert as_text({"a": [1]}) == '{"a": [1]}'
    assert len(as_text("x" * (MAX_TEXT * 3))) == MAX_TEXT
    page = "<style>" + "b{}" * 5000 + "</style><h1>503 Service Unavailable</h1>"
    assert "503 Service Unavailable" in as_text(page)
