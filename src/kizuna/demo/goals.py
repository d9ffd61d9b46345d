"""Customers' success goals (SPEC S15): agreed at onboarding, achieved by the healthy ones.

Drawn from a random stream of their own, so the goals leave every other demo table as it was.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import Any

from kizuna.demo.phrases import phrases
from kizuna.demo.records import SimulatedAccount
from kizuna.demo.timeline import Timeline

Row = dict[str, Any]

# Share of customers that agree a success goal with their CSM at onboarding.
GOAL_RATE = 0.6
# A goal is reached after this many months in a row of good health (or one, when the customer
# is heading for an expansion: reaching the goal is what makes them buy more).
HEALTHY_MONTHS_TO_ACHIEVE = 3
GOOD_HEALTH = 0.7


def success_goal_rows(account: SimulatedAccount, timeline: Timeline, seed: int) -> list[Row]:
    rng = random.Random(f"kizuna-demo-goals:{seed}:{account.index}")
    months = [m for m in range(timeline.months) if not math.isnan(float(account.health[m]))]
    if not months or rng.random() >= GOAL_RATE:
        return []
    set_on = timeline.month_start(months[0]) + timedelta(days=rng.randrange(14, 28))
    if set_on > timeline.as_of:
        return []
    texts = phrases()
    choice = rng.randrange(len(texts["success_goal"]))
    achieved_on = None
    streak = 0
    for month in months[1:]:
        streak = streak + 1 if float(account.health[month]) >= GOOD_HEALTH else 0
        if streak >= HEALTHY_MONTHS_TO_ACHIEVE or (streak and account.expansion_lead[month]):
            day = timeline.month_start(month) + timedelta(days=rng.randrange(28))
            if set_on < day <= timeline.as_of:
                achieved_on = day
            break
    return [
        {
            "goal_id": f"{account.customer_id}-G1",
            "customer_id": account.customer_id,
            "goal": texts["success_goal"][choice],
            "target": texts["success_target"][choice],
            "set_on": set_on,
            "achieved_on": achieved_on,
        }
    ]
