"""`python -m intel triage ...`: evaluate the triage rules on labels, classify a file.

    python -m intel triage evaluate --labels FILE [--json] [--model-cv [--splits 5]]
    python -m intel triage classify FILE [--json]

FILE is JSON Lines (one delivery object a line, import format; for ``evaluate`` plus
``label`` and an optional ``acceptable`` list, as in the shared dev set; its ``unsafe``
flag is implied by the list and not read) or CSV with a header row (object fields as
JSON text; ``acceptable`` as a JSON list or ``a|b``). Exit codes: 0 done (``evaluate``:
rollout gate passed), 1 ``evaluate``: gate failed, 2 bad input (unreadable file, bad
line — named with its line number).

``evaluate`` scores with the one definition of accuracy (``intel.triage.evaluate``), the
same as the Accuracy page, the Insights gauge and the API: strict accuracy (the gate's),
accepted accuracy (named so), precision / recall read off the confusion matrix. With
``--model-cv`` the rules, the model and the rules with the model are scored on the same
held-out folds.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from intel.triage.result import CATEGORIES

_OBJECT_FIELDS = ("response_headers", "payload", "acceptable")


class InputError(Exception):
    """A problem with the input file, worded for the operator."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "triage",
        help="evaluate or run the auto-triage rules",
        description="Auto-triage of failed deliveries: evaluate the rules on labelled "
        "deliveries, or classify the deliveries of a file.",
    )
    sub = parser.add_subparsers(dest="triage_command", metavar="SUBCOMMAND")

    evaluate = sub.add_parser(
        "evaluate",
        help="accuracy of the rules on labelled deliveries",
        description="Classify labelled deliveries and report strict accuracy (the "
        "predicted category is the label), accepted accuracy (or one of the label's "
        "acceptable alternatives), per-category precision and recall read off the "
        "confusion matrix, safe-to-retry false positives, score calibration and the "
        ">= 85%% rollout gate on strict accuracy. Exit 0 when the gate passes, 1 when it "
        "fails, 2 on bad input.",
    )
    evaluate.add_argument("--labels", required=True, metavar="FILE", help="JSONL or CSV file")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.add_argument(
        "--model-cv",
        action="store_true",
        help="also score the learned model, alone and with the rules, on the same "
        "held-out folds of the same labels, side by side with the rules",
    )
    evaluate.add_argument("--splits", type=int, default=5, help="folds for --model-cv")
    evaluate.set_defaults(func=run_evaluate)

    classify = sub.add_parser(
        "classify",
        help="classify each delivery of a file",
        description="Print one line per delivery: id, category, score, rule and reason "
        "(or one JSON object per line with --json).",
    )
    classify.add_argument("file", metavar="FILE", help="JSONL or CSV file of deliveries")
    classify.add_argument("--json", action="store_true", help="one JSON object per line")
    classify.set_defaults(func=run_classify)

    def no_subcommand(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    parser.set_defaults(func=no_subcommand)


# --- reading input ------------------------------------------------------------------------


def _from_csv_value(name: str, value: str | None) -> Any:
    if value is None or value == "":
        return None
    if name in _OBJECT_FIELDS or value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            if name == "acceptable":
                return [part.strip() for part in value.split("|") if part.strip()]
            return value
    if name in ("http_status", "attempts"):
        try:
            return int(float(value))
        except ValueError:
            return value
    if name == "unsafe":
        return value.strip().lower() in ("1", "true", "yes")
    return value


def read_records(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) for each delivery of a JSONL or CSV file."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            if path.suffix.lower() == ".csv":
                reader = csv.DictReader(handle)
                return [
                    (reader.line_num, {k: _from_csv_value(k, v) for k, v in row.items() if k})
                    for row in reader
                ]
            records = []
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise InputError(f"{path}:{number}: not valid JSON ({exc})") from None
                if not isinstance(record, dict):
                    raise InputError(
                        f"{path}:{number}: expected a JSON object, got {type(record).__name__}"
                    )
                records.append((number, record))
            return records
    except InputError:
        raise
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise InputError(f"{path}: bad CSV ({exc})") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _labelled(path: str) -> list[dict[str, Any]]:
    records = []
    for number, record in read_records(path):
        label = record.get("label")
        if label not in CATEGORIES:
            raise InputError(
                f"{path}:{number}: 'label' must be one of {', '.join(CATEGORIES)}, got {label!r}"
            )
        acceptable = record.get("acceptable")
        if acceptable is not None and (
            not isinstance(acceptable, list) or any(a not in CATEGORIES for a in acceptable)
        ):
            raise InputError(f"{path}:{number}: 'acceptable' must be a list of categories")
        records.append(record)
    if not records:
        raise InputError(f"{path}: no labelled deliveries")
    return records


# --- printing -----------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{value * 100:5.1f}%"


def _print_report(title: str, report: Any) -> None:
    print(title)
    print(f"  strict accuracy: {_pct(report.accuracy).strip()} ({report.correct}/{report.n})"
          " - the predicted category is the label")
    print(f"  accepted accuracy: {_pct(report.accepted_accuracy).strip()} "
          f"({report.accepted_correct}/{report.n}) - the label or one of the acceptable "
          "alternatives it lists")
    gate = "PASSED" if report.gate_passed else "FAILED"
    print(f"  rollout gate (accuracy >= {report.gate_threshold:.0%}): {gate}"
          f" - judged on {report.gate_basis} accuracy")
    print("  per category (read off the confusion matrix):")
    print("                               precision  recall  predicted  labelled"
          "  accepted recall")
    for category, stats in report.per_category.items():
        print(
            f"    {category:26} {_pct(stats['precision'])}  {_pct(stats['recall'])}"
            f"  {stats['predicted']:9d}  {stats['support']:8d}"
            f"  {_pct(stats['accepted_recall'])}"
        )
    print("  confusion matrix (rows: label, columns: predicted):")
    for line in report.confusion.to_string().splitlines():
        print(f"    {line}")
    alternatives = report.accepted_alternatives
    print("  accepted alternatives (off the diagonal, but listed acceptable by the label): "
          f"{sum(a['n'] for a in alternatives)}")
    for alt in alternatives:
        print(f"    label {alt['label']}, predicted {alt['predicted']}: {alt['n']}")
    fps = report.safe_to_retry_false_positives
    print(f"  safe-to-retry false positives (transient > 80 on an unsafe failure): {len(fps)}")
    for fp in fps:
        print(f"    {fp['id']}: predicted {fp['predicted']} {fp['score']}, label {fp['label']}")
    print("  score calibration (strict):   band     n  accuracy")
    for band in report.calibration:
        print(f"    {band['band']:>29} {band['n']:5d}  {_pct(band['accuracy'])}")


def _in_sample(path: str) -> bool:
    """The file is the starter set the rules were written against: its name, or the same
    bytes as the copy the product ships (``data/triage_labels_starter.jsonl``)."""
    from intel.labels.store import STARTER_FILE
    from intel.settings import REPO_ROOT

    if Path(path).name == STARTER_FILE:
        return True
    shipped = REPO_ROOT / "data" / STARTER_FILE
    try:
        return (Path(path).stat().st_size == shipped.stat().st_size
                and Path(path).read_bytes() == shipped.read_bytes())
    except OSError:
        return False


def _print_comparison(comparison: Any, in_sample: bool) -> None:
    rules, model, mixed = (comparison.reports[name] for name in
                           ("rules", "model", "rules_with_model"))
    print(f"Rules and model side by side, on the same {comparison.splits} held-out folds "
          f"of the same {rules.n} labels:")

    def row(name: str, *cells: str) -> None:
        print(f"  {name:28}{cells[0]:>7}  {cells[1]:>7}  {cells[2]:>11}")

    row("", "rules", "model", "rules+model")
    row("strict accuracy", *(_pct(r.accuracy) for r in (rules, model, mixed)))
    row("accepted accuracy", *(_pct(r.accepted_accuracy) for r in (rules, model, mixed)))
    row("safe-to-retry FPs", *(str(r.false_positive_count) for r in (rules, model, mixed)))
    for fold in comparison.folds():
        row(f"fold {fold['fold']} ({fold['n']} labels), strict",
            *(_pct(fold[name]["strict_accuracy"])
              for name in ("rules", "model", "rules_with_model")))
    print("  (rules+model: the rules with the model where they are unsure, as triage "
          "applies it when 'Use model in triage' is on)")
    if in_sample:
        print("  The rules' column is in-sample: the rules were written against these "
              "labels; the model's are held-out.")


def run_evaluate(args: argparse.Namespace) -> int:
    from intel.triage import classify_delivery
    from intel.triage.evaluate import evaluate

    try:
        records = _labelled(args.labels)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rules = [classify_delivery(r) for r in records]
    labels = [r["label"] for r in records]
    acceptable = [r.get("acceptable") for r in records]
    ids = [r.get("id", i) for i, r in enumerate(records)]
    report = evaluate(rules, labels, acceptable=acceptable, ids=ids)
    in_sample = _in_sample(args.labels)
    comparison = None
    if args.model_cv:
        from intel.triage.model import InsufficientLabels, compare_cv

        try:
            comparison = compare_cv(records, labels, rules, acceptable=acceptable,
                                    in_sample=[in_sample] * len(records),
                                    n_splits=max(2, args.splits))
        except (InsufficientLabels, ValueError) as exc:
            print(f"error: cannot cross-validate the model: {exc}", file=sys.stderr)
            return 2
    note = (f"In-sample: {Path(args.labels).name} is the starter set the rules were written "
            "against; their figures on it overstate how they do on new failures."
            if in_sample else "")
    if args.json:
        body: dict[str, Any] = {"file": str(args.labels), "rules": report.to_dict(),
                                "in_sample": in_sample, "sample_note": note}
        if comparison is not None:
            body["model_cv"] = comparison.reports["model"].to_dict()
            body["rules_with_model_cv"] = comparison.reports["rules_with_model"].to_dict()
            body["comparison"] = {"splits": comparison.splits, "folds": comparison.folds()}
        print(json.dumps(body, indent=2, default=str))
    else:
        _print_report(f"Triage rules on {args.labels}: {report.n} labelled deliveries", report)
        if note:
            print(f"  {note}")
        if comparison is not None:
            print()
            _print_report(
                f"Learned model, {comparison.splits}-fold stratified cross-validation",
                comparison.reports["model"],
            )
            print()
            _print_comparison(comparison, in_sample)
    return 0 if report.gate_passed else 1


def run_classify(args: argparse.Namespace) -> int:
    from intel.triage import classify_delivery, failure_signature

    try:
        records = read_records(args.file)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        for number, record in records:
            result = classify_delivery(record)
            ident = record.get("id", f"line {number}")
            if args.json:
                line = {"id": ident, **result.to_dict(), "signature": failure_signature(record)}
                print(json.dumps(line, ensure_ascii=False, default=str))
            else:
                print(f"{ident}\t{result.category}\t{result.score}\t{result.rule}\t{result.reason}")
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
