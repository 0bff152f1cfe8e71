"""Folding tables (pure): variants that must fold into one problem, distinct problems that
must stay apart, and where a problem lives (endpoint, tenant, sporadic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intel.groups import FailureRow, fold_figures, fold_rows, kind_of, own_group_floor
from intel.groups.fold import SEVERAL
from intel.groups.kinds import group_action
from intel.triage import rules as R
from intel.triage.result import PERMANENT, RATE_LIMITED, TRANSIENT, UNKNOWN

T0 = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
A = "https://hooks.acme.example/in"
A2 = "https://hooks.acme.example/orders"
A3 = "https://hooks.acme.example/billing"
B = "https://api.beta.example/webhooks"
B2 = "https://api.beta.example/orders"
_ids = iter(range(10**6))


def r(status=None, error=None, body=None, headers=None, *, n=1, endpoint=A, tenant=None,
      minute=0):
    """A raw row as the SQL aggregate returns it."""
    if tenant is None:
        tenant = "acme" if "acme" in endpoint else "beta"
    at = T0 + timedelta(minutes=minute)
    return FailureRow(endpoint, tenant, status, error, body, headers, n, at, at,
                      f"d{next(_ids):06d}")


# --- texts as real endpoints send them ----------------------------------------------------
GONE_HTML = (410, None, "<html><head><title>410 Gone</title></head><body><center><h1>410 Gone"
             "</h1></center><hr><center>nginx/1.25.3</center></body></html>")
GONE_JSON = (410, None, '{"status": 410, "title": "Gone", "detail": "integration for acme was '
             'uninstalled"}')
GONE_TEXT = (410, None, "Gone")
NOT_FOUND_HTML = (404, None, "<html><head><title>404 Not Found</title></head><body><h1>Not "
                  "Found</h1></body></html>")
NOT_FOUND_JSON = (404, None, '{"detail":"Not Found"}')
REFUSED_GO = (None, "dial tcp 10.0.0.5:443: connect: connection refused", None)
REFUSED_GO_2 = (None, "dial tcp 10.0.7.19:8443: connect: connection refused", None)
REFUSED_NODE = (None, "connect ECONNREFUSED 10.0.0.6:443", None)
REFUSED_PY = (None, "HTTPSConnectionPool(host='hooks.acme.example', port=443): Max retries "
              "exceeded with url: /in (Caused by NewConnectionError('<urllib3.connection."
              "HTTPSConnection object at 0x7f3a2c1d0e50>: Failed to establish a new "
              "connection: [Errno 111] Connection refused'))", None)
BAD_GATEWAY = (502, None, "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad "
               "Gateway</h1><hr>nginx/1.18.0</body></html>")
UNAVAILABLE = (503, None, "Service Unavailable")
GATEWAY_TIMEOUT = (504, None, "<html><body><h1>504 Gateway Time-out</h1></body></html>")
DEADLINE = (None, 'Post "https://hooks.acme.example/in": context deadline exceeded '
            "(Client.Timeout exceeded while awaiting headers)", None)
INTERNAL = (500, None, "Internal Server Error")
CF_521 = (521, None, "<!DOCTYPE html><title>hooks.acme.example | 521: Web server is down"
          "</title> Cloudflare Ray ID: 7d2f1a2b3c4d5e6f")
CF_522 = (522, None, "<!DOCTYPE html><title>hooks.acme.example | 522: Connection timed out"
          "</title> Cloudflare Ray ID: 8a9b0c1d2e3f4a5b")
CF_524 = (524, None, "<!DOCTYPE html><title>hooks.acme.example | 524: A timeout occurred"
          "</title> Ray ID: 1234abcd5678ef90")
SIGNATURE = (401, None, '{"error":"invalid_signature","message":"signature verification '
             'failed"}')
SECRET = (401, None, "401 Unauthorized: webhook secret mismatch")
SIGNING_KEY = (401, None, '{"error":"unauthorized","message":"unknown signing key"}')
FIELD_AMOUNT = (422, None, '{"detail":[{"loc":["body","amount"],"msg":"field required"}]}')
FIELD_CURRENCY = (422, None, '{"detail":[{"loc":["body","currency"],"msg":"field required"}]}')
BAD_PAYLOAD = (400, None, '{"error":"invalid payload: missing field customer_id"}')
CERT_EXPIRED = (None, "x509: certificate has expired or is not yet valid: current time "
                "2026-11-05T12:00:00Z is after 2026-10-01T00:00:00Z", None)
SELF_SIGNED = (None, "SSL: CERTIFICATE_VERIFY_FAILED certificate verify failed: self signed "
               "certificate (_ssl.c:1006)", None)
NXDOMAIN = (None, "dial tcp: lookup hooks.gone-domain.example on 127.0.0.53:53: no such host",
            None)
ODD = (None, "something odd happened", None)
TEAPOT = (418, None, "I'm a teapot")


def rows(*specs, **common):
    """Rows from (texts, n) pairs or bare texts."""
    out = []
    for spec in specs:
        texts, n = spec if isinstance(spec[0], tuple) else (spec, 1)
        out.append(r(*texts, n=n, **common))
    return out


# --- variants that must fold into one problem -----------------------------------------------
FOLD_TOGETHER = [
    ("410 in HTML, JSON and plain text",
     rows((GONE_HTML, 5), (GONE_JSON, 4), (GONE_TEXT, 3)), PERMANENT, "url", 12),
    ("404 and 410 on one route: one fix",
     rows((NOT_FOUND_HTML, 2), (NOT_FOUND_JSON, 2), (GONE_TEXT, 1)), PERMANENT, "url", 5),
    ("connection refused to other pod IPs, in Go, Node and Python",
     rows(REFUSED_GO, REFUSED_GO_2, REFUSED_NODE, REFUSED_PY), TRANSIENT, "endpoint-down", 4),
    ("502, 503, 504, a timeout and a 500 on one endpoint",
     rows(BAD_GATEWAY, UNAVAILABLE, GATEWAY_TIMEOUT, DEADLINE, INTERNAL), TRANSIENT,
     "endpoint-down", 5),
    ("Cloudflare 521/522/524 pages with their ray ids",
     rows(CF_521, CF_522, CF_524), TRANSIENT, "endpoint-down", 3),
    ("signature or secret rejected in three wordings",
     rows(SIGNATURE, SECRET, SIGNING_KEY), PERMANENT, "credentials", 3),
    ("429 with and without Retry-After; a 403 with remaining 0",
     [r(429, None, "Too Many Requests", {"Retry-After": "30"}),
      r(429, None, '{"error":"rate_limited"}'),
      r(403, None, "API rate limit exceeded for installation", {"X-RateLimit-Remaining": "0"})],
     RATE_LIMITED, "rate-limited", 3),
    ("422 for different fields and a 400 schema error",
     rows(FIELD_AMOUNT, FIELD_CURRENCY, BAD_PAYLOAD), PERMANENT, "payload", 3),
    ("expired and self-signed certificates", rows(CERT_EXPIRED, SELF_SIGNED), PERMANENT, "tls",
     2),
]


@pytest.mark.parametrize(("rows_", "category", "kind", "count"),
                         [case[1:] for case in FOLD_TOGETHER],
                         ids=[case[0] for case in FOLD_TOGETHER])
def test_variants_fold_into_one_problem(rows_, category, kind, count):
    [group] = fold_rows(rows_, floor=1)
    assert (group.category, group.kind, group.count) == (category, kind, count)
    assert (group.scope, group.endpoint, group.tenant) == ("endpoint", A, "acme")
    assert group.forms == len({v.signature for v in group.variants}) <= len(rows_)
    assert sum(v.count for v in group.variants) == count


ONE_FORM = [
    ("IPs and ports", [REFUSED_GO, REFUSED_GO_2]),
    ("request ids", [(404, None, '{"error":"not found","request_id":"3f2b9c1e-8d4a-4b6e-9f1a-'
                      '2c3d4e5f6a7b"}'),
                     (404, None, '{"error":"not found","request_id":"a1b2c3d4-0000-4b6e-9f1a-'
                      '2c3d4e5f6a7b"}')]),
    ("host names", [(None, "dial tcp: lookup hooks.acme.example on 127.0.0.53:53: no such host",
                     None),
                    (None, "dial tcp: lookup other.acme.example on 10.1.1.1:53: no such host",
                     None)]),
    ("timestamps", [(401, None, "Invalid signature at 1700000001"),
                    (401, None, "Invalid signature at 1700000002")]),
]


@pytest.mark.parametrize("texts", [case[1] for case in ONE_FORM],
                         ids=[case[0] for case in ONE_FORM])
def test_what_varies_between_occurrences_is_one_raw_form(texts):
    [group] = fold_rows(rows(*texts), floor=1)
    assert group.forms == 1 and len(group.variants) == 1 and group.count == len(texts)


# --- distinct problems that must stay apart -------------------------------------------------
STAY_APART = [
    ("gone and down on one endpoint", rows((GONE_TEXT, 3), (UNAVAILABLE, 2)),
     [(PERMANENT, "url", 3), (TRANSIENT, "endpoint-down", 2)]),
    ("signature and URL: two fixes", rows((SIGNATURE, 3), (NOT_FOUND_JSON, 2)),
     [(PERMANENT, "credentials", 3), (PERMANENT, "url", 2)]),
    ("payload and signature", rows((FIELD_AMOUNT, 2), (SECRET, 1)),
     [(PERMANENT, "payload", 2), (PERMANENT, "credentials", 1)]),
    ("rate-limited and down", [r(429, None, "Too Many Requests", {"Retry-After": "30"}, n=3),
                               r(*UNAVAILABLE, n=2)],
     [(RATE_LIMITED, "rate-limited", 3), (TRANSIENT, "endpoint-down", 2)]),
    ("TLS and DNS", rows((CERT_EXPIRED, 2), NXDOMAIN), [(PERMANENT, "tls", 2),
                                                        (PERMANENT, "dns", 1)]),
    ("unclassified and down", rows((ODD, 2), UNAVAILABLE),
     [(UNKNOWN, "unclassified", 2), (TRANSIENT, "endpoint-down", 1)]),
    ("an odd 4xx and a 404", rows((TEAPOT, 2), NOT_FOUND_JSON),
     [(PERMANENT, "other-4xx", 2), (PERMANENT, "url", 1)]),
]


@pytest.mark.parametrize(("rows_", "expected"), [case[1:] for case in STAY_APART],
                         ids=[case[0] for case in STAY_APART])
def test_distinct_problems_stay_apart(rows_, expected):
    groups = fold_rows(rows_, floor=1)
    assert [(g.category, g.kind, g.count) for g in groups] == expected
    assert fold_figures(groups).clashes == ()


# --- where a problem lives: endpoint, tenant, sporadic ------------------------------------
PLACES = [
    # a tenant-wide kind (a rotated secret) on three endpoints of one tenant: one problem
    ("tenant-wide kind on several endpoints of a tenant",
     [r(*SIGNATURE, n=3, endpoint=A), r(*SECRET, n=3, endpoint=A2),
      r(*SIGNING_KEY, n=2, endpoint=A3)], {},
     [("tenant", SEVERAL, "acme", 8)]),
    # one endpoint holds 80 % or more: it is that endpoint's problem; the stray one alone
    ("one dominant endpoint stays an endpoint problem",
     [r(*NOT_FOUND_JSON, n=20, endpoint=A), r(*NOT_FOUND_JSON, n=1, endpoint=A2)], {},
     [("endpoint", A, "acme", 20), ("endpoint", A2, "acme", 1)]),
    # availability is per endpoint, even within one tenant
    ("transient failures of a tenant's endpoints stay apart",
     [r(*UNAVAILABLE, n=10, endpoint=A), r(*BAD_GATEWAY, n=9, endpoint=A2)], {},
     [("endpoint", A, "acme", 10), ("endpoint", A2, "acme", 9)]),
    # the same rejection on two tenants' endpoints: two tenants, two problems
    ("a tenant-wide kind across two tenants",
     [r(*SIGNATURE, n=3, endpoint=A), r(*SIGNATURE, n=2, endpoint=B)], {"floor": 2},
     [("endpoint", A, "acme", 3), ("endpoint", B, "beta", 2)]),
    # failures too few to act on alone, of one kind: one sporadic problem
    ("sporadic failures of one kind fold across the platform",
     [r(*UNAVAILABLE, n=20, endpoint=A), r(*UNAVAILABLE, n=2, endpoint=A2),
      r(*REFUSED_NODE, n=2, endpoint=B), r(*DEADLINE, n=1, endpoint=B2)], {},
     [("endpoint", A, "acme", 20), ("sporadic", SEVERAL, SEVERAL, 5)]),
    ("floor 1: nothing is sporadic",
     [r(*UNAVAILABLE, n=20, endpoint=A), r(*UNAVAILABLE, n=2, endpoint=A2),
      r(*REFUSED_NODE, n=2, endpoint=B)], {"floor": 1},
     [("endpoint", A, "acme", 20), ("endpoint", B, "beta", 2), ("endpoint", A2, "acme", 2)]),
    ("a sporadic failure alone in its kind stays its own problem",
     [r(*UNAVAILABLE, n=20, endpoint=A), r(*CERT_EXPIRED, n=1, endpoint=B)], {},
     [("endpoint", A, "acme", 20), ("endpoint", B, "beta", 1)]),
    ("per tenant: one problem per kind and tenant",
     [r(*UNAVAILABLE, n=6, endpoint=A), r(*BAD_GATEWAY, n=4, endpoint=A2),
      r(*UNAVAILABLE, n=7, endpoint=B)], {"per": "tenant"},
     [("tenant", SEVERAL, "acme", 10), ("tenant", B, "beta", 7)]),
]


@pytest.mark.parametrize(("rows_", "options", "expected"), [case[1:] for case in PLACES],
                         ids=[case[0] for case in PLACES])
def test_where_a_problem_lives(rows_, options, expected):
    groups = fold_rows(rows_, **options)
    assert [(g.scope, g.endpoint, g.tenant, g.count) for g in groups] == expected
    assert fold_figures(groups).clashes == ()
    # every failure is in exactly one problem
    assert sum(g.count for g in groups) == sum(row.count for row in rows_)


def test_a_shared_endpoint_is_one_problem_with_its_tenants():
    rows_ = [r(*UNAVAILABLE, n=4, endpoint=A, tenant="acme"),
             r(*UNAVAILABLE, n=3, endpoint=A, tenant="beta")]
    [group] = fold_rows(rows_)
    assert (group.scope, group.endpoint, group.tenant, group.tenants) == (
        "endpoint", A, SEVERAL, 2)
    assert group.by_endpoint() == [(A, SEVERAL, 7)]
    [acme, beta] = fold_rows(rows_, per="tenant", floor=1)
    assert (acme.tenant, acme.count, beta.tenant, beta.count) == ("acme", 4, "beta", 3)


def test_group_example_action_and_words():
    rows_ = [r(*BAD_GATEWAY, n=5, minute=9), r(*UNAVAILABLE, n=3, minute=1),
             r(*INTERNAL, n=1, minute=4)]
    [group] = fold_rows(rows_)
    assert group.example_id == rows_[0].example_id  # the biggest raw form
    assert group.rule == "http-502-bad-gateway" and "502" in group.example_text
    # the 500 asks for care: the group shows the most cautious of its actions
    assert group.recommended_action == R.RETRY_CAREFULLY
    assert {v.action for v in group.variants} == {R.RETRY, R.RETRY_CAREFULLY}
    assert group.statuses == "HTTP 502, 503, 500"
    assert group.title.startswith("Endpoint down or failing")
    assert (group.first_seen, group.last_seen) == (T0 + timedelta(minutes=1),
                                                   T0 + timedelta(minutes=9))
    assert group.forms == 3


def test_the_example_is_the_biggest_raw_form_of_a_signature():
    # the same signature (IPs stripped): the raw form with more failures gives the example
    rows_ = [r(*REFUSED_GO, n=2), r(*REFUSED_GO_2, n=5)]
    [group] = fold_rows(rows_)
    assert len(group.variants) == 1 and group.count == 7
    assert group.example_id == rows_[1].example_id
    assert "10.0.7.19" in group.example_text


def test_clashes_are_found():
    # an odd 4xx and an unclassified failure: both "inspect by hand" on one endpoint
    groups = fold_rows([r(*TEAPOT, n=2), r(*ODD, n=1)], floor=1)
    figures = fold_figures(groups)
    assert figures.clashes == ((A, R.INSPECT),)
    assert (figures.groups, figures.top_share) == (2, 1.0)


@pytest.mark.parametrize(("counts", "top", "share"), [
    ([10], 20, 1.0),
    ([5] * 25, 20, 0.8),
    ([50, 30, 20], 2, 0.8),
    ([], 20, 1.0),
])
def test_top_share(counts, top, share):
    rows_ = [r(*UNAVAILABLE, n=n, endpoint=f"https://h{i}.example/x", tenant=f"t{i}")
             for i, n in enumerate(counts)]
    figures = fold_figures(fold_rows(rows_, floor=1), top=top)
    assert figures.top_share == pytest.approx(share)
    assert figures.failures == sum(counts)


@pytest.mark.parametrize(("total", "floor"), [(0, 5), (100, 5), (333, 5), (481, 8),
                                               (4671, 71), (100_000, 1500)])
def test_own_group_floor(total, floor):
    assert own_group_floor(total) == floor


@pytest.mark.parametrize(("category", "action", "kind"), [
    (TRANSIENT, R.RETRY, "endpoint-down"),
    (TRANSIENT, R.RETRY_CAREFULLY, "endpoint-down"),
    (TRANSIENT, R.RETRY_AFTER, "endpoint-down"),
    (RATE_LIMITED, R.WAIT, "rate-limited"),
    (PERMANENT, R.FIX_AUTH, "credentials"),
    (PERMANENT, R.FIX_URL, "url"),
    (PERMANENT, R.FIX_PAYLOAD, "payload"),
    (PERMANENT, R.FIX_TLS, "tls"),
    (PERMANENT, R.FIX_DNS, "dns"),
    (PERMANENT, R.FIX_POLICY, "policy"),
    (PERMANENT, R.FIX_WAF, "firewall"),
    (PERMANENT, R.FIX_CONFLICT, "conflict"),
    (PERMANENT, R.INSPECT, "other-4xx"),
    (PERMANENT, "an action no rule has", "other-4xx"),
    (UNKNOWN, R.INSPECT, "unclassified"),
    ("no-such-category", R.INSPECT, "unclassified"),
])
def test_kind_of(category, action, kind):
    assert kind_of(category, action).key == kind


@pytest.mark.parametrize(("actions", "shown"), [
    ({R.RETRY: 50}, R.RETRY),
    ({R.RETRY: 50, R.RETRY_CAREFULLY: 1}, R.RETRY_CAREFULLY),
    ({R.RETRY: 50, R.RETRY_AFTER: 3}, R.RETRY_AFTER),
    ({R.RETRY_AFTER: 1, R.RETRY_CAREFULLY: 1}, R.RETRY_CAREFULLY),
    ({"custom b": 1, "custom a": 5}, "custom a"),
    ({}, R.INSPECT),
])
def test_group_action_is_the_most_cautious(actions, shown):
    assert group_action(actions) == shown


def test_every_rule_action_has_a_kind_and_a_caution_rank():
    from intel.groups.kinds import CAUTION

    for rule in R.RULES:
        if rule.outcome == "delivered":
            continue
        assert kind_of(rule.category, rule.action).category == rule.category, rule.name
        assert rule.action in CAUTION, rule.name


def test_unknown_per_is_refused():
    with pytest.raises(ValueError, match="fold per"):
        fold_rows([r(*UNAVAILABLE)], per="signature")
