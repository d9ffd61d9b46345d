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
from typing import Any, Literal

import plotly.graph_objects as go
from babel.numbers import get_currency_symbol
from django.conf import settings
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

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


def base_layout(figure: go.Figure, *, height: int = HEIGHT) -> go.Figure:
    figure.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
        font={"family": FONT, "size": 12, "color": "#1d2433"},
        legend={"orientation": "h", "y": -0.15, "x": 0},
        hovermode="x unified",
        separators=".,",
    )
    figure.update_xaxes(automargin=True)
    figure.update_yaxes(automargin=True, zerolinecolor="#9aa3b2")
    return figure


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
    figure = go.Figure()
    for item in series:
        y = [to_float(value) for value in item.values]
        on_secondary = item.secondary and secondary_axis is not None
        template = hover_format(secondary_axis if on_secondary and secondary_axis else axis)
        common: dict[str, Any] = {
            "x": list(x),
            "y": y,
            "name": str(item.name),
            "hovertemplate": f"{template}<extra>{item.name}</extra>",
            "yaxis": "y2" if on_secondary else "y",
        }
        if item.kind == "bar":
            figure.add_trace(go.Bar(marker_color=item.color, **common))
        else:
            figure.add_trace(
                go.Scatter(
                    mode="lines+markers",
                    line={"color": item.color, "width": 2, "dash": item.dash},
                    connectgaps=False,
                    **common,
                )
            )
    for label, value in targets:
        figure.add_hline(
            y=float(value),
            line={"color": COLORS["target"], "dash": "dot", "width": 1},
            annotation_text=str(label),
            annotation_position="top left",
            annotation_font={"color": COLORS["target"]},
        )
    figure.update_layout(barmode=barmode, yaxis=axis_format(axis))
    if secondary_axis is not None:
        figure.update_layout(
            yaxis2={**axis_format(secondary_axis), "overlaying": "y", "side": "right"}
        )
    figure.update_xaxes(type="category")
    return base_layout(figure)


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
    figure = go.Figure(
        go.Heatmap(
            x=list(x),
            y=list(y),
            z=rows,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 10},
            colorscale="Blues",
            zmin=0,
            zmax=1.2,
            hovertemplate=f"{y_title} %{{y}} · {x_title} %{{x}}: %{{z:.1%}}<extra></extra>",
            colorbar={"tickformat": ".0%"},
            hoverongaps=False,
        )
    )
    figure.update_xaxes(title_text=str(x_title), type="category", side="top")
    figure.update_yaxes(title_text=str(y_title), type="category", autorange="reversed")
    base_layout(figure, height=max(HEIGHT, 22 * len(y) + 80))
    figure.update_layout(hovermode="closest")
    return figure


def stacked_bars_horizontal(
    labels: Sequence[str], series: Sequence[Series], *, links: Sequence[str] = ()
) -> go.Figure:
    """One bar per row (e.g. customer), split into stacked parts (e.g. products)."""
    figure = go.Figure()
    for item in series:
        figure.add_trace(
            go.Bar(
                y=list(labels),
                x=[to_float(value) for value in item.values],
                name=str(item.name),
                orientation="h",
                marker_color=item.color,
                customdata=list(links) or None,
                hovertemplate=f"%{{y}} · {item.name}: {hover_format('money', 'x')}<extra></extra>",
            )
        )
    figure.update_layout(barmode="stack", xaxis=axis_format("money"))
    figure.update_yaxes(autorange="reversed", type="category")
    base_layout(figure, height=max(HEIGHT, 24 * len(labels) + 90))
    figure.update_layout(hovermode="closest")
    return figure


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
    figure = go.Figure()
    groups = sorted({bubble.group for bubble in bubbles})
    largest = max((bubble.size for bubble in bubbles), default=1) or 1
    for index, group in enumerate(groups):
        members = [bubble for bubble in bubbles if bubble.group == group]
        figure.add_trace(
            go.Scatter(
                x=[bubble.x for bubble in members],
                y=[float(bubble.y) for bubble in members],
                mode="markers",
                name=group or "—",
                text=[bubble.label for bubble in members],
                customdata=[[bubble.link, bubble.size] for bubble in members],
                marker={
                    "size": [bubble.size for bubble in members],
                    "sizemode": "area",
                    "sizeref": 2.0 * largest / (28.0**2),
                    "sizemin": 5,
                    "color": SEQUENCE[index % len(SEQUENCE)],
                    "line": {"width": 1, "color": "#ffffff"},
                    "opacity": 0.85,
                },
                hovertemplate=(
                    f"<b>%{{text}}</b><br>{y_title}: {hover_format('money')}"
                    f"<br>{x_title}: %{{x:,.0f}}<br>{size_title}: %{{customdata[1]}}"
                    "<extra>%{fullData.name}</extra>"
                ),
            )
        )
    if quadrant is not None:
        x0, y0 = quadrant
        figure.add_shape(
            type="rect",
            xref="x",
            yref="y",
            x0=x0,
            y0=float(y0),
            x1=max([x0 * 2, *(bubble.x for bubble in bubbles)]) * 1.05 + 1,
            y1=float(max([y0 * 2, *(bubble.y for bubble in bubbles)])) * 1.05 + 1,
            fillcolor="rgba(213, 94, 0, 0.10)",
            line={"color": "rgba(213, 94, 0, 0.6)", "dash": "dot"},
            layer="below",
        )
        figure.add_annotation(
            x=x0,
            y=float(max([y0 * 2, *(bubble.y for bubble in bubbles)])),
            xanchor="left",
            yanchor="top",
            text=str(quadrant_label),
            showarrow=False,
            font={"color": COLORS["churned"]},
        )
    figure.update_xaxes(title_text=str(x_title), rangemode="tozero", tickformat=",.0f")
    figure.update_yaxes(title_text=str(y_title), rangemode="tozero", **axis_format("money"))
    base_layout(figure, height=440)
    figure.update_layout(hovermode="closest")
    return figure


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
    """The figure as JSON that is safe inside a ``<script type="application/json">``."""
    payload = (
        figure.to_json(engine="json")
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
