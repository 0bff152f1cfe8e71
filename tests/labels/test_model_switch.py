"""Switching the model on: judged on the same held-out folds as the rules, confirmed
when it scores below them, audited with the figures; where the switch applies."""

from __future__ import annotations

import pytest

from intel.audit import AuditFilter, list_events
from intel.auth.scope import TenantScope
from intel.labels.accuracy import accuracy_body
from intel.labels.flags import MODEL_SWITCH_APPLIES, model_enabled
from intel.labels.modelstore import (
    ConfirmationNeeded,
    ModelSwitchError,
    SwitchCheck,
    model_info,
    model_status,
    switch_check,
    switch_model,
)
from intel.settings.triage import TriageSettings
from tests.labels.labels_data import T0, fake_model


def _check(rules=0.9, mixed=0.9, model=0.9, rules_fps=0, mixed_fps=0) -> SwitchCheck:
    return SwitchCheck(labels=100, in_sample=0, splits=5, rules=rules,
                       rules_with_model=mixed, model=model, rules_fps=rules_fps,
                       rules_with_model_fps=mixed_fps)


@pytest.mark.parametrize(
    ("check", "below"),
    [
        (_check(), False),  # as good: no question asked
        (_check(mixed=0.92, model=0.95), False),  # better
        (_check(mixed=0.89), True),  # the switch would make triage worse
        (_check(model=0.85), True),  # the model alone is worse
        (_check(mixed=0.95, model=0.95, mixed_fps=1), True),  # one more "safe to retry" error
        (_check(rules_fps=2, mixed_fps=1), False),
    ],
)
def test_below_the_rules(check, below):
    assert check.below is below


def test_the_check_reads_the_saved_figures(tmp_path):
    path = fake_model(tmp_path / "m.joblib")
    check = switch_check(model_info(path))
    assert (check.rules, check.rules_with_model, check.model) == (0.958, 0.951, 0.944)
    assert (check.labels, check.in_sample, check.splits) == (143, 143, 5)
    assert check.below
    text = check.message()
    assert "rules 95.8%" in text and "rules with the model (what switching on does) 95.1%" in text
    assert "in-sample on 143" in text
    assert switch_check(model_info(fake_model(tmp_path / "old.joblib", comparison=False))) is None
    assert switch_check(None) is None


def test_switching_on_below_the_rules_needs_confirmation_and_is_audited(engine, tmp_path):
    path = fake_model(tmp_path / "m.joblib")
    with pytest.raises(ConfirmationNeeded) as refused, engine.begin() as conn:
        switch_model(conn, True, actor="alice", now=T0, model_path=path)
    assert "rules 95.8%" in str(refused.value) and refused.value.check.below
    with engine.connect() as conn:
        assert model_enabled(conn).value is False  # nothing written
    with engine.begin() as conn:
        switch_model(conn, True, actor="alice", now=T0, model_path=path, confirmed=True)
    with engine.begin() as conn:
        assert model_enabled(conn).value is True
        switch_model(conn, False, actor="bob", now=T0, model_path=path)  # off: never asked
        assert model_enabled(conn, default=True).value is False
    events, _ = list_events(engine, AuditFilter(action_prefix="triage.model"))
    by_action = {e["action"]: e for e in events}
    enable = by_action["triage.model.enable"]["details"]
    assert enable["confirmed_below_rules"] is True
    assert enable["rules_strict_accuracy"] == 0.958
    assert enable["rules_with_model_strict_accuracy"] == 0.951
    assert enable["model_strict_accuracy"] == 0.944
    assert by_action["triage.model.disable"]["actor"] == "bob"


@pytest.mark.parametrize(
    ("figures", "asked"),
    [
        ({"rules": 0.9, "rules_with_model": 0.93, "model": 0.92}, False),
        ({"rules": 0.9, "rules_with_model": 0.93, "model": 0.88}, True),
        ({"comparison": False}, True),  # never compared: confirm, or retrain to see figures
    ],
)
def test_when_confirmation_is_asked(engine, tmp_path, figures, asked):
    path = fake_model(tmp_path / "m.joblib", **figures)
    with engine.begin() as conn:
        if asked:
            with pytest.raises(ConfirmationNeeded):
                switch_model(conn, True, actor="alice", now=T0, model_path=path)
        else:
            switch_model(conn, True, actor="alice", now=T0, model_path=path)
            assert model_enabled(conn).value is True


def test_no_model_no_switch(engine, tmp_path):
    with pytest.raises(ModelSwitchError, match="no trained model"), engine.begin() as conn:
        switch_model(conn, True, actor="alice", now=T0, model_path=tmp_path / "none.joblib",
                     confirmed=True)


def test_model_status_and_the_api_body(engine, tmp_path):
    path = fake_model(tmp_path / "m.joblib")
    settings = TriageSettings(model_path=str(path))
    with engine.begin() as conn:
        switch_model(conn, True, actor="alice", now=T0, model_path=path, confirmed=True)
        status = model_status(conn, settings)
    assert status["enabled"] and status["in_use"] and status["set_by"] == "alice"
    assert status["below_rules"] is True
    assert status["comparison"]["rules_strict_accuracy"] == 0.958
    assert [a["where"] for a in status["applies_to"]] == [w for w, _ in MODEL_SWITCH_APPLIES]
    assert {a["uses_model"] for a in status["applies_to"]} == {True, False}
    body = accuracy_body(engine, now=T0, model=status)
    assert body["model"] == status and body["n"] == 0
    scoped = accuracy_body(engine, now=T0, scope=TenantScope.of(["acme"]), model=status)
    assert scoped["model"] is None  # platform-wide figures: unrestricted scopes only
