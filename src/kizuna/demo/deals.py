"""Deals in the four default pipelines, with a dated entry for every stage they went through.

New-business deals follow each account's first sale; upsell deals precede every expansion
(and some are lost); renewal deals open 90 days before each annual term ends and end renewed
or churned; services deals sell the onboarding and consulting packages.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from kizuna.core.money import round_money
from kizuna.demo import company
from kizuna.demo.records import SimulatedAccount
from kizuna.demo.timeline import Timeline

Row = dict[str, Any]

NEW_BUSINESS_PATH = ("lead", "mql", "sql", "demo_trial", "proposal", "final_negotiation")
UPSELL_PATH = ("opportunity_detected", "needs_confirmed", "proposal", "negotiation_approval")
RENEWAL_PATH = (("renewal_prep", 90), ("renewal_proposal", 60), ("negotiation", 30))
SERVICES_PATH = ("scoping", "proposal", "negotiation")
# For every won upsell, about this many upsell deals are lost (price, timing, no budget).
LOST_UPSELLS_PER_WON = 0.4
UPSELL_LOST_REASONS = ("price", "timing", "no_need", "no_response")
CHANGE_KINDS_SOLD = {"seats_up", "upgrade", "addon", "free_to_paid"}


@dataclass
class AccountOwners:
    sales: str
    cs: str


@dataclass
class DealRows:
    deals: list[Row] = field(default_factory=list)
    history: list[Row] = field(default_factory=list)


class _DealWriter:
    def __init__(
        self, account: SimulatedAccount, owners: AccountOwners, timeline: Timeline, seed: int
    ):
        self.account = account
        self.owners = owners
        self.timeline = timeline
        self.rng = random.Random(f"kizuna-demo-deals:{seed}:{account.index}")
        self.out = DealRows()

    def add(self, pipeline: str, row: Row, stages: list[tuple[str, date, str]]) -> None:
        deal_id = f"{self.account.customer_id}-D{len(self.out.deals) + 1}"
        final_stage = stages[-1][0]
        self.out.deals.append(
            {
                "deal_id": deal_id,
                "customer_id": self.account.customer_id,
                "pipeline": pipeline,
                "stage": final_stage,
                "currency": self.account.currency,
                "one_off_amount": Decimal(0),
                **row,
            }
        )
        previous: datetime | None = None
        for stage, day, by in stages:
            moment = datetime.combine(day, time(self.rng.randrange(9, 19), self.rng.randrange(60)))
            if previous is not None and moment <= previous:
                moment = previous + timedelta(minutes=5)
            previous = moment
            self.out.history.append(
                {"deal_id": deal_id, "stage": stage, "entered_at": moment, "changed_by": by}
            )

    def spread(self, start: date, end: date, count: int) -> list[date]:
        """``count`` non-decreasing days from ``start`` to ``end`` (both included)."""
        span = max(0, (end - start).days)
        offsets = (
            sorted(self.rng.randrange(span + 1) for _ in range(count - 2)) if count > 2 else []
        )
        return (
            [start, *(start + timedelta(days=o) for o in offsets), end][:count]
            if count > 1
            else [start]
        )

    def monthly_list_price(self, plan: str, seats: int) -> Decimal:
        return company.SEAT_PRICE_MONTHLY[self.account.currency][plan] * seats

    # --- pipelines --------------------------------------------------------------------------

    def new_business(self) -> None:
        sale = self.account.new_business
        sales = self.owners.sales
        quote = round_money(self.monthly_list_price(sale.plan, sale.seats), self.account.currency)
        amount = sale.mrr if sale.outcome == "won" else quote
        trial_start = sale.trial_start or sale.created_on + timedelta(
            days=self.rng.randrange(5, 20)
        )
        row: Row = {
            "status": sale.outcome,
            "amount_mrr": amount,
            "owner": sales,
            "source": self.account.channel,
            "created_on": sale.created_on,
            "close_date": sale.close_date,
            "closed_on": sale.closed_on,
            "lost_reason": sale.lost_reason or None,
            "product": company.BASE_PRODUCT,
            "plan": sale.plan,
            "first_contact_on": sale.created_on,
            "lead_score": self.rng.randrange(20, 100),
            "bant_budget": "confirmed",
            "bant_authority": "identified",
            "bant_need": "confirmed",
            "bant_timeline": "this_quarter",
            "trial_start": trial_start,
            "proposed_plan": sale.plan,
            "quote_amount": quote,
            "decision_maker": "confirmed",
            "approval_status": "approved" if sale.outcome == "won" else "pending",
            "contract_months": sale.contract_months,
        }
        end = sale.closed_on or self.timeline.as_of
        if sale.outcome == "open":
            elapsed = (self.timeline.as_of - sale.created_on).days
            total = max(1, (sale.close_date - sale.created_on).days)
            reached = 1 + min(
                len(NEW_BUSINESS_PATH) - 1, int(len(NEW_BUSINESS_PATH) * elapsed / total)
            )
            if sale.trial_start is not None:
                reached = max(reached, 4)
            path = list(NEW_BUSINESS_PATH[:reached])
        elif sale.outcome == "lost":
            reached = (
                4 if sale.trial_start is not None else self.rng.randrange(1, len(NEW_BUSINESS_PATH))
            )
            path = [*NEW_BUSINESS_PATH[:reached], "lost"]
        else:
            path = [*NEW_BUSINESS_PATH, "won"]
        days = self.spread(sale.created_on, end, len(path))
        if "demo_trial" in path and sale.trial_start is not None:
            index = path.index("demo_trial")
            days[index] = max(days[index - 1], min(sale.trial_start, end))
            days[index + 1 :] = [max(day, days[index]) for day in days[index + 1 :]]
        row["trial_start"] = days[path.index("demo_trial")] if "demo_trial" in path else trial_start
        self.add(
            "new_business",
            row,
            [(stage, day, sales) for stage, day in zip(path, days, strict=True)],
        )

    def upsells(self) -> None:
        for change in self.account.changes:
            if change.kind not in CHANGE_KINDS_SOLD or change.mrr_delta <= 0:
                continue
            self.upsell(change.on, change.mrr_delta, change.product, change.plan, "won")
            if self.rng.random() < LOST_UPSELLS_PER_WON:
                earlier = change.on - timedelta(days=self.rng.randrange(120, 300))
                if earlier > self.account.created_on:
                    self.upsell(earlier, change.mrr_delta, change.product, change.plan, "lost")
        if self.account.expansion_lead[-1] and self.account.base_items():
            current = self.account.base_items()[-1]
            if current.end is None:
                amount = current.unit_price * max(1, current.quantity // 5)
                amount = amount / 12 if current.interval == "year" else amount
                self.upsell(
                    self.timeline.as_of + timedelta(days=45),
                    amount,
                    company.BASE_PRODUCT,
                    current.plan,
                    "open",
                )

    def upsell(self, on: date, delta: Decimal, product: str, plan: str, status: str) -> None:
        created = on - timedelta(days=self.rng.randrange(20, 75))
        created = min(created, self.timeline.as_of)
        amount = round_money(delta, self.account.currency)
        row: Row = {
            "status": status,
            "amount_mrr": amount,
            "owner": self.owners.sales,
            "source": "cs_signal",
            "created_on": created,
            "close_date": on,
            "closed_on": on if status != "open" else None,
            "lost_reason": self.rng.choice(UPSELL_LOST_REASONS) if status == "lost" else None,
            "product": product,
            "plan": plan or None,
            "approval_status": "approved" if status == "won" else "pending",
            "effective_date": on if status == "won" else None,
        }
        if status == "won":
            path = [*UPSELL_PATH, "won"]
        elif status == "lost":
            path = [*UPSELL_PATH[: self.rng.randrange(1, len(UPSELL_PATH) + 1)], "lost"]
        else:
            path = list(UPSELL_PATH[: self.rng.randrange(1, 3)])
        end = on if status != "open" else self.timeline.as_of
        days = self.spread(created, end, len(path))
        # CS detects the opportunity; sales takes it from there (SPEC P2).
        by = [self.owners.cs, *[self.owners.sales] * (len(path) - 1)]
        self.add("upsell", row, list(zip(path, days, by, strict=True)))

    def renewals(self) -> None:
        as_of = self.timeline.as_of
        for term in self.account.terms:
            churn = next((c for c in self.account.churns if c.on == term.end), None)
            churn = churn or self.account.scheduled_churn
            renewed = term.renewed
            closed_on = term.end if renewed else (churn.canceled_at if churn else term.end)
            self.renewal(
                term.end,
                term.mrr,
                term.plan,
                "won" if renewed else "lost",
                closed_on,
                churn.reason if churn and not renewed else "other",
            )
        term_end = self.account.term_end
        if term_end is not None and as_of < term_end <= as_of + timedelta(days=90):
            base = self.account.base_items()
            plan = base[-1].plan if base else ""
            mrr = sum((i.unit_price * i.quantity / 12 for i in base if i.end is None), Decimal(0))
            self.renewal(term_end, mrr, plan, "open", None, "")

    def renewal(
        self, end: date, mrr: Decimal, plan: str, status: str, closed_on: date | None, reason: str
    ) -> None:
        as_of = self.timeline.as_of
        limit = min(as_of, closed_on or as_of)
        stages = [(key, end - timedelta(days=days)) for key, days in RENEWAL_PATH]
        stages = [(key, day) for key, day in stages if day <= limit] or [stages[0]]
        final = {"won": "renewed", "lost": "churned"}.get(status)
        if final is not None and closed_on is not None:
            stages.append((final, max(closed_on, stages[-1][1])))
        row: Row = {
            "status": status,
            "amount_mrr": round_money(mrr, self.account.currency),
            "owner": self.owners.cs,
            "source": "renewal",
            "created_on": stages[0][1],
            "close_date": end,
            "closed_on": stages[-1][1] if final else None,
            "churn_reason": reason if status == "lost" else None,
            "product": company.BASE_PRODUCT,
            "plan": plan,
            "contract_months": 12,
            "renewal_of_term_end": end,
        }
        self.add("renewal", row, [(key, day, self.owners.cs) for key, day in stages])

    def services(self) -> None:
        for service in self.account.services:
            self.service(service.on, service.amount, service.product, "won")
            if self.rng.random() < 0.25:
                earlier = service.on - timedelta(days=self.rng.randrange(90, 240))
                if earlier > self.account.created_on:
                    self.service(earlier, service.amount, service.product, "lost")

    def service(self, on: date, amount: Decimal, product: str, status: str) -> None:
        created = on - timedelta(days=self.rng.randrange(14, 60))
        row: Row = {
            "status": status,
            "amount_mrr": Decimal(0),
            "one_off_amount": amount,
            "owner": self.owners.sales,
            "source": "cs_signal",
            "created_on": created,
            "close_date": on,
            "closed_on": on,
            "lost_reason": self.rng.choice(("price", "timing", "no_need"))
            if status == "lost"
            else None,
            "product": product,
            "decision_maker": "confirmed",
            "approval_status": "approved" if status == "won" else "pending",
            "effective_date": on if status == "won" else None,
        }
        path = (
            [*SERVICES_PATH, "won"]
            if status == "won"
            else [*SERVICES_PATH[: self.rng.randrange(1, 4)], "lost"]
        )
        days = self.spread(created, on, len(path))
        self.add(
            "services",
            row,
            [(stage, day, self.owners.sales) for stage, day in zip(path, days, strict=True)],
        )


def deal_rows(
    account: SimulatedAccount, owners: AccountOwners, timeline: Timeline, seed: int
) -> DealRows:
    writer = _DealWriter(account, owners, timeline, seed)
    writer.new_business()
    writer.upsells()
    writer.renewals()
    writer.services()
    return writer.out
