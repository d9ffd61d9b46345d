"""Charts: Plotly figures built on the server, embedded as JSON and drawn by ``charts.js``.

Every chart carries a title, a short description for screen readers and its data as a table
(shown under the chart on demand and exportable as CSV), so nothing is only visible as pixels.
Money stays ``Decimal`` up to this module; Plotly needs floats, so values become floats here,
at the drawing boundary, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any, Literal

import plotly.graph_objects as go
import plotly.io as pio
from babel.numbers import get_currency_symbol
from django.conf import settings
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from plotly.io.json import to_json_plotly

from kizuna.web.tables import Table

Axis = Literal["money", "percent", "number", "months"]

# Colour-blind-safe palette (Okabe–Ito), each dark enough to read on white.
COLORS = {
    "new": "#009E73",
    "expansion": "#0072B2",
    "reactivation": "#56B4E9",
    "contraction": "#E69F00",
    "churned": "#D55E00",
    "fx": "#999999",
    "net": "#1d2433",
    "primary": "#1f5fbf",
    "secondary": "#CC79A7",
    "target": "#5b6475",
}
SEQUENCE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
FONT = '"Hiragino Sans", "Noto Sans JP", "Yu Gothic", system-ui, sans-serif'
HEIGHT = 320


@dataclass(frozen=True)
class Series:
    name: str | Promise
    values: Sequence[Decimal | int | float | None]
    color: str = COLORS["primary"]
    kind: Literal["bar", "line"] = "bar"
    dash: str = "solid"
    secondary: bool = False


@dataclass(frozen=True)
class Chart:
    key: str
    title: str | Promise
    description: str | Promise
    figure: SafeString
    table: Table | None = None
    # Charts that link each point to a page say so, so keyboard users find the table links.
    clickable: bool = False
    extra_classes: str = ""
    notes: Sequence[str | Promise] = field(default_factory=tuple)

    @property
    def is_empty(self) -> bool:
        """No data: the page says so instead of drawing empty axes."""
        return self.table is not None and not self.table.rows


def to_float(value: Decimal | int | float | None) -> float | None:
    return None if value is None else float(value)


def currency_symbol() -> str:
    locale = "ja_JP" if (get_language() or "ja").startswith("ja") else "en_US"
    return str(get_currency_symbol(settings.KIZUNA_CURRENCY, locale=locale))


def axis_format(axis: Axis) -> dict[str, Any]:
    if axis == "number":
        # Counts never go below zero; without this an all-zero series shows a −1 tick.
        return {"tickformat": ",~f", "rangemode": "tozero"}
    if axis == "money":
        return {"tickprefix": currency_symbol(), "tickformat": ",.0f", "separatethousands": True}
    if axis == "percent":
        return {"tickformat": ".0%"}
    return {"tickformat": ",.1f"}


def hover_format(axis: Axis, value: str = "y") -> str:
    if axis == "money":
        return f"{currency_symbol()}%{{{value}:,.0f}}"
    if axis == "percent":
        return f"%{{{value}:.1%}}"
    if axis == "months":
        return f"%{{{value}:,.1f}}"
    return f"%{{{value}:,.0f}}"


def house_layout(height: int = HEIGHT, hovermode: str = "x unified") -> dict[str, Any]:
    """Size, margins, font, legend and hover of every chart (the axes come with each chart)."""
    return {
        "height": height,
        "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
        "font": {"family": FONT, "size": 12, "color": "#1d2433"},
        # Above the plot: below it, the legend would cover rotated month labels.
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        "hovermode": hovermode,
        "separators": ".,",
    }


AXIS_STYLE = {"automargin": True}
Y_AXIS_STYLE = {**AXIS_STYLE, "zerolinecolor": "#9aa3b2"}


def base_layout(figure: go.Figure, *, height: int = HEIGHT) -> go.Figure:
    """The house layout on a figure built trace by trace (:func:`figure_of` is faster)."""
    figure.update_layout(**house_layout(height))
    figure.update_xaxes(**AXIS_STYLE)
    figure.update_yaxes(**Y_AXIS_STYLE)
    return figure


def figure_of(
    traces: Sequence[dict[str, Any]],
    layout: dict[str, Any],
    *,
    height: int = HEIGHT,
    hovermode: str = "x unified",
) -> go.Figure:
    """A figure in the house layout, built in one step from plain trace and layout dicts.

    Building in one step keeps Plotly's validation to a single pass (adding traces and
    updating the layout one call at a time costs several times more). The template is left
    empty here; :func:`embed` adds the page style to the finished JSON.
    """
    full: dict[str, Any] = {"template": "none", **house_layout(height, hovermode), **layout}
    full["xaxis"] = {**AXIS_STYLE, **layout.get("xaxis", {})}
    for name in [name for name in full if name.startswith("yaxis")] or ["yaxis"]:
        full[name] = {**Y_AXIS_STYLE, **layout.get(name, {})}
    return go.Figure(data=list(traces), layout=full)


def target_line(label: str | Promise, value: Decimal) -> tuple[dict[str, Any], dict[str, Any]]:
    """A dotted horizontal target line across the plot and its label (shape, annotation)."""
    shape = {
        "type": "line",
        "xref": "x domain",
        "x0": 0,
        "x1": 1,
        "yref": "y",
        "y0": float(value),
        "y1": float(value),
        "line": {"color": COLORS["target"], "dash": "dot", "width": 1},
    }
    annotation = {
        "text": str(label),
        "xref": "x domain",
        "x": 0,
        "xanchor": "left",
        "yref": "y",
        "y": float(value),
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"color": COLORS["target"]},
    }
    return shape, annotation


def series_figure(
    x: Sequence[str],
    series: Sequence[Series],
    *,
    axis: Axis = "money",
    secondary_axis: Axis | None = None,
    barmode: str = "relative",
    targets: Sequence[tuple[str | Promise, Decimal]] = (),
) -> go.Figure:
    """Bars and lines over the same categories (months or quarters)."""
    traces: list[dict[str, Any]] = []
    for item in series:
        on_secondary = item.secondary and secondary_axis is not None
        template = hover_format(secondary_axis if on_secondary and secondary_axis else axis)
        trace: dict[str, Any] = {
            "x": list(x),
            "y": [to_float(value) for value in item.values],
            "name": str(item.name),
            "hovertemplate": f"{template}<extra>{item.name}</extra>",
            "yaxis": "y2" if on_secondary else "y",
        }
        if item.kind == "bar":
            trace.update(type="bar", marker={"color": item.color})
        else:
            trace.update(
                type="scatter",
                mode="lines+markers",
                line={"color": item.color, "width": 2, "dash": item.dash},
                connectgaps=False,
            )
        traces.append(trace)
    lines = [target_line(label, value) for label, value in targets]
    layout: dict[str, Any] = {
        "barmode": barmode,
        "xaxis": {"type": "category"},
        "yaxis": axis_format(axis),
    }
    if lines:
        layout["shapes"] = [shape for shape, _annotation in lines]
        layout["annotations"] = [annotation for _shape, annotation in lines]
    if secondary_axis is not None:
        layout["yaxis2"] = {**axis_format(secondary_axis), "overlaying": "y", "side": "right"}
    return figure_of(traces, layout)


def heatmap_figure(
    x: Sequence[str],
    y: Sequence[str],
    z: Sequence[Sequence[Decimal | None]],
    *,
    x_title: str | Promise,
    y_title: str | Promise,
) -> go.Figure:
    """A retention heat map: rows are cohorts, columns months since start, cells fractions."""
    rows = [[to_float(value) for value in row] for row in z]
    text = [["" if value is None else f"{value:.0%}" for value in row] for row in rows]
    trace = {
        "type": "heatmap",
        "x": list(x),
        "y": list(y),
        "z": rows,
        "text": text,
        "texttemplate": "%{text}",
        "textfont": {"size": 10},
        "colorscale": "Blues",
        "zmin": 0,
        "zmax": 1.2,
        "hovertemplate": f"{y_title} %{{y}} · {x_title} %{{x}}: %{{z:.1%}}<extra></extra>",
        "colorbar": {"tickformat": ".0%"},
        "hoverongaps": False,
    }
    layout = {
        "xaxis": {"title": {"text": str(x_title)}, "type": "category", "side": "top"},
        "yaxis": {"title": {"text": str(y_title)}, "type": "category", "autorange": "reversed"},
    }
    return figure_of([trace], layout, height=max(HEIGHT, 22 * len(y) + 80), hovermode="closest")


def stacked_bars_horizontal(
    labels: Sequence[str], series: Sequence[Series], *, links: Sequence[str] = ()
) -> go.Figure:
    """One bar per row (e.g. customer), split into stacked parts (e.g. products)."""
    traces = [
        {
            "type": "bar",
            "y": list(labels),
            "x": [to_float(value) for value in item.values],
            "name": str(item.name),
            "orientation": "h",
            "marker": {"color": item.color},
            "customdata": list(links) or None,
            "hovertemplate": f"%{{y}} · {item.name}: {hover_format('money', 'x')}<extra></extra>",
        }
        for item in series
    ]
    layout = {
        "barmode": "stack",
        "xaxis": axis_format("money"),
        "yaxis": {"autorange": "reversed", "type": "category"},
    }
    return figure_of(traces, layout, height=max(HEIGHT, 24 * len(labels) + 90), hovermode="closest")


@dataclass(frozen=True)
class Bubble:
    label: str
    x: int
    y: Decimal
    size: int
    group: str
    link: str


def bubble_figure(
    bubbles: Sequence[Bubble],
    *,
    x_title: str | Promise,
    y_title: str | Promise,
    size_title: str | Promise,
    quadrant: tuple[int, Decimal] | None,
    quadrant_label: str | Promise = "",
) -> go.Figure:
    """Impact × risk: one bubble per account, coloured by group, linked to the account."""
    groups = sorted({bubble.group for bubble in bubbles})
    largest = max((bubble.size for bubble in bubbles), default=1) or 1
    traces: list[dict[str, Any]] = []
    for index, group in enumerate(groups):
        members = [bubble for bubble in bubbles if bubble.group == group]
        traces.append(
            {
                "type": "scatter",
                "x": [bubble.x for bubble in members],
                "y": [float(bubble.y) for bubble in members],
                "mode": "markers",
                "name": group or "—",
                "text": [bubble.label for bubble in members],
                "customdata": [[bubble.link, bubble.size] for bubble in members],
                "marker": {
                    "size": [bubble.size for bubble in members],
                    "sizemode": "area",
                    "sizeref": 2.0 * largest / (28.0**2),
                    "sizemin": 5,
                    "color": SEQUENCE[index % len(SEQUENCE)],
                    "line": {"width": 1, "color": "#ffffff"},
                    "opacity": 0.85,
                },
                "hovertemplate": (
                    f"<b>%{{text}}</b><br>{y_title}: {hover_format('money')}"
                    f"<br>{x_title}: %{{x:,.0f}}<br>{size_title}: %{{customdata[1]}}"
                    "<extra>%{fullData.name}</extra>"
                ),
            }
        )
    layout: dict[str, Any] = {
        "xaxis": {"title": {"text": str(x_title)}, "rangemode": "tozero", "tickformat": ",.0f"},
        "yaxis": {"title": {"text": str(y_title)}, "rangemode": "tozero", **axis_format("money")},
    }
    if quadrant is not None:
        x0, y0 = quadrant
        top = float(max([y0 * 2, *(bubble.y for bubble in bubbles)]))
        layout["shapes"] = [
            {
                "type": "rect",
                "xref": "x",
                "yref": "y",
                "x0": x0,
                "y0": float(y0),
                "x1": max([x0 * 2, *(bubble.x for bubble in bubbles)]) * 1.05 + 1,
                "y1": top * 1.05 + 1,
                "fillcolor": "rgba(213, 94, 0, 0.10)",
                "line": {"color": "rgba(213, 94, 0, 0.6)", "dash": "dot"},
                "layer": "below",
            }
        ]
        layout["annotations"] = [
            {
                "x": x0,
                "y": top,
                "xanchor": "left",
                "yanchor": "top",
                "text": str(quadrant_label),
                "showarrow": False,
                "font": {"color": COLORS["churned"]},
            }
        ]
    return figure_of(traces, layout, height=440, hovermode="closest")


@cache
def page_style() -> dict[str, Any]:
    """Plotly's light theme, the style of every chart, converted once per process.

    Naming the template on each figure would copy it through Plotly's validators every time,
    which costs more than building the rest of the chart; added to the finished JSON, it gives
    the same figure.
    """
    style: dict[str, Any] = pio.templates["plotly_white"].to_plotly_json()
    return style


def embed(
    key: str,
    title: str | Promise,
    description: str | Promise,
    figure: go.Figure,
    table: Table | None = None,
    *,
    clickable: bool = False,
    notes: Sequence[str | Promise] = (),
) -> Chart:
    """The figure, in the page style, as JSON that is safe inside a
    ``<script type="application/json">``."""
    content = figure.to_plotly_json()
    content["layout"]["template"] = page_style()
    payload = (
        to_json_plotly(content, engine="json")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    return Chart(
        key=key,
        title=title,
        description=description,
        figure=mark_safe(payload),
        table=table,
        clickable=clickable,
        notes=tuple(notes),
    )
