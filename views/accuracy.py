"""Accuracy: how well triage agrees with the operators' labels, and the optional model.

Every figure comes from ``intel.labels.accuracy`` (scored by ``intel.triage.evaluate``,
the one definition the Insights gauge, the CLI and the API share): strict accuracy (the
gate's), accepted accuracy, precision / recall read off the confusion matrix. The report
covers the labels within the signed-in identity's tenants, given up to now. Training
the model and switching it on or off are for admins (``model.switch``); others see its
state.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from intel.labels.accuracy import accuracy_report, origin_name
from intel.labels.flags import MODEL_SWITCH_APPLIES, model_enabled
from intel.labels.modelstore import (
    ConfirmationNeeded,
    ModelSwitchError,
    model_info,
    resolve_model_path,
    switch_check,
    switch_model,
    train_model,
)
from intel.timeutil import to_rfc3339
from intel.triage import CATEGORIES
from intel.triage.evaluate import DEFINITIONS, ROLLOUT_GATE
from intel.triage.model import MIN_LABELS, InsufficientLabels
from ui.safe import md, redact_columns
from ui.session import allowed, engine, now, require_identity, settings


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


identity = require_identity()
st.title("🎯 Triage accuracy")
st.caption(
    "The rules' answers compared with the operators' labels (Labels page). **Strict "
    "accuracy**: the predicted category is the label; the rollout gate is judged on it. "
    "**Accepted accuracy**: the label or one of the acceptable alternatives the label "
    "lists. Precision and recall are read off the confusion matrix. A 'safe to retry' "
    "false positive is a delivery triage calls transient-endpoint-down with a score "
    "above 80 whose label says a retry will not help. The same figures as the Insights "
    "gauge, `python -m intel triage evaluate` and `GET /triage/accuracy`."
)

db = engine()
cfg = settings().triage
at_now = now()
with db.connect() as conn:
    result = accuracy_report(conn, gate=ROLLOUT_GATE, as_of=at_now, scope=identity.scope)
report = result.report

if report.n == 0:
    st.info(
        "No labelled deliveries yet. Label some on the Labels page, or load the starter set: "
        "`python -m intel labels import data/triage_labels_starter.jsonl --labeler starter-set "
        "--add-deliveries`",
        icon="🏷️",
    )
else:
    gate_text = (
        f"Rollout gate passed: strict accuracy {report.accuracy:.1%} ≥ "
        f"{report.gate_threshold:.0%} (the gate is judged on strict accuracy)"
        if report.gate_passed
        else f"Rollout gate NOT passed: strict accuracy {report.accuracy:.1%} < "
        f"{report.gate_threshold:.0%} (the gate is judged on strict accuracy)"
    )
    if report.gate_passed:
        st.success(gate_text, icon="✅")
    else:
        st.error(gate_text, icon="⛔")
    note = result.sample_note()
    if result.in_sample:
        st.warning(note, icon="🔁")
    else:
        st.info(note, icon="🧪")

    top = result.calibration_top()
    m = st.columns(5)
    m[0].metric("Labelled deliveries", f"{report.n:,}")
    m[1].metric("Strict accuracy", _pct(report.accuracy),
                help=f"{report.correct} of {report.n}: {DEFINITIONS['strict_accuracy']}. "
                     "The rollout gate is judged on it.")
    m[2].metric("Accepted accuracy", _pct(report.accepted_accuracy),
                help=f"{report.accepted_correct} of {report.n}: "
                     f"{DEFINITIONS['accepted_accuracy']}.")
    m[3].metric("Safe-to-retry false positives", f"{report.false_positive_count}",
                help="Must be zero: transient > 80 on a delivery a retry cannot fix.")
    m[4].metric("Calibration (scores 90-100)", _pct(top["accuracy"] if top else None),
                help="Of the deliveries scored 90-100, the share whose label is the "
                     f"prediction ({top['correct'] if top else 0} of {top['n'] if top else 0}).")

    st.subheader("Labels by origin")
    origins = pd.DataFrame(result.by_origin())
    origins.insert(0, "from", [origin_name(o) for o in origins["origin"]])
    origins["rules' figure"] = ["in-sample" if s else "out-of-sample"
                                for s in origins["in_sample"]]
    st.dataframe(
        origins[["from", "n", "rules' figure", "strict_accuracy", "accepted_accuracy",
                 "safe_to_retry_false_positives"]],
        hide_index=True, key="acc_origins",
        column_config={
            "from": st.column_config.TextColumn("Labels from"),
            "n": st.column_config.NumberColumn("Labels"),
            "strict_accuracy": st.column_config.NumberColumn("Strict accuracy",
                                                             format="percent"),
            "accepted_accuracy": st.column_config.NumberColumn("Accepted accuracy",
                                                               format="percent"),
            "safe_to_retry_false_positives": st.column_config.NumberColumn(
                "Safe-to-retry FPs"),
        },
    )

    st.subheader("Per category")
    per_cat = pd.DataFrame(
        [
            {
                "category": cat,
                "labelled": v["support"],
                "predicted": v["predicted"],
                "right": v["correct"],
                "precision": v["precision"],
                "recall": v["recall"],
                "accepted recall": v["accepted_recall"],
            }
            for cat, v in report.per_category.items()
        ]
    )
    st.dataframe(
        per_cat,
        hide_index=True,
        key="acc_per_category",
        column_config={
            "labelled": st.column_config.NumberColumn(width="small"),
            "predicted": st.column_config.NumberColumn(width="small"),
            "right": st.column_config.NumberColumn(width="small"),
            "precision": st.column_config.NumberColumn(format="percent", width="small"),
            "recall": st.column_config.NumberColumn(format="percent", width="small"),
            "accepted recall": st.column_config.NumberColumn(format="percent",
                                                             width="small"),
        },
    )
    st.caption("Read off the matrix: precision = diagonal / column (predicted), "
               "recall = diagonal / row (labelled). Accepted recall also counts the "
               "row's acceptable alternatives.")
    st.subheader("Confusion matrix")
    left, right = st.columns([3, 2])
    with left:
        cells = (
            report.confusion.rename_axis(index="label", columns="predicted")
            .stack()
            .rename("count")
            .reset_index()
        )
        order = [c for c in report.confusion.columns]
        base = alt.Chart(cells).encode(
            x=alt.X("predicted:N", sort=order, title="predicted"),
            y=alt.Y("label:N", sort=order, title="label"),
        )
        heat = base.mark_rect().encode(
            color=alt.Color("count:Q", scale=alt.Scale(scheme="blues"), legend=None),
            tooltip=["label", "predicted", "count"],
        )
        half = float(cells["count"].max()) / 2
        text = base.mark_text().encode(
            text="count:Q",
            color=alt.condition(alt.datum.count > half, alt.value("white"), alt.value("black")),
        )
        st.altair_chart(heat + text, key="acc_confusion")
    with right:
        off = report.n - report.correct
        alternatives = report.accepted_alternatives
        accepted = sum(a["n"] for a in alternatives)
        st.caption(
            f"{off} answer(s) off the diagonal, each counted against its row's recall and "
            f"its column's precision. {accepted} of them the label lists as acceptable "
            "(counted by accepted accuracy only)"
            + (": " + "; ".join(f"label {a['label']}, predicted {a['predicted']}: {a['n']}"
                                for a in alternatives) if alternatives else "")
            + "."
        )

    st.subheader(f"'Safe to retry' false positives ({report.false_positive_count})")
    if result.false_positives:
        st.dataframe(redact_columns(pd.DataFrame(result.false_positives), urls=("endpoint",),
                                    texts=("error",)), hide_index=True, key="acc_fps")
    else:
        st.caption("None: no delivery labelled as not transient was called safe to retry.")

    left, right = st.columns(2)
    with left:
        st.subheader("Score calibration")
        calib = pd.DataFrame(report.calibration)
        calib["share right"] = calib["accuracy"]
        bars = alt.Chart(calib).mark_bar().encode(
            x=alt.X("band:N", sort=list(calib["band"]), title="triage score band"),
            y=alt.Y("share right:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"),
                    title="share whose label is the prediction"),
            tooltip=["band", "n", "correct", alt.Tooltip("share right:Q", format=".1%")],
        )
        labels_ = alt.Chart(calib).mark_text(dy=-8).encode(
            x=alt.X("band:N", sort=list(calib["band"])), y="share right:Q",
            text=alt.Text("n:Q", format="d"),
        )
        st.altair_chart(bars + labels_, key="acc_calibration")
        st.caption("Strict. Bar label: deliveries in the band. A score should mean what it "
                   "says: of those scored 90-100, at least 90 % should be right.")
    with right:
        st.subheader("Strict accuracy by week of labelling")
        weeks = pd.DataFrame(result.by_week)
        weeks["week"] = [to_rfc3339(w)[:10] for w in weeks["week"]]
        line = alt.Chart(weeks).mark_line(point=True).encode(
            x=alt.X("week:N", title="week (Monday, UTC)"),
            y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"),
                    title="strict accuracy"),
            tooltip=["week", "n", "correct", alt.Tooltip("accuracy:Q", format=".1%"),
                     alt.Tooltip("accepted_accuracy:Q", format=".1%"),
                     "safe_to_retry_false_positives"],
        )
        gate_rule = alt.Chart(pd.DataFrame({"gate": [report.gate_threshold]})).mark_rule(
            strokeDash=[4, 4], color="red").encode(y="gate:Q")
        st.altair_chart(line + gate_rule, key="acc_weeks")
        st.dataframe(weeks, hide_index=True, key="acc_weeks_table",
                     column_config={
                         "accuracy": st.column_config.NumberColumn("strict accuracy",
                                                                   format="percent"),
                         "accepted_accuracy": st.column_config.NumberColumn(
                             "accepted accuracy", format="percent"),
                     })

    with st.expander(f"Every answer that is not the label ({len(result.mistakes)}, of which "
                     f"{accepted} accepted alternatives)"):
        if result.mistakes:
            st.dataframe(redact_columns(pd.DataFrame(result.mistakes), urls=("endpoint",),
                                        texts=("error",)), hide_index=True, key="acc_mistakes")
        else:
            st.caption("None.")

# --- the optional model ------------------------------------------------------------------
st.divider()
st.header("Optional learned model")
st.caption(
    "A scikit-learn model trained on the stored labels (status code, rate-limit header flags, "
    "text of the error and body). Training scores the rules, the model alone and the rules "
    "with the model on the same stratified 5-fold held-out split of the same labels. In "
    "triage the model only speaks where the rules are unsure, and it can never make a "
    "delivery 'safe to retry' that the rules call permanent."
)
may_switch = identity.can("model.switch")
flash = st.session_state.pop("acc_flash", None)
if flash:
    st.success(flash, icon="🧪")
info = model_info(cfg.model_path)
path = resolve_model_path(cfg.model_path)
check = switch_check(info)

_in_sample = int((info or {}).get("in_sample_labels") or 0)
_rules_name = ("rules (in-sample)" if check is not None and _in_sample >= check.labels
               else "rules (partly in-sample)" if _in_sample else "rules")
NAMES = {"rules": _rules_name, "model": "model alone (held-out)",
         "rules_with_model": "rules with the model (held-out)"}

if info is None:
    st.info(f"No model trained yet (it would be saved at {md(path)}).", icon="🧪")
elif not identity.scope.unrestricted:
    # Trained on every tenant's labels: platform-wide figures are not for a tenant scope.
    st.text(f"A model is trained (at {info.get('trained_at')}).")
    st.caption("Its figures cover every tenant's labels: they are shown to identities "
               "without a tenant limit only.")
else:
    st.text(
        f"Model trained by {info.get('trained_by')} at {info.get('trained_at')} on "
        f"{info.get('labels_used')} labels ({info.get('cv_splits')}-fold stratified CV); "
        f"scikit-learn {info.get('sklearn_version')}, format {info.get('format_version')}; "
        f"classes {', '.join(info.get('classes', []))}"
        + (f"; left out (too few examples): {', '.join(info['dropped_classes'])}"
           if info.get("dropped_classes") else "")
    )
    if check is None:
        st.warning("This model was trained before the rules and the model were scored on "
                   "the same held-out folds: its figures are not comparable. Train it again.",
                   icon="⚠️")
    else:
        summaries = {"rules": info["rules_same_labels"], "model": info["model_cv"],
                     "rules_with_model": info["rules_with_model_cv"]}

        def _row(measure: str, value) -> dict:
            return {"measure": measure, **{NAMES[k]: value(s) for k, s in summaries.items()}}

        rows = [
            _row("strict accuracy", lambda s: _pct(s.get("strict_accuracy"))),
            _row("accepted accuracy", lambda s: _pct(s.get("accepted_accuracy"))),
            _row("safe-to-retry false positives",
                 lambda s: str(s.get("safe_to_retry_false_positives"))),
            _row(f"rollout gate (strict ≥ {ROLLOUT_GATE:.0%})",
                 lambda s: "passed" if s.get("gate_passed") else "not passed"),
        ]
        def _pr(summary: dict, cat: str) -> str:
            stats = (summary.get("per_category") or {}).get(cat, {})
            return f"{_pct(stats.get('precision'))} / {_pct(stats.get('recall'))}"

        for cat in CATEGORIES:
            rows.append(_row(f"{cat}: precision / recall", lambda s, cat=cat: _pr(s, cat)))
        in_sample = int(info.get("in_sample_labels") or 0)
        sample = (f" The rules' column is in-sample on {in_sample} of the {check.labels} "
                  "labels (the starter set they were written against); the model's columns "
                  "are held-out." if in_sample else
                  " None of these labels is from the starter set: every column is "
                  "out-of-sample.")
        st.caption(f"Side by side on the same {check.splits} held-out folds of the same "
                   f"{check.labels} labels, as of training.{sample}")
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="acc_model_vs_rules")
        comparison = info.get("comparison") or {}
        with st.expander("Per fold, and by origin of the labels"):
            folds = pd.DataFrame([
                {"fold": f["fold"], "labels": f["n"],
                 **{NAMES[k]: f[k]["strict_accuracy"] for k in NAMES}}
                for f in comparison.get("folds", [])
            ])
            st.caption("Strict accuracy per held-out fold.")
            st.dataframe(folds, hide_index=True, key="acc_folds",
                         column_config={name: st.column_config.NumberColumn(format="percent")
                                        for name in NAMES.values()})
            groups = comparison.get("by_origin", {})
            origin_rows = [
                {"labels": ("starter set (rules in-sample)" if key == "in_sample"
                            else "operators and imported files (new to the rules)"),
                 "n": part["n"],
                 **{NAMES[k]: part[k]["strict_accuracy"] for k in NAMES}}
                for key, part in groups.items()
            ]
            st.caption("Strict accuracy by origin of the labels.")
            st.dataframe(pd.DataFrame(origin_rows), hide_index=True, key="acc_fold_origins",
                         column_config={name: st.column_config.NumberColumn(format="percent")
                                        for name in NAMES.values()})

with db.connect() as conn:
    flag = model_enabled(conn, default=cfg.model_enabled)
if flag.updated_by:
    set_by = f"Set by {md(flag.updated_by)} at {md(to_rfc3339(flag.updated_at))}."
else:
    set_by = "Not set by anyone yet: the config default (triage.model\\_enabled) applies."

st.subheader("Where 'Use model in triage' applies")
st.caption("As the product stands, the switch changes only the places marked yes; everywhere "
           "else triage is the rules alone.")
st.dataframe(pd.DataFrame([{"where": where, "uses the model": "yes" if uses else "no"}
                           for where, uses in MODEL_SWITCH_APPLIES]),
             hide_index=True, key="acc_switch_scope")

if not may_switch:
    st.text(f"Model in triage: {'on' if flag.value else 'off'}")
    st.caption(set_by + f" Training and switching the model are for admins; your role is "
                        f"{identity.role.value}.")
    st.stop()

cols = st.columns(2)
with cols[0]:
    if st.button("Train model", key="acc_train",
                 help=f"Needs at least {MIN_LABELS} labelled deliveries") \
            and allowed(identity, "model.switch"):
        try:
            with st.spinner("Training and cross-validating…"), db.begin() as conn:
                outcome = train_model(conn, model_path=cfg.model_path, actor=identity.name,
                                      now=now())
        except InsufficientLabels as exc:
            st.warning(f"Not trained: {md(exc)}", icon="🏷️")
        else:
            st.session_state["acc_flash"] = (
                f"Trained on {outcome.metadata['labels_used']} labels. Strict accuracy on the "
                f"same held-out folds: rules {outcome.rules.accuracy:.1%}, rules with the "
                f"model {outcome.rules_with_model.accuracy:.1%}, model alone "
                f"{outcome.model_cv.accuracy:.1%}."
            )
            st.rerun()
with cols[1]:
    version = int(st.session_state.get("acc_toggle_version", 0))
    wanted = st.toggle("Use model in triage", value=flag.value,
                       key=f"acc_model_toggle_{version}",
                       disabled=info is None and not flag.value,
                       help="Admins opt in; recorded in the audit trail with the figures.")
    st.caption(set_by)


def _switch(enabled: bool, confirmed: bool = False) -> None:
    with db.begin() as conn:
        switch_model(conn, enabled, actor=identity.name, now=now(),
                     model_path=cfg.model_path, confirmed=confirmed)
    st.session_state["acc_toggle_version"] = version + 1
    st.rerun()


if wanted != flag.value and allowed(identity, "model.switch"):
    try:
        _switch(wanted)
    except ConfirmationNeeded as exc:
        st.warning(str(exc), icon="⚠️")  # our own wording: figures only, no input
        yes, no = st.columns(2)
        if yes.button("Switch the model on anyway", key="acc_confirm_on", type="primary") \
                and allowed(identity, "model.switch"):
            _switch(True, confirmed=True)
        if no.button("Keep the rules alone", key="acc_confirm_off"):
            st.session_state["acc_toggle_version"] = version + 1
            st.rerun()
    except ModelSwitchError as exc:
        st.error(md(exc), icon="🛑")
