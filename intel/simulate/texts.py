"""What a simulated endpoint answers: failure causes in real-world shapes, and success replies.

Every failure cause has a name (``conn_refused_go``, ``nginx_502``, ``misconfig_401`` ...),
a true triage category (CONTRACTS §2) and a renderer that writes the latest attempt's
``http_status``, transport ``error``, ``response_headers``, ``response_body`` and
``duration_ms`` with varying hosts, ports, ids and timings. The wording is our own,
modelled on what HTTP clients (Go net/http, Node, Python requests/urllib3, httpx,
aiohttp, Java, curl), proxies and CDNs (nginx, Cloudflare, AWS ALB, Heroku, Envoy) and
web frameworks emit.

Renderers take a ``random.Random`` so the same seed gives the same text.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import urlsplit

TRANSIENT = "transient-endpoint-down"
PERMANENT = "permanent-4xx"
RATE_LIMITED = "rate-limited"
UNKNOWN = "unknown"
CATEGORIES = (TRANSIENT, PERMANENT, RATE_LIMITED, UNKNOWN)

CLIENTS = ("go", "node", "python", "httpx", "aiohttp", "java", "curl")
PROXIES = ("nginx", "cloudflare", "alb", "heroku", "envoy")


@dataclass(frozen=True)
class Target:
    """The endpoint as the texts see it."""

    url: str
    host: str
    port: int
    path: str
    ip: str  # the address the host resolves to (documentation ranges, or the real one)
    client: str  # which HTTP client family delivers to it (shapes transport errors)
    proxy: str  # what fronts it (shapes 5xx pages)
    tenant: str = ""


def target_from_url(url: str, *, client: str = "go", proxy: str = "nginx", ip: str = "",
                    tenant: str = "") -> Target:
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if not ip:
        ip = host if _looks_like_ip(host) else "203.0.113.10"
    return Target(url=url, host=host, port=port, path=path, ip=ip, client=client,
                  proxy=proxy, tenant=tenant)


def _looks_like_ip(host: str) -> bool:
    return all(p.isdigit() for p in host.split(".")) and host.count(".") == 3


class Outcome(NamedTuple):
    http_status: int | None
    error: str | None
    headers: dict[str, str] | None
    body: str | None
    duration_ms: float


@dataclass(frozen=True)
class Cause:
    name: str
    category: str
    family: str
    render: Callable[[random.Random, Target, float], Outcome]


CAUSES: dict[str, Cause] = {}


def _register(name: str, category: str, family: str):
    def deco(fn):
        CAUSES[name] = Cause(name, category, family, fn)
        return fn

    return deco


def render(cause: str, rnd: random.Random, target: Target, at: float) -> Outcome:
    """The latest attempt for a failure of ``cause`` at epoch seconds ``at``."""
    return CAUSES[cause].render(rnd, target, at)


def category_of(cause: str) -> str:
    return CAUSES[cause].category


def status_of(cause: str) -> int | None:
    """The HTTP status an HTTP-level cause answers with (``nginx_502`` -> 502)."""
    tail = cause.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else None


# --- helpers ----------------------------------------------------------------------------

def _hex(rnd: random.Random, n: int) -> str:
    return f"{rnd.getrandbits(4 * n):0{n}x}"


def _uuid(rnd: random.Random) -> str:
    h = _hex(rnd, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[rnd.randrange(4)]}{h[17:20]}-{h[20:]}"


def _http_date(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00"


def _local(rnd: random.Random) -> tuple[str, int]:
    return f"10.{rnd.randrange(0, 64)}.{rnd.randrange(0, 255)}.{rnd.randrange(2, 254)}", \
        rnd.randrange(32768, 60999)


def _fields(rnd: random.Random, t: Target) -> dict:
    lip, lport = _local(rnd)
    return {
        "url": t.url, "host": t.host, "port": t.port, "path": t.path, "ip": t.ip,
        "lip": lip, "lport": lport, "addr": f"0x7f{_hex(rnd, 10)}",
        "origin": f"{t.url.split('://', 1)[0]}://{t.host}:{t.port}",
        "scheme": "https" if t.url.startswith("https") else "http",
        "Pool": "HTTPSConnectionPool" if t.url.startswith("https") else "HTTPConnectionPool",
        "Conn": "HTTPSConnection" if t.url.startswith("https") else "HTTPConnection",
    }


def _transport(family: str, table: dict[str, list[str]], category: str,
               duration: Callable[[random.Random], float]):
    """Register ``<family>_<client>`` for every client, from per-client templates."""
    for client, templates in table.items():
        def fn(rnd, t, at, templates=templates):
            f = _fields(rnd, t)
            ms = duration(rnd)
            f["ms"] = int(ms)
            f["date"] = _iso(at)
            return Outcome(None, rnd.choice(templates).format(**f), None, None, round(ms, 1))

        _register(f"{family}_{client}", category, family)(fn)


# --- transport failures -----------------------------------------------------------------

_transport("conn_refused", {
    "go": [
        'Post "{url}": dial tcp {ip}:{port}: connect: connection refused',
        'Post "{url}": dial tcp {ip}:{port}: connect: connection refused (retry in queue)',
    ],
    "node": [
        "Error: connect ECONNREFUSED {ip}:{port}",
        "FetchError: request to {url} failed, reason: connect ECONNREFUSED {ip}:{port}",
        "TypeError: fetch failed (cause: Error: connect ECONNREFUSED {ip}:{port})",
    ],
    "python": [
        "{Pool}(host='{host}', port={port}): Max retries exceeded with url: {path} (Caused by "
        "NewConnectionError('<urllib3.connection.{Conn} object at {addr}>: Failed to "
        "establish a new connection: [Errno 111] Connection refused'))",
        "requests.exceptions.ConnectionError: {Pool}(host='{host}', port={port}): Max retries "
        "exceeded with url: {path} (Caused by NewConnectionError('<urllib3.connection.{Conn} "
        "object at {addr}>: Failed to establish a new connection: [Errno 111] Connection "
        "refused'))",
    ],
    "httpx": [
        "httpx.ConnectError: [Errno 111] Connection refused",
        "httpx.ConnectError: All connection attempts failed",
    ],
    "aiohttp": [
        "aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host {host}:{port} "
        "ssl:default [Connect call failed ('{ip}', {port})]",
        "ClientConnectorError: Cannot connect to host {host}:{port} ssl:default "
        "[Connection refused]",
    ],
    "java": [
        "java.net.ConnectException: Connection refused",
        "org.apache.hc.client5.http.HttpHostConnectException: Connect to {origin} "
        "[{host}/{ip}] failed: Connection refused",
        'I/O error on POST request for "{url}": Connection refused',
    ],
    "curl": [
        "curl: (7) Failed to connect to {host} port {port} after {ms} ms: Connection refused",
        "cURL error 7: Failed to connect to {host} port {port}: Connection refused",
    ],
}, TRANSIENT, lambda r: r.uniform(0.3, 6.0))

_TIMEOUT_MS = (5000, 10000, 15000, 30000)

_transport("timeout", {
    "go": [
        'Post "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting '
        'headers)',
        'Post "{url}": dial tcp {ip}:{port}: i/o timeout',
        'Post "{url}": net/http: TLS handshake timeout',
        'Post "{url}": context deadline exceeded',
    ],
    "node": [
        "AxiosError: timeout of {ms}ms exceeded",
        "Error: connect ETIMEDOUT {ip}:{port}",
        "TimeoutError: The operation was aborted due to timeout",
        "RequestError: Timeout awaiting 'response' for {ms}ms",
    ],
    "python": [
        "{Pool}(host='{host}', port={port}): Read timed out. (read timeout={ms}ms)",
        "requests.exceptions.ReadTimeout: {Pool}(host='{host}', port={port}): Read timed out.",
        "{Pool}(host='{host}', port={port}): Max retries exceeded with url: {path} (Caused by "
        "ConnectTimeoutError(<urllib3.connection.{Conn} object at {addr}>, 'Connection to "
        "{host} timed out. (connect timeout=10)'))",
    ],
    "httpx": [
        "httpx.ReadTimeout: The read operation timed out",
        "httpx.ConnectTimeout: timed out",
        "httpx.PoolTimeout",
    ],
    "aiohttp": [
        "asyncio.exceptions.TimeoutError",
        "aiohttp.client_exceptions.ServerTimeoutError: Timeout on reading data from socket",
        "aiohttp.client_exceptions.ConnectionTimeoutError: Connection timeout to host {url}",
    ],
    "java": [
        "java.net.SocketTimeoutException: Read timed out",
        "java.net.http.HttpTimeoutException: request timed out",
        "java.net.SocketTimeoutException: Connect timed out",
        "I/O error on POST request for \"{url}\": Read timed out",
    ],
    "curl": [
        "curl: (28) Operation timed out after {ms} milliseconds with 0 bytes received",
        "curl: (28) Connection timed out after {ms} milliseconds",
        "cURL error 28: Operation timed out after {ms} milliseconds with 0 out of 0 bytes "
        "received",
    ],
}, TRANSIENT, lambda r: r.choice(_TIMEOUT_MS) + r.uniform(0.5, 40.0))

_transport("reset", {
    "go": [
        'Post "{url}": read tcp {lip}:{lport}->{ip}:{port}: read: connection reset by peer',
        'Post "{url}": EOF',
        'Post "{url}": write tcp {lip}:{lport}->{ip}:{port}: write: broken pipe',
        'Post "{url}": http2: server sent GOAWAY and closed the connection; '
        'LastStreamID=1, ErrCode=NO_ERROR, debug=""',
    ],
    "node": [
        "Error: socket hang up",
        "Error: read ECONNRESET",
        "Error: write EPIPE",
        "FetchError: request to {url} failed, reason: socket hang up",
    ],
    "python": [
        "('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))",
        "('Connection aborted.', RemoteDisconnected('Remote end closed connection without "
        "response'))",
        "urllib3.exceptions.ProtocolError: ('Connection broken: IncompleteRead(0 bytes read, "
        "17 more expected)', IncompleteRead(0 bytes read, 17 more expected))",
    ],
    "httpx": [
        "httpx.RemoteProtocolError: Server disconnected without sending a response.",
        "httpx.ReadError: [Errno 104] Connection reset by peer",
    ],
    "aiohttp": [
        "aiohttp.client_exceptions.ServerDisconnectedError: Server disconnected",
        "aiohttp.client_exceptions.ClientOSError: [Errno 104] Connection reset by peer",
    ],
    "java": [
        "java.net.SocketException: Connection reset",
        "java.io.IOException: Broken pipe",
        "org.apache.hc.core5.http.NoHttpResponseException: {host}:{port} failed to respond",
    ],
    "curl": [
        "curl: (56) Recv failure: Connection reset by peer",
        "curl: (52) Empty reply from server",
        "cURL error 56: OpenSSL SSL_read: Connection reset by peer, errno 104",
    ],
}, TRANSIENT, lambda r: r.uniform(3.0, 1800.0))

_transport("dns_nxdomain", {
    "go": [
        'Post "{url}": dial tcp: lookup {host} on 127.0.0.53:53: no such host',
        'Post "{url}": dial tcp: lookup {host} on 10.96.0.10:53: no such host',
        'Post "{url}": dial tcp: lookup {host}: no such host',
    ],
    "node": [
        "Error: getaddrinfo ENOTFOUND {host}",
        "FetchError: request to {url} failed, reason: getaddrinfo ENOTFOUND {host}",
    ],
    "python": [
        "{Pool}(host='{host}', port={port}): Max retries exceeded with url: {path} (Caused by "
        "NameResolutionError(\"<urllib3.connection.{Conn} object at {addr}>: Failed to "
        "resolve '{host}' ([Errno -2] Name or service not known)\"))",
        "socket.gaierror: [Errno -2] Name or service not known",
    ],
    "httpx": ["httpx.ConnectError: [Errno -2] Name or service not known"],
    "aiohttp": [
        "aiohttp.client_exceptions.ClientConnectorDNSError: Cannot connect to host "
        "{host}:{port} ssl:default [Name or service not known]",
    ],
    "java": [
        "java.net.UnknownHostException: {host}",
        "java.net.UnknownHostException: {host}: Name or service not known",
    ],
    "curl": ["curl: (6) Could not resolve host: {host}"],
}, TRANSIENT, lambda r: r.uniform(2.0, 90.0))

_transport("dns_eai_again", {
    "go": [
        'Post "{url}": dial tcp: lookup {host} on 10.96.0.10:53: read udp '
        '{lip}:{lport}->10.96.0.10:53: i/o timeout',
        'Post "{url}": dial tcp: lookup {host} on 127.0.0.11:53: server misbehaving',
        'Post "{url}": dial tcp: lookup {host}: Temporary failure in name resolution',
    ],
    "node": [
        "Error: getaddrinfo EAI_AGAIN {host}",
        "FetchError: request to {url} failed, reason: getaddrinfo EAI_AGAIN {host}",
    ],
    "python": [
        "{Pool}(host='{host}', port={port}): Max retries exceeded with url: {path} (Caused by "
        "NameResolutionError(\"<urllib3.connection.{Conn} object at {addr}>: Failed to "
        "resolve '{host}' ([Errno -3] Temporary failure in name resolution)\"))",
    ],
    "httpx": ["httpx.ConnectError: [Errno -3] Temporary failure in name resolution"],
    "aiohttp": [
        "aiohttp.client_exceptions.ClientConnectorDNSError: Cannot connect to host "
        "{host}:{port} ssl:default [Temporary failure in name resolution]",
    ],
    "java": ["java.net.UnknownHostException: {host}: Temporary failure in name resolution"],
    "curl": ["curl: (6) Could not resolve host: {host} (Resolving timed out after 5000 ms)"],
}, TRANSIENT, lambda r: r.uniform(4000.0, 5200.0))

_transport("tls_cert", {
    "go": [
        'Post "{url}": tls: failed to verify certificate: x509: certificate has expired or '
        'is not yet valid: current time {date} is after 2026-01-01T23:59:59Z',
        'Post "{url}": tls: failed to verify certificate: x509: certificate signed by '
        'unknown authority',
        'Post "{url}": tls: failed to verify certificate: x509: certificate is valid for '
        '*.herokuapp.example, herokuapp.example, not {host}',
    ],
    "node": [
        "Error: certificate has expired",
        "Error: unable to verify the first certificate",
        "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's "
        "altnames: Host: {host}. is not in the cert's altnames: DNS:*.cdn.example",
        "Error: self-signed certificate in certificate chain",
    ],
    "python": [
        "{Pool}(host='{host}', port={port}): Max retries exceeded with url: {path} (Caused by "
        "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
        "verify failed: certificate has expired (_ssl.c:1006)')))",
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local "
        "issuer certificate (_ssl.c:1006)",
    ],
    "httpx": [
        "httpx.ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
        "Hostname mismatch, certificate is not valid for '{host}'. (_ssl.c:1006)",
    ],
    "aiohttp": [
        "aiohttp.client_exceptions.ClientConnectorCertificateError: Cannot connect to host "
        "{host}:{port} ssl:True [SSLCertVerificationError: (1, '[SSL: "
        "CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired "
        "(_ssl.c:1006)')]",
    ],
    "java": [
        "javax.net.ssl.SSLHandshakeException: PKIX path building failed: "
        "sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid "
        "certification path to requested target",
        "javax.net.ssl.SSLHandshakeException: NotAfter: Thu Jan 01 23:59:59 UTC 2026",
        "javax.net.ssl.SSLPeerUnverifiedException: Certificate for <{host}> doesn't match any "
        "of the subject alternative names: [*.cdn.example]",
    ],
    "curl": [
        "curl: (60) SSL certificate problem: certificate has expired",
        "curl: (60) SSL: no alternative certificate subject name matches target host name "
        "'{host}'",
    ],
}, PERMANENT, lambda r: r.uniform(20.0, 350.0))


# --- 5xx pages from proxies, CDNs and platforms -----------------------------------------

_REASON = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    410: "Gone", 422: "Unprocessable Entity", 429: "Too Many Requests",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}
_NGINX_SERVERS = ("nginx", "nginx/1.18.0 (Ubuntu)", "nginx/1.22.1", "nginx/1.24.0",
                  "nginx/1.25.3", "openresty/1.21.4.3")


def _nginx_page(code: int, server: str | None) -> str:
    title = f"{code} {_REASON[code]}"
    footer = f"<hr><center>{server}</center>\r\n" if server else ""
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n{footer}</body>\r\n</html>\r\n")


def _nginx(code: int, lo: float, hi: float):
    def fn(rnd, t, at):
        server = rnd.choice(_NGINX_SERVERS)
        body = _nginx_page(code, server)
        headers = {"Server": server, "Date": _http_date(at), "Content-Type": "text/html",
                   "Content-Length": str(len(body)), "Connection": "keep-alive"}
        return Outcome(code, None, headers, body, round(rnd.uniform(lo, hi), 1))

    return fn


for _code, _lo, _hi in ((502, 2, 900), (503, 0.5, 40), (504, 60000, 60090)):
    _register(f"nginx_{_code}", TRANSIENT, "proxy_5xx")(_nginx(_code, _lo, _hi))

_CF_TITLES = {
    520: "Web server is returning an unknown error",
    521: "Web server is down",
    522: "Connection timed out",
    523: "Origin is unreachable",
    524: "A timeout occurred",
}
_CF_COLOS = ("FRA", "AMS", "CDG", "LHR", "IAD", "EWR", "SJC", "NRT", "SIN", "GRU", "DFW")


def _cloudflare(code: int, lo: float, hi: float):
    def fn(rnd, t, at):
        ray = _hex(rnd, 16)
        colo = rnd.choice(_CF_COLOS)
        headers = {"Date": _http_date(at), "Content-Type": "text/html; charset=UTF-8",
                   "Server": "cloudflare", "CF-RAY": f"{ray}-{colo}",
                   "Cache-Control": "private, max-age=0, no-store, no-cache, must-revalidate",
                   "Referrer-Policy": "same-origin", "X-Frame-Options": "SAMEORIGIN"}
        if code == 502:
            body = _nginx_page(502, "cloudflare")
        else:
            title = _CF_TITLES[code]
            body = (
                "<!DOCTYPE html>\n<!--[if lt IE 7]> <html class=\"no-js ie6 oldie\" "
                "lang=\"en-US\"> <![endif]-->\n<html class=\"no-js\" lang=\"en-US\">\n<head>\n"
                f"<title>{t.host} | {code}: {title}</title>\n<meta charset=\"UTF-8\" />\n"
                "<meta name=\"robots\" content=\"noindex, nofollow\" />\n</head>\n<body>\n"
                "<div id=\"cf-wrapper\">\n<div id=\"cf-error-details\">\n<h1>\n"
                f"<span class=\"inline-block\">{title}</span>\n"
                f"<span class=\"code-label\">Error code {code}</span>\n</h1>\n"
                f"<div>Visit cloudflare.com for more information.</div>\n"
                f"<div class=\"mt-3\">{_http_date(at)}</div>\n</div>\n"
                f"<span class=\"cf-footer-item\">Cloudflare Ray ID: <strong>{ray}</strong>"
                "</span>\n"
            )
        return Outcome(code, None, headers, body, round(rnd.uniform(lo, hi), 1))

    return fn


for _code, _lo, _hi in ((502, 5, 400), (520, 40, 3000), (521, 20, 400), (522, 15000, 19500),
                        (524, 100000, 100300)):
    _register(f"cloudflare_{_code}", TRANSIENT, "proxy_5xx")(_cloudflare(_code, _lo, _hi))


def _alb(code: int, lo: float, hi: float):
    def fn(rnd, t, at):
        title = f"{code} {_REASON[code]}"
        body = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
                f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n")
        headers = {"Server": "awselb/2.0", "Date": _http_date(at), "Content-Type": "text/html",
                   "Content-Length": str(len(body)), "Connection": "keep-alive"}
        return Outcome(code, None, headers, body, round(rnd.uniform(lo, hi), 1))

    return fn


for _code, _lo, _hi in ((502, 1, 600), (503, 0.5, 20), (504, 60000, 60050)):
    _register(f"alb_{_code}", TRANSIENT, "proxy_5xx")(_alb(_code, _lo, _hi))

_HEROKU_PAGE = (
    "<!DOCTYPE html>\n\t<html>\n\t  <head>\n\t\t<meta name=\"viewport\" "
    "content=\"width=device-width, initial-scale=1\">\n\t\t<meta charset=\"utf-8\">\n"
    "\t\t<title>Application Error</title>\n\t\t<style media=\"screen\">\n"
    "\t\t  html,body,iframe {{ margin: 0; padding: 0; }}\n\t\t</style>\n\t  </head>\n"
    "\t  <body>\n\t\t<iframe src=\"//www.herokucdn.com/error-pages/{page}.html\"></iframe>\n"
    "\t  </body>\n\t</html>"
)


@_register("heroku_503", TRANSIENT, "proxy_5xx")
def _heroku_503(rnd, t, at):
    # The router's code (H10 crashed, H12 timeout, ...) only shows in its logs; it sets
    # how long the attempt took.
    _code, page, lo, hi = rnd.choice((
        ("H10", "application-error", 1, 40),
        ("H12", "application-error", 30000, 30020),
        ("H13", "application-error", 5, 2000),
        ("H14", "no-web-running", 1, 20),
    ))
    headers = {"Server": rnd.choice(("Cowboy", "heroku")), "Date": _http_date(at),
               "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache, no-store",
               "Via": "1.1 vegur"}
    return Outcome(503, None, headers, _HEROKU_PAGE.format(page=page), round(rnd.uniform(lo, hi),
                                                                             1))


@_register("envoy_503", TRANSIENT, "proxy_5xx")
def _envoy_503(rnd, t, at):
    body = rnd.choice((
        "upstream connect error or disconnect/reset before headers. reset reason: connection "
        "failure, transport failure reason: delayed connect error: 111",
        "upstream connect error or disconnect/reset before headers. reset reason: "
        "connection termination",
        "no healthy upstream",
    ))
    headers = {"server": "envoy", "date": _http_date(at), "content-type": "text/plain",
               "content-length": str(len(body))}
    return Outcome(503, None, headers, body, round(rnd.uniform(0.5, 250), 1))


@_register("envoy_504", TRANSIENT, "proxy_5xx")
def _envoy_504(rnd, t, at):
    body = "upstream request timeout"
    headers = {"server": "envoy", "date": _http_date(at), "content-type": "text/plain",
               "content-length": str(len(body))}
    return Outcome(504, None, headers, body, round(rnd.uniform(15000, 15030), 1))


@_register("app_500", TRANSIENT, "app_5xx")
def _app_500(rnd, t, at):
    style = rnd.randrange(4)
    if style == 0:
        body = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<title>Error</title>\n</head>\n<body>\n<pre>Internal Server Error</pre>\n"
                "</body>\n</html>\n")
        ctype, server = "text/html; charset=utf-8", None
    elif style == 1:
        body = ("<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
                "<h1>Internal Server Error</h1>\n<p>The server hit an unexpected condition "
                "and could not finish the request.</p>\n")
        ctype, server = "text/html; charset=utf-8", "gunicorn"
    elif style == 2:
        body = json.dumps({"timestamp": _iso(at), "status": 500,
                           "error": "Internal Server Error", "path": t.path})
        ctype, server = "application/json", None
    else:
        body = json.dumps({"error": "internal_error", "request_id": _uuid(rnd)})
        ctype, server = "application/json", "uvicorn"
    headers = {"Content-Type": ctype, "Date": _http_date(at)}
    if server:
        headers["Server"] = server
    return Outcome(500, None, headers, body, round(rnd.uniform(15, 2500), 1))


# Which 5xx causes each proxy family produces, for baselines and outages.
PROXY_5XX = {
    "nginx": ("nginx_502", "nginx_503", "nginx_504"),
    "cloudflare": ("cloudflare_502", "cloudflare_520", "cloudflare_521", "cloudflare_522",
                   "cloudflare_524"),
    "alb": ("alb_502", "alb_503", "alb_504"),
    "heroku": ("heroku_503",),
    "envoy": ("envoy_503", "envoy_504"),
}
# The answer of a proxy whose origin is down (mode "502"/"503") or hangs (mode "504").
PROXY_DOWN = {
    "nginx": {"502": "nginx_502", "503": "nginx_503", "504": "nginx_504"},
    "cloudflare": {"502": "cloudflare_521", "503": "cloudflare_521", "504": "cloudflare_524"},
    "alb": {"502": "alb_502", "503": "alb_503", "504": "alb_504"},
    "heroku": {"502": "heroku_503", "503": "heroku_503", "504": "heroku_503"},
    "envoy": {"502": "envoy_503", "503": "envoy_503", "504": "envoy_504"},
}


# --- 4xx, signatures, rate limits, unknown ----------------------------------------------

def _json_headers(at: float, extra: dict | None = None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Date": _http_date(at)}
    if extra:
        headers.update(extra)
    return headers


@_register("http_401", PERMANENT, "auth")
def _http_401(rnd, t, at):
    style = rnd.randrange(4)
    if style == 0:
        body = json.dumps({"timestamp": _iso(at), "status": 401, "error": "Unauthorized",
                           "message": "Full authentication is required to access this resource",
                           "path": t.path})
    elif style == 1:
        body = json.dumps({"detail": "Not authenticated"})
    elif style == 2:
        body = json.dumps({"error": "unauthorized", "message": "API key is missing or invalid"})
    else:
        body = "Unauthorized"
    headers = _json_headers(at, {"WWW-Authenticate": 'Bearer realm="webhooks"'})
    if style == 3:
        headers["Content-Type"] = "text/plain; charset=utf-8"
    return Outcome(401, None, headers, body, round(rnd.uniform(3, 120), 1))


@_register("http_403", PERMANENT, "auth")
def _http_403(rnd, t, at):
    style = rnd.randrange(4)
    if style == 0:
        body = json.dumps({"message": "Forbidden"})
        headers = _json_headers(at, {"x-amzn-RequestId": _uuid(rnd),
                                     "x-amzn-ErrorType": "ForbiddenException"})
    elif style == 1:
        body = _nginx_page(403, rnd.choice(_NGINX_SERVERS))
        headers = {"Content-Type": "text/html", "Date": _http_date(at)}
    elif style == 2:
        body = json.dumps({"detail": "You do not have permission to perform this action."})
        headers = _json_headers(at, {"Allow": "POST, OPTIONS"})
    else:
        body = ("<!DOCTYPE html>\n<html lang=\"en-US\">\n<head>\n<title>Attention Required! | "
                "Cloudflare</title>\n</head>\n<body>\n<h1>Sorry, you have been blocked</h1>\n"
                f"<h2>You are unable to access {t.host}</h2>\n")
        headers = {"Content-Type": "text/html; charset=UTF-8", "Server": "cloudflare",
                   "CF-RAY": f"{_hex(rnd, 16)}-{rnd.choice(_CF_COLOS)}"}
    return Outcome(403, None, headers, body, round(rnd.uniform(3, 150), 1))


@_register("http_404", PERMANENT, "not_found")
def _http_404(rnd, t, at):
    style = rnd.randrange(5)
    if style == 0:
        body = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                f"<title>Error</title>\n</head>\n<body>\n<pre>Cannot POST {t.path}</pre>\n"
                "</body>\n</html>\n")
        headers = {"Content-Type": "text/html; charset=utf-8", "X-Powered-By": "Express"}
    elif style == 1:
        body = _nginx_page(404, rnd.choice(_NGINX_SERVERS))
        headers = {"Content-Type": "text/html"}
    elif style == 2:
        body = json.dumps({"detail": "Not Found"})
        headers = {"Content-Type": "application/json", "Server": "uvicorn"}
    elif style == 3:
        body = json.dumps({"status": 404, "error": "Not Found", "message": "No handler for "
                           f"POST {t.path}"})
        headers = {"Content-Type": "application/json"}
    else:
        body = ("<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>\n"
                "</head>\n<body>\n  <h1>Not Found</h1><p>The requested resource was not "
                "found on this server.</p>\n</body>\n</html>\n")
        headers = {"Content-Type": "text/html; charset=utf-8"}
    headers["Date"] = _http_date(at)
    return Outcome(404, None, headers, body, round(rnd.uniform(2, 90), 1))


@_register("http_410", PERMANENT, "gone")
def _http_410(rnd, t, at):
    style = rnd.randrange(3)
    if style == 0:
        body = json.dumps({"error": "endpoint_removed",
                           "message": "This webhook endpoint no longer exists. Remove the "
                           "subscription."})
        headers = _json_headers(at)
    elif style == 1:
        body = "Gone"
        headers = {"Content-Type": "text/plain; charset=utf-8", "Date": _http_date(at)}
    else:
        body = json.dumps({"status": 410, "title": "Gone",
                           "detail": f"integration for {t.tenant or 'this account'} was "
                           "uninstalled"})
        headers = _json_headers(at, {"Content-Type": "application/problem+json"})
    return Outcome(410, None, headers, body, round(rnd.uniform(2, 60), 1))


@_register("http_422", PERMANENT, "validation")
def _http_422(rnd, t, at):
    field = rnd.choice(("customer", "amount", "currency", "email", "order_id", "items"))
    style = rnd.randrange(3)
    if style == 0:
        body = json.dumps({"detail": [{"type": "missing", "loc": ["body", "data", field],
                                       "msg": "Field required", "input": None}]})
    elif style == 1:
        body = json.dumps({"errors": {field: ["can't be blank"]}})
    else:
        body = json.dumps({"message": "The given data was invalid.",
                           "errors": {f"data.{field}": [f"The data.{field} field is "
                                                        "required."]}})
    return Outcome(422, None, _json_headers(at), body, round(rnd.uniform(5, 200), 1))


@_register("signature_invalid", PERMANENT, "signature")
def _signature(rnd, t, at):
    code = rnd.choice((400, 400, 401, 403))
    body = rnd.choice((
        json.dumps({"error": "invalid_signature",
                    "message": "webhook-signature does not match the payload"}),
        "Webhook signature verification failed: no signature in webhook-signature matched",
        json.dumps({"error": "timestamp_out_of_tolerance",
                    "message": "webhook-timestamp is more than 300 seconds old"}),
        json.dumps({"message": "Missing webhook-id, webhook-timestamp or webhook-signature "
                    "header"}),
        "Invalid HMAC signature",
        json.dumps({"ok": False, "error": "bad_signature"}),
    ))
    ctype = "application/json" if body.startswith("{") else "text/plain; charset=utf-8"
    return Outcome(code, None, {"Content-Type": ctype, "Date": _http_date(at)}, body,
                   round(rnd.uniform(2, 80), 1))


def rate_limit_headers(rnd: random.Random, at: float, retry_after: int) -> dict[str, str]:
    limit = rnd.choice((10, 60, 100, 120, 600, 1000))
    headers = {"Content-Type": "application/json", "Date": _http_date(at),
               "Retry-After": str(retry_after)}
    style = rnd.randrange(3)
    if style == 0:
        headers.update({"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": str(int(at) + retry_after)})
    elif style == 1:
        headers.update({"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset-After": f"{retry_after - rnd.random():.3f}",
                        "X-RateLimit-Scope": rnd.choice(("user", "shared", "global"))})
    else:
        headers.update({"RateLimit-Limit": str(limit), "RateLimit-Remaining": "0",
                        "RateLimit-Reset": str(retry_after)})
    return headers


def _rate_limited(rnd, t, at):
    retry_after = rnd.choice((1, 2, 5, 10, 15, 30, 30, 60, 60, 120, 300))
    headers = rate_limit_headers(rnd, at, retry_after)
    body = rnd.choice((
        json.dumps({"error": "rate_limited", "retry_after": retry_after}),
        json.dumps({"message": "You are sending webhooks too fast. Slow down.",
                    "retry_after": retry_after + round(rnd.random(), 2)}),
        "Too Many Requests",
        _nginx_page(429, rnd.choice(_NGINX_SERVERS)),
        json.dumps({"code": "too_many_requests", "detail": f"Request was throttled. Expected "
                    f"available in {retry_after} seconds."}),
    ))
    if not body.startswith("{"):
        headers["Content-Type"] = "text/html" if body.startswith("<") else "text/plain"
    return Outcome(429, None, headers, body, round(rnd.uniform(1, 40), 1))


_register("rate_limit_429", RATE_LIMITED, "rate_limit")(_rate_limited)


@_register("misconfig_401", PERMANENT, "misconfig")
def _misconfig(rnd, t, at):
    body = rnd.choice((
        json.dumps({"error": "invalid_signature",
                    "message": "signature verification failed with the configured secret"}),
        json.dumps({"error": "unauthorized", "message": "unknown signing key"}),
        "401 Unauthorized: webhook secret mismatch",
    ))
    ctype = "application/json" if body.startswith("{") else "text/plain; charset=utf-8"
    headers = {"Content-Type": ctype, "Date": _http_date(at),
               "WWW-Authenticate": 'Signature realm="webhooks"'}
    return Outcome(401, None, headers, body, round(rnd.uniform(3, 60), 1))


@_register("unknown_error", UNKNOWN, "unknown")
def _unknown(rnd, t, at):
    error = rnd.choice((
        "delivery failed: unexpected response from endpoint",
        "endpoint answered with a non-success result",
        f"delivery attempt aborted (internal code E{rnd.randrange(100, 999)})",
        "webhook rejected by receiver",
    ))
    return Outcome(None, error, None, None, round(rnd.uniform(5, 3000), 1))


# --- success replies --------------------------------------------------------------------

# (http_status, headers, body): a few per endpoint; chosen once per endpoint in the world.
SUCCESS_VARIANTS: tuple[tuple[int, dict[str, str] | None, str | None], ...] = (
    (200, {"Content-Type": "application/json"}, '{"received": true}'),
    (200, {"Content-Type": "application/json", "Server": "nginx"}, '{"ok":true}'),
    (200, {"Content-Type": "text/plain; charset=utf-8"}, "OK"),
    (202, {"Content-Type": "application/json"}, '{"status":"accepted"}'),
    (204, {"Server": "awselb/2.0"}, ""),
    (200, {"Content-Type": "text/html; charset=utf-8", "Server": "cloudflare"}, "ok"),
    (201, {"Content-Type": "application/json", "Server": "uvicorn"}, '{"queued":true}'),
    (200, {"Content-Type": "application/json", "Via": "1.1 vegur", "Server": "Cowboy"},
     '{"success":true}'),
    (200, None, None),
)
