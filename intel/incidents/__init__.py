"""Incidents: the lifecycle (pure state transitions), their persistence with the audit
trail, the queries and API bodies (``GET /anomalies/active``, ``/anomalies/history``),
the triage breakdown of the failures behind one, and the links to them.

>>> from intel.incidents.queries import active_body, history_body
"""
