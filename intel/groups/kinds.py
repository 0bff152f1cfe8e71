"""Failure kinds: the problem an operator acts on, whatever the wording of the failure.

Triage gives every failure a category and a recommended action (``intel.triage.rules``).
The *kind* is the operator's problem behind it: a 410 Gone in HTML, in JSON or in plain
text, and a 404 Not Found on the same route, are all "endpoint gone or URL wrong", fixed
once by asking the owner for the right URL. So:

* a transient failure (5xx, timeout, refused or reset connection, TLS handshake timeout
  ...) is one kind, "endpoint down or failing": the operator waits for the endpoint and
  replays; which of the retry actions the group shows is the most cautious one among its
  failures (:func:`group_action`);
* a rate-limited failure is one kind;
* a permanent rejection splits by the fix its action names: credentials or signature,
  URL, payload, TLS, DNS, our own destination policy, a firewall, a state conflict, and
  the 4xx an operator must inspect by hand;
* an unknown failure is one kind, "not classified".

``tenant_wide`` kinds are fixed on the tenant's side for all its endpoints at once (a
rotated signing secret, an uninstalled integration, a changed payload schema, an
expired domain): when several of a tenant's endpoints show one, the fold makes it one
tenant group (``intel.groups.fold``). Availability, rate limits and unclassified
failures stay per endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from intel.triage import rules as R
from intel.triage.result import PERMANENT, RATE_LIMITED, TRANSIENT, UNKNOWN


@dataclass(frozen=True, slots=True)
class Kind:
    key: str
    category: str
    title: str
    tenant_wide: bool


KINDS: tuple[Kind, ...] = (
    Kind("endpoint-down", TRANSIENT, "Endpoint down or failing", False),
    Kind("rate-limited", RATE_LIMITED, "Rate limited by the endpoint", False),
    Kind("credentials", PERMANENT, "Signature or credentials rejected", True),
    Kind("url", PERMANENT, "Endpoint gone or URL wrong", True),
    Kind("payload", PERMANENT, "Payload rejected", True),
    Kind("tls", PERMANENT, "TLS set-up broken", True),
    Kind("dns", PERMANENT, "Host name does not resolve", True),
    Kind("policy", PERMANENT, "Destination refused by our delivery policy", True),
    Kind("firewall", PERMANENT, "Blocked by a firewall or bot protection", True),
    Kind("conflict", PERMANENT, "Duplicate or state conflict", False),
    Kind("other-4xx", PERMANENT, "Other rejection: inspect by hand", False),
    Kind("unclassified", UNKNOWN, "Not classified: inspect by hand", False),
)
KIND_BY_KEY: dict[str, Kind] = {k.key: k for k in KINDS}

#: A permanent rejection's kind by the action triage recommends for it.
_PERMANENT_BY_ACTION: dict[str, str] = {
    R.FIX_AUTH: "credentials",
    R.FIX_URL: "url",
    R.FIX_PAYLOAD: "payload",
    R.FIX_TLS: "tls",
    R.FIX_DNS: "dns",
    R.FIX_POLICY: "policy",
    R.FIX_WAF: "firewall",
    R.FIX_CONFLICT: "conflict",
}
_BY_CATEGORY: dict[str, str] = {
    TRANSIENT: "endpoint-down",
    RATE_LIMITED: "rate-limited",
    UNKNOWN: "unclassified",
}

#: Recommended actions, most cautious first: a group whose failures carry several shows
#: the first (e.g. "replay one first" beats "safe to retry" when a 500 is among 502s).
CAUTION: tuple[str, ...] = (
    R.INSPECT, R.FIX_POLICY, R.FIX_TLS, R.FIX_DNS, R.FIX_AUTH, R.FIX_URL, R.FIX_WAF,
    R.FIX_PAYLOAD, R.FIX_CONFLICT, R.RETRY_CAREFULLY, R.WAIT, R.RETRY_AFTER, R.RETRY,
)
_RANK = {action: i for i, action in enumerate(CAUTION)}


def kind_of(category: str, action: str) -> Kind:
    """The kind of a failure triage put in ``category`` with ``action``."""
    if category == PERMANENT:
        return KIND_BY_KEY[_PERMANENT_BY_ACTION.get(action, "other-4xx")]
    return KIND_BY_KEY[_BY_CATEGORY.get(category, "unclassified")]


def group_action(actions: dict[str, int]) -> str:
    """The action a group shows, from its failures' actions (action -> count): the most
    cautious; among actions this module does not rank, the commonest."""
    if not actions:
        return R.INSPECT
    return min(actions, key=lambda a: (_RANK.get(a, len(_RANK)), -actions[a], a))


__all__ = ["CAUTION", "KINDS", "KIND_BY_KEY", "Kind", "group_action", "kind_of"]
