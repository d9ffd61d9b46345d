"""What the sales dashboard's sections share: the URL's filters, the names of pipelines and
stages, exact sums of stored rows, and the shapes of its charts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
from babel.numbers import get_currency_symbol
from django.utils.translation import get_language

from kizuna.pipeline.forecast_results import Row, money
from kizuna.pipeline.models import Pipeline, Stage
from kizuna.web.charts import (
    HEIGHT,
    Axis,
    Series,
    axis_format,
    base_layout,
    currency_symbol,
    hover_format,
    to_float,
)
from kizuna.web.filters import MonthRange, add_months, parse_month


@dataclass(frozen=True)
class SalesFilters:
    """The URL's filters: pipeline key, owner user name, currency and close months."""

    pipeline: str
    owner: str
    currency: str
    period: MonthRange

    def keeps(self, row: Row, *, month: str = "", owner: bool = False) -> bool:
        """Whether ``row`` passes the filters that apply to it (``month``: its month key)."""
        if self.pipeline and row.get("pipeline") not in (None, self.pipeline):
            return False
        if "currency" in row and row["currency"] != self.currency:
            return False
        if owner and self.owner and (row.get("owner") or "") != self.owner:
            return False
        return not month or _in_period(row.get(month), self.period)


def _in_period(day: Any, period: MonthRange) -> bool:
    first = parse_month(str(day)) if day else None
    if first is None:
        return period.start is None and period.end is None
    if period.start is not None and first < period.start:
        return False
    return period.end is None or first < add_months(period.end, 1)


@dataclass(frozen=True)
class Names:
    """Display names of the pipelines and stages the results name by key."""

    pipelines: dict[str, str]
    stages: dict[tuple[str, str], str]

    def pipeline(self, key: str) -> str:
        return self.pipelines.get(key, key)

    def stage(self, row: Row, several: bool) -> str:
        name = self.stages.get((row["pipeline"], row["stage"])) or str(row["stage"])
        return f"{self.pipeline(row['pipeline'])} · {name}" if several else name


def pipeline_names() -> Names:
    return Names(
        pipelines=dict(Pipeline.objects.order_by("order", "pk").values_list("key", "name")),
        stages={
            (pipeline, key): name
            for pipeline, key, name in Stage.objects.values_list("pipeline__key", "key", "name")
        },
    )


def ratio(numerator: int, denominator: int) -> Decimal | None:
    return Decimal(numerator) / Decimal(denominator) if denominator else None


def sum_by(
    rows: Iterable[Row],
    group: Callable[[Row], tuple[Any, ...]],
    money_keys: Sequence[str],
    count_keys: Sequence[str],
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Rows added up per ``group``: exact sums of money strings and of counts, first-seen order."""
    totals: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        total = totals.setdefault(
            group(row),
            {**{key: Decimal(0) for key in money_keys}, **{key: 0 for key in count_keys}},
        )
        for key in money_keys:
            total[key] += money(row.get(key))
        for key in count_keys:
            total[key] += int(row.get(key) or 0)
    return totals


def priced(figure: go.Figure, currency: str, axis: str = "yaxis") -> go.Figure:
    """A money chart in ``currency``: the shared figure builders label the reporting currency."""
    reporting = currency_symbol()
    locale = "ja_JP" if (get_language() or "ja").startswith("ja") else "en_US"
    symbol = str(get_currency_symbol(currency, locale=locale))
    if symbol != reporting:
        figure.update_layout({axis: {"tickprefix": symbol}})
        figure.for_each_trace(
            lambda trace: trace.update(hovertemplate=trace.hovertemplate.replace(reporting, symbol))
        )
    return figure


def whole_ticks(figure: go.Figure, counts: Sequence[int], axis: str = "yaxis") -> go.Figure:
    """Counts on ``axis`` get whole-number ticks (Plotly would mark 0.2, 0.4, … of a deal)."""
    step = max(1, -(-max(counts, default=0) // 5))
    figure.update_layout({axis: {"dtick": step, "tick0": 0}})
    return figure


def bars_across(labels: Sequence[str], series: Sequence[Series], axis: Axis) -> go.Figure:
    """Grouped horizontal bars, one row per label: "pipeline · stage" labels stay readable
    however many stages there are, where tilted column labels would not."""
    figure = go.Figure()
    for item in series:
        figure.add_trace(
            go.Bar(
                y=list(labels),
                x=[to_float(value) for value in item.values],
                name=str(item.name),
                orientation="h",
                marker_color=item.color,
                hovertemplate=f"%{{y}} · {item.name}: {hover_format(axis, 'x')}<extra></extra>",
            )
        )
    figure.update_layout(barmode="group", xaxis=axis_format(axis))
    figure.update_yaxes(autorange="reversed", type="category")
    base_layout(figure, height=max(HEIGHT, 14 * len(labels) * len(series) + 90))
    figure.update_layout(hovermode="closest")
    return figure
