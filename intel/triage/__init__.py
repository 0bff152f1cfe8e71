"""Auto-triage: classify failed webhook deliveries (CONTRACTS §2).

>>> from intel.triage import classify_delivery
>>> classify_delivery({"status": "failed", "http_status": 503}).category
'transient-endpoint-down'

Rules are data (:data:`RULES`, in :mod:`intel.triage.rules`); the engine memoises per
failure signature; :func:`classify_frame` is the batch form over a pandas DataFrame.
"""

from intel.triage.engine import classify_delivery, classify_frame
from intel.triage.result import CATEGORIES, TriageResult
from intel.triage.rules import RULES
from intel.triage.signature import failure_signature

__all__ = [
    "CATEGORIES",
    "RULES",
    "TriageResult",
    "classify_delivery",
    "classify_frame",
    "failure_signature",
]
