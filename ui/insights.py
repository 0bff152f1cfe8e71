"""Altair charts and table settings shared by the Insights and Explore pages.

Everything here only draws what ``intel.insights`` / ``intel.explore`` computed.
Untrusted text (tenant ids, endpoint URLs) only ever reaches the screen as chart
labels (SVG text) or dataframe cells.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import streamlit as st

from intel.explore.query import DIMENSIONS, MEASURES, ExploreQuery
from intel.insights.operators import WEEKDAYS


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def link_column(label: str = "History") -> st.column_config.LinkColumn:
    return st.column_config.LinkColumn(label, display_text="Open history ↗",
                                       help="The delivery history, filtered to this row")


def replay_trend_chart(points: list[dict]) -> alt.Chart:
    """Replay success rate per bucket (line) with the replay count in the tooltip."""
    frame = pd.DataFrame(points, columns=["bucket_start", "replays", "succeeded", "success_rate"])
    frame["bucket_start"] = pd.to_datetime(frame["bucket_start"], utc=True)
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("bucket_start:T", title="Time (UTC)"),
            y=alt.Y("success_rate:Q", title="Replay success rate",
                    scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            tooltip=[
                alt.Tooltip("bucket_start:T", title="From", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("replays:Q", title="Replays"),
                alt.Tooltip("succeeded:Q", title="Succeeded"),
                alt.Tooltip("success_rate:Q", title="Success rate", format=".1%"),
            ],
        )
        .properties(height=220)
    )


def accuracy_gauge(accuracy: float | None, target: float) -> alt.LayerChart:
    """A half-ring gauge: grey track, the (strict) accuracy arc (green at or above
    target), a target tick, and the figure in the middle, to one decimal as the Accuracy
    page shows it."""
    value = 0.0 if accuracy is None else max(0.0, min(1.0, accuracy))
    start = -math.pi / 2

    def angle(share: float) -> float:
        return start + math.pi * share

    arcs = pd.DataFrame(
        [
            {"part": "track", "t0": start, "t1": angle(1.0), "color": "#e6e6e6"},
            {"part": "accuracy", "t0": start, "t1": angle(value),
             "color": "#2e7d32" if value >= target else "#ef6c00"},
            {"part": "target", "t0": angle(target) - 0.012, "t1": angle(target) + 0.012,
             "color": "#333333"},
        ]
    )
    ring = (
        alt.Chart(arcs)
        .mark_arc(innerRadius=60, outerRadius=90)
        .encode(
            theta=alt.Theta("t0:Q", scale=None),
            theta2="t1:Q",
            color=alt.Color("color:N", scale=None),
            tooltip=["part:N"],
        )
    )
    label = "no labels" if accuracy is None else f"{accuracy * 100:.1f} %"
    text = (
        alt.Chart(pd.DataFrame([{"label": label}]))
        .mark_text(fontSize=22, fontWeight="bold", dy=-12)
        .encode(text="label:N")
    )
    caption = (
        alt.Chart(pd.DataFrame([{"label": f"strict · target {target * 100:.0f} %"}]))
        .mark_text(fontSize=11, dy=12, color="#666666")
        .encode(text="label:N")
    )
    return alt.layer(ring, text, caption).properties(height=200, width=220)


def activity_heatmap_chart(cells: list[dict]) -> alt.Chart:
    """Operator actions per weekday x hour (UTC); empty cells drawn as zero."""
    counts = {(c["weekday"], c["hour"]): c["actions"] for c in cells}
    grid = pd.DataFrame(
        [
            {"day": WEEKDAYS[d], "hour": h, "actions": counts.get((d, h), 0)}
            for d in range(7)
            for h in range(24)
        ]
    )
    return (
        alt.Chart(grid)
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title="Hour of day (UTC)"),
            y=alt.Y("day:O", title=None, sort=list(WEEKDAYS)),
            color=alt.Color("actions:Q", title="Actions", scale=alt.Scale(scheme="blues")),
            tooltip=["day:N", "hour:O", "actions:Q"],
        )
        .properties(height=220)
    )


def explore_chart(frame: pd.DataFrame, query: ExploreQuery) -> alt.Chart:
    """Bars for one dimension, a heatmap for two (hour of day always on the x axis)."""
    measure = query.measure
    m_title = MEASURES[measure]
    m_format = ".1%" if measure == "failure_ratio" else ",.0f"
    data = frame.copy()
    for dim in query.by:
        data[dim] = data[dim].astype(object).where(data[dim].notna(), "(none)").astype(str)
    tooltip = [alt.Tooltip(f"{d}:N", title=DIMENSIONS[d]) for d in query.by]
    tooltip.append(alt.Tooltip(f"{measure}:Q", title=m_title, format=m_format))
    if len(query.by) == 1:
        dim = query.by[0]
        if dim == "hour":
            order = sorted(data[dim].unique(), key=int)
            return (
                alt.Chart(data)
                .mark_bar()
                .encode(x=alt.X("hour:O", sort=order, title=DIMENSIONS[dim]),
                        y=alt.Y(f"{measure}:Q", title=m_title), tooltip=tooltip)
                .properties(height=320)
            )
        return (
            alt.Chart(data)
            .mark_bar()
            .encode(
                y=alt.Y(f"{dim}:N", sort="-x", title=DIMENSIONS[dim],
                        axis=alt.Axis(labelLimit=320)),
                x=alt.X(f"{measure}:Q", title=m_title),
                tooltip=tooltip,
            )
            .properties(height=max(160, 22 * len(data)))
        )
    x_dim, y_dim = query.by[1], query.by[0]
    if "hour" in query.by:
        x_dim = "hour"
        y_dim = next(d for d in query.by if d != "hour")
    x_sort = sorted(data[x_dim].unique(), key=int) if x_dim == "hour" else "ascending"
    return (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=alt.X(f"{x_dim}:O", sort=x_sort, title=DIMENSIONS[x_dim]),
            y=alt.Y(f"{y_dim}:O", title=DIMENSIONS[y_dim], axis=alt.Axis(labelLimit=320)),
            color=alt.Color(f"{measure}:Q", title=m_title),
            tooltip=tooltip,
        )
        .properties(height=max(160, 22 * data[y_dim].nunique()))
    )
