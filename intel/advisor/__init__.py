"""The Smart Replay Advisor (CONTRACTS §4): which failures to replay now, and why.

See ``intel.advisor.recommend`` for the decision rules and the confidence levels.
"""

from intel.advisor.recommend import DECISIONS, confidence_of, get_replay_recommendations

__all__ = ["DECISIONS", "confidence_of", "get_replay_recommendations"]
