"""`python -m intel triage evaluate`: strict and accepted accuracy named apart, precision
and recall that agree with its own confusion matrix, the gate on strict accuracy, the
in-sample note, and rules vs model on the same held-out folds."""

from __future__ import annotations

import json
import shutil

import pytest

from intel.cli import main
from tests.conftest import DEV_SET

T, P = "transient-endpoint-down", "permanent-4xx"


def _run(capsys, *argv) -> tuple[int, str]:
    code = main(["triage", "evaluate", *argv])
    return code, capsys.readouterr().out


def test_the_starter_set_reads_the_same_in_every_line(capsys):
    code, out = _run(capsys, "--labels", str(DEV_SET))
    assert code == 0
    assert "strict accuracy: 95.8% (137/143)" in out
    assert "accepted accuracy: 100.0% (143/143)" in out
    assert "rollout gate (accuracy >= 85%): PASSED - judged on strict accuracy" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()
            if line.startswith("    ") and line.split()[0] in (T, P) and "%" in line}
    assert rows[T][:2] == ["100.0%", "92.0%"]  # precision, recall: 6 of 75 predicted P
    assert rows[P][:2] == ["89.3%", "100.0%"]  # 6 of 56 predicted P are labelled T
    assert "label transient-endpoint-down, predicted permanent-4xx: 6" in out
    assert "In-sample:" in out  # the file is the starter set the rules were written against


def test_another_label_file_is_not_called_in_sample(tmp_path, capsys):
    lines = DEV_SET.read_text().splitlines()[:40]
    path = tmp_path / "ops-labels.jsonl"
    path.write_text("\n".join(lines) + "\n")
    _, out = _run(capsys, "--labels", str(path), "--json")
    body = json.loads(out)
    assert body["in_sample"] is False and body["sample_note"] == ""
    same = tmp_path / "renamed.jsonl"  # the very same bytes under another name: in-sample
    shutil.copy(DEV_SET, same)
    assert json.loads(_run(capsys, "--labels", str(same), "--json")[1])["in_sample"] is True


@pytest.mark.parametrize(
    ("n_accepted", "code"),
    [(2, 0), (4, 1)],  # 18/20 strict passes; 16/20 strict fails although all are accepted
)
def test_the_gate_is_judged_on_strict_accuracy(tmp_path, capsys, n_accepted, code):
    # a 404 labelled transient with permanent listed acceptable: accepted, not strict
    records = ([{"id": f"a{i}", "http_status": 404, "label": T, "acceptable": [T, P]}
                for i in range(n_accepted)]
               + [{"id": f"b{i}", "http_status": 503, "label": T} for i in range(20 - n_accepted)])
    path = tmp_path / "l.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    got, out = _run(capsys, "--labels", str(path), "--json")
    body = json.loads(out)["rules"]
    assert got == code
    assert body["accepted_accuracy"] == 1.0 and body["gate_basis"] == "strict"
    assert body["accuracy"] == body["strict_accuracy"] == (20 - n_accepted) / 20
    assert body["confusion"][T][P] == n_accepted
    assert body["per_category"][T]["recall"] == (20 - n_accepted) / 20


def test_rules_and_model_on_the_same_folds(capsys):
    code, out = _run(capsys, "--labels", str(DEV_SET), "--model-cv", "--splits", "3", "--json")
    body = json.loads(out)
    assert code == 0
    folds = body["comparison"]["folds"]
    assert [f["fold"] for f in folds] == [1, 2, 3] and sum(f["n"] for f in folds) == 143
    for name in ("rules", "model_cv", "rules_with_model_cv"):
        assert body[name]["n"] == 143 and body[name]["gate_basis"] == "strict"
    code, out = _run(capsys, "--labels", str(DEV_SET), "--model-cv", "--splits", "3")
    assert "side by side, on the same 3 held-out folds of the same 143 labels" in out
    assert "rules+model" in out and "fold 3" in out
    assert "The rules' column is in-sample" in out
