"""Accuracy: how well triage agrees with the operators' labels, and the optional model.

The report covers the labels within the signed-in identity's tenants. Training the model
and switching it on or off are for admins (``model.switch``); others see its state.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from intel.labels.accuracy import accuracy_report
from intel.labels.flags import model_enabled, set_model_enabled
from intel.labels.modelstore import model_info, resolve_model_path, train_model
from intel.timeutil import to_rfc3339
from intel.triage import CATEGORIES
from intel.triage.evaluate import ROLLOUT_GATE
from intel.triage.model import MIN_LABELS, InsufficientLabels
from ui.safe import md, redact_columns
from ui.session import allowed, engine, now, require_identity, settings


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


identity = require_identity()
st.title("🎯 Triage accuracy")
st.caption(
    "The rules' answers compared with the operators' labels (Labels page). A "
    "'safe to retry' false positive is a delivery triage calls transient-endpoint-down "
    "with a score above 80 whose label says a retry will not help."
)

db = engine()
cfg = settings().triage
with db.connect() as conn:
    result = accuracy_report(conn, gate=ROLLOUT_GATE, scope=identity.scope)
report = result.report

if report.n == 0:
    st.info(
        "No labelled deliveries yet. Label some on the Labels page, or load the starter set: "
        "`python -m intel labels import data/triage_labels_starter.jsonl --labeler starter-set`",
        icon="🏷️",
    )
else:
    gate_text = (
        f"Rollout gate passed: accuracy {report.accuracy:.1%} ≥ {report.gate_threshold:.0%}"
        if report.gate_passed
        else f"Rollout gate NOT passed: accuracy {report.accuracy:.1%} < "
        f"{report.gate_threshold:.0%}"
    )
    if report.gate_passed:
        st.success(gate_text, icon="✅")
    else:
        st.error(gate_text, icon="⛔")

    top = result.calibration_top()
    m = st.columns(4)
    m[0].metric("Labelled deliveries", f"{report.n:,}")
    m[1].metric("Accuracy", _pct(report.accuracy), help=f"{report.correct} of {report.n} right")
    m[2].metric("Safe-to-retry false positives", f"{report.false_positive_count}",
                help="Must be zero: transient > 80 on a delivery a retry cannot fix.")
    m[3].metric("Calibration (scores 90-100)", _pct(top["accuracy"] if top else None),
                help="Of the deliveries scored 90-100, the share whose label agrees "
                     f"({top['correct'] if top else 0} of {top['n'] if top else 0}).")

    left, right = st.columns(2)
    with left:
        st.subheader("Per category")
        per_cat = pd.DataFrame(
            [
                {
                    "category": cat,
                    "labelled": v["support"],
                    "predicted": v["predicted"],
                    "precision": v["precision"],
                    "recall": v["recall"],
                }
                for cat, v in report.per_category.items()
            ]
        )
        st.dataframe(
            per_cat,
            hide_index=True,
            key="acc_per_category",
            column_config={
                "precision": st.column_config.NumberColumn(format="percent"),
                "recall": st.column_config.NumberColumn(format="percent"),
            },
        )
    with right:
        st.subheader("Confusion matrix")
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
                    title="share whose label agrees"),
            tooltip=["band", "n", "correct", alt.Tooltip("share right:Q", format=".1%")],
        )
        labels_ = alt.Chart(calib).mark_text(dy=-8).encode(
            x=alt.X("band:N", sort=list(calib["band"])), y="share right:Q",
            text=alt.Text("n:Q", format="d"),
        )
        st.altair_chart(bars + labels_, key="acc_calibration")
        st.caption("Bar label: deliveries in the band. A score should mean what it says: "
                   "of those scored 90-100, at least 90 % should be right.")
    with right:
        st.subheader("Accuracy by week of labelling")
        weeks = pd.DataFrame(result.by_week)
        weeks["week"] = [to_rfc3339(w)[:10] for w in weeks["week"]]
        line = alt.Chart(weeks).mark_line(point=True).encode(
            x=alt.X("week:N", title="week (Monday, UTC)"),
            y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            tooltip=["week", "n", "correct", alt.Tooltip("accuracy:Q", format=".1%"),
                     "safe_to_retry_false_positives"],
        )
        gate_rule = alt.Chart(pd.DataFrame({"gate": [report.gate_threshold]})).mark_rule(
            strokeDash=[4, 4], color="red").encode(y="gate:Q")
        st.altair_chart(line + gate_rule, key="acc_weeks")
        st.dataframe(weeks, hide_index=True, key="acc_weeks_table")

    with st.expander(f"Every wrong answer ({len(result.mistakes)})"):
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
    "text of the error and body), evaluated by stratified 5-fold cross-validation. It is used "
    "only when an admin turns it on, and only where the rules are unsure; it can never "
    "make a delivery 'safe to retry' that the rules call permanent."
)
may_switch = identity.can("model.switch")
flash = st.session_state.pop("acc_flash", None)
if flash:
    st.success(flash, icon="🧪")
info = model_info(cfg.model_path)
path = resolve_model_path(cfg.model_path)

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
    rules_s, model_s = info.get("rules_same_labels", {}), info.get("model_cv", {})
    rows = [
        {"measure": "accuracy", "rules": _pct(rules_s.get("accuracy")),
         "model (CV)": _pct(model_s.get("accuracy"))},
        {"measure": "safe-to-retry false positives",
         "rules": str(rules_s.get("safe_to_retry_false_positives")),
         "model (CV)": str(model_s.get("safe_to_retry_false_positives"))},
        {"measure": f"rollout gate (≥ {ROLLOUT_GATE:.0%})",
         "rules": "passed" if rules_s.get("gate_passed") else "not passed",
         "model (CV)": "passed" if model_s.get("gate_passed") else "not passed"},
    ]
    for cat in CATEGORIES:
        r = (rules_s.get("per_category") or {}).get(cat, {})
        mo = (model_s.get("per_category") or {}).get(cat, {})
        rows.append({"measure": f"{cat}: precision / recall",
                     "rules": f"{_pct(r.get('precision'))} / {_pct(r.get('recall'))}",
                     "model (CV)": f"{_pct(mo.get('precision'))} / {_pct(mo.get('recall'))}"})
    st.caption(
        "Side by side on the same labels (as of training). The model's figures are the model "
        "alone; in triage it only speaks where the rules are unsure, under the guard."
    )
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="acc_model_vs_rules")

with db.connect() as conn:
    flag = model_enabled(conn, default=cfg.model_enabled)
if flag.updated_by:
    set_by = f"Set by {md(flag.updated_by)} at {md(to_rfc3339(flag.updated_at))}."
else:
    set_by = "Not set by anyone yet: the config default (triage.model\\_enabled) applies."

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
                f"Trained on {outcome.metadata['labels_used']} labels: CV accuracy "
                f"{outcome.model_cv.accuracy:.1%} (rules {outcome.rules.accuracy:.1%} on the "
                "same labels)."
            )
            st.rerun()
with cols[1]:
    wanted = st.toggle("Use model in triage", value=flag.value,
                       disabled=info is None and not flag.value,
                       help="Admins opt in; recorded in the audit trail.")
    st.caption(set_by)
    if wanted != flag.value and allowed(identity, "model.switch"):
        with db.begin() as conn:
            set_model_enabled(conn, wanted, actor=identity.name, now=now())
        st.rerun()
