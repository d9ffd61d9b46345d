"""Contacts, support tickets, NPS responses and activities, drawn from the latent health.

The same account state that decided churn and expansion shapes these: before a churn the key
contact leaves, tickets spike (critical bugs for support churn, feature requests for missing
features), NPS turns detractor and communication goes silent; before an expansion customers
ask about upgrades and enterprise trials and answer NPS as promoters.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta
from typing import Any

from kizuna.demo import company
from kizuna.demo.phrases import Texts, phrases
from kizuna.demo.records import SimulatedAccount
from kizuna.demo.timeline import Timeline

Row = dict[str, Any]

CONTACTS_PER_SEGMENT = {"small": (2, 3), "mid": (3, 5), "enterprise": (4, 7)}
# Quarterly relationship NPS survey in these calendar months, answered by ~half the accounts.
NPS_SURVEY_MONTHS = (3, 6, 9, 12)
NPS_RESPONSE_RATE = 0.5
# After a resolved ticket a short survey goes out; about a quarter answer it.
TRANSACTIONAL_NPS_RATE = 0.25
# Logged activities per month by touch tier (dedicated CSM, pooled CS, automated only).
ACTIVITIES_PER_MONTH = {"high": 5.0, "low": 2.0, "tech": 0.6}
# Everyday ticket mix of a healthy customer, and its weights.
BASE_TICKET_TYPES = ("question", "bug", "feature_request", "incident")
BASE_TICKET_WEIGHTS = (0.6, 0.22, 0.14, 0.04)
# Median hours to resolve by ticket type; support churners wait several times longer.
RESOLUTION_HOURS = {
    "question": 6.0,
    "bug": 30.0,
    "feature_request": 72.0,
    "incident": 8.0,
    "upgrade_inquiry": 4.0,
    "enterprise_trial_request": 24.0,
}


def touch_tier(account: SimulatedAccount) -> str:
    return {"enterprise": "high", "mid": "low", "small": "tech"}[account.segment]


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; the means here are small (a few events a month)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _moment(rng: random.Random, day: date) -> datetime:
    """A business-hours moment of ``day`` (09:00–18:59)."""
    return datetime.combine(day, time(rng.randrange(9, 19), rng.randrange(60)))


class AccountBehaviour:
    """Draws the behaviour rows of one account; ``rows`` collects them per table."""

    def __init__(self, account: SimulatedAccount, timeline: Timeline, seed: int):
        self.account = account
        self.timeline = timeline
        self.rng = random.Random(f"kizuna-demo-behaviour:{seed}:{account.index}")
        self.rows: dict[str, list[Row]] = {
            "contacts": [],
            "tickets": [],
            "nps": [],
            "activities": [],
        }
        self.contacts: list[Row] = []
        self.tier = touch_tier(account)
        self.texts = phrases()

    # --- contacts ---------------------------------------------------------------------------

    def draw_contacts(self) -> None:
        low, high = CONTACTS_PER_SEGMENT[self.account.segment]
        roles = ["decision_maker", "champion", "daily_contact"]
        roles += ["daily_contact" if self.rng.random() < 0.4 else "other" for _ in range(high)]
        count = self.rng.randint(low, high)
        domain = f"{self.account.customer_id.lower()}.example.jp"
        for number, role in enumerate(roles[:count], start=1):
            family = self.rng.choice(company.FAMILY_NAMES)
            contact: Row = {
                "contact_id": f"{self.account.customer_id}-P{number}",
                "customer_id": self.account.customer_id,
                "name": f"{family} {self.rng.choice(company.GIVEN_NAMES)}",
                "email": f"{company.ROMAJI_FAMILY[family]}.{number}@{domain}",
                "role": role,
                "status": "active",
                "status_changed_on": None,
            }
            self.contacts.append(contact)
        self.rows["contacts"] = self.contacts
        self.key_people_leave()

    def key_people_leave(self) -> None:
        """Champions leave before most churns (SPEC S5); sometimes also at healthy accounts."""
        as_of = self.timeline.as_of
        decline_now = self.account.churn_lead[-1] > 0 and not self.account.churns
        ends = [churn.on for churn in self.account.churns if churn.foreshadowed]
        if decline_now:
            ends.append(as_of + timedelta(days=45))
        for end in ends:
            if self.rng.random() < 0.6:
                key = self.rng.choice(self.contacts[:2])
                changed = end - timedelta(days=self.rng.randrange(40, 110))
                if self.account.created_on < changed <= as_of:
                    key["status"] = "left" if self.rng.random() < 0.75 else "moved"
                    key["status_changed_on"] = changed
        for contact in self.contacts:
            if contact["status"] == "active" and self.rng.random() < 0.1:
                span = max(1, (as_of - self.account.created_on).days)
                contact["status"] = "left" if self.rng.random() < 0.6 else "moved"
                contact["status_changed_on"] = self.account.created_on + timedelta(
                    days=self.rng.randrange(span)
                )

    def active_contact(self, day: date, preferred: tuple[str, ...]) -> str | None:
        candidates = [
            contact
            for contact in self.contacts
            if contact["status_changed_on"] is None or contact["status_changed_on"] > day
        ]
        for contact in candidates:
            if contact["role"] in preferred:
                return str(contact["contact_id"])
        return str(candidates[0]["contact_id"]) if candidates else None

    # --- months -----------------------------------------------------------------------------

    def service_end(self) -> date:
        return self.timeline.as_of

    def in_service(self, day: date) -> bool:
        return any(
            item.plan and item.start <= day and (item.end is None or item.end > day)
            for item in self.account.items
        )

    def plan_on(self, day: date) -> str:
        for item in self.account.items:
            if item.plan and item.start <= day and (item.end is None or item.end > day):
                return item.plan
        return ""

    def draw_months(self) -> None:
        churn_reason = {
            self.timeline.month_of(churn.on - timedelta(days=1)): churn.reason
            for churn in self.account.churns
        }
        upcoming_reason = "support"
        for month in range(self.timeline.months):
            health = float(self.account.health[month])
            if math.isnan(health):
                continue
            upcoming_reason = next(
                (reason for end, reason in sorted(churn_reason.items()) if end >= month),
                upcoming_reason,
            )
            lead = float(self.account.churn_lead[month])
            expansion = bool(self.account.expansion_lead[month])
            self.tickets(month, health, lead, expansion, upcoming_reason)
            self.survey(month, health, lead)
            self.activities(month, health, lead, expansion)

    def days_of(self, month: int, count: int) -> list[date]:
        start = self.timeline.month_start(month)
        last = min(self.timeline.month_end(month), self.timeline.as_of)
        span = (last - start).days + 1
        days = sorted(start + timedelta(days=self.rng.randrange(span)) for _ in range(count))
        return [day for day in days if self.in_service(day)]

    def tickets(self, month: int, health: float, lead: float, expansion: bool, reason: str) -> None:
        seats = max(1.0, float(self.account.demand_seats[month]))
        mean = 0.12 * seats**0.4 * (1 + 1.5 * (1 - health))
        spike = 2.5 * lead if reason in {"support", "missing_features"} else 0.8 * lead
        kinds = [
            self.rng.choices(BASE_TICKET_TYPES, BASE_TICKET_WEIGHTS)[0]
            for _ in range(_poisson(self.rng, mean))
        ]
        for _ in range(_poisson(self.rng, spike)):
            kinds.append("bug" if reason == "support" else "feature_request")
        if expansion:
            for _ in range(_poisson(self.rng, 0.6)):
                kinds.append(
                    "upgrade_inquiry" if self.rng.random() < 0.6 else "enterprise_trial_request"
                )
        for kind, day in zip(kinds, self.days_of(month, len(kinds)), strict=False):
            if kind == "enterprise_trial_request" and self.plan_on(day) == "Enterprise":
                kind = "upgrade_inquiry"
            critical = 0.08 + (0.6 * lead if reason == "support" else 0.1 * lead)
            severity = (
                "critical"
                if kind in {"bug", "incident"} and self.rng.random() < critical
                else (self.rng.choice(("low", "normal", "normal", "high")))
            )
            opened = _moment(self.rng, day)
            slow = 4.0 if reason == "support" and lead > 0 else 1.0
            hours = RESOLUTION_HOURS[kind] * slow * math.exp(self.rng.gauss(0, 0.7))
            resolved: datetime | None = opened + timedelta(hours=hours)
            if resolved is not None and resolved.date() > self.timeline.as_of:
                resolved = None
            number = len(self.rows["tickets"]) + 1
            self.rows["tickets"].append(
                {
                    "ticket_id": f"{self.account.customer_id}-T{number}",
                    "customer_id": self.account.customer_id,
                    "opened_at": opened,
                    "resolved_at": resolved,
                    "type": kind,
                    "severity": severity,
                }
            )
            if resolved is not None and self.rng.random() < TRANSACTIONAL_NPS_RATE:
                self.nps_response(resolved.date() + timedelta(days=1), health)

    def survey(self, month: int, health: float, lead: float) -> None:
        calendar_month = self.timeline.month_start(month).month
        rate = NPS_RESPONSE_RATE + (0.15 if self.tier == "high" else 0.0)
        if calendar_month in NPS_SURVEY_MONTHS and self.rng.random() < rate:
            for day in self.days_of(month, 1):
                self.nps_response(day, health)

    def nps_response(self, day: date, health: float) -> None:
        if day > self.timeline.as_of or not self.in_service(day):
            return
        score = round(min(10.0, max(0.0, 1.5 + 9.5 * health + self.rng.gauss(0, 1.1))))
        number = len(self.rows["nps"]) + 1
        self.rows["nps"].append(
            {
                "response_id": f"{self.account.customer_id}-N{number}",
                "customer_id": self.account.customer_id,
                "contact_id": self.active_contact(day, ("daily_contact", "champion")),
                "responded_on": day,
                "score": score,
                "comment": _nps_comment(score, self.rng, self.texts),
            }
        )

    def activities(self, month: int, health: float, lead: float, expansion: bool) -> None:
        # Before a churn the customer stops answering: the timeline goes silent (SPEC S7).
        silence = max(0.03, 1.0 - 1.1 * lead)
        mean = ACTIVITIES_PER_MONTH[self.tier] * silence * (0.6 + 0.6 * health)
        types: list[str] = []
        for _ in range(_poisson(self.rng, mean)):
            types.append(self.rng.choice(("email", "email", "call", "meeting", "note")))
        if self.tier == "high" and lead < 0.5 and self.rng.random() < 0.8:
            types.append("cs_meeting")
        quarter_end = self.timeline.month_start(month).month in NPS_SURVEY_MONTHS
        if self.tier == "high" and quarter_end and health > 0.55 and lead == 0:
            types.append("qbr")
        if expansion and lead == 0 and self.rng.random() < 0.6:
            types.append("meeting")
        for kind, day in zip(types, self.days_of(month, len(types)), strict=False):
            number = len(self.rows["activities"]) + 1
            self.rows["activities"].append(
                {
                    "activity_id": f"{self.account.customer_id}-A{number}",
                    "customer_id": self.account.customer_id,
                    "contact_id": self.active_contact(day, ("champion", "daily_contact")),
                    "type": kind,
                    "occurred_at": _moment(self.rng, day),
                    "subject": _activity_subject(kind, expansion, self.rng, self.texts),
                }
            )


def _nps_comment(score: int, rng: random.Random, texts: Texts) -> str:
    if rng.random() < 0.5:
        return ""
    kind = "nps_promoter" if score >= 9 else "nps_passive" if score >= 7 else "nps_detractor"
    return rng.choice(texts[kind])


def _activity_subject(kind: str, expansion: bool, rng: random.Random, texts: Texts) -> str:
    if expansion and kind == "meeting":
        kind = "expansion_meeting"
    return rng.choice(texts[kind])


def behaviour_rows(
    account: SimulatedAccount, timeline: Timeline, seed: int
) -> dict[str, list[Row]]:
    """Contacts, tickets, NPS and activity rows of one account."""
    behaviour = AccountBehaviour(account, timeline, seed)
    behaviour.draw_contacts()
    behaviour.draw_months()
    return behaviour.rows
