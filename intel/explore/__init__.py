"""Ad-hoc exploration: group deliveries by one or two dimensions, measure, in SQL.

``query.ExploreQuery`` is a view (window, filters, dimensions, measure) that round-trips
through URL parameters; ``run.run_query`` aggregates it in SQL; ``percentile`` holds the
p95 on both dialects.
"""

from intel.explore.query import DIMENSIONS, MEASURES, ExploreError, ExploreQuery, from_params
from intel.explore.run import explore_result, result_frame, run_query, to_csv

__all__ = [
    "DIMENSIONS",
    "MEASURES",
    "ExploreError",
    "ExploreQuery",
    "explore_result",
    "from_params",
    "result_frame",
    "run_query",
    "to_csv",
]
