"""The triage answer for one delivery (CONTRACTS §2)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

TRANSIENT = "transient-endpoint-down"
PERMANENT = "permanent-4xx"
RATE_LIMITED = "rate-limited"
UNKNOWN = "unknown"

#: Every category ``classify_delivery`` can answer, in display order.
CATEGORIES: tuple[str, ...] = (TRANSIENT, PERMANENT, RATE_LIMITED, UNKNOWN)

#: A transient verdict scored above this is read as "safe to retry" by operators and by
#: the replay advisor; the engine never gives it to a delivery a retry cannot fix.
SAFE_TO_RETRY_SCORE = 80


@dataclass(frozen=True, slots=True)
class TriageResult:
    """What the engine concluded about one delivery.

    ``score`` is an int 0..100, the confidence in ``category`` (calibrated on labelled
    failures: of the answers scored 90-100, at least 90% are right). ``rule`` names the
    rule of ``intel.triage.rules.RULES`` that decided (or ``"model"`` when
    ``intel.triage.model.combine`` let the learned model answer).
    """

    category: str
    score: int
    reason: str
    recommended_action: str
    rule: str = ""

    @property
    def safe_to_retry(self) -> bool:
        """True when the answer is "transient, retry it" with a score above 80."""
        return self.category == TRANSIENT and self.score > SAFE_TO_RETRY_SCORE

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
