"""Outbound safety: address classes, URL checks, and refusals over real connections."""

from __future__ import annotations

import asyncio
import ssl

import httpx
import pytest

from intel.replay.safety import (
    OutboundPolicy,
    OutboundRefused,
    check_url,
    classify_address,
    refusal_for_address,
    resolve_checked,
)
from intel.replay.sender import REFUSED, SUCCEEDED, classify_error, make_client, send_replay
from tests.replay.replay_helpers import Answer


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("169.254.10.10", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "CGNAT"),
        ("100.127.255.254", "CGNAT"),
        ("169.254.169.254", "cloud-metadata"),
        ("fd00:ec2::254", "cloud-metadata"),
        ("100.100.100.200", "cloud-metadata"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "cloud-metadata"),
        ("2002:0a00:0005::1", "private"),  # 6to4 around 10.0.0.5
        ("64:ff9b::a00:5", "private"),  # NAT64 around 10.0.0.5
    ],
)
def test_classify_address(address, expected):
    assert classify_address(address) == expected


@pytest.mark.parametrize(
    ("address", "allow", "refused"),
    [
        ("127.0.0.1", False, True),
        ("127.0.0.1", True, False),
        ("10.0.0.5", True, False),
        ("100.64.1.1", False, True),
        ("169.254.169.254", True, True),  # metadata: never, whatever the setting
        ("0.0.0.0", True, True),
        ("8.8.8.8", False, False),
    ],
)
def test_private_networks_setting(address, allow, refused):
    reason = refusal_for_address(address, address, OutboundPolicy(allow))
    assert (reason is not None) == refused
    if refused:
        assert reason.startswith("refused: ")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://hooks.example.com/x", None),
        ("http://hooks.example.com:8080/x", None),
        ("ftp://hooks.example.com/x", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://x/", "scheme 'gopher'"),
        ("hooks.example.com/x", "scheme"),
        ("http:///nohost", "no host"),
        ("http://x:99999/", "not a valid URL"),
    ],
)
def test_check_url(url, problem):
    reason = check_url(url)
    if problem is None:
        assert reason is None
    else:
        assert problem in reason


def test_a_name_answering_public_and_internal_is_refused():
    async def rebinding(host, port):
        return ["93.184.216.34", "127.0.0.1"]

    with pytest.raises(OutboundRefused, match=r"evil\.test resolves to 127\.0\.0\.1"):
        asyncio.run(resolve_checked("evil.test", 80, OutboundPolicy(False), rebinding))


def _send(url, *, allow=False, resolver=None, verify=True, timeout_s=3.0, payload=None):
    async def go():
        async with make_client(allow_private_networks=allow, timeout_s=timeout_s,
                               verify=verify, resolver=resolver) as client:
            return await send_replay(client, delivery_id="d1", url=url,
                                     payload=payload or {"a": 1}, secret=None,
                                     timeout_s=timeout_s)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("10.0.0.5", "10.0.0.5 is a private-network address"),
        ("169.254.169.254", "cloud metadata"),
        ("localhost", "localhost resolves to"),
        ("[::1]", "loopback"),
    ],
)
def test_ssrf_destinations_are_refused_before_connecting(receiver, host, why):
    result = _send(receiver.url("/hook", host=host))
    assert result.outcome == REFUSED
    assert why in result.error
    assert not receiver.requests  # nothing reached the (real, listening) server


def test_metadata_refused_even_with_private_networks_allowed():
    result = _send("http://169.254.169.254/latest/meta-data/", allow=True)
    assert result.outcome == REFUSED and "never allowed" in result.error


def test_private_networks_allowed_reaches_loopback_by_name(receiver):
    result = _send(receiver.url("/hook", host="localhost"), allow=True)
    assert result.outcome == SUCCEEDED
    assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"


def test_connection_goes_to_the_checked_address(receiver):
    """The socket uses the address that was checked: the system cannot even resolve the
    name, so the request only arrives if the connection is pinned to the checked answer;
    the Host header keeps the name."""
    async def resolver(host, port):
        return ["127.0.0.1"]

    result = _send(receiver.url("/pinned", host="hooks.rebind.test"), allow=True,
                   resolver=resolver)
    assert result.outcome == SUCCEEDED, result.error
    assert receiver.requests[0].headers["host"] == f"hooks.rebind.test:{receiver.port}"


def test_tls_keeps_sni_and_verification_of_the_hostname(tls_receiver, tls_cert):
    cert, _key = tls_cert
    trust = ssl.create_default_context(cafile=str(cert))
    # localhost -> pinned to 127.0.0.1, certificate verified against "localhost"
    ok = _send(tls_receiver.url("/tls"), allow=True, verify=trust)
    assert ok.outcome == SUCCEEDED, ok.error
    # the same server by IP: the certificate does not name 127.0.0.1 -> verification fails
    bad = _send(tls_receiver.url("/tls", host="127.0.0.1"), allow=True, verify=trust)
    assert bad.outcome == "failed"
    assert "certificate" in bad.error.lower()


def test_redirects_are_not_followed(receiver):
    receiver.route("/moved", Answer(302, headers={"Location": "http://169.254.169.254/"}))
    result = _send(receiver.url("/moved"), allow=True)
    assert result.outcome == "failed" and result.http_status == 302
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("answer", "timeout_s", "outcome", "error"),
    [
        # the receiver got the request: no answer in time, or the connection dropped
        (Answer(200, delay_s=1.5), 0.3, "unknown", "timeout: no response within 0.3 s"),
        (Answer(None), 3.0, "unknown", "connection closed without a complete response"),
        # it answered: its status is the outcome, however slowly within the timeout
        (Answer(200, delay_s=0.4), 3.0, "succeeded", None),
        (Answer(503), 3.0, "failed", None),
    ],
    ids=["timeout-after-sending", "drop-after-read", "slow-200", "503"],
)
def test_outcome_of_a_sent_request(receiver, answer, timeout_s, outcome, error):
    receiver.route("/r", answer)
    result = _send(receiver.url("/r"), allow=True, timeout_s=timeout_s)
    assert result.outcome == outcome
    assert len(receiver.requests) == 1  # it did arrive, whatever the outcome
    if error:
        assert result.error.startswith(error) and result.http_status is None
    assert result.duration_ms < 1500


def test_connection_refused_is_a_failure():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = _send(f"http://127.0.0.1:{port}/x", allow=True)
    assert result.outcome == "failed" and "connect error" in result.error


def test_dns_failure_is_a_failure():
    async def no_such_host(host, port):
        raise OSError("Name or service not known")

    result = _send("http://hooks.nowhere.test/x", allow=True, resolver=no_such_host)
    assert result.outcome == "failed" and "DNS" in result.error


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (httpx.ConnectError("refused"), "failed"),
        (httpx.ConnectTimeout("tls handshake"), "failed"),
        (httpx.PoolTimeout("no connection"), "failed"),
        (httpx.UnsupportedProtocol("ftp"), "failed"),
        (httpx.ReadTimeout("no answer"), "unknown"),
        (httpx.WriteTimeout("half a body"), "unknown"),
        (httpx.ReadError("reset"), "unknown"),
        (httpx.WriteError("broken pipe"), "unknown"),
        (httpx.RemoteProtocolError("server disconnected"), "unknown"),
        (OSError("anything unforeseen"), "unknown"),
    ],
)
def test_classify_error(exc, outcome):
    assert classify_error(exc) == outcome
