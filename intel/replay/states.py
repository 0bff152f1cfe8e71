"""The states of replay jobs, their items and the per-delivery claims; the outcome rule.

Outcome of one replay attempt (what the receiver may have)::

    succeeded  the receiver answered 2xx
    failed     the receiver answered non-2xx, or the request provably never left this
               process: DNS failure, connection refused, connect or TLS handshake failure
               or timeout, no free connection, outbound-safety (SSRF) refusal
    unknown    the request may have been received: a timeout after the request was
               written, a connection dropped before the response, a runner that died or
               stalled while the request was in flight

Item lifecycle (``replay_items.state``)::

    pending --claim--> sending --answer--> succeeded | failed | refused
       |                  |  \\--no answer / timeout after sending--> unknown
       |                  |  \\--429, retry allowed--> pending (sent again after the pause)
       |                  \\--runner died in flight--> interrupted (an unknown outcome)
       \\--> skipped (already delivered / replayed / in another job / outcome unknown /
                      circuit breaker)
       \\--> cancelled (the job was cancelled before the item was sent)

Claim lifecycle (``replay_claims``, one row per delivery across all jobs). A claim is the
lock that makes a replay at most once:

* ``queued``: taken when a job is created, for every delivery of it no other job holds;
  the delivery is that job's until the job finishes. Every other job skips it
  ("in another job", with the holder's id).
* ``sending``: the request is in flight.
* ``succeeded``: kept for good; the delivery is never replayed again.
* ``unknown``: the outcome is unknown; kept, so nothing sends it again automatically (not
  the advisor, ``--recommended``, another job or a resumed one). Only a job created with
  ``resend_unknown`` (an operator's deliberate resend) takes it over.
* released (deleted) only by a provably-not-received outcome: ``failed``, ``refused``,
  or the item was never sent (skipped, cancelled; a finished job releases its leftovers).
  A 429 keeps the claim: the job sends the item again after the pause.
"""

JOB_PENDING = "pending"
JOB_RUNNING = "running"
JOB_COMPLETED = "completed"
JOB_CANCELLED = "cancelled"
JOB_FAILED = "failed"
JOB_FINISHED = (JOB_COMPLETED, JOB_CANCELLED, JOB_FAILED)
JOB_LIVE = (JOB_PENDING, JOB_RUNNING)

PENDING = "pending"
SENDING = "sending"
SUCCEEDED = "succeeded"
FAILED = "failed"
REFUSED = "refused"
UNKNOWN = "unknown"
SKIPPED = "skipped"
CANCELLED = "cancelled"
INTERRUPTED = "interrupted"
ITEM_STATES = (PENDING, SENDING, SUCCEEDED, FAILED, REFUSED, UNKNOWN, SKIPPED, CANCELLED,
               INTERRUPTED)
TERMINAL = (SUCCEEDED, FAILED, REFUSED, UNKNOWN, SKIPPED, CANCELLED, INTERRUPTED)
#: Item states whose receiver may have the request (the outcome is unknown).
OUTCOME_UNKNOWN = (UNKNOWN, INTERRUPTED)

CLAIM_QUEUED = "queued"
CLAIM_SENDING = "sending"
CLAIM_SUCCEEDED = "succeeded"
CLAIM_UNKNOWN = "unknown"
#: Claims of a job that has not finished with the delivery yet.
CLAIM_HELD = (CLAIM_QUEUED, CLAIM_SENDING)

SOURCES = ("advisor", "manual", "cli", "single")

#: ``delivery_attempts.status`` of replay attempts.
ATTEMPT_DELIVERED = "delivered"
ATTEMPT_FAILED = "failed"
ATTEMPT_REFUSED = "refused"
ATTEMPT_UNKNOWN = "unknown"


def outcome_of(item_state: str) -> str:
    """An item's end as the outcome rule names it: succeeded, failed (refused: never
    sent), unknown (unknown, interrupted), skipped (skipped, cancelled: not sent), or
    the state itself while the item is not finished (pending, sending)."""
    if item_state in (FAILED, REFUSED):
        return FAILED
    if item_state in OUTCOME_UNKNOWN:
        return UNKNOWN
    if item_state in (SKIPPED, CANCELLED):
        return SKIPPED
    return item_state
