"""Operator insights: aggregates over deliveries, replays, the audit trail and incidents.

Every aggregate is a function of (engine, period, now) computed in SQL; triage
categories come from ``intel.triage`` on distinct failure shapes (``shapes``). The JSON
bodies of the ``/insights/*`` endpoints, cached in Redis or memory (``intel.cache``),
are in ``api``.

Modules: ``periods`` (24h / 7d / 30d windows), ``endpoints`` (top failing, trend),
``tenants`` (top tenants, most common category), ``operators`` (activity, heatmap),
``health`` (delivery totals, replay trend, incidents), ``accuracy`` (triage vs labels),
``recommendations`` (the rule table), ``adoption`` (the seed's adoption figures),
``shapes``, ``api``; ``_sql`` holds the SQL helpers (the partial index of failures added
by migration ``0003``, and ``indexed()``, which names the index SQLite must read).
"""
