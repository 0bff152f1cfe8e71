"""The Explore chart (Altair / Vega-Lite, no Streamlit): every category on an axis labelled.

Vega-Lite hides axis labels that would overlap (25 tenants in a 400 px bar chart showed
every other name). Here no label is ever dropped:

* a category axis drawn along the height gives every category a fixed band
  (:data:`BAND_PX`) with overlap removal off, so the chart grows with the categories;
  past :data:`MAX_HEIGHT_PX` the page shows it, at its own height, in a scrolling frame
  of that height (:attr:`ExploreChart.frame_height`);
* one dimension: horizontal bars, one labelled row per category (the hour of day:
  24 labelled columns);
* two dimensions: a heatmap, its columns the dimension with fewer values (the hour of
  day when it is one), at most :data:`MAX_COLUMNS` of them, labels slanted and never
  dropped; with more columns than that, horizontal bars with one labelled row per pair
  ("tenant · category") instead.

Only display names and cell values are drawn: the values come from the view's frame,
whose endpoint column the page has already redacted.
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import pandas as pd

from intel.explore.query import DIMENSIONS, MEASURES, ExploreQuery

BAND_PX = 24
MAX_HEIGHT_PX = 960
MAX_COLUMNS = 30
LABEL_LIMIT_PX = 420
NONE = "(none)"
PAIR = "pair"
_AXIS_PADDING_PX = 70  # the other axis, its title and the chart's padding


@dataclass(frozen=True)
class ExploreChart:
    chart: alt.Chart
    categories: dict[str, list[str]]  # axis field -> the labels drawn on it, in order
    height: int  # the chart's own height in pixels
    frame_height: int | None  # a scrolling frame's height, or None: the chart's own

    def to_dict(self) -> dict:
        return self.chart.to_dict()


def _label(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return NONE
    if isinstance(value, float) and value.is_integer():  # 503.0 from a column with gaps
        return str(int(value))
    return str(value)


def _labels(series: pd.Series) -> pd.Series:
    return pd.Series([_label(v) for v in series.astype(object)], index=series.index,
                     dtype=object)


def _order(data: pd.DataFrame, dim: str) -> list[str]:
    values = list(dict.fromkeys(data[dim]))
    if dim == "hour":
        return sorted(values, key=lambda v: (v == NONE, int(v) if v != NONE else 0))
    return values  # the frame's order: largest measure first


def _band_axis(title: str, **extra) -> alt.Axis:
    return alt.Axis(title=title, labelOverlap=False, labelLimit=LABEL_LIMIT_PX, **extra)


def _row_axis(title: str) -> alt.Axis:
    """The category axis along the height: its title level, above its labels (a
    vertical title beside long labels would cross them)."""
    return _band_axis(title, titleAngle=0, titleAlign="right", titleBaseline="bottom",
                      titleX=0, titleY=-6)


def _finish(chart: alt.Chart, categories: dict[str, list[str]], rows: int) -> ExploreChart:
    height = max(160, rows * BAND_PX + _AXIS_PADDING_PX)
    frame = MAX_HEIGHT_PX if height > MAX_HEIGHT_PX else None
    return ExploreChart(chart, categories, height, frame)


def explore_chart(frame: pd.DataFrame, query: ExploreQuery) -> ExploreChart:
    """The chart of one Explore result (``frame`` as ``intel.explore.run_query`` returns
    it, rows largest measure first)."""
    measure = query.measure
    m_title = MEASURES[measure]
    m_format = ".1%" if measure == "failure_ratio" else ",.0f"
    data = frame.copy()
    for dim in query.by:
        data[dim] = _labels(data[dim])
    tooltip = [alt.Tooltip(f"{d}:N", title=DIMENSIONS[d]) for d in query.by]
    tooltip.append(alt.Tooltip(f"{measure}:Q", title=m_title, format=m_format))
    value = alt.X(f"{measure}:Q", title=m_title, axis=alt.Axis(format=m_format))

    if len(query.by) == 1:
        dim = query.by[0]
        order = _order(data, dim)
        if dim == "hour":
            chart = (
                alt.Chart(data).mark_bar()
                .encode(x=alt.X("hour:O", sort=order, axis=_band_axis(DIMENSIONS[dim],
                                                                     labelAngle=0)),
                        y=alt.Y(f"{measure}:Q", title=m_title,
                                axis=alt.Axis(format=m_format)),
                        tooltip=tooltip)
                .properties(height=320)
            )
            return ExploreChart(chart, {"x": order}, 320, None)
        chart = (
            alt.Chart(data).mark_bar()
            .encode(y=alt.Y(f"{dim}:N", sort=order, axis=_row_axis(DIMENSIONS[dim])),
                    x=value, tooltip=tooltip)
            .properties(height=alt.Step(BAND_PX))
        )
        return _finish(chart, {"y": order}, len(order))

    first, second = query.by
    counts = {d: data[d].nunique() for d in query.by}
    if "hour" in query.by:
        x_dim = "hour"
    else:
        x_dim = min(query.by, key=lambda d: (counts[d], query.by.index(d) == 0))
    y_dim = second if x_dim == first else first
    if counts[x_dim] > MAX_COLUMNS:
        data[PAIR] = data[first] + " · " + data[second]
        order = list(dict.fromkeys(data[PAIR]))
        title = f"{DIMENSIONS[first]} · {DIMENSIONS[second]}"
        chart = (
            alt.Chart(data).mark_bar()
            .encode(y=alt.Y(f"{PAIR}:N", sort=order, axis=_row_axis(title)),
                    x=value, tooltip=tooltip)
            .properties(height=alt.Step(BAND_PX))
        )
        return _finish(chart, {"y": order}, len(order))
    x_order = _order(data, x_dim) if x_dim == "hour" else sorted(set(data[x_dim]))
    y_order = _order(data, y_dim)
    long_labels = x_dim != "hour" and (len(x_order) > 8
                                       or max(len(v) for v in x_order) > 12)
    chart = (
        alt.Chart(data).mark_rect()
        .encode(
            x=alt.X(f"{x_dim}:O", sort=x_order,
                    axis=_band_axis(DIMENSIONS[x_dim], labelAngle=-35 if long_labels else 0,
                                    orient="top")),
            y=alt.Y(f"{y_dim}:O", sort=y_order, axis=_row_axis(DIMENSIONS[y_dim])),
            color=alt.Color(f"{measure}:Q", title=m_title, legend=alt.Legend(format=m_format)),
            tooltip=tooltip,
        )
        .properties(height=alt.Step(BAND_PX))
    )
    extra_rows = 6 if long_labels else 0  # room for slanted labels on top
    return _finish(chart, {"x": x_order, "y": y_order}, len(y_order) + extra_rows)


__all__ = ["BAND_PX", "MAX_COLUMNS", "MAX_HEIGHT_PX", "ExploreChart", "explore_chart"]
