"""Small deterministic traffic with one outage and one surge (no simulator needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

START = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
END = START + timedelta(hours=28)
OUTAGE = (START + timedelta(hours=26), START + timedelta(hours=26, minutes=30))
SURGE = (START + timedelta(hours=25), START + timedelta(hours=26))
DOWN = "https://api.acme.example/hooks/billing"
SURGING = "globex"
ENDPOINTS = {
    "acme": [DOWN, "https://hooks.acme.example/orders"],
    "globex": ["https://globex.example/h/1", "https://globex.example/h/2"],
    "initech": ["https://initech.example/events"],
}


def records(seed: int = 5, per_minute: float = 3.0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    span = (END - START).total_seconds()
    i = 0
    for tenant, urls in ENDPOINTS.items():
        for url in urls:
            n = rng.poisson(per_minute * span / 60)
            times = np.sort(rng.uniform(0, span, n))
            if tenant == SURGING:  # x4 traffic for an hour, same failure ratio
                s0, s1 = ((t - START).total_seconds() for t in SURGE)
                extra = rng.uniform(s0, s1, rng.poisson(3 * per_minute * 60))
                times = np.sort(np.concatenate([times, extra]))
            for t in times.tolist():
                when = START + timedelta(seconds=t)
                failed = rng.random() < 0.01
                down = url == DOWN and OUTAGE[0] <= when < OUTAGE[1]
                rec = {
                    "id": f"d{i}", "tenant": tenant, "endpoint": url, "event_type": "x.y",
                    "status": "failed" if failed or down else "delivered",
                    "http_status": None if down else (503 if failed else 200),
                    "error": "dial tcp 10.0.0.1:443: connect: connection refused" if down
                    else None,
                    "created_at": when.isoformat().replace("+00:00", "Z"),
                    "last_attempt_at": when.isoformat().replace("+00:00", "Z"),
                }
                out.append(rec)
                i += 1
    return out
