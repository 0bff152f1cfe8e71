"""Labels: operator leads label failed deliveries, the truth triage is measured against."""

from __future__ import annotations

import streamlit as st

from intel.labels.files import (
    LabelFileError,
    import_labels,
    labels_to_csv,
    parse_labels_csv,
    parse_labels_jsonl,
)
from intel.labels.queue import build_queue, load_delivery, predict
from intel.labels.store import (
    LabelError,
    LabelExists,
    count_labels,
    create_label,
    delete_label,
    get_label,
    iter_labels,
    list_labels,
    update_label,
)
from intel.timeutil import to_rfc3339, utcnow
from intel.triage import CATEGORIES
from ui.labels import CATEGORY_ICON, category_badge, md_escape, show_delivery
from ui.session import current_operator, engine, require_operator, settings

SHORTCUTS = ("1", "2", "3", "4")

st.title("🏷️ Labels")
st.caption(
    "Label failed deliveries with the category a careful operator would give them. "
    "Labels are the truth the Accuracy page measures triage against."
)

db = engine()
cfg = settings().triage
operator = require_operator()
state = st.session_state
flash = state.pop("labels_flash", None)
if flash:
    st.success(flash, icon="🏷️")


def _new_queue(seed: int) -> None:
    with db.connect() as conn:
        items = build_queue(
            conn,
            size=cfg.label_queue_size,
            seed=seed,
            pool_size=cfg.label_pool_size,
            low_confidence_below=cfg.label_low_confidence_below,
            low_confidence_share=cfg.label_low_confidence_share,
        )
    state["labels_seed"] = seed
    state["labels_queue"] = [
        {"id": i.delivery_id, "why": i.why, "stratum": i.stratum} for i in items
    ]
    state["labels_pos"] = 0


if "labels_queue" not in state:
    _new_queue(int(state.get("labels_seed", 0)))

queue_tab, mine_tab, files_tab = st.tabs(["Queue", "My recent labels", "Import / export"])

# --- the queue ---------------------------------------------------------------------------
with queue_tab:
    queue = state["labels_queue"]
    item = delivery = None
    with db.connect() as conn:
        # Skip what someone labelled (or deleted) since the queue was sampled.
        while state["labels_pos"] < len(queue):
            candidate = queue[state["labels_pos"]]
            if get_label(conn, candidate["id"]) is None:
                delivery = load_delivery(conn, candidate["id"])
                if delivery is not None:
                    item = candidate
                    break
            state["labels_pos"] += 1
        pos = state["labels_pos"]

    top = st.columns([3, 1])
    top[0].caption(
        f"Queue of {len(queue)} (seed {state['labels_seed']}): stratified by predicted "
        "category, plus low-confidence predictions; never already-labelled deliveries."
    )
    if top[1].button("New sample", key="labels_resample", help="Draw a fresh queue"):
        _new_queue(int(state.get("labels_seed", 0)) + 1)
        st.rerun()

    if item is None or delivery is None:  # the queue is done
        st.info("Nothing left to label in this queue. Draw a new sample for more.", icon="✅")
    else:
        st.progress(pos / max(1, len(queue)), text=f"{pos + 1} of {len(queue)} · {item['why']}")
        result = predict(delivery)
        left, right = st.columns([3, 2])
        with left:
            show_delivery(delivery)
        with right:
            st.subheader("The rules say")
            category_badge(result.category)
            st.text(f"{result.category} · score {result.score} (confidence 0-100)")
            st.caption("Reason")
            st.text(result.reason)
            st.caption("Recommended action")
            st.text(result.recommended_action)
            st.divider()
            st.subheader("Your label")
            note = st.text_input("Note (optional)", key=f"labels_note_{item['id']}",
                                 max_chars=2000)
            chosen = None
            for category, shortcut in zip(CATEGORIES, SHORTCUTS, strict=True):
                if st.button(
                    f"{CATEGORY_ICON[category]} {category}",
                    key=f"labels_pick_{category}",
                    disabled=operator is None,
                    width="stretch",
                    shortcut=shortcut,
                    help=f"Label it {category} (key {shortcut})",
                ):
                    chosen = category
            if st.button("Skip", key="labels_skip", width="stretch", shortcut="S",
                         help="Not sure: leave it unlabelled (key S)"):
                state["labels_pos"] = pos + 1
                st.rerun()
            if chosen and operator:
                try:
                    with db.begin() as conn:
                        create_label(conn, delivery_id=item["id"], category=chosen,
                                     labeler=operator, now=utcnow(), note=note or None)
                except LabelExists as exc:
                    state["labels_flash"] = f"Not saved: {md_escape(exc)}"
                except LabelError as exc:
                    st.error(md_escape(exc))
                    st.stop()
                else:
                    state["labels_flash"] = f"Labelled {md_escape(item['id'])} as {chosen}."
                state["labels_pos"] = pos + 1
                st.rerun()

# --- my recent labels --------------------------------------------------------------------
with mine_tab:
    me = current_operator()
    if not me:
        st.info("Enter your operator name in the sidebar to see and edit your labels.")
    else:
        with db.connect() as conn:
            mine = list_labels(conn, labeler=me, limit=50)
            total_mine = count_labels(conn, labeler=me)
        st.caption(f"Your {len(mine)} most recent of {total_mine} label(s). Select one to edit.")
        if mine:
            rows = [
                {
                    "delivery": lb.delivery_id,
                    "category": lb.category,
                    "note": lb.note or "",
                    "labelled at": to_rfc3339(lb.labeled_at),
                    "changed at": to_rfc3339(lb.updated_at),
                }
                for lb in mine
            ]
            event = st.dataframe(rows, hide_index=True, on_select="rerun",
                                 selection_mode="single-row", key="labels_mine")
            picked = event.selection.rows if event else []
            if picked and picked[0] < len(mine):
                label = mine[picked[0]]  # positional: map back to the id in this run
                with st.form(f"labels_edit_{label.delivery_id}"):
                    st.text(f"Edit the label of {label.delivery_id}")
                    new_category = st.selectbox("Category", CATEGORIES,
                                                index=CATEGORIES.index(label.category)
                                                if label.category in CATEGORIES else 0)
                    new_note = st.text_area("Note", value=label.note or "", max_chars=2000)
                    save_col, delete_col = st.columns(2)
                    save = save_col.form_submit_button("Save", type="primary")
                    remove = delete_col.form_submit_button("Delete label")
                if save or remove:
                    try:
                        with db.begin() as conn:
                            if remove:
                                delete_label(conn, delivery_id=label.delivery_id, actor=me,
                                             now=utcnow())
                                state["labels_flash"] = (
                                    f"Deleted the label of {md_escape(label.delivery_id)}."
                                )
                            else:
                                update_label(conn, delivery_id=label.delivery_id, actor=me,
                                             now=utcnow(), category=new_category,
                                             note=new_note or None)
                                state["labels_flash"] = (
                                    f"Saved the label of {md_escape(label.delivery_id)}."
                                )
                    except LabelError as exc:
                        st.error(md_escape(exc))
                    else:
                        st.rerun()

# --- import / export ---------------------------------------------------------------------
with files_tab:
    with db.connect() as conn:
        total = count_labels(conn)
    st.subheader("Export")
    st.caption(f"{total} label(s) as CSV: delivery_id, category, note, labeler, labeled_at.")

    def _export() -> str:
        with db.connect() as conn:
            return labels_to_csv(iter_labels(conn))

    st.download_button("Download labels.csv", data=_export, file_name="labels.csv",
                       mime="text/csv", key="labels_export", disabled=total == 0)

    st.subheader("Import")
    st.caption(
        "CSV in the export format (every delivery must be in the store), or JSON Lines in "
        "the dev-set format (deliveries with a `label` field; missing deliveries are added). "
        "All or nothing: a file with a bad row imports nothing."
    )
    upload = st.file_uploader("Label file", type=["csv", "jsonl"], key="labels_upload")
    if upload is not None and st.button("Import", key="labels_import", type="primary",
                                        disabled=operator is None):
        text = upload.getvalue().decode("utf-8", errors="replace")
        try:
            if upload.name.lower().endswith(".csv"):
                records = parse_labels_csv(text, source=upload.name, default_labeler=operator)
            else:
                records = parse_labels_jsonl(text.splitlines(), source=upload.name,
                                             default_labeler=operator)
            with db.begin() as conn:
                summary = import_labels(conn, records, actor=operator, now=utcnow(),
                                        source=upload.name)
        except (LabelFileError, LabelError) as exc:
            st.error("Nothing imported: the file has problems.", icon="🛑")
            st.code(str(exc), language=None)
        else:
            st.success(md_escape(summary.describe()))
