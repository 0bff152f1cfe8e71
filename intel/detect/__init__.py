"""Anomaly detection (pure): window counts in, signals out, at an explicit ``now``.

One module per concept, Alertmanager style:

* ``rules`` — the declarative rules table (burst, endpoint spike, tenant spike): scope,
  windows, baseline, its thresholds (``DetectorSettings.thresholds``), and the sentences
  shown to people;
* ``families`` — the coarse shape of a failure (HTTP status / transport error family);
* ``counts`` — bucket counts and the ``Snapshot`` of window counts at ``now``;
* ``stats`` — significance: posterior-predictive (beta-binomial) tail probabilities;
* ``evaluate`` — the decision per rule and key (effect size, minimum count,
  significance, hysteresis, severity), in steps: ``baseline`` (what each key is measured
  against, live or frozen), ``masks`` (each short window's verdict, literal or guarded),
  then the signals;
* ``inhibit`` — what does not open because something else explains it;
* ``signals`` — the decision's output;
* ``source`` — where counts come from: one aggregate SQL query, or a delivery file;
* ``scoring`` — detections against the simulator's ground truth.

The incident lifecycle is ``intel.incidents``; the sidecar loop is ``intel.worker``; the
worker's code over history, tick by tick, is ``intel.backtest``. All three sit above this
package, which imports none of them. Both the worker and ``python -m intel backtest`` call
``evaluate`` and ``intel.incidents.lifecycle.advance`` on the same counts, so they decide
alike.
"""

from intel.detect.evaluate import evaluate
from intel.detect.rules import INCIDENT_TYPES, RULES, Rule
from intel.detect.signals import Baseline, Signal

__all__ = ["INCIDENT_TYPES", "RULES", "Baseline", "Rule", "Signal", "evaluate"]
