"""Deterministic webhook traffic simulator with ground truth.

``simulate(engine, config, now=)`` writes a simulated history: deliveries (CONTRACTS §1)
with their latest attempts, the true cause and category of every failure
(``sim_failure_truth``), every injected incident, confounder and chronic endpoint
profile (``sim_events``) and the endpoints with their signing secrets. ``generate``
yields the same records without a database. ``intel.simulate.live.run_live`` keeps
appending traffic in real time; ``intel.simulate.behaviour`` tells the sandbox how a
simulated endpoint answers at a given time.
"""

from intel.simulate.config import SimulationConfig, SimulationSummary
from intel.simulate.run import generate, iter_batches, make_plan, simulate

__all__ = [
    "SimulationConfig",
    "SimulationSummary",
    "generate",
    "iter_batches",
    "make_plan",
    "simulate",
]
