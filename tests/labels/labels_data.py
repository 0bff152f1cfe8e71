"""Shared test data for the labels tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import DEV_SET

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
#: The labelled dev set (143 real-world failures), shared by the sessions' projects.
DEV_SET = DEV_SET


def failure(i: int, **fields) -> dict:
    at = T0 + timedelta(minutes=i)
    rec = {
        "id": f"d{i:03d}", "tenant": "acme", "endpoint": "https://hooks.acme.example/in",
        "event_type": "invoice.paid", "status": "failed", "http_status": 503, "error": None,
        "response_headers": None, "response_body": "Service Unavailable", "attempts": 1,
        "created_at": at, "last_attempt_at": at, "duration_ms": 10.0, "payload": None,
        "extra": None,
    }
    rec.update(fields)
    return rec


def fake_model(path, *, rules: float = 0.958, rules_with_model: float = 0.951,
               model: float = 0.944, rules_fps: int = 0, rules_with_model_fps: int = 0,
               labels: int = 143, in_sample: int = 143, comparison: bool = True):
    """A saved "model" the switch can be judged on: a placeholder file and the metadata
    ``train_model`` writes (``comparison=False``: as a model trained before rules and
    model were compared on the same folds). Nothing here can predict."""
    import json
    from pathlib import Path

    from intel.labels.modelstore import meta_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"placeholder")

    def summary(strict: float, fps: int) -> dict:
        return {"n": labels, "accuracy": strict, "strict_accuracy": strict,
                "accepted_accuracy": strict, "safe_to_retry_false_positives": fps,
                "gate_passed": strict >= 0.85, "per_category": {}}

    meta = {"trained_by": "lead", "trained_at": "2026-11-02T12:00:00Z", "labels_used": labels,
            "cv_splits": 5, "format_version": 1, "sklearn_version": "test",
            "classes": ["permanent-4xx", "transient-endpoint-down"],
            "model_cv": summary(model, 0), "rules_same_labels": summary(rules, rules_fps)}
    if comparison:
        meta.update(in_sample_labels=in_sample,
                    rules_with_model_cv=summary(rules_with_model, rules_with_model_fps),
                    comparison={"folds": [], "by_origin": {}})
    meta_path(path).write_text(json.dumps(meta))
    return path
