"""The triage rules: an ordered, declarative table (first match wins).

Each :class:`Rule` is plain data: matchers on the delivery status, the HTTP status code
(codes or inclusive ranges), response headers (names compare case-insensitively) and
regular expressions on the transport ``error`` and the ``response_body``, plus what it
yields: a category, a score, a reason template and the recommended action. Adding a rule
is adding a row here; no code changes.

The regular expressions run on the *normalised* text of :mod:`intel.triage.signature`:
lower case, whitespace collapsed, HTML tags dropped, and numbers, hex ids, UUIDs, URLs,
IPs, host names and paths replaced by ``<n>``, ``<hex>``, ``<uuid>``, ``<url>``, ``<ip>``,
``<host>``, ``<path>``. So a pattern never needs (and must not use) digits, except those
glued to letters (``h12``, ``x509``, ``http2``, ``err_ngrok_8012``), which are kept.
Header values are normalised the same way, except that a value that is the number zero
stays ``0``.

Reason templates may use ``{status}`` ("HTTP 503", "HTTP 404 (read from the text)"
or "no HTTP response"), ``{match}`` (the text a regex matched) and ``{header}``
(the matched header, e.g. "Retry-After: 120"); the engine appends " — rule `<name>`".

Safety: a verdict of ``transient-endpoint-down`` scored above 80 means "safe to retry".
No rule gives that to a failure a retry cannot fix, and :data:`SAFETY_CAPS` lower any
transient score when the evidence also carries a sign of a permanent cause.
"""

from __future__ import annotations

from dataclasses import dataclass

from intel.triage.result import PERMANENT, RATE_LIMITED, TRANSIENT, UNKNOWN

StatusSpec = int | tuple[int, int]


@dataclass(frozen=True)
class HeaderMatch:
    """A response header one of ``names`` (case-insensitive) whose normalised value matches
    ``value`` (a regex searched in it); ``value=None`` only asks that the header be there."""

    names: tuple[str, ...]
    value: str | None = None


@dataclass(frozen=True)
class Rule:
    """One row of the triage table. Every matcher given must hold; none given = any."""

    name: str
    category: str
    score: int
    reason: str
    action: str
    outcome: str | None = None  # delivery status ("delivered")
    status: tuple[StatusSpec, ...] = ()  # HTTP codes or inclusive (lo, hi) ranges
    status_known: bool | None = None  # True: an HTTP status is known; False: none is
    headers: tuple[HeaderMatch, ...] = ()  # all must match
    error: str | None = None  # regex on the normalised transport error
    body: str | None = None  # regex on the normalised response body
    text: str | None = None  # regex on the error or the body
    unless: str | None = None  # veto: the rule does not apply when error or body match


@dataclass(frozen=True)
class SafetyCap:
    """Caps the score of a ``transient-endpoint-down`` verdict at ``max_score`` when the
    delivery also shows ``status`` (codes/ranges) or ``text`` (regex on error or body)."""

    name: str
    max_score: int
    status: tuple[StatusSpec, ...] = ()
    text: str | None = None


#: Points taken off a rule's score when the HTTP status it matched was read from the
#: error or body text (the ``http_status`` field was empty) rather than given.
INFERRED_STATUS_PENALTY = 10

# --- recommended actions ---------------------------------------------------------------

RETRY = "Safe to retry: replay it (with backoff); if the endpoint stays down, tell its owner."
RETRY_AFTER = "Safe to retry once the Retry-After delay the server gave has passed; replay then."
RETRY_CAREFULLY = (
    "Probably transient: replay one delivery first and check it succeeds before replaying the rest."
)
WAIT = (
    "Wait, then retry: replay after the Retry-After / rate-limit reset time and lower the "
    "delivery rate to this endpoint."
)
FIX_AUTH = (
    "Do not retry as is: the endpoint rejects our credentials or signature. Check the "
    "signing secret / token with the endpoint owner, then replay."
)
FIX_URL = (
    "Do not retry as is: the URL or route does not accept webhooks. Ask the owner for the "
    "right endpoint URL (or disable the endpoint), then replay."
)
FIX_PAYLOAD = (
    "Do not retry as is: the endpoint rejects this payload. Compare it with the schema the "
    "endpoint expects (or shrink it), fix, then replay."
)
FIX_TLS = (
    "Do not retry: the endpoint's TLS setup is broken (certificate expired, self-signed, "
    "wrong host name, or HTTP/HTTPS mismatch). The endpoint owner must fix it or the URL "
    "scheme must change; replay after that."
)
FIX_DNS = (
    "Check the endpoint's host name: it does not resolve (mistyped, expired or deleted "
    "domain). Retries keep failing until DNS is fixed; replay once it resolves."
)
FIX_POLICY = (
    "Do not retry: our delivery policy refuses this destination (private, loopback or "
    "blocked address). Fix the endpoint URL or the allow-list."
)
FIX_WAF = (
    "Do not retry blindly: a firewall / bot protection in front of the endpoint blocks our "
    "requests. Ask the owner to allow-list the sender IPs or user agent."
)
FIX_CONFLICT = (
    "Check whether the endpoint already processed this event (duplicate / state conflict) "
    "before replaying; a blind retry usually gets the same answer."
)
INSPECT = "Inspect the response body and error by hand before deciding to replay."
NOTHING = "Nothing to do: the delivery succeeded."

# --- regular expressions shared by several rules ---------------------------------------

RATE_LIMIT_TEXT = (
    r"\brate[ _-]?limit|\bratelimit|too many requests|\bthrottl|rate exceeded"
    r"|request ?limit ?exceeded|requestlimitexceeded|toomanyrequests|\bquota (has been )?exceeded"
    r"|exceeded (your |the )?(\w+ )?quota|resource_exhausted|resource has been exhausted"
    r"|(calls|requests) per (second|minute|hour)|enhance your calm|abuse detection"
    r"|too many (api )?(calls|attempts)|provisionedthroughputexceeded"
)

TLS_CERTIFICATE = (
    r"certificate verify failed|certificate_verify_failed|cert_has_expired"
    r"|certificate (has )?expired|certificate is not (yet )?valid|certificate (is )?not trusted"
    r"|certificateexpiredexception|certificatenotyetvalid|certificate (has been )?revoked"
    r"|self[- ]?signed cert|self_signed_cert|depth_zero_self_signed"
    r"|unable to (get|verify) (the )?(local issuer|issuer|first|leaf)"
    r"|unable_to_(get_issuer|verify_leaf)|leaf signature|err_tls_cert|cert_untrusted"
    r"|hostname/ip (does not|doesn't) match|\baltnames?\b|hostname mismatch|host ?name mismatch"
    r"|does not match (the )?(certificate|common name|target host)|certificate is valid for"
    r"|not valid for (the )?(name|host)|no (subject )?alternative (dns )?(certificate )?"
    r"(subject )?names?|subject alternative name|\bx509\b|\bpkix\b|certpath|certification path"
    r"|ssl peer certificate|peer certificate cannot be authenticated|ssl certificate problem"
    r"|sslcertverificationerror|signed by unknown authority|unknown (ca|certificate authority)"
    r"|unknownissuer|invalid peer certificate|invalidcertificate|bad certificate"
    r"|untrusted (root|certificate)|\bis not trusted\b|truststore|remote certificate is invalid"
    r"|certificate chain|certificate unknown|certificate_unknown|unsupported certificate"
    r"|sslpeerunverifiedexception"
    r"|invalid (ssl |tls )?certificate|certificate (is )?invalid|ssl certificate (error|invalid)"
)

PLAIN_HTTP_TO_HTTPS = (
    r"server gave http response to https client|sent an http request to an https server"
    r"|plain http request was sent to https port|wrong version number"
    r"|first record does not look like a tls handshake|unrecognized ssl message"
    r"|plaintext connection|http request to an https (server|port)|packet length too long"
    r"|ssl_error_rx_record_too_long|err_ssl_protocol_error|unknown protocol"
    r"|malformed http response \"?\\x15\\x03|corrupt message of type invalidcontenttype"
)

TLS_WORDS = (
    r"certificat|\bx509\b|\bpkix\b|handshake|sslerror|ssl error|ssl routines|\bssl_\w+"
    r"|tls ?alert|\btls: |\bssl: |sslexception|ssl_connect"
)

TIMEOUT_TEXT = (
    r"timed? ?out\b|timeout|deadline exceeded|etimedout|esockettimedout|\be_timeout\b"
    r"|did not properly respond after a period of time|took too long|awaiting (response )?headers"
    r"|no response (was )?received|function_invocation_timeout|err_connection_timed_out"
)

RESET_TEXT = (
    r"connection (was )?reset|econnreset|reset by peer|connectionreseterror|forcibly closed"
    r"|wsaeconnreset|broken pipe|\bepipe\b|connection (was )?aborted|econnaborted"
    r"|connectionabortederror|software caused connection abort|rst_stream|stream reset"
    r"|reset before headers|disconnect/reset|err_connection_(reset|aborted|closed)"
)

SERVER_CLOSED_TEXT = (
    r"socket hang up|server disconnected|disconnected without sending|remotedisconnected"
    r"|remote end closed connection|empty reply from server|server returned nothing"
    r"|recv failure|send failure|incompleteread|incomplete read|incomplete (response|message)"
    r"|chunkedencodingerror|prematurely? (close|closed|end)|response ended prematurely"
    r"|connection (was |has been )?closed|closed (the )?connection"
    r"|closed by (the )?(remote|peer|foreign|server)"
    r"|connection (was |has been )?(lost|dropped|terminated)|nohttpresponseexception"
    r"|failed to respond|other side closed|und_err_socket|err_stream_premature_close"
    r"|serverdisconnectederror|clientpayloaderror|remoteprotocolerror|transport (is )?closing"
    r"|error reading (the )?(response|server)|unexpected end of stream|connection terminated"
    r"|closed idle connection|transfer closed with"
)


# --- the table -------------------------------------------------------------------------
# Families in order. Specific evidence that a retry cannot help (TLS, signatures, policy)
# comes before the status codes; the status codes come before the transport error text,
# so that a 4xx whose body happens to say "timeout" stays permanent.

RULES: tuple[Rule, ...] = (
    # ---- Not a failure. Decision: a delivered delivery gets category "unknown" with
    # score 0 (nothing to triage) and a reason that says it succeeded.
    Rule(
        name="delivered-not-a-failure",
        outcome="delivered",
        category=UNKNOWN,
        score=0,
        reason="Delivered: the latest attempt succeeded, this is not a failure",
        action=NOTHING,
    ),
    # ---- Rate limiting. Checked first because 403 (GitHub), 400 (AWS "Throttling") and
    # 503 (S3 "SlowDown") also signal it; a retry helps only after the window: never
    # "safe to retry now".
    Rule(
        name="http-429-retry-after",
        status=(429,),
        headers=(HeaderMatch(("retry-after",)),),
        category=RATE_LIMITED,
        score=98,
        reason="{status} Too Many Requests with {header}",
        action=WAIT,
    ),
    Rule(
        name="http-429",
        status=(429,),
        category=RATE_LIMITED,
        score=96,
        reason="{status} Too Many Requests",
        action=WAIT,
    ),
    # Quota headers at zero on a rejected request (GitHub's primary limit answers 403).
    Rule(
        name="ratelimit-remaining-zero",
        status=(400, 403, 420, 503),
        headers=(
            HeaderMatch(
                ("x-ratelimit-remaining", "ratelimit-remaining", "x-rate-limit-remaining"),
                r"^0$",
            ),
        ),
        category=RATE_LIMITED,
        score=92,
        reason="{status} with {header}: the request quota is used up",
        action=WAIT,
    ),
    # IETF draft combined field: "RateLimit: limit=100, remaining=0, reset=30" or
    # the structured form '"default";r=0;t=30'.
    Rule(
        name="ratelimit-header-remaining-zero",
        status=(400, 403, 420, 503),
        headers=(HeaderMatch(("ratelimit",), r"(remaining=|\br=)0\b"),),
        category=RATE_LIMITED,
        score=90,
        reason="{status} with {header}: the request quota is used up",
        action=WAIT,
    ),
    Rule(
        name="http-420-enhance-your-calm",
        status=(420,),
        category=RATE_LIMITED,
        score=85,
        reason="{status} (Enhance Your Calm): the endpoint throttles us",
        action=WAIT,
    ),
    # Text written by rate limiters: "rate limit exceeded", "secondary rate limit",
    # "Throttling"/"ThrottlingException", "Exceeded 2 calls per second", quotas...
    Rule(
        name="rate-limit-text",
        text=RATE_LIMIT_TEXT,
        category=RATE_LIMITED,
        score=90,
        reason="{status}; the response says '{match}'",
        action=WAIT,
    ),
    # S3 and other AWS services say "SlowDown" / "reduce your request rate" with 503.
    Rule(
        name="aws-slow-down",
        status=(400, 503),
        text=r"\bslow ?down\b|reduce your request rate|bandwidth limit exceeded",
        category=RATE_LIMITED,
        score=88,
        reason="{status}; the response says '{match}'",
        action=WAIT,
    ),
    # Retry-After on a 400/403 without other evidence: most likely a rate limit.
    Rule(
        name="retry-after-on-4xx",
        status=(400, 403),
        headers=(HeaderMatch(("retry-after",)),),
        category=RATE_LIMITED,
        score=70,
        reason="{status} with {header}: the endpoint asks us to come back later",
        action=WAIT,
    ),
    # ---- The endpoint URL itself is unusable (bad scheme, no host, malformed): the
    # sender never sent anything, and never will until the URL is fixed.
    Rule(
        name="invalid-endpoint-url",
        text=r"unsupported protocol scheme|invalid url|invalidurl|no host in request url"
        r"|invalid uri|malformed ?url|malformedurlexception|url using bad/illegal format"
        r"|missing ?schema|no scheme supplied|invalid url scheme|invalidschema"
        r"|protocol \S{0,12} not supported|uri is not absolute|failed to parse url"
        r"|relative url without a base|err_invalid_url",
        category=PERMANENT,
        score=85,
        reason="The endpoint URL is unusable: '{match}'",
        action=FIX_URL,
    ),
    # ---- TLS and HTTP/HTTPS mismatch. Decision: permanent, never retry-safe: the same
    # certificate or scheme fails again until someone fixes the endpoint. Checked before
    # DNS (TLS errors quote "DNS:" SAN entries) and signatures ("leaf signature").
    Rule(
        name="cloudflare-526-invalid-origin-certificate",
        status=(526,),
        category=PERMANENT,
        score=88,
        reason="{status} (Cloudflare: invalid SSL certificate at the origin)",
        action=FIX_TLS,
    ),
    Rule(
        name="cloudflare-525-ssl-handshake-failed",
        status=(525,),
        category=PERMANENT,
        score=75,
        reason="{status} (Cloudflare: SSL handshake with the origin failed)",
        action=FIX_TLS,
    ),
    Rule(
        name="plain-http-to-https",
        text=PLAIN_HTTP_TO_HTTPS,
        category=PERMANENT,
        score=88,
        reason="HTTP/HTTPS mismatch: '{match}' (plain HTTP spoken to a TLS port or back)",
        action=FIX_TLS,
    ),
    Rule(
        name="tls-certificate-invalid",
        text=TLS_CERTIFICATE,
        category=PERMANENT,
        score=90,
        reason="TLS certificate rejected: '{match}'",
        action=FIX_TLS,
    ),
    # A handshake that timed out is usually load or network: transient, but kept at 75
    # (a firewall eating the handshake looks the same).
    Rule(
        name="tls-handshake-timeout",
        text=r"(tls|ssl) handshake (timeout|timed out)|handshake (operation )?timed out"
        r"|timeout (during|while) (the )?(tls|ssl)? ?handshake",
        category=TRANSIENT,
        score=75,
        reason="TLS handshake timed out: '{match}'",
        action=RETRY_CAREFULLY,
    ),
    # Connection dropped in the middle of the handshake: ambiguous (overload, middlebox,
    # or TLS version mismatch), so transient with a low score.
    Rule(
        name="tls-connection-dropped",
        text=r"eof occurred in violation of protocol|unexpected_eof_while_reading|ssleoferror"
        r"|ssl_error_syscall|terminated the handshake|disconnected before secure tls connection"
        r"|closed (the connection )?during (the )?handshake"
        r"|unexpected error occurred on a send",
        category=TRANSIENT,
        score=55,
        reason="TLS connection dropped during the handshake: '{match}'",
        action=RETRY_CAREFULLY,
    ),
    # Protocol/cipher mismatch and other handshake alerts: configuration, not luck.
    Rule(
        name="tls-handshake-failure",
        text=r"handshake[ _]failure|sslhandshakeexception|(ssl|tls) handshake failed"
        r"|alert handshake|no shared cipher|no ciphers? (suites )?(in common|available)"
        r"|unsupported protocol|protocol version|tlsv1 alert|sslv3 alert|inappropriate fallback"
        r"|no protocols available|received fatal alert|remote error: tls"
        r"|ssl connection could not be established|could not establish trust relationship"
        r"|peer failed to perform tls handshake|certificate required|ssl_error_ssl"
        r"|ssl routines|\[ssl: \w+\]|could not create ssl/tls secure channel",
        category=PERMANENT,
        score=72,
        reason="TLS handshake failed: '{match}'",
        action=FIX_TLS,
    ),
    # ---- Our own delivery policy refused the destination (SSRF protection): a retry
    # hits the same policy.
    Rule(
        name="destination-blocked-by-policy",
        text=r"forbidden ip|resolves to an? (forbidden|private|blocked|reserved|loopback"
        r"|non-?public|disallowed|internal)|(private|loopback|reserved|link-local)"
        r" (ip|address|network|range)[\w -]{0,25}(not allowed|blocked|forbidden|denied"
        r"|disallowed)|not allowed to (connect|send|deliver) to|blocked (ip|address|destination)"
        r"|\bnetjail\b|\bssrf\b|destination (is )?(not allowed|blocked|forbidden)"
        r"|invalid target|e_invalid_target|(dial|connection) to private|ip address is"
        r" (not allowed|blocked)|host is not allowed|prohibited (ip|address|host)"
        r"|connect: permission denied|\beacces\b",
        category=PERMANENT,
        score=80,
        reason="Destination refused by the delivery policy: '{match}'",
        action=FIX_POLICY,
    ),
    # ---- Webhook signature verification failures (Stripe, Svix/Standard Webhooks,
    # GitHub X-Hub-Signature, Slack...). Decision: permanent: the receiver computes the
    # same mismatch on every retry until the secret is fixed.
    Rule(
        name="webhook-signature-mismatch",
        text=r"signatureverificationerror|invalid[_ -]?signature|signature[_ -]?(is )?(invalid"
        r"|mismatch|mis-match|verification failed|validation failed|check failed|does not match"
        r"|doesn't match|did not match|not match|failed|missing|required|expired)"
        r"|(no|bad|wrong|incorrect|missing|unverified|mismatched|mismatching|empty)"
        r" (\w+ ){0,2}signatures?\b|signatures? (found )?matching|no matching signature"
        r"|signatures? (do |does |did )?not match|(unable|failed) to (extract|verify|validate)"
        r" (\w+ ){0,3}signatures?|could not (verify|validate) (\w+ ){0,3}signatures?"
        r"|hmac (verification |validation )?(failed|mismatch|invalid)|invalid hmac"
        r"|webhook (secret|verification failed)|signing secret|x-hub-signature"
        r"|stripe-signature|x-slack-signature|webhook-signature|svix-signature",
        category=PERMANENT,
        score=92,
        reason="Webhook signature rejected by the receiver: '{match}'",
        action=FIX_AUTH,
    ),
    # Standard Webhooks / Svix: headers the receiver needs for verification are absent.
    Rule(
        name="webhook-missing-headers",
        text=r"missing required headers?|required headers? (are |is )?missing"
        r"|missing (the )?[\w-]+ header|invalid signature headers",
        category=PERMANENT,
        score=68,
        reason="The receiver could not verify the webhook: '{match}'",
        action=FIX_AUTH,
    ),
    # Replay protection: the signed timestamp is outside the receiver's tolerance
    # (clock skew or an old replay). A blind retry of the same attempt is refused again.
    Rule(
        name="webhook-timestamp-tolerance",
        text=r"timestamp (is )?(too old|too new|outside (of )?(the )?tolerance|expired"
        r"|out of range)|message timestamp|request (is )?too old|replay attack|tolerance zone"
        r"|stale (request|timestamp|webhook)",
        category=PERMANENT,
        score=70,
        reason="The receiver refused the signed timestamp: '{match}'",
        action=FIX_AUTH,
    ),
    # ---- Firewalls and bot protection (Cloudflare, Akamai, Imperva, ModSecurity...).
    # A block page does not go away by retrying.
    Rule(
        name="waf-block-page",
        status=(403, 406),
        text=r"attention required|you have been blocked|access denied|request blocked"
        r"|web application firewall|\bwaf\b|security service to protect itself|mod_security"
        r"|incapsula|akamai|the requested url was rejected|blocked by",
        category=PERMANENT,
        score=88,
        reason="{status} from a firewall / bot protection: '{match}'",
        action=FIX_WAF,
    ),
    Rule(
        name="bot-challenge-page",
        text=r"just a moment\.\.\.|cf-chl|challenge-platform|checking your browser"
        r"|enable javascript and cookies to continue|ddos protection by",
        category=PERMANENT,
        score=80,
        reason="{status}: a bot-protection challenge page ('{match}')",
        action=FIX_WAF,
    ),
    # ---- The receiver (or the sender's platform) says the endpoint or account is
    # switched off: waiting does not switch it back on.
    Rule(
        name="endpoint-disabled-text",
        text=r"(endpoint|webhook|account|subscription|integration|hook)"
        r" (is |has been |was )?(disabled|deactivated|suspended|deleted|revoked)",
        category=PERMANENT,
        score=80,
        reason="{status}; the endpoint or account is switched off: '{match}'",
        action=FIX_URL,
    ),
    Rule(
        name="too-many-redirects",
        text=r"too many redirects|stopped after \S+ redirects|redirect loop"
        r"|maximum \(?\S*\)? ?redirects|toomanyredirects|maxredirects",
        category=PERMANENT,
        score=78,
        reason="{status}; redirect loop: '{match}'",
        action=FIX_URL,
    ),
    # ---- 4xx status codes. Decision: permanent (the same request gets the same answer)
    # except 408 (the server timed out waiting for us), 425 and 499 (client gave up).
    Rule(
        name="http-408-request-timeout",
        status=(408,),
        category=TRANSIENT,
        score=75,
        reason="{status} Request Timeout: the server gave up waiting for the request",
        action=RETRY_CAREFULLY,
    ),
    # 409: usually "already processed"/duplicate or a state conflict on the receiver.
    Rule(
        name="http-409-conflict",
        status=(409,),
        category=PERMANENT,
        score=65,
        reason="{status} Conflict: the receiver reports a duplicate or a state conflict",
        action=FIX_CONFLICT,
    ),
    # 410: the endpoint was removed on purpose; disable it.
    Rule(
        name="http-410-gone",
        status=(410,),
        category=PERMANENT,
        score=95,
        reason="{status} Gone: the endpoint was removed",
        action=FIX_URL,
    ),
    Rule(
        name="http-413-payload-too-large",
        status=(413,),
        category=PERMANENT,
        score=92,
        reason="{status} Payload Too Large: the same payload will be refused again",
        action=FIX_PAYLOAD,
    ),
    # 419 is Laravel's CSRF "Page Expired": the webhook route needs a CSRF exemption.
    Rule(
        name="http-419-csrf-page-expired",
        status=(419,),
        category=PERMANENT,
        score=80,
        reason="{status} Page Expired (CSRF protection on the receiving route)",
        action=FIX_URL,
    ),
    Rule(
        name="http-422-unprocessable",
        status=(422,),
        category=PERMANENT,
        score=92,
        reason="{status} Unprocessable Entity: the receiver rejects the payload",
        action=FIX_PAYLOAD,
    ),
    Rule(
        name="http-401-unauthorized",
        status=(401,),
        category=PERMANENT,
        score=94,
        reason="{status} Unauthorized: credentials or signature rejected",
        action=FIX_AUTH,
    ),
    Rule(
        name="http-403-forbidden",
        status=(403,),
        category=PERMANENT,
        score=90,
        reason="{status} Forbidden",
        action=FIX_AUTH,
    ),
    Rule(
        name="http-404-not-found",
        status=(404,),
        category=PERMANENT,
        score=94,
        reason="{status} Not Found: no webhook route at this URL",
        action=FIX_URL,
    ),
    Rule(
        name="http-405-method-not-allowed",
        status=(405,),
        category=PERMANENT,
        score=94,
        reason="{status} Method Not Allowed: the URL does not accept POST",
        action=FIX_URL,
    ),
    Rule(
        name="http-400-bad-request",
        status=(400,),
        category=PERMANENT,
        score=90,
        reason="{status} Bad Request",
        action=FIX_PAYLOAD,
    ),
    Rule(
        name="http-402-payment-required",
        status=(402,),
        category=PERMANENT,
        score=88,
        reason="{status} Payment Required: the receiver's account is not in good standing",
        action=FIX_URL,
    ),
    Rule(
        name="http-407-proxy-auth-required",
        status=(407,),
        category=PERMANENT,
        score=85,
        reason="{status} Proxy Authentication Required",
        action=FIX_AUTH,
    ),
    Rule(
        name="http-451-unavailable-legal",
        status=(451,),
        category=PERMANENT,
        score=90,
        reason="{status} Unavailable For Legal Reasons",
        action=FIX_URL,
    ),
    Rule(
        name="http-4xx-request-rejected",
        status=(406, 411, 414, 415, 417, 431),
        category=PERMANENT,
        score=85,
        reason="{status}: the receiver rejects the form of the request",
        action=FIX_PAYLOAD,
    ),
    Rule(
        name="http-4xx-precondition",
        status=(412, 428),
        category=PERMANENT,
        score=72,
        reason="{status}: a precondition of the receiver is not met",
        action=INSPECT,
    ),
    # 421 Misdirected Request: TLS/SNI routing at the receiver; not fixed by a retry.
    Rule(
        name="http-421-misdirected",
        status=(421,),
        category=PERMANENT,
        score=65,
        reason="{status} Misdirected Request",
        action=FIX_URL,
    ),
    Rule(
        name="http-423-425-not-ready",
        status=(423, 425),
        category=TRANSIENT,
        score=65,
        reason="{status}: the receiver is not ready for this request yet",
        action=RETRY_CAREFULLY,
    ),
    # nginx 499: the client (our sender) closed the request, i.e. our timeout fired.
    Rule(
        name="http-499-client-closed",
        status=(499, 460),
        category=TRANSIENT,
        score=70,
        reason="{status} Client Closed Request: our side gave up (timeout) at the receiver's proxy",
        action=RETRY_CAREFULLY,
    ),
    Rule(
        name="http-4xx-other",
        status=((400, 499),),
        category=PERMANENT,
        score=70,
        reason="{status}: the receiver rejects the request",
        action=INSPECT,
    ),
    # ---- Payload / schema rejections written in the text (any status or none).
    Rule(
        name="payload-too-large-text",
        text=r"payload too large|request entity too large|entity too large|content too large"
        r"|payloadtoolargeerror|body (size )?(exceeded|exceeds|too large)|maxbodylength",
        category=PERMANENT,
        score=85,
        reason="{status}; the receiver says '{match}'",
        action=FIX_PAYLOAD,
    ),
    Rule(
        name="schema-validation-text",
        text=r"schema validation|validation (error|failed)|validationerror|unprocessable"
        r"|invalid (json|payload|request body|body|event|content[- ]type)"
        r"|malformed (json|payload|request)|json parse error|(could not|unable to|failed to"
        r"|cannot) (parse|decode|deserialize) (the )?(json|payload|request|body)"
        r"|unexpected token .{0,40} in json|is not valid json|jsondecodeerror"
        r"|unsupported (media type|content[- ]type|event( type)?)|missing required (field"
        r"|property|parameter)|is a required property|field required"
        r"|httpmessagenotreadable",
        category=PERMANENT,
        score=78,
        reason="{status}; the receiver rejects the payload: '{match}'",
        action=FIX_PAYLOAD,
    ),
    # ---- 5xx status codes. Decision: transient (the server side is failing), except
    # 501/505/508/511 which describe a fixed property of the endpoint, and Cloudflare's
    # 52x where the code tells what happened at the origin.
    Rule(
        name="http-501-not-implemented",
        status=(501,),
        category=PERMANENT,
        score=75,
        reason="{status} Not Implemented: the endpoint does not support this method",
        action=FIX_URL,
    ),
    Rule(
        name="http-5xx-fixed-property",
        status=(505, 508, 511, 561),
        category=PERMANENT,
        score=62,
        reason="{status}: the endpoint refuses how the request is made (not load related)",
        action=INSPECT,
    ),
    Rule(
        name="http-5xx-retry-after",
        status=((500, 599),),
        headers=(HeaderMatch(("retry-after",)),),
        category=TRANSIENT,
        score=93,
        reason="{status} with {header}: the server asks us to retry later",
        action=RETRY_AFTER,
    ),
    Rule(
        name="cloudflare-origin-down",
        status=(521, 522),
        category=TRANSIENT,
        score=90,
        reason="{status} (Cloudflare: the origin web server is down or did not accept the "
        "connection)",
        action=RETRY,
    ),
    Rule(
        name="cloudflare-origin-timeout",
        status=(524,),
        category=TRANSIENT,
        score=86,
        reason="{status} (Cloudflare: the origin accepted the connection but timed out)",
        action=RETRY,
    ),
    Rule(
        name="cloudflare-origin-unknown-error",
        status=(520, 523, 527),
        category=TRANSIENT,
        score=65,
        reason="{status} (Cloudflare: origin unreachable or returned an unexpected response)",
        action=RETRY_CAREFULLY,
    ),
    Rule(
        name="cloudflare-530",
        status=(530,),
        category=UNKNOWN,
        score=45,
        reason="{status} (Cloudflare 1xxx error, e.g. origin DNS error): check the body",
        action=INSPECT,
    ),
    Rule(
        name="http-503-service-unavailable",
        status=(503,),
        category=TRANSIENT,
        score=92,
        reason="{status} Service Unavailable",
        action=RETRY,
    ),
    Rule(
        name="http-504-gateway-timeout",
        status=(504,),
        category=TRANSIENT,
        score=92,
        reason="{status} Gateway Timeout",
        action=RETRY,
    ),
    Rule(
        name="http-502-bad-gateway",
        status=(502,),
        category=TRANSIENT,
        score=90,
        reason="{status} Bad Gateway",
        action=RETRY,
    ),
    # 500 may be a bug the payload triggers every time: transient, but not "safe".
    Rule(
        name="http-500-internal-error",
        status=(500,),
        category=TRANSIENT,
        score=72,
        reason="{status} Internal Server Error",
        action=RETRY_CAREFULLY,
    ),
    Rule(
        name="http-509-bandwidth-limit",
        status=(509,),
        category=RATE_LIMITED,
        score=70,
        reason="{status} Bandwidth Limit Exceeded",
        action=WAIT,
    ),
    Rule(
        name="http-5xx-other",
        status=((500, 599),),
        category=TRANSIENT,
        score=70,
        reason="{status}: server-side failure",
        action=RETRY_CAREFULLY,
    ),
    # ---- Other status classes on a failed delivery.
    # Redirects are not followed by webhook senders: the URL must be updated.
    Rule(
        name="http-3xx-redirect",
        status=((300, 399),),
        category=PERMANENT,
        score=70,
        reason="{status}: the endpoint redirects; webhook deliveries do not follow redirects",
        action=FIX_URL,
    ),
    Rule(
        name="http-2xx-marked-failed",
        status=((100, 299),),
        category=UNKNOWN,
        score=30,
        reason="{status} yet the delivery is marked failed (timeout after the headers, or the "
        "sender rejected the response)",
        action=INSPECT,
    ),
    # ---- DNS. Decision: a temporary resolver failure (EAI_AGAIN, SERVFAIL, resolver
    # timeout) is transient; a name that does not exist (NXDOMAIN, "no such host",
    # ENOTFOUND) is permanent-ish with a low score: retrying does no harm but will not
    # help until DNS changes; wordings that cover both get transient with a low score.
    Rule(
        name="dns-temporary-failure",
        text=r"eai_again|temporary failure in name resolution|name resolution (is )?temporarily"
        r"|server misbehaving|timed out resolving|resolving timed out|resolution timed out"
        r"|dns (lookup |resolution |query )?(timed out|timeout)|\bservfail\b"
        r"|lookup \S+( on \S+)?: (read|dial|write) (udp|tcp).{0,80}(i/o timeout|refused)",
        category=TRANSIENT,
        score=86,
        reason="Temporary DNS failure: '{match}'",
        action=RETRY,
    ),
    Rule(
        name="dns-name-not-found",
        text=r"no such host|\bnxdomain\b|\benotfound\b|name or service not known"
        r"|nodename nor servname|no address associated with hostname|non-existent domain"
        r"|name does not resolve|host not found|did not resolve to any (ip|address)"
        r"|err_name_not_resolved|dns_probe_finished_nxdomain",
        category=PERMANENT,
        score=60,
        reason="The endpoint's host name does not resolve: '{match}'",
        action=FIX_DNS,
    ),
    Rule(
        name="dns-lookup-failed",
        text=r"unknownhostexception|unknown host|(could ?n[o']t|unable to|cannot|can't|failed to)"
        r" resolve|getaddrinfo failed|dns (lookup |resolution )?(failed|error)|name resolution"
        r"|nameresolutionerror|unresolvedaddress|resolve host|resolution failed"
        r"|dns server returned an error|(could not|cannot) be resolved",
        category=TRANSIENT,
        score=65,
        reason="DNS lookup failed (temporary or a missing name): '{match}'",
        action=RETRY_CAREFULLY,
    ),
    # ---- Transport errors, as Go, Node, Python, Java, Rust, .NET and curl write them.
    # Decision: transient: nothing answered, or the connection broke; the request never
    # reached application code (or its answer was lost), so a retry is the fix.
    Rule(
        name="connection-refused",
        text=r"connection refused|econnrefused|actively refused|refused (the|to) connect"
        r"|connectexception|connect call failed|no connection could be made"
        r"|httphostconnectexception"
        r"|\be_connection\b|connection to \S+ refused|connection was refused"
        r"|err_connection_refused|connectionrefusederror|upstream connect error"
        r"|no healthy upstream",
        category=TRANSIENT,
        score=90,
        reason="Connection refused: '{match}' (nothing listening at the endpoint)",
        action=RETRY,
    ),
    Rule(
        name="network-unreachable",
        text=r"network is unreachable|enetunreach|no route to host|ehostunreach"
        r"|host is unreachable|host unreachable|host is down|ehostdown|network is down"
        r"|enetdown|err_internet_disconnected|err_address_unreachable",
        category=TRANSIENT,
        score=80,
        reason="Network unreachable: '{match}'",
        action=RETRY_CAREFULLY,
    ),
    Rule(
        name="timeout",
        text=TIMEOUT_TEXT,
        category=TRANSIENT,
        score=88,
        reason="The request timed out: '{match}'",
        action=RETRY,
    ),
    Rule(
        name="connection-reset",
        text=RESET_TEXT,
        category=TRANSIENT,
        score=88,
        reason="The connection was reset: '{match}'",
        action=RETRY,
    ),
    Rule(
        name="http2-goaway",
        text=r"goaway|go_away",
        category=TRANSIENT,
        score=86,
        reason="HTTP/2 GOAWAY: the server closed the connection ('{match}')",
        action=RETRY,
    ),
    Rule(
        name="server-closed-connection",
        text=SERVER_CLOSED_TEXT,
        category=TRANSIENT,
        score=86,
        reason="The server closed the connection without a full response: '{match}'",
        action=RETRY,
    ),
    # HTTP/2 stream reset by the peer (Go "stream error", OkHttp StreamResetException):
    # usually a server restart or overload, sometimes a protocol bug: transient, not safe.
    Rule(
        name="http2-stream-error",
        text=r"stream error|stream was reset|streamresetexception|\bprotocol_error\b"
        r"|http2 framing layer|was not closed cleanly"
        r"|\brefused_stream\b",
        category=TRANSIENT,
        score=70,
        reason="HTTP/2 stream reset by the server: '{match}'",
        action=RETRY_CAREFULLY,
    ),
    # Go's bare "EOF" / "unexpected EOF": the server closed a (kept-alive) connection.
    Rule(
        name="eof",
        text=r"\bunexpected eof\b|: eof\b|^eof$|\beof\b|end of file|eofexception",
        category=TRANSIENT,
        score=80,
        reason="The connection ended early: '{match}'",
        action=RETRY_CAREFULLY,
    ),
    Rule(
        name="connect-failed",
        text=r"failed to establish (a |a new )?connection|cannot connect to host"
        r"|can ?not connect to|unable to connect|couldn't connect|could not connect"
        r"|failed to connect|connect ?error|error trying to connect|connection failure"
        r"|connection attempts? failed|connect failed",
        category=TRANSIENT,
        score=85,
        reason="Could not connect: '{match}'",
        action=RETRY,
    ),
    # Heroku's generic error page without a status.
    Rule(
        name="heroku-application-error",
        text=r"application error.{0,200}(heroku|could not be served)|\bh1[0-9]\b.{0,40}"
        r"(app crashed|request timeout|no web)",
        category=TRANSIENT,
        score=78,
        reason="Heroku router error page: '{match}'",
        action=RETRY_CAREFULLY,
    ),
    # ngrok: a tunnel that no longer exists will not come back by retrying.
    Rule(
        name="ngrok-tunnel-not-found",
        text=r"err_ngrok_3200|tunnel \S+ (was )?not found|tunnel \S+ is offline"
        r"|endpoint \S+ is offline",
        category=PERMANENT,
        score=72,
        reason="ngrok tunnel gone: '{match}'",
        action=FIX_URL,
    ),
    # ---- Outcome words without a status code.
    Rule(
        name="auth-failure-text",
        status_known=False,
        text=r"unauthori[sz]ed|authentication (failed|required|error)|invalid[ _](api[ _-]?key"
        r"|(\w+ )?token|credentials|auth\w*)|access denied|permission denied|\bforbidden\b"
        r"|not authori[sz]ed|authori[sz]ation failed|check your credentials|invalid_client"
        r"|invalid_grant|token (has )?expired|bad credentials",
        category=PERMANENT,
        score=75,
        reason="The receiver refuses our credentials: '{match}'",
        action=FIX_AUTH,
    ),
    Rule(
        name="not-found-text",
        status_known=False,
        text=r"(?<![a-z])not[ _]found(?![a-z])|could not be found|cannot be found"
        r"|unknown webhook|cannot post|no route matched|no handler found"
        r"|no such (route|endpoint|webhook|app)",
        category=PERMANENT,
        score=70,
        reason="The endpoint route does not exist: '{match}'",
        action=FIX_URL,
    ),
    Rule(
        name="method-not-allowed-text",
        status_known=False,
        text=r"method not allowed|methodnotallowed|does not allow this method",
        category=PERMANENT,
        score=75,
        reason="The endpoint does not accept POST: '{match}'",
        action=FIX_URL,
    ),
    Rule(
        name="bad-request-text",
        status_known=False,
        text=r"\bbad request\b",
        category=PERMANENT,
        score=70,
        reason="The receiver calls the request bad: '{match}'",
        action=FIX_PAYLOAD,
    ),
    # Proxy / load-balancer wording without a status code.
    Rule(
        name="proxy-error-text",
        status_known=False,
        text=r"bad gateway|service (is )?(temporarily )?unavailable|gateway time-?out"
        r"|upstream (request timeout|timed out)|origin is unreachable|web server is down"
        r"|temporarily unavailable|server is (currently )?(unable|overloaded|busy)"
        r"|under maintenance|try again later",
        category=TRANSIENT,
        score=75,
        reason="Proxy / server-unavailable page: '{match}'",
        action=RETRY_CAREFULLY,
    ),
    Rule(
        name="server-error-text",
        status_known=False,
        text=r"internal server error|\bserver error\b",
        category=TRANSIENT,
        score=60,
        reason="The receiver reports a server error: '{match}'",
        action=RETRY_CAREFULLY,
    ),
    # TLS trouble without details: cannot tell a certificate from a dropped connection.
    Rule(
        name="tls-error-unspecified",
        text=r"\b(tls|ssl) (error|failure|exception)\b|\bsslerror\b|\bsslexception\b",
        category=UNKNOWN,
        score=45,
        reason="TLS error without details: '{match}'",
        action=INSPECT,
    ),
    # Our own side ran out of sockets/files: nothing wrong with the endpoint.
    Rule(
        name="sender-resource-exhausted",
        text=r"too many open files|\bemfile\b|cannot assign requested address"
        r"|\beaddrnotavail\b|no buffer space available|\benobufs\b",
        category=TRANSIENT,
        score=70,
        reason="The sender ran out of sockets or files: '{match}'",
        action=RETRY_CAREFULLY,
    ),
    # Weak network wording: probably transient, not enough to call it safe.
    Rule(
        name="generic-network-error",
        text=r"fetch failed|network ?error|socket error|\bioexception\b|i/o error"
        r"|network request failed|failed to fetch|net::err_|error sending request",
        category=TRANSIENT,
        score=60,
        reason="Unspecific network error: '{match}'",
        action=RETRY_CAREFULLY,
    ),
    # ---- Nothing to go on.
    Rule(
        name="no-evidence",
        status_known=False,
        error=r"^$",
        body=r"^$",
        category=UNKNOWN,
        score=10,
        reason="No HTTP status, error or response body was recorded",
        action=INSPECT,
    ),
    Rule(
        name="unclassified",
        category=UNKNOWN,
        score=30,
        reason="{status}; no rule recognises this failure",
        action=INSPECT,
    ),
)

#: Caps applied to ``transient-endpoint-down`` verdicts, in order (the lowest cap that
#: matches wins): whatever rule fired, these signs of a cause a retry cannot fix keep
#: the answer out of "safe to retry".
SAFETY_CAPS: tuple[SafetyCap, ...] = (
    # A 4xx answer is the receiver rejecting the request (408/425/423/499 excepted).
    SafetyCap(
        "client-error-status",
        max_score=60,
        status=((400, 407), (409, 422), (424, 424), (426, 498)),
    ),
    SafetyCap(
        "auth-or-signature-words",
        max_score=60,
        text=r"signature|\bhmac\b|unauthori[sz]ed|forbidden|access denied|permission denied"
        r"|invalid (api[ _-]?)?(key|token)|credentials|blocked|not allowed|\bssrf\b",
    ),
    SafetyCap("tls-or-certificate-words", max_score=75, text=TLS_WORDS),
)
