"""Everything the Account 360 page shows about one account (SPEC D5), read in a fixed number
of queries: MRR history with each movement explained, products, health, people and timeline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from kizuna.billing.models import CustomerMrr, ProductMrr, SubscriptionItem
from kizuna.crm.models import Account
from kizuna.health.models import HealthOverride, HealthScore, HealthStatus
from kizuna.health.overrides import ShownHealth, shown_health
from kizuna.playbooks.labels import level_label, signal_label
from kizuna.playbooks.models import Alert
from kizuna.usage.models import NpsResponse, Ticket
from kizuna.web import formatting
from kizuna.web.charts import COLORS, SEQUENCE, Chart, Series, embed, series_figure
from kizuna.web.tables import Column, Table

# The timeline shows the latest events of each kind; older ones are in the admin and exports.
TIMELINE_PER_KIND = 50
TIMELINE_LENGTH = 80
# Health history on the page: half a year shows the trend before a renewal conversation.
HEALTH_HISTORY_DAYS = 180
# "Why it changed" compares today's components with those this many days earlier.
HEALTH_CHANGE_DAYS = 30
# A history shorter than this is drawn over this many days, so its ticks are whole days.
SHORT_HISTORY = timedelta(days=14)


def movement_labels() -> dict[str, str]:
    return {
        "new": _("New"),
        "expansion": _("Expansion"),
        "contraction": _("Contraction"),
        "churned": _("Churned"),
        "reactivation": _("Reactivation"),
        "none": _("No change"),
        "": _("No change"),
    }


@dataclass(frozen=True)
class Movement:
    month: date
    movement: str
    label: str
    delta: Decimal
    before: Decimal
    after: Decimal
    fx: Decimal
    explanation: str


def explain(
    row: CustomerMrr, before: Decimal, products: Sequence[ProductMrr], labels: dict[str, str]
) -> str:
    """One sentence per movement: what changed, from what to what, and in which products."""
    values = {
        "delta": formatting.money(abs(row.delta)),
        "before": formatting.money(before),
        "after": formatting.money(row.mrr),
    }
    if row.movement == "new":
        text = _("First paying month: MRR starts at %(after)s.") % values
    elif row.movement == "reactivation":
        text = _("Paying again after a gap: MRR returns at %(after)s.") % values
    elif row.movement == "churned":
        text = _("Stopped paying: %(delta)s of MRR lost (was %(before)s).") % values
    elif row.movement == "expansion":
        text = _("MRR grew by %(delta)s, from %(before)s to %(after)s.") % values
    elif row.movement == "contraction":
        text = _("MRR fell by %(delta)s, from %(before)s to %(after)s.") % values
    elif row.mrr != before:
        # Nothing bought or cancelled, but a foreign-currency MRR moved with the rates.
        text = _("No movement: MRR went from %(before)s to %(after)s.") % values
    else:
        text = _("MRR unchanged at %(after)s.") % values
    parts = [
        _("%(product)s %(delta)s (%(movement)s)")
        % {
            "product": product.product,
            "delta": ("+" if product.delta > 0 else "−") + formatting.money(abs(product.delta)),
            "movement": labels.get(product.movement, product.movement),
        }
        for product in products
        if product.delta
    ]
    if parts:
        text += " " + _("By product: %(parts)s.") % {"parts": "; ".join(parts)}
    if row.fx:
        text += " " + _("Exchange rates changed MRR by %(fx)s.") % {
            "fx": ("+" if row.fx > 0 else "−") + formatting.money(abs(row.fx))
        }
    return text


@dataclass(frozen=True)
class Revenue:
    chart: Chart | None
    movements: Table
    products: Table
    items: Table
    current_mrr: Decimal | None


def revenue(account: Account) -> Revenue:
    months = list(CustomerMrr.objects.filter(account=account).order_by("month"))
    product_rows = list(ProductMrr.objects.filter(account=account).order_by("month", "product"))
    by_month: dict[date, list[ProductMrr]] = defaultdict(list)
    for product_row in product_rows:
        by_month[product_row.month].append(product_row)
    labels = movement_labels()
    movements: list[Movement] = []
    previous = Decimal(0)
    for row in months:
        if row.movement not in ("", "none") or row.fx:
            movements.append(
                Movement(
                    month=row.month,
                    movement=row.movement,
                    label=labels.get(row.movement, row.movement),
                    delta=row.delta,
                    before=previous,
                    after=row.mrr,
                    fx=row.fx,
                    explanation=explain(row, previous, by_month[row.month], labels),
                )
            )
        previous = row.mrr
    movement_table = Table(
        key="movements",
        title=_("MRR movements"),
        columns=[
            Column("month", _("Month"), nowrap=True),
            Column("label", _("Movement"), nowrap=True),
            Column("delta", _("Change"), "money"),
            Column("before", _("MRR before"), "money"),
            Column("after", _("MRR after"), "money"),
            Column("explanation", _("Explanation")),
        ],
        rows=[
            {**movement.__dict__, "month": movement.month.strftime("%Y-%m")}
            for movement in reversed(movements)
        ],
        empty=_("No MRR movements yet."),
    )
    latest = months[-1] if months else None
    current_products = [row for row in by_month.get(latest.month, [])] if latest else []
    products_table = Table(
        key="products",
        title=_("Products"),
        columns=[Column("product", _("Product")), Column("mrr", _("MRR"), "money")],
        rows=[{"product": row.product, "mrr": row.mrr} for row in current_products if row.mrr > 0],
        empty=_("No paid products."),
    )
    items = SubscriptionItem.objects.filter(subscription__account=account).select_related(
        "product", "plan"
    )
    items_table = Table(
        key="items",
        title=_("Subscription items"),
        columns=[
            Column("product", _("Product")),
            Column("plan", _("Plan")),
            Column("quantity", _("Quantity"), "number"),
            Column("unit_price", _("Unit price"), "money"),
            Column("interval", _("Interval")),
            Column("currency", _("Currency")),
            Column("start_date", _("Start"), "date"),
            Column("end_date", _("End"), "date"),
        ],
        rows=[
            {
                "product": item.product.name,
                "plan": item.plan.name if item.plan else "",
                "quantity": item.quantity,
                "unit_price": item.unit_price,
                "interval": item.get_interval_display(),
                "currency": item.currency,
                "start_date": item.start_date,
                "end_date": item.end_date,
            }
            for item in items.order_by("-start_date", "pk")
        ],
        empty=_("No subscriptions."),
    )
    return Revenue(
        chart=mrr_chart(months, product_rows) if months else None,
        movements=movement_table,
        products=products_table,
        items=items_table,
        current_mrr=latest.mrr if latest else None,
    )


def mrr_chart(months: Sequence[CustomerMrr], product_rows: Sequence[ProductMrr]) -> Chart:
    x = [row.month.strftime("%Y-%m") for row in months]
    position = {row.month: index for index, row in enumerate(months)}
    products = sorted({row.product for row in product_rows})
    per_product: dict[str, list[Decimal | None]] = {name: [None] * len(x) for name in products}
    for row in product_rows:
        if row.month in position:
            per_product[row.product][position[row.month]] = row.mrr
    series = [
        Series(name, per_product[name], SEQUENCE[index % len(SEQUENCE)])
        for index, name in enumerate(products)
    ]
    series.append(Series(_("MRR"), [row.mrr for row in months], COLORS["net"], "line"))
    table = Table(
        key="mrr_history",
        title=_("MRR history"),
        columns=[
            Column("month", _("Month")),
            Column("mrr", _("MRR"), "money"),
            Column("movement", _("Movement")),
            Column("delta", _("Change"), "money"),
        ],
        rows=[
            {
                "month": row.month.strftime("%Y-%m"),
                "mrr": row.mrr,
                "movement": movement_labels().get(row.movement, row.movement),
                "delta": row.delta,
            }
            for row in months
        ],
    )
    return embed(
        "chart-account-mrr",
        _("MRR history"),
        _("Month-end MRR per product (stacked bars) and in total (line)."),
        series_figure(x, series),
        table,
    )


@dataclass(frozen=True)
class Health:
    shown: ShownHealth
    latest: HealthScore
    components: Table
    changes: Table
    chart: Chart

    @property
    def status_label(self) -> str:
        return status_labels().get(self.shown.status, self.shown.status)

    @property
    def computed_status_label(self) -> str:
        return status_labels().get(self.shown.computed_status, self.shown.computed_status)


def status_labels() -> dict[str, str]:
    return {value: str(label) for value, label in HealthStatus.choices}


def health(account: Account, today: date) -> Health | None:
    since = today.toordinal() - HEALTH_HISTORY_DAYS
    history = list(
        HealthScore.objects.filter(account=account, date__gte=date.fromordinal(since))
        .only("date", "score", "status", "components")
        .order_by("date", "scorecard_id")
    )
    if not history:
        return None
    latest = history[-1]
    overrides = [
        override.facts()
        for override in HealthOverride.objects.filter(account=account).select_related("author")
    ]
    shown = shown_health(
        None if latest.score is None else float(latest.score), latest.status, overrides, today
    )
    components = Table(
        key="health_components",
        title=_("Health components"),
        columns=[
            Column("name", _("Component")),
            Column("value", _("Measure")),
            Column("points", _("Points"), "number"),
            Column("weight", _("Weight"), "number"),
            Column("state", _("Data")),
        ],
        rows=[
            {
                "name": component.get("name", ""),
                "value": component.get("value"),
                "points": component.get("points"),
                "weight": component.get("weight"),
                "state": _("missing") if component.get("missing") else "",
            }
            for component in latest.components
        ],
    )
    cutoff = date.fromordinal(latest.date.toordinal() - HEALTH_CHANGE_DAYS)
    earlier = next((row for row in reversed(history) if row.date <= cutoff), history[0])
    before = {item.get("name"): item.get("points") for item in earlier.components}
    changes = Table(
        key="health_changes",
        title=_("Why the score changed"),
        columns=[
            Column("name", _("Component")),
            Column("before", _("Points before"), "number"),
            Column("after", _("Points now"), "number"),
            Column("delta", _("Change"), "number"),
        ],
        rows=[
            {
                "name": component.get("name"),
                "before": before.get(component.get("name")),
                "after": component.get("points"),
                "delta": Decimal(str(component["points"]))
                - Decimal(str(before[component.get("name")])),
            }
            for component in latest.components
            if component.get("points") is not None
            and before.get(component.get("name")) is not None
            and component.get("points") != before.get(component.get("name"))
        ],
        caption_extra=_("since %(date)s") % {"date": earlier.date.isoformat()},
        empty=_("No component changed."),
    )
    x = [row.date.isoformat() for row in history]
    figure = series_figure(
        x,
        [Series(_("Health score"), [row.score for row in history], COLORS["primary"], "line")],
        axis="number",
    )
    first, last = history[0].date, history[-1].date
    if last - first < SHORT_HISTORY:
        # Left to itself Plotly zooms a few days' points down to sub-second ticks.
        first, last = first - SHORT_HISTORY / 2, last + SHORT_HISTORY / 2
    figure.update_xaxes(
        type="date", tickformat="%Y-%m-%d", range=[first.isoformat(), last.isoformat()]
    )
    figure.update_yaxes(range=[0, 100])
    chart = embed(
        "chart-account-health",
        _("Health score history"),
        _("Daily health score over the last six months."),
        figure,
    )
    return Health(shown=shown, latest=latest, components=components, changes=changes, chart=chart)


@dataclass(frozen=True)
class Event:
    when: datetime
    kind: str
    title: str
    detail: str
    # Deals, NPS answers and tickets carry a day, not a time of day.
    all_day: bool = False


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def timeline(account: Account, context: dict[str, Any]) -> list[Event]:
    """Activities, deals, tickets, NPS answers and tasks, newest first."""
    events: list[Event] = []
    for activity in context["activities"]:
        events.append(
            Event(
                activity.occurred_at,
                activity.get_type_display(),
                activity.subject,
                activity.body[:200],
            )
        )
    for deal in context["deals"]:
        events.append(
            Event(
                _at(deal.created_on),
                _("Deal opened"),
                deal.title,
                f"{deal.pipeline.name} · {formatting.money(deal.amount_mrr)}",
                all_day=True,
            )
        )
        if deal.closed_on:
            events.append(
                Event(
                    _at(deal.closed_on),
                    _("Deal closed"),
                    deal.title,
                    f"{deal.get_status_display()} · {deal.stage.name}",
                    all_day=True,
                )
            )
    tickets = Ticket.objects.filter(account=account).order_by("-opened_at")[:TIMELINE_PER_KIND]
    for ticket in tickets:
        events.append(
            Event(
                ticket.opened_at,
                _("Support ticket"),
                ticket.subject or ticket.get_type_display(),
                f"{ticket.get_type_display()} · {ticket.get_severity_display()}",
            )
        )
    answers = NpsResponse.objects.filter(account=account).order_by("-responded_on")
    for answer in answers[:TIMELINE_PER_KIND]:
        events.append(
            Event(
                _at(answer.responded_on),
                _("NPS answer"),
                _("Score %(score)s") % {"score": answer.score},
                answer.comment[:200],
                all_day=True,
            )
        )
    for row in context["alerts"].rows:
        events.append(
            Event(
                _at(row["occurred_on"]),
                _("Alert"),
                row["signal"],
                f"{row['rule']} · {row['status']}",
                all_day=True,
            )
        )
    for task in context["tasks"]:
        events.append(
            Event(
                task.created_at,
                _("Task"),
                task.title,
                f"{task.get_status_display()}"
                + (f" · {_('due')} {task.due_on.isoformat()}" if task.due_on else ""),
            )
        )
    events.sort(key=lambda event: event.when, reverse=True)
    return events[:TIMELINE_LENGTH]


def alerts(account: Account) -> Table:
    """The playbook alerts raised for the account (signals that fired), newest first."""
    rows = [
        {
            "occurred_on": alert.occurred_on,
            "signal": signal_label(alert.signal),
            "rule": alert.rule.name,
            "level": level_label(alert.level),
            "status": alert.get_status_display(),
            "owner": alert.owner.get_username() if alert.owner else "",
        }
        for alert in Alert.objects.filter(account=account)
        .select_related("rule", "owner")
        .order_by("-occurred_on", "-pk")[:TIMELINE_PER_KIND]
    ]
    return Table(
        key="alerts",
        title=_("Signals and alerts"),
        columns=[
            Column("occurred_on", _("Date"), "date"),
            Column("signal", _("Signal")),
            Column("rule", _("Rule")),
            Column("level", _("Level")),
            Column("status", _("Status")),
            Column("owner", _("Owner")),
        ],
        rows=rows,
        empty=_("No signal has fired for this account."),
    )
