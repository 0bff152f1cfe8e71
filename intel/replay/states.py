"""The states of replay jobs, their items and the per-delivery claims.

Item lifecycle (``replay_items.state``)::

    pending --claim--> sending --answer--> succeeded | failed | refused
       |                  |  \\--429, retry allowed--> pending (sent again after the pause)
       |                  \\--runner died in flight--> interrupted (never sent again)
       \\--> skipped (already delivered / replayed / claimed by another job / circuit breaker)
       \\--> cancelled (the job was cancelled before the item was sent)

Claim lifecycle (``replay_claims.state``, one row per delivery across all jobs):
``sending`` while a replay is in flight; ``succeeded`` kept for good (a delivery replayed
successfully is never replayed again); ``unknown`` when the runner died in flight (kept,
so no job sends it again until an operator releases it); deleted after a failure or a
refusal (a later replay may try again).
"""

JOB_PENDING = "pending"
JOB_RUNNING = "running"
JOB_COMPLETED = "completed"
JOB_CANCELLED = "cancelled"
JOB_FAILED = "failed"
JOB_FINISHED = (JOB_COMPLETED, JOB_CANCELLED, JOB_FAILED)

PENDING = "pending"
SENDING = "sending"
SUCCEEDED = "succeeded"
FAILED = "failed"
REFUSED = "refused"
SKIPPED = "skipped"
CANCELLED = "cancelled"
INTERRUPTED = "interrupted"
ITEM_STATES = (PENDING, SENDING, SUCCEEDED, FAILED, REFUSED, SKIPPED, CANCELLED, INTERRUPTED)
TERMINAL = (SUCCEEDED, FAILED, REFUSED, SKIPPED, CANCELLED, INTERRUPTED)

CLAIM_SENDING = "sending"
CLAIM_SUCCEEDED = "succeeded"
CLAIM_UNKNOWN = "unknown"

SOURCES = ("advisor", "manual", "cli", "single")

#: ``delivery_attempts.status`` of replay attempts.
ATTEMPT_DELIVERED = "delivered"
ATTEMPT_FAILED = "failed"
ATTEMPT_REFUSED = "refused"
ATTEMPT_UNKNOWN = "unknown"
