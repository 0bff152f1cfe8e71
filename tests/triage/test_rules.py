"""Table-driven tests of the triage rules: one or more cases per rule of RULES.

Inputs are written for this table, in the style each client, proxy and platform family
uses (Go net/http, Node, Python requests/urllib3/httpx/aiohttp, Java, curl, .NET, Rust
reqwest, nginx, Envoy, Cloudflare, AWS, Heroku, GitHub, Stripe...), not copied from the
dev set.
"""

from __future__ import annotations

import re

import pytest

from intel.triage import CATEGORIES, RULES, classify_delivery
from intel.triage.result import SAFE_TO_RETRY_SCORE, TRANSIENT
from intel.triage.rules import SAFETY_CAPS


def d(status=None, error=None, body=None, headers=None, outcome="failed"):
    return {
        "id": "t",
        "tenant": "acme",
        "endpoint": "https://hooks.acme.test/in",
        "status": outcome,
        "http_status": status,
        "error": error,
        "response_body": body,
        "response_headers": headers,
    }


NGINX = (
    "<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>"
    "\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>"
)
GO = 'Post "https://hooks.acme.test/in": '

# (rule expected, delivery)
CASES = [
    # --- outcome
    ("delivered-not-a-failure", d(200, body="ok", outcome="delivered")),
    ("delivered-not-a-failure", d(None, error="connection refused", outcome=" Delivered ")),
    # --- rate limiting
    ("http-429-retry-after", d(429, body="slow down please", headers={"Retry-After": "17"})),
    ("http-429-retry-after", d(429, headers=[("RETRY-AFTER", "Wed, 21 Oct 2026 07:28:00 GMT")])),
    ("http-429", d(429, body='{"ok":false,"error":"ratelimited"}')),
    ("http-429", d(None, error="AxiosError: Request failed with status code 429")),
    ("ratelimit-remaining-zero", d(403, body="Forbidden", headers={"X-RateLimit-Remaining": "0"})),
    ("ratelimit-remaining-zero", d(400, headers="RateLimit-Remaining: 0\nRateLimit-Reset: 12")),
    ("ratelimit-remaining-zero", d(403, headers={"x-rate-limit-remaining": "0.0"})),
    ("ratelimit-header-remaining-zero", d(403, headers={"RateLimit": "limit=50, remaining=0"})),
    ("ratelimit-header-remaining-zero", d(503, headers={"ratelimit": '"default";r=0;t=20'})),
    ("http-420-enhance-your-calm", d(420, body="Enhance Your Calm")),
    ("rate-limit-text", d(403, body='{"message":"You have exceeded a secondary rate limit."}')),
    ("rate-limit-text", d(400, body="<Code>Throttling</Code><Message>Rate exceeded</Message>")),
    ("rate-limit-text", d(400, body="ThrottlingException: Rate exceeded")),
    ("rate-limit-text", d(None, error="shopify: Exceeded 4 calls per second for api client")),
    ("rate-limit-text", d(503, body="Request was throttled. Expected available in 3 seconds.")),
    ("rate-limit-text", d(None, error="RESOURCE_EXHAUSTED: Quota exceeded for quota metric")),
    (
        "aws-slow-down",
        d(
            503,
            body="<Error><Code>SlowDown</Code><Message>Please reduce your "
            "request rate.</Message></Error>",
        ),
    ),
    ("retry-after-on-4xx", d(403, body="come back later", headers={"Retry-After": "60"})),
    # --- unusable URL
    ("invalid-endpoint-url", d(None, error=GO + 'unsupported protocol scheme ""')),
    (
        "invalid-endpoint-url",
        d(
            None,
            error="requests.exceptions.MissingSchema: Invalid URL "
            "'hooks.acme.test/in': No scheme supplied.",
        ),
    ),
    ("invalid-endpoint-url", d(None, error="java.net.MalformedURLException: no protocol")),
    (
        "invalid-endpoint-url",
        d(None, error="curl: (3) URL using bad/illegal format or missing URL"),
    ),
    # --- TLS and scheme mismatch
    ("cloudflare-526-invalid-origin-certificate", d(526, body="Invalid SSL certificate")),
    ("cloudflare-525-ssl-handshake-failed", d(525, body="SSL handshake failed")),
    ("plain-http-to-https", d(None, error=GO + "http: server gave HTTP response to HTTPS client")),
    (
        "plain-http-to-https",
        d(400, body=NGINX.format("400 The plain HTTP request was sent to HTTPS port")),
    ),
    (
        "plain-http-to-https",
        d(
            None,
            error="javax.net.ssl.SSLException: Unrecognized SSL message, plaintext connection?",
        ),
    ),
    (
        "plain-http-to-https",
        d(None, error="curl: (35) error:0A00010B:SSL routines::wrong version number"),
    ),
    (
        "plain-http-to-https",
        d(None, error=GO + "tls: first record does not look like a TLS handshake"),
    ),
    (
        "tls-certificate-invalid",
        d(
            None,
            error=GO + "tls: failed to verify certificate: x509: "
            "certificate signed by unknown authority",
        ),
    ),
    (
        "tls-certificate-invalid",
        d(None, error="Error: self-signed certificate in certificate chain"),
    ),
    ("tls-certificate-invalid", d(None, error="{ code: 'CERT_HAS_EXPIRED' }")),
    (
        "tls-certificate-invalid",
        d(
            None,
            error="requests.exceptions.SSLError: HTTPSConnectionPool"
            "(host='hooks.acme.test', port=443): Max retries "
            "exceeded (Caused by SSLError(SSLCertVerificationError"
            "(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
            "verify failed: unable to get local issuer "
            "certificate (_ssl.c:1000)')))",
        ),
    ),
    (
        "tls-certificate-invalid",
        d(
            None,
            error="javax.net.ssl.SSLHandshakeException: No subject "
            "alternative DNS name matching hooks.acme.test "
            "found.",
        ),
    ),
    (
        "tls-certificate-invalid",
        d(None, error="curl: (60) SSL certificate problem: certificate has expired"),
    ),
    (
        "tls-certificate-invalid",
        d(None, error="error trying to connect: invalid peer certificate: UnknownIssuer"),
    ),
    (
        "tls-certificate-invalid",
        d(None, error="The remote certificate is invalid according to the validation procedure."),
    ),
    # a TLS error quoting DNS: SAN entries must not read as a DNS failure
    (
        "tls-certificate-invalid",
        d(
            None,
            error="Hostname/IP does not match certificate's altnames:"
            " Host: a.acme.test. is not in the cert's altnames:"
            " DNS:b.acme.test",
        ),
    ),
    ("tls-handshake-timeout", d(None, error=GO + "net/http: TLS handshake timeout")),
    ("tls-handshake-timeout", d(None, error="_ssl.c:980: The handshake operation timed out")),
    (
        "tls-connection-dropped",
        d(
            None,
            error="SSLError(SSLEOFError(8, 'EOF occurred in violation of protocol (_ssl.c:2427)'))",
        ),
    ),
    (
        "tls-connection-dropped",
        d(
            None,
            error="curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL "
            "in connection to hooks.acme.test:443",
        ),
    ),
    (
        "tls-connection-dropped",
        d(
            None,
            error="Client network socket disconnected before secure TLS connection was established",
        ),
    ),
    ("tls-handshake-failure", d(None, error=GO + "remote error: tls: handshake failure")),
    (
        "tls-handshake-failure",
        d(
            None,
            error="javax.net.ssl.SSLHandshakeException: Received fatal alert: protocol_version",
        ),
    ),
    (
        "tls-handshake-failure",
        d(
            None,
            error="[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert "
            "handshake failure (_ssl.c:1000)",
        ),
    ),
    # --- our own destination policy
    ("destination-blocked-by-policy", d(None, error="URL resolves to a forbidden IP")),
    (
        "destination-blocked-by-policy",
        d(None, error="refusing to deliver: private IP address ranges are not allowed"),
    ),
    ("destination-blocked-by-policy", d(None, error="E_INVALID_TARGET")),
    (
        "destination-blocked-by-policy",
        d(None, error="dial tcp 10.0.0.7:443: connect: permission denied"),
    ),
    # --- webhook verification
    (
        "webhook-signature-mismatch",
        d(
            400,
            body="Webhook Error: No signatures found matching the expected signature for payload",
        ),
    ),
    ("webhook-signature-mismatch", d(401, body='{"error":"invalid_signature"}')),
    ("webhook-signature-mismatch", d(500, body="SignatureVerificationError: bad sig")),
    ("webhook-signature-mismatch", d(None, error="X-Hub-Signature-256 does not match")),
    ("webhook-signature-mismatch", d(403, body="HMAC verification failed")),
    ("webhook-missing-headers", d(400, body="Missing required headers")),
    ("webhook-missing-headers", d(None, error="Missing webhook-id header")),
    ("webhook-timestamp-tolerance", d(400, body="Timestamp outside the tolerance zone")),
    ("webhook-timestamp-tolerance", d(None, error="message timestamp too old")),
    ("endpoint-disabled-text", d(503, body="This account has been suspended.")),
    ("endpoint-disabled-text", d(None, error="Endpoint disabled after repeated failures")),
    ("too-many-redirects", d(None, error=GO + "stopped after 10 redirects")),
    (
        "too-many-redirects",
        d(None, error="requests.exceptions.TooManyRedirects: Exceeded 30 redirects."),
    ),
    # --- firewalls and bot protection
    ("waf-block-page", d(403, body="<title>Attention Required! | Cloudflare</title>")),
    ("waf-block-page", d(403, body="Access Denied. Reference #18.1a2b3c4d (Akamai)")),
    (
        "waf-block-page",
        d(406, body="Not Acceptable! An appropriate representation ... Mod_Security"),
    ),
    ("bot-challenge-page", d(503, body="<title>Just a moment...</title> checking your browser")),
    # --- 4xx
    ("http-408-request-timeout", d(408, body="Request Timeout")),
    ("http-409-conflict", d(409, body='{"error":"duplicate event"}')),
    ("http-410-gone", d(410, body="gone for good")),
    (
        "http-410-gone",
        d(
            None,
            error="requests.exceptions.HTTPError: 410 Client Error: Gone for "
            "url: https://hooks.acme.test/in",
        ),
    ),
    ("http-413-payload-too-large", d(413, body=NGINX.format("413 Request Entity Too Large"))),
    ("http-419-csrf-page-expired", d(419, body="Page Expired")),
    ("http-422-unprocessable", d(422, body='{"detail":[{"msg":"field required"}]}')),
    ("http-401-unauthorized", d(401, body='{"message":"Bad credentials"}')),
    (
        "http-401-unauthorized",
        d(None, error="urllib.error.HTTPError: HTTP Error 401: Unauthorized"),
    ),
    ("http-403-forbidden", d(403, body='{"message":"Missing Authentication Token"}')),
    ("http-404-not-found", d(404, body="Cannot POST /in")),
    ("http-404-not-found", d(404, body="Tunnel abc.ngrok-free.app not found ERR_NGROK_3200")),
    ("http-404-not-found", d(None, body=NGINX.format("404 Not Found"))),
    ("http-405-method-not-allowed", d(405, body="Method Not Allowed")),
    ("http-400-bad-request", d(400, body='{"error":"invalid payload"}')),
    ("http-400-bad-request", d(400, body="timeout must be a number")),  # 4xx wins over "timeout"
    ("http-402-payment-required", d(402, body="payment overdue")),
    ("http-407-proxy-auth-required", d(407)),
    ("http-451-unavailable-legal", d(451)),
    ("http-4xx-request-rejected", d(415, body="Unsupported Media Type")),
    ("http-4xx-request-rejected", d(431)),
    ("http-4xx-precondition", d(412)),
    ("http-421-misdirected", d(421)),
    ("http-423-425-not-ready", d(425)),
    ("http-423-425-not-ready", d(423, body="Locked")),
    ("http-499-client-closed", d(499)),
    ("http-499-client-closed", d(460)),
    ("http-4xx-other", d(418, body="I'm a teapot")),
    ("http-4xx-other", d("444")),
    # --- payload / schema text
    ("payload-too-large-text", d(None, error="PayloadTooLargeError: request entity too large")),
    ("schema-validation-text", d(None, error="pydantic ValidationError: 2 validation errors")),
    ("schema-validation-text", d(500, body="JSONDecodeError: Expecting value: line 1")),
    (
        "schema-validation-text",
        d(None, body="SyntaxError: Unexpected token < in JSON at position 0"),
    ),
    # --- 5xx
    ("http-501-not-implemented", d(501)),
    ("http-5xx-fixed-property", d(505)),
    ("http-5xx-fixed-property", d(511, body="Network Authentication Required")),
    ("http-5xx-retry-after", d(503, body="Maintenance", headers={"retry-after": "120"})),
    ("http-5xx-retry-after", d(502, headers=["Retry-After: 5"])),
    ("cloudflare-origin-down", d(521, body="Web server is down")),
    ("cloudflare-origin-down", d(522, body="Connection timed out")),
    ("cloudflare-origin-down", d(None, body="Error 522 Connection timed out | cloudflare")),
    ("cloudflare-origin-timeout", d(524)),
    ("cloudflare-origin-unknown-error", d(520)),
    ("cloudflare-origin-unknown-error", d(523, body="Origin is unreachable")),
    ("cloudflare-530", d(530, body="error code: 1016")),
    ("http-503-service-unavailable", d(503, body="no healthy upstream")),
    ("http-503-service-unavailable", d(503, body='at=error code=H10 desc="App crashed"')),
    (
        "http-503-service-unavailable",
        d(503.0, body=NGINX.format("503 Service Temporarily Unavailable")),
    ),
    ("http-504-gateway-timeout", d(504, body="upstream request timeout")),
    ("http-504-gateway-timeout", d("504", body="FUNCTION_INVOCATION_TIMEOUT")),
    ("http-502-bad-gateway", d(502, body=NGINX.format("502 Bad Gateway"))),
    ("http-502-bad-gateway", d(None, error="curl: (22) The requested URL returned error: 502")),
    ("http-500-internal-error", d(500, body="Internal Server Error")),
    ("http-509-bandwidth-limit", d(509)),
    ("http-5xx-other", d(507)),
    ("http-5xx-other", d(598)),
    # --- other status classes
    ("http-3xx-redirect", d(301, headers={"Location": "https://new.acme.test/in"})),
    ("http-2xx-marked-failed", d(200, body="ok")),
    ("http-2xx-marked-failed", d(102)),
    # --- DNS
    ("dns-temporary-failure", d(None, error="getaddrinfo EAI_AGAIN hooks.acme.test")),
    ("dns-temporary-failure", d(None, error="[Errno -3] Temporary failure in name resolution")),
    (
        "dns-temporary-failure",
        d(None, error=GO + "dial tcp: lookup hooks.acme.test on 10.96.0.10:53: server misbehaving"),
    ),
    (
        "dns-temporary-failure",
        d(
            None,
            error=GO + "dial tcp: lookup hooks.acme.test on "
            "127.0.0.53:53: read udp 127.0.0.1:41000->"
            "127.0.0.53:53: i/o timeout",
        ),
    ),
    ("dns-temporary-failure", d(None, error="curl: (28) Resolving timed out after 4000 ms")),
    ("dns-name-not-found", d(None, error=GO + "dial tcp: lookup hooks.acme.test: no such host")),
    ("dns-name-not-found", d(None, error="Error: getaddrinfo ENOTFOUND hooks.acme.test")),
    ("dns-name-not-found", d(None, error="[Errno -2] Name or service not known")),
    (
        "dns-name-not-found",
        d(
            None,
            error="java.net.UnknownHostException: hooks.acme.test: "
            "nodename nor servname provided, or not known",
        ),
    ),
    ("dns-name-not-found", d(None, error="No such host is known. (hooks.acme.test:443)")),
    ("dns-lookup-failed", d(None, error="curl: (6) Could not resolve host: hooks.acme.test")),
    ("dns-lookup-failed", d(None, error="java.net.UnknownHostException: hooks.acme.test")),
    ("dns-lookup-failed", d(None, error="[Errno 11001] getaddrinfo failed")),
    # --- transport
    (
        "connection-refused",
        d(None, error=GO + "dial tcp 192.0.2.4:443: connect: connection refused"),
    ),
    ("connection-refused", d(None, error="Error: connect ECONNREFUSED 127.0.0.1:8080")),
    ("connection-refused", d(None, error="httpx.ConnectError: [Errno 111] Connection refused")),
    ("connection-refused", d(None, error="java.net.ConnectException: Connection refused")),
    (
        "connection-refused",
        d(
            None,
            error="curl: (7) Failed to connect to hooks.acme.test port 443: Connection refused",
        ),
    ),
    (
        "connection-refused",
        d(
            None,
            error="No connection could be made because the target machine actively refused it.",
        ),
    ),
    ("network-unreachable", d(None, error="connect: network is unreachable")),
    ("network-unreachable", d(None, error="java.net.NoRouteToHostException: No route to host")),
    (
        "timeout",
        d(
            None,
            error=GO + "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
        ),
    ),
    ("timeout", d(None, error="Error: connect ETIMEDOUT 192.0.2.4:443")),
    (
        "timeout",
        d(
            None,
            error="requests.exceptions.ReadTimeout: HTTPSConnectionPool(host="
            "'hooks.acme.test', port=443): Read timed out. (read timeout=10)",
        ),
    ),
    ("timeout", d(None, error="java.net.SocketTimeoutException: connect timed out")),
    (
        "timeout",
        d(
            None,
            error="curl: (28) Operation timed out after 30000 milliseconds with 0 bytes received",
        ),
    ),
    (
        "timeout",
        d(
            None,
            error="The request was canceled due to the configured "
            "HttpClient.Timeout of 100 seconds elapsing.",
        ),
    ),
    ("timeout", d(None, error="E_TIMEOUT")),
    ("connection-reset", d(None, error="read: connection reset by peer")),
    ("connection-reset", d(None, error="Error: read ECONNRESET")),
    (
        "connection-reset",
        d(
            None,
            error="('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))",
        ),
    ),
    (
        "connection-reset",
        d(None, error="An existing connection was forcibly closed by the remote host"),
    ),
    ("connection-reset", d(None, error="java.net.SocketException: Broken pipe")),
    (
        "http2-goaway",
        d(None, error="http2: server sent GOAWAY and closed the connection; ErrCode=NO_ERROR"),
    ),
    ("server-closed-connection", d(None, error="Error: socket hang up")),
    (
        "server-closed-connection",
        d(
            None,
            error="http.client.RemoteDisconnected: Remote end closed connection without response",
        ),
    ),
    ("server-closed-connection", d(None, error="curl: (52) Empty reply from server")),
    (
        "server-closed-connection",
        d(
            None,
            error="org.apache.http.NoHttpResponseException: hooks.acme.test:443 failed to respond",
        ),
    ),
    (
        "server-closed-connection",
        d(None, error="aiohttp.ServerDisconnectedError: Server disconnected"),
    ),
    ("http2-stream-error", d(None, error="stream error: stream ID 5; INTERNAL_ERROR")),
    ("eof", d(None, error=GO + "EOF")),
    ("eof", d(None, error="unexpected EOF")),
    ("connect-failed", d(None, error="httpx.ConnectError: All connection attempts failed")),
    ("connect-failed", d(None, error="error trying to connect: tcp connect error")),
    (
        "connect-failed",
        d(
            None,
            error="curl: (7) Failed to connect to hooks.acme.test port 443 "
            "after 2 ms: Couldn't connect to server",
        ),
    ),
    (
        "heroku-application-error",
        d(
            None,
            body="Application Error. An error occurred in the "
            "application and your page could not be served.",
        ),
    ),
    ("ngrok-tunnel-not-found", d(None, error="ERR_NGROK_3200: The endpoint is offline")),
    # --- words without a status
    ("auth-failure-text", d(None, error="Invalid API key provided")),
    ("auth-failure-text", d(None, error="Authorization failed - please check your credentials")),
    ("not-found-text", d(None, error="Unknown Webhook")),
    ("not-found-text", d(None, error="DEPLOYMENT_NOT_FOUND")),
    ("method-not-allowed-text", d(None, error="MethodNotAllowed")),
    ("bad-request-text", d(None, error="Bad request - please check your parameters")),
    ("proxy-error-text", d(None, body="Service Unavailable")),
    ("proxy-error-text", d(None, error="The server is currently unable to handle the request")),
    ("server-error-text", d(None, body="Oops, a server error happened")),
    ("tls-error-unspecified", d(None, error="TLS error")),
    (
        "sender-resource-exhausted",
        d(None, error="dial tcp 192.0.2.4:443: socket: too many open files"),
    ),
    (
        "sender-resource-exhausted",
        d(None, error="connect EADDRNOTAVAIL 192.0.2.4:443 - Local (0.0.0.0:0)"),
    ),
    (
        "tls-connection-dropped",
        d(
            None,
            error="The underlying connection was closed: An unexpected error occurred on a send.",
        ),
    ),
    (
        "tls-handshake-failure",
        d(None, error="The request was aborted: Could not create SSL/TLS secure channel."),
    ),
    ("generic-network-error", d(None, error="TypeError: fetch failed")),
    ("generic-network-error", d(None, error="net::ERR_NETWORK_CHANGED")),
    # --- nothing to go on
    ("no-evidence", d()),
    ("no-evidence", d(None, error="   ", body="")),
    ("unclassified", d(None, error="endpoint returned a non-2xx response")),
    ("unclassified", d(None, error="E_UNKNOWN")),
]

RULE_NAMES = [rule.name for rule in RULES]


def test_every_rule_has_a_case():
    covered = {name for name, _ in CASES}
    missing = [name for name in RULE_NAMES if name not in covered]
    assert not missing, f"rules without a test case: {missing}"
    unknown = covered - set(RULE_NAMES)
    assert not unknown, f"cases name rules that do not exist: {unknown}"


@pytest.mark.parametrize(
    ("rule", "delivery"),
    CASES,
    ids=[f"{i:03d}-{name}" for i, (name, _) in enumerate(CASES)],
)
def test_rule_case(rule, delivery):
    result = classify_delivery(delivery)
    assert result.rule == rule, result.reason
    by_name = {r.name: r for r in RULES}
    assert result.category == by_name[rule].category
    assert f"rule `{rule}`" in result.reason
    assert result.recommended_action


# --- the table itself -------------------------------------------------------------------


def test_rule_names_unique():
    assert len(RULE_NAMES) == len(set(RULE_NAMES))


@pytest.mark.parametrize("rule", RULES, ids=RULE_NAMES)
def test_rule_is_well_formed(rule):
    assert rule.category in CATEGORIES
    assert 0 <= rule.score <= 100
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
    assert rule.reason and rule.action
    for pattern in (rule.error, rule.body, rule.text, rule.unless):
        if pattern is not None:
            re.compile(pattern)
            # the text is normalised (numbers -> <n>): a digit class would never match
            assert r"\d" not in pattern
    for match in rule.headers:
        assert all(name == name.lower() for name in match.names)


def test_last_rule_is_the_catch_all():
    last = RULES[-1]
    assert last.category == "unknown"
    assert not (last.status or last.headers or last.error or last.body or last.text)
    assert last.status_known is None and last.outcome is None


def test_no_rule_calls_a_client_error_safe_to_retry():
    """A 4xx (except 408/423/425/499/460) can never come out as transient above 80."""
    for rule in RULES:
        if rule.category == TRANSIENT and rule.score > SAFE_TO_RETRY_SCORE:
            for spec in rule.status:
                low, high = spec if isinstance(spec, tuple) else (spec, spec)
                assert low >= 500 or high < 400, rule.name


def test_safety_caps_are_below_safe_to_retry():
    assert SAFETY_CAPS
    for cap in SAFETY_CAPS:
        assert cap.max_score <= SAFE_TO_RETRY_SCORE


# --- documented edge cases ----------------------------------------------------------------

EDGE = [
    # (what, delivery, category, max score or None)
    (
        "503 with Retry-After quotes the header",
        d(503, headers={"Retry-After": "120"}),
        "transient-endpoint-down",
        None,
    ),
    (
        "404 page mentioning timeout stays permanent",
        d(404, body="Request timeout page"),
        "permanent-4xx",
        None,
    ),
    (
        "transient text with a TLS word is capped",
        d(None, error="connection reset during TLS alert"),
        "transient-endpoint-down",
        75,
    ),
    (
        "transient text with a signature word is capped",
        d(None, error="read timed out while checking signature"),
        None,
        80,
    ),
    (
        "inferred status loses points",
        d(None, error="status code 503"),
        "transient-endpoint-down",
        82,
    ),
    (
        "NXDOMAIN is never safe to retry",
        d(None, error="lookup x.acme.test: no such host"),
        "permanent-4xx",
        79,
    ),
    (
        "GitHub 403 rate limit",
        d(403, body="API rate limit exceeded for 198.51.100.4."),
        "rate-limited",
        None,
    ),
    (
        "AWS 400 Throttling",
        d(400, body="Code: Throttling, Message: Rate exceeded"),
        "rate-limited",
        None,
    ),
    (
        "429 is rate limited even with a 5xx-looking body",
        d(429, body="503 Service Unavailable"),
        "rate-limited",
        None,
    ),
    (
        "a 3-digit port is not a status",
        d(None, error="dial tcp 192.0.2.1:443: i/o timeout"),
        "transient-endpoint-down",
        None,
    ),
]


@pytest.mark.parametrize(
    ("what", "delivery", "category", "max_score"), EDGE, ids=[e[0] for e in EDGE]
)
def test_edge_case(what, delivery, category, max_score):
    result = classify_delivery(delivery)
    if category is not None:
        assert result.category == category, result.reason
    if max_score is not None:
        assert result.score <= max_score, result.reason


def test_retry_after_value_is_in_the_reason():
    result = classify_delivery(d(503, headers={"retry-after": "120"}))
    assert "Retry-After: 120" in result.reason
    assert result.rule == "http-5xx-retry-after"
    assert "HTTP 503" in result.reason


def test_inferred_status_is_said_in_the_reason():
    result = classify_delivery(d(None, error="got HTTP 404 from the receiver"))
    assert result.rule == "http-404-not-found"
    assert "read from the text" in result.reason


# --- the same failure as each client family writes it ------------------------------------
# (family, http_status, error, body, acceptable categories). "Safe to retry" (transient
# above 80) is checked against the acceptable set too.
T, P, R, U = "transient-endpoint-down", "permanent-4xx", "rate-limited", "unknown"
FAMILIES = [
    ("go refused", None, GO + "dial tcp 192.0.2.9:443: connect: connection refused", None, {T}),
    ("node refused", None, "connect ECONNREFUSED ::1:443", None, {T}),
    ("python refused", None, "httpcore.ConnectError: [Errno 111] Connection refused", None, {T}),
    (
        "java refused",
        None,
        "feign.RetryableException: Connection refused executing POST",
        None,
        {T},
    ),
    (
        "ruby refused",
        None,
        "Errno::ECONNREFUSED: Failed to open TCP connection to x.test:443",
        None,
        {T},
    ),
    (
        "php refused",
        None,
        "cURL error 7: Failed to connect to x.test port 443: Connection refused",
        None,
        {T},
    ),
    (".net refused", None, "HttpRequestException: Connection refused (x.test:443)", None, {T}),
    ("go timeout", None, GO + "dial tcp 192.0.2.9:443: connect: connection timed out", None, {T}),
    ("node timeout", None, "ESOCKETTIMEDOUT", None, {T}),
    ("python timeout", None, "httpx.ConnectTimeout: timed out", None, {T}),
    (
        "java timeout",
        None,
        "io.netty.channel.ConnectTimeoutException: connection timed out",
        None,
        {T},
    ),
    ("ruby timeout", None, "Net::ReadTimeout with #<TCPSocket:(closed)>", None, {T}),
    (".net timeout", None, "System.Net.WebException: The operation has timed out", None, {T}),
    ("go reset", None, GO + "write tcp 10.0.0.2:5->192.0.2.9:443: write: broken pipe", None, {T}),
    (
        "python reset",
        None,
        "aiohttp.ClientOSError: [Errno 104] Connection reset by peer",
        None,
        {T},
    ),
    (
        "java closed",
        None,
        "PrematureCloseException: Connection prematurely closed BEFORE response",
        None,
        {T},
    ),
    ("go idle close", None, GO + "http: server closed idle connection", None, {T}),
    (
        "curl partial",
        None,
        "curl: (18) transfer closed with outstanding read data remaining",
        None,
        {T},
    ),
    (
        "go dns nx",
        None,
        GO + "dial tcp: lookup x.test on 10.0.0.2:53: no such host",
        None,
        {T, P, U},
    ),
    (".net dns", None, "The remote name could not be resolved: 'x.test'", None, {T, P, U}),
    ("ruby dns", None, "SocketError: getaddrinfo: Name or service not known", None, {T, P, U}),
    (
        "rust dns temp",
        None,
        "dns error: failed to lookup address information: Temporary failure in name resolution",
        None,
        {T},
    ),
    ("go tls", None, GO + "x509: certificate is valid for ingress.local, not x.test", None, {P, U}),
    (
        "ruby tls",
        None,
        "OpenSSL::SSL::SSLError: SSL_connect returned=1 errno=0 state=error: "
        "certificate verify failed (unable to get local issuer certificate)",
        None,
        {P, U},
    ),
    (
        "java tls",
        None,
        "java.security.cert.CertificateExpiredException: NotAfter: 2022",
        None,
        {P, U},
    ),
    (
        ".net tls",
        None,
        "AuthenticationException: The remote certificate is invalid because of "
        "errors in the certificate chain: UntrustedRoot",
        None,
        {P, U},
    ),
    (
        "envoy tls",
        None,
        None,
        "upstream connect error or disconnect/reset before headers. "
        "transport failure reason: TLS error: CERTIFICATE_VERIFY_FAILED",
        {P, U},
    ),
    (
        "rustls http-to-https",
        None,
        "error trying to connect: received corrupt message of type InvalidContentType",
        None,
        {P, U},
    ),
    ("spring 404", None, "HttpClientErrorException$NotFound: 404 Not Found: [no body]", None, {P}),
    (
        "guzzle 401",
        None,
        "Client error: `POST https://x.test/h` resulted in a `401 Unauthorized` response",
        None,
        {P},
    ),
    (
        "guzzle 502",
        None,
        "Server error: `POST https://x.test/h` resulted in a `502 Bad Gateway` response",
        None,
        {T},
    ),
    (
        "httpx 503",
        None,
        "httpx.HTTPStatusError: Server error '503 Service Unavailable' for url",
        None,
        {T},
    ),
    ("aiohttp 503", None, "ClientResponseError: 503, message='Service Unavailable'", None, {T}),
    (
        ".net 404",
        None,
        "Response status code does not indicate success: 404 (Not Found).",
        None,
        {P},
    ),
    (
        "urllib3 retries 503",
        None,
        "Max retries exceeded with url: /h (Caused by "
        "ResponseError('too many 503 error responses'))",
        None,
        {T},
    ),
    ("teams 429", None, "endpoint returned HTTP error 429", None, {R}),
    ("telegram 429", None, "Too Many Requests: retry after 35", None, {R}),
    ("cloudflare 1015", 429, None, "error code: 1015", {R}),
    ("cloudflare 1020", 403, None, "error code: 1020", {P}),
    ("alb 502", 502, None, "<html><body><h1>502 Bad Gateway</h1></body></html>", {T}),
    (
        "haproxy 503",
        503,
        None,
        "<html><body><h1>503 Service Unavailable</h1>No server is "
        "available to handle this request.</body></html>",
        {T},
    ),
    (
        "nginx client cert",
        400,
        None,
        "<title>400 No required SSL certificate was sent</title>",
        {P},
    ),
    ("github pages 404", None, None, "<title>Site not found · GitHub Pages</title>", {P}),
    ("heroku no app", 404, None, "Heroku | No such app", {P}),
    ("vercel 413", 413, None, "FUNCTION_PAYLOAD_TOO_LARGE", {P}),
    ("slack token", 403, None, "invalid_token", {P}),
    ("slack archived", 410, None, "channel_is_archived", {P}),
    ("discord token", 401, None, '{"message": "Invalid Webhook Token", "code": 50027}', {P}),
    ("stripe sig", 400, None, "Unable to extract timestamp and signatures from header", {P}),
    ("github sig", 401, None, "Unauthorized: invalid x-hub-signature-256", {P}),
    (
        "proxy 407",
        None,
        "Tunnel connection failed: 407 Proxy Authentication Required",
        None,
        {P, U},
    ),
    ("bad scheme", None, "No connection adapters were found for 'htps://x.test/h'", None, {P, U}),
    ("curl redirects", None, "curl: (47) Maximum (50) redirects followed", None, {P, U}),
    ("opaque", None, "E_HTTP", None, {T, P, U}),
    ("convoy generic", None, "endpoint returned a non-2xx response", None, {U}),
]


@pytest.mark.parametrize(
    ("family", "status", "error", "body", "acceptable"), FAMILIES, ids=[f[0] for f in FAMILIES]
)
def test_client_families(family, status, error, body, acceptable):
    result = classify_delivery(d(status, error=error, body=body))
    assert result.category in acceptable, result.reason
    if TRANSIENT not in acceptable:
        assert not result.safe_to_retry, result.reason
