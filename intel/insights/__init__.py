"""Operator insights: aggregates over deliveries, replays, the audit trail and incidents.

Every aggregate is a function of (engine, period, now) computed in SQL; triage
categories come from ``intel.triage`` on distinct failure shapes (``shapes``). The JSON
bodies of the ``/insights/*`` endpoints, cached in Redis or memory, are in ``api``.

Modules: ``periods`` (24h / 7d / 30d windows), ``endpoints``, ``tenants``,
``operators``, ``health``, ``accuracy``, ``recommendations`` (the rule table),
``adoption`` (seed adoption figures), ``shapes``, ``api``.
"""
