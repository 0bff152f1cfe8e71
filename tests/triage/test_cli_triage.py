"""`python -m intel triage evaluate|classify`."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from intel.cli import main

REPO = Path(__file__).resolve().parents[2]
SHARED_DEV = REPO.parent / "shared" / "datasets" / "triage_dev.jsonl"
DEV_SET = SHARED_DEV if SHARED_DEV.exists() else REPO / "data" / "triage_labels_starter.jsonl"

LABELLED = [
    {
        "id": "a",
        "status": "failed",
        "http_status": 503,
        "label": "transient-endpoint-down",
        "unsafe": False,
    },
    {
        "id": "b",
        "status": "failed",
        "error": "x509: certificate signed by unknown authority",
        "label": "permanent-4xx",
        "acceptable": ["permanent-4xx", "unknown"],
        "unsafe": True,
    },
    {"id": "c", "status": "failed", "http_status": 429, "label": "rate-limited"},
]


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_evaluate_text_report(tmp_path, capsys):
    code = main(
        ["triage", "evaluate", "--labels", str(write_jsonl(tmp_path / "l.jsonl", LABELLED))]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "accuracy: 100.0% (3/3)" in out
    assert "rollout gate (accuracy >= 85%): PASSED" in out
    assert "precision" in out and "recall" in out
    assert "confusion matrix" in out
    assert "safe-to-retry false positives (transient > 80 on an unsafe failure): 0" in out
    assert "90-100" in out


def test_evaluate_json_and_failed_gate(tmp_path, capsys):
    records = [dict(r, label="unknown", acceptable=None) for r in LABELLED]
    path = write_jsonl(tmp_path / "l.jsonl", records)
    code = main(["triage", "evaluate", "--labels", str(path), "--json"])
    body = json.loads(capsys.readouterr().out)
    assert code == 1
    assert body["rules"]["gate_passed"] is False
    assert body["rules"]["accuracy"] == 0.0
    assert body["rules"]["n"] == 3


def test_evaluate_lists_safe_to_retry_false_positives(tmp_path, capsys):
    records = [{"id": "fp1", "http_status": 503, "label": "permanent-4xx", "unsafe": True}]
    main(["triage", "evaluate", "--labels", str(write_jsonl(tmp_path / "l.jsonl", records))])
    out = capsys.readouterr().out
    assert "false positives (transient > 80 on an unsafe failure): 1" in out
    assert "fp1: predicted transient-endpoint-down 92, label permanent-4xx" in out


def test_evaluate_csv(tmp_path, capsys):
    path = tmp_path / "labels.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(
            handle,
            ["id", "http_status", "error", "response_headers", "label", "acceptable", "unsafe"],
        )
        writer.writeheader()
        writer.writerow(
            {
                "id": "x",
                "http_status": "503",
                "response_headers": '{"Retry-After": "5"}',
                "label": "transient-endpoint-down",
                "unsafe": "false",
            }
        )
        writer.writerow(
            {
                "id": "y",
                "error": "no such host",
                "label": "permanent-4xx",
                "acceptable": "permanent-4xx|unknown",
                "unsafe": "true",
            }
        )
    assert main(["triage", "evaluate", "--labels", str(path), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["rules"]["correct"] == 2


def test_evaluate_dev_set_with_model_cv(capsys):
    code = main(["triage", "evaluate", "--labels", str(DEV_SET), "--model-cv", "--splits", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Learned model, 3-fold stratified cross-validation" in out
    assert "side by side" in out


def test_classify_lines(tmp_path, capsys):
    path = write_jsonl(tmp_path / "d.jsonl", LABELLED)
    assert main(["triage", "classify", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("a\ttransient-endpoint-down\t92\thttp-503-service-unavailable\t")


def test_classify_json(tmp_path, capsys):
    path = write_jsonl(tmp_path / "d.jsonl", [{"http_status": 404}, {"status": "delivered"}])
    assert main(["triage", "classify", str(path), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["category"] == "permanent-4xx"
    assert rows[0]["id"] == "line 1"
    assert rows[0]["signature"] == "404|||"
    assert rows[1]["rule"] == "delivered-not-a-failure"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"http_status": 503}\n{not json\n', ":2: not valid JSON"),
        ('{"http_status": 503}\n\n[1, 2]\n', ":3: expected a JSON object, got list"),
        (b"\xff\xfe\x00garbage", "not UTF-8 text"),
    ],
)
def test_bad_input_exits_2_naming_file_and_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.jsonl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    for argv in (["triage", "classify", str(path)], ["triage", "evaluate", "--labels", str(path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert str(path) in err and message in err
        assert "Traceback" not in err


def test_bad_label_names_the_line(tmp_path, capsys):
    path = write_jsonl(tmp_path / "l.jsonl", [LABELLED[0], {"http_status": 1, "label": "meh"}])
    assert main(["triage", "evaluate", "--labels", str(path)]) == 2
    assert f"{path}:2: 'label' must be one of" in capsys.readouterr().err


def test_missing_file_and_empty_file(tmp_path, capsys):
    assert main(["triage", "classify", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["triage", "evaluate", "--labels", str(empty)]) == 2
    assert "no labelled deliveries" in capsys.readouterr().err
    assert main(["triage", "classify", str(empty)]) == 0


def test_triage_without_subcommand_prints_help(capsys):
    assert main(["triage"]) == 2
    assert "evaluate" in capsys.readouterr().err


def test_runs_as_a_module_without_traceback(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("{oops\n")
    proc = subprocess.run(
        [sys.executable, "-m", "intel", "triage", "classify", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{path}:1:" in proc.stderr
