"""The Smart Replay Advisor (CONTRACTS §4): which failures to replay now, and why.

``advice`` runs it: ``queries`` reads the candidates, endpoint health and open incidents;
``health`` says what an endpoint's evidence means; ``decide`` holds the decision rules;
``report`` assembles the ``GET /replay/recommendations`` body and its confidence.
"""

from intel.advisor.advice import get_replay_recommendations
from intel.advisor.decide import DECISIONS
from intel.advisor.report import confidence_of

__all__ = ["DECISIONS", "confidence_of", "get_replay_recommendations"]
