"""Account lifecycle simulation, month by month, driven by a latent health.

Each account has a latent health (0–1) that mean-reverts to a level set by its product fit,
with noise and occasional dips (a reorganisation, a champion on leave) that it recovers from.
Health drives everything else: low health raises the churn hazard, and the months before a
churn decline further (usage falls, contacts leave, tickets spike — see
:mod:`kizuna.demo.behaviour`), while healthy teams grow into their seats, which leads to seat
purchases, upgrades and add-ons. The outcome is decided here; behaviour is then drawn from
the health and lead arrays, so every outcome is foreshadowed the way it is in real life.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from decimal import Decimal

from kizuna.core.money import round_money
from kizuna.demo import company
from kizuna.demo.new_business import first_sale
from kizuna.demo.profiles import Arrival, draw_profile
from kizuna.demo.records import Change, Churn, Item, Service, SimulatedAccount, Term
from kizuna.demo.timeline import Timeline, add_months

# Monthly churn hazard as a function of health: a floor of 0.3 % (churn nobody could
# prevent) plus up to 12 % for an unhealthy account, centred at health 0.42.
CHURN_FLOOR = 0.003
CHURN_CEILING = 0.12
CHURN_MIDPOINT = 0.42
CHURN_STEEPNESS = 0.06
# Sudden churn (acquired, closed down) that behaviour does not announce: ~2 % a year.
SUDDEN_CHURN_MONTHLY = 0.0015
# Health multipliers over the last four months before a foreshadowed churn (oldest first).
PRE_CHURN_DECLINE = (0.88, 0.74, 0.6, 0.5)
CHURN_REASONS = (("cost", 0.35), ("missing_features", 0.25), ("support", 0.2), ("other", 0.2))
# Seat utilisation above which a team is short of seats (SPEC S10 uses 90 %).
SEAT_PRESSURE = 0.92
# Utilisation below which a customer reduces seats when it can.
SEAT_SLACK = 0.65
# Chance per month of winning back a churned customer (SPEC C9), for two years after churn.
REACTIVATION_MONTHLY = 0.01
REACTIVATION_WINDOW_MONTHS = 24
ONBOARDING_SHARE = {"small": 0.15, "mid": 0.45, "enterprise": 0.8}
CONSULTING_MONTHLY = 0.006
LATE_PAYER_SHARE = 0.05


def item_mrr(item: Item) -> Decimal:
    """Monthly-normalised recurring revenue of one line (annual ÷ 12), net of discount."""
    if not item.recurring:
        return Decimal(0)
    amount = item.unit_price * item.quantity * (100 - item.discount_percent) / 100
    return amount / 12 if item.interval == "year" else amount


class _Lifecycle:
    def __init__(self, account: SimulatedAccount, rng: random.Random, timeline: Timeline):
        self.account = account
        self.rng = rng
        self.timeline = timeline
        self.health = 0.0
        self.target = min(0.92, max(0.25, 0.66 + 0.12 * account.quality))
        self.demand = 1.0
        self.base: Item | None = None
        self.addons: dict[str, Item] = {}
        self.subscriptions = 0
        self.interval = "month"
        self.term_end: date | None = None
        self.pressure_months = 0
        self.departments = 1.0
        self.api_multiplier = 1.0
        self.churned_month: int | None = None
        self.trial_lapsed = False

    # --- contract changes -----------------------------------------------------------------

    @property
    def currency(self) -> str:
        return self.account.currency

    def open_subscription(self, start: date, plan: str, seats: int, trial_end: date | None) -> None:
        self.subscriptions += 1
        subscription_id = f"{self.account.customer_id}-S{self.subscriptions}"
        discount = Decimal(0)
        if self.interval == "year" and self.account.segment == "enterprise":
            discount = Decimal(self.rng.choice((0, 0, 5, 10, 15)))
        self.base = self.new_item(subscription_id, company.BASE_PRODUCT, plan, seats, start)
        self.base.discount_percent = discount
        self.base.trial_end = trial_end
        paid_from = trial_end or start
        self.term_end = add_months(paid_from, 12) if self.interval == "year" else None

    def new_item(
        self, subscription_id: str, product: str, plan: str, quantity: int, start: date
    ) -> Item:
        if plan:
            price = company.seat_price(self.currency, plan, self.interval)
        elif product in company.ADDON_PRICE_MONTHLY[self.currency]:
            price = company.addon_price(self.currency, product, self.interval)
        else:
            price = company.SERVICE_PRICE[self.currency][product]
        item = Item(
            item_id=f"{subscription_id}-I{len(self.account.items) + 1}",
            subscription_id=subscription_id,
            product=product,
            plan=plan,
            quantity=quantity,
            unit_price=price,
            currency=self.currency,
            interval=self.interval,
            discount_percent=Decimal(0),
            start=start,
        )
        self.account.items.append(item)
        return item

    def change_base(self, on: date, kind: str, plan: str, seats: int) -> None:
        assert self.base is not None
        before = item_mrr(self.base)
        self.base.end = on
        replacement = self.new_item(
            self.base.subscription_id, company.BASE_PRODUCT, plan, seats, on
        )
        replacement.discount_percent = self.base.discount_percent
        self.base = replacement
        delta = item_mrr(replacement) - before
        self.account.changes.append(Change(on, kind, delta, company.BASE_PRODUCT, plan))

    def add_addon(self, on: date, addon: str) -> None:
        assert self.base is not None
        item = self.new_item(self.base.subscription_id, addon, "", 1, on)
        self.addons[addon] = item
        self.account.changes.append(Change(on, "addon", item_mrr(item), addon, ""))

    def add_service(self, on: date, product: str) -> None:
        assert self.base is not None
        price = company.SERVICE_PRICE[self.currency][product]
        item = self.new_item(self.base.subscription_id, product, "", 1, on)
        item.unit_price = price
        item.recurring = False
        item.end = on + timedelta(days=30)
        self.account.services.append(Service(on, product, price))

    def end_everything(self, on: date, canceled_at: date) -> None:
        for item in self.account.items:
            if item.recurring and (item.end is None or item.end > on):
                item.end = on
                item.canceled_at = canceled_at
        self.base = None
        self.addons = {}
        self.term_end = None

    # --- the monthly simulation -----------------------------------------------------------

    def record(self, month: int) -> None:
        if 0 <= month < self.timeline.months:
            self.account.health[month] = self.health
            self.account.demand_seats[month] = self.demand
            self.account.departments[month] = self.departments
            self.account.api_growth[month] = self.api_multiplier

    def mark_lead(self, month: int, span: int = 2) -> None:
        for lead in range(max(0, month - span), min(month + 1, self.timeline.months)):
            self.account.expansion_lead[lead] = True

    def step_health(self) -> None:
        self.health += 0.25 * (self.target - self.health) + self.rng.gauss(0, 0.045)
        if self.rng.random() < 0.02:
            self.health -= self.rng.uniform(0.12, 0.28)
        self.health = min(0.99, max(0.02, self.health))
        seats = self.base.quantity if self.base else 1
        growth = 0.035 * (self.health - 0.5) + self.rng.gauss(0, 0.025)
        self.demand = max(1.0, self.demand * math.exp(growth))
        if self.demand < 0.85 * seats:
            self.demand += (0.85 * seats - self.demand) * 0.25 * self.health
        if self.health > 0.7 and self.rng.random() < 0.03:
            self.departments += 1
            self.demand *= 1.25

    def run(self, start_month: int) -> None:
        for month in range(start_month, self.timeline.months):
            if self.timeline.month_start(month) > self.timeline.as_of:
                break
            if self.base is None:
                self.maybe_reactivate(month)
                continue
            self.step_health()
            self.record(month)
            day = self.timeline.day_in_month(month, self.rng.randrange(28))
            if day <= (self.base.trial_end or self.base.start):
                continue
            if self.churn_or_renew(month):
                continue
            self.expand_or_contract(month, day)

    def churn_or_renew(self, month: int) -> bool:
        """Decide churn (monthly: any month; annual: at term end). True when it churns."""
        probability = CHURN_FLOOR + CHURN_CEILING / (
            1 + math.exp((self.health - CHURN_MIDPOINT) / CHURN_STEEPNESS)
        )
        sudden_probability = SUDDEN_CHURN_MONTHLY
        if self.term_end is not None:
            if self.term_end > self.timeline.month_end(month):
                return False
            # One decision per annual term, weighted like half a year of monthly decisions.
            probability = 1 - (1 - probability) ** 6
            sudden_probability *= 12
            on = self.term_end
            notice = self.rng.randrange(30, 61)
        else:
            on = self.timeline.month_start(month + 1)
            notice = self.rng.randrange(3, 25)
        sudden = self.rng.random() < sudden_probability
        if sudden or self.rng.random() < probability:
            self.churn(month, on, on - timedelta(days=notice), sudden)
            return True
        if self.term_end is not None and self.term_end <= self.timeline.as_of:
            self.renew(month)
        return False

    def churn(self, month: int, on: date, canceled_at: date, sudden: bool) -> None:
        reason = (
            "business_change"
            if sudden
            else self.rng.choices(
                [name for name, _ in CHURN_REASONS], weights=[w for _, w in CHURN_REASONS]
            )[0]
        )
        if not sudden:
            for back, factor in enumerate(reversed(PRE_CHURN_DECLINE)):
                past = month - back
                if 0 <= past < self.timeline.months:
                    self.account.health[past] *= factor
                    self.account.demand_seats[past] *= math.sqrt(factor)
                    self.account.churn_lead[past] = 1 - back / len(PRE_CHURN_DECLINE)
        if reason == "cost":
            self.account.late_payer = self.account.late_payer or self.rng.random() < 0.5
        if canceled_at > self.timeline.as_of:
            # Not asked for yet: today the account only shows the decline that announces it.
            return
        churn = Churn(on, reason, canceled_at, not sudden)
        if self.term_end is not None and self.base is not None:
            mrr = sum((item_mrr(item) for item in self.open_items()), Decimal(0))
            start = add_months(self.term_end, -12)
            self.account.terms.append(
                Term(self.base.subscription_id, start, self.term_end, mrr, self.base.plan, False)
            )
        self.end_everything(on, canceled_at)
        if on > self.timeline.as_of:
            self.account.scheduled_churn = churn
            return
        self.account.churns.append(churn)
        self.churned_month = month

    def renew(self, month: int) -> None:
        assert self.base is not None and self.term_end is not None
        mrr = sum((item_mrr(item) for item in self.open_items()), Decimal(0))
        start = add_months(self.term_end, -12)
        self.account.terms.append(
            Term(self.base.subscription_id, start, self.term_end, mrr, self.base.plan, True)
        )
        renewal = self.term_end
        self.term_end = add_months(self.term_end, 12)
        seats = self.base.quantity
        if self.demand < SEAT_SLACK * seats and self.rng.random() < 0.5:
            smaller = max(company.MIN_SEATS[self.base.plan], math.ceil(self.demand * 1.1))
            if smaller < seats:
                self.change_base(renewal, "seats_down", self.base.plan, smaller)

    def open_items(self) -> list[Item]:
        return [item for item in self.account.items if item.recurring and item.end is None]

    def expand_or_contract(self, month: int, day: date) -> None:
        assert self.base is not None
        plan, seats = self.base.plan, self.base.quantity
        if plan == "Free":
            if self.health > 0.55 and (self.rng.random() < 0.05 or self.demand > 6):
                self.mark_lead(month)
                new_seats = max(company.MIN_SEATS["Starter"], math.ceil(self.demand * 1.1))
                self.change_base(day, "free_to_paid", "Starter", new_seats)
            return
        utilisation = self.demand / seats
        self.pressure_months = self.pressure_months + 1 if utilisation > SEAT_PRESSURE else 0
        rank = company.PLAN_ORDER.index(plan)
        if self.pressure_months >= 2 and self.rng.random() < 0.55:
            self.mark_lead(month)
            new_seats = math.ceil(self.demand * self.rng.uniform(1.15, 1.35))
            self.change_base(day, "seats_up", plan, max(new_seats, seats + 1))
            self.pressure_months = 0
        elif rank < 3 and self.health > 0.68 and self.rng.random() < 0.018:
            self.mark_lead(month)
            upper = company.PLAN_ORDER[rank + 1]
            self.change_base(day, "upgrade", upper, max(seats, company.MIN_SEATS[upper]))
        elif (
            company.ANALYTICS_ADDON not in self.addons
            and self.health > 0.6
            and self.rng.random() < 0.012
        ):
            self.mark_lead(month)
            self.add_addon(day, company.ANALYTICS_ADDON)
        elif company.API_ADDON not in self.addons and rank >= 2 and self.rng.random() < 0.01:
            for back, growth in enumerate((2.2, 1.7, 1.3), start=1):
                if 0 <= month - back < self.timeline.months:
                    self.account.api_growth[month - back] = growth
            self.api_multiplier = 2.5
            self.record(month)
            self.mark_lead(month, span=3)
            self.add_addon(day, company.API_ADDON)
        elif self.term_end is None and utilisation < SEAT_SLACK and self.rng.random() < 0.12:
            smaller = max(company.MIN_SEATS[plan], math.ceil(self.demand * 1.1))
            if smaller < seats:
                self.change_base(day, "seats_down", plan, smaller)
        elif rank >= 2 and self.health < 0.45 and self.rng.random() < 0.05:
            lower = company.PLAN_ORDER[rank - 1]
            self.change_base(day, "downgrade", lower, max(seats, company.MIN_SEATS[lower]))
        elif self.health > 0.55 and self.rng.random() < CONSULTING_MONTHLY:
            self.add_service(day, company.CONSULTING_SERVICE)

    def maybe_reactivate(self, month: int) -> None:
        if self.churned_month is None or month - self.churned_month > REACTIVATION_WINDOW_MONTHS:
            return
        reason = self.account.churns[-1].reason
        probability = REACTIVATION_MONTHLY * (2 if reason == "cost" else 1)
        if reason == "business_change" or self.rng.random() >= probability:
            return
        day = self.timeline.day_in_month(month, self.rng.randrange(28))
        self.interval = "month"
        plan = "Starter" if reason == "cost" else "Professional"
        seats = max(company.MIN_SEATS[plan], math.ceil(self.demand * 0.7))
        self.open_subscription(day, plan, seats, None)
        self.account.reactivations.append(day)
        self.health = min(0.9, self.target + 0.05)
        self.demand = seats * 0.7
        self.churned_month = None
        self.record(month)

    # --- the first sale ---------------------------------------------------------------------

    def start(self, arrival: Arrival) -> None:
        sale = self.account.new_business
        if sale.trial_start is not None:
            self.start_trial(arrival)
            return
        if sale.outcome != "won" or sale.closed_on is None:
            return
        self.interval = "year" if sale.contract_months == 12 else "month"
        self.begin_contract(sale.closed_on, sale.plan, sale.seats, None)
        self.run(self.timeline.month_of(sale.closed_on))

    def start_trial(self, arrival: Arrival) -> None:
        sale = self.account.new_business
        assert sale.trial_start is not None and sale.trial_end is not None
        self.interval = "year" if sale.contract_months == 12 else "month"
        converted = sale.outcome == "won"
        self.begin_contract(sale.trial_start, sale.plan, sale.seats, sale.trial_end)
        self.health = self.target if converted else min(self.target, 0.25 + 0.1 * self.rng.random())
        self.record(self.timeline.month_of(sale.trial_start))
        if converted or sale.outcome == "open":
            self.run(self.timeline.month_of(sale.trial_start) + 1)
            return
        assert self.base is not None
        self.base.end = sale.trial_end
        self.base = None
        if self.rng.random() < 0.35:
            # Lapsed trials that keep using the free plan: a pool for later upgrades.
            self.interval = "month"
            self.subscriptions += 1
            subscription_id = f"{self.account.customer_id}-S{self.subscriptions}"
            seats = min(company.FREE_PLAN_MAX_SEATS, max(1, sale.seats // 4))
            self.base = self.new_item(
                subscription_id, company.BASE_PRODUCT, "Free", seats, sale.trial_end
            )
            self.demand = float(seats)
            self.health = max(self.health, 0.45)
            self.run(self.timeline.month_of(sale.trial_end))

    def begin_contract(self, start: date, plan: str, seats: int, trial_end: date | None) -> None:
        self.open_subscription(start, plan, seats, trial_end)
        self.health = self.target - 0.05
        self.demand = seats * self.rng.uniform(0.55, 0.85)
        if (
            self.account.new_business.outcome == "won"
            and self.rng.random() < ONBOARDING_SHARE[self.account.segment]
        ):
            self.add_service(trial_end or start, company.ONBOARDING_SERVICE)
            self.health += 0.04


def simulate_account(
    index: int, seed: int, arrival: Arrival, timeline: Timeline
) -> SimulatedAccount:
    """Everything that happens to account ``index``; depends only on (seed, index, arrival)."""
    rng = random.Random(f"kizuna-demo:{seed}:{index}")
    profile = draw_profile(rng, arrival, timeline)
    sale = first_sale(rng, profile, arrival, timeline)
    account = SimulatedAccount(
        index=index,
        customer_id=f"C{index + 1:06d}",
        name=profile.name,
        industry=profile.industry,
        employees=profile.employees,
        country=profile.country,
        currency=profile.currency,
        channel=arrival.channel,
        segment=profile.segment,
        created_on=profile.created_on,
        quality=profile.quality,
        new_business=sale,
        months=timeline.months,
    )
    account.late_payer = rng.random() < LATE_PAYER_SHARE
    life = _Lifecycle(account, rng, timeline)
    life.start(arrival)
    account.term_end = life.term_end
    if sale.outcome == "won" and account.items:
        first = account.items[0]
        sale.mrr = round_money(item_mrr(first), account.currency)
    return account
