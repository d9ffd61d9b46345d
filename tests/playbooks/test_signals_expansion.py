"""Expansion triggers S10–S16: each fires at its threshold and not just below it."""

from __future__ import annotations

from datetime import date

from signal_data import AS_OF, detect, inputs, subscription


def _seats(customer_id: str, day: str, in_use: int) -> dict[str, object]:
    return {
        "customer_id": customer_id,
        "date": day,
        "logins": 1,
        "active_users": 1,
        "seats_in_use": in_use,
    }


def test_seats_above_90_percent() -> None:
    data = inputs(
        subscriptions=[
            subscription("at90"),  # 10 seats
            subscription("full"),
            subscription("c91", quantity="100"),
        ],
        usage_daily=[
            _seats("at90", "2024-06-20", 9),
            _seats("full", "2024-06-20", 10),
            _seats("c91", "2024-06-10", 95),
            _seats("c91", "2024-06-20", 91),  # the latest value counts
        ],
    )
    assert detect("seats_nearly_full", data) == [
        {
            "customer_id": "c91",
            "level": "medium",
            "occurrence": "seats:100",
            "occurred_on": AS_OF,
            "detail": {"seats_in_use": 91, "seats": 100.0, "used_percent": 91.0},
        },
        {
            "customer_id": "full",
            "level": "high",
            "occurrence": "seats:10",
            "occurred_on": AS_OF,
            "detail": {"seats_in_use": 10, "seats": 10.0, "used_percent": 100.0},
        },
    ]


def test_seats_count_only_plan_items() -> None:
    add_on = subscription(
        "c1", subscription_id="sub-addon", product="storage", plan=None, quantity="50"
    )
    data = inputs(
        subscriptions=[subscription("c1"), add_on], usage_daily=[_seats("c1", "2024-06-20", 10)]
    )
    [row] = detect("seats_nearly_full", data)
    assert row["detail"]["seats"] == 10.0


def _api(customer_id: str, day: str, calls: int) -> dict[str, object]:
    return {
        "customer_id": customer_id,
        "date": day,
        "logins": 1,
        "active_users": 1,
        "api_calls": calls,
    }


def test_api_calls_above_150_percent() -> None:
    data = inputs(
        usage_daily=[
            _api("at150", "2024-05-15", 1000),
            _api("at150", "2024-06-15", 1500),
            _api("above", "2024-05-15", 1000),
            _api("above", "2024-06-15", 1501),
            _api("first", "2024-06-15", 5000),  # no calls before: not a surge
        ]
    )
    assert detect("api_surge", data) == [
        {
            "customer_id": "above",
            "level": "medium",
            "occurrence": "2024-06",
            "occurred_on": AS_OF,
            "detail": {"api_calls": 1501, "previous_api_calls": 1000, "growth_percent": 150.1},
        }
    ]


def test_enterprise_trial_requested() -> None:
    def request(ticket_id: str, opened_at: str) -> dict[str, object]:
        return {
            "ticket_id": ticket_id,
            "customer_id": "c1",
            "opened_at": opened_at,
            "type": "enterprise_trial_request",
            "severity": "normal",
        }

    data = inputs(
        tickets=[request("t1", "2024-06-01T09:00:00"), request("t0", "2024-05-31T09:00:00")]
    )
    assert detect("enterprise_trial_requested", data) == [
        {
            "customer_id": "c1",
            "level": "high",
            "occurrence": "t1",
            "occurred_on": date(2024, 6, 1),
            "detail": {"ticket_id": "t1"},
        }
    ]


def test_renewal_upsell_at_60_days_or_90_days_when_healthy() -> None:
    subscriptions = [
        subscription("d60", interval="year", start_date="2023-08-29"),  # renews 2024-08-29
        subscription("d61", interval="year", start_date="2023-08-30"),
        subscription("healthy61", interval="year", start_date="2023-08-30"),
        subscription("healthy90", interval="year", start_date="2023-09-28"),
        subscription("healthy91", interval="year", start_date="2023-09-29"),
        subscription("unhealthy61", interval="year", start_date="2023-08-30"),
    ]
    health = [
        {"customer_id": "healthy61", "score": 80.0},
        {"customer_id": "healthy90", "score": 95.0},
        {"customer_id": "healthy91", "score": 95.0},
        {"customer_id": "unhealthy61", "score": 79.9},
    ]
    rows = detect("renewal_upsell", inputs(subscriptions=subscriptions, health=health))
    assert [(r["customer_id"], r["occurrence"], r["occurred_on"]) for r in rows] == [
        ("d60", "2024-08-29", date(2024, 6, 30)),
        ("healthy61", "2024-08-30", date(2024, 6, 1)),
        ("healthy90", "2024-09-28", date(2024, 6, 30)),
    ]
    assert rows[1]["detail"] == {"renewal_on": "2024-08-30", "days_left": 61, "health": 80.0}
    # Without health scores only the 60-day rule applies.
    without_health = detect("renewal_upsell", inputs(subscriptions=subscriptions))
    assert [r["customer_id"] for r in without_health] == ["d60"]


def test_nps_promoter() -> None:
    data = inputs(
        nps=[
            {"response_id": "r9", "customer_id": "c9", "responded_on": "2024-06-01", "score": 9},
            {"response_id": "r8", "customer_id": "c8", "responded_on": "2024-06-01", "score": 8},
            {"response_id": "old", "customer_id": "c10", "responded_on": "2024-05-31", "score": 10},
        ]
    )
    assert detect("nps_promoter", data) == [
        {
            "customer_id": "c9",
            "level": "medium",
            "occurrence": "r9",
            "occurred_on": date(2024, 6, 1),
            "detail": {"score": 9, "response_id": "r9"},
        }
    ]


def test_new_feature_interest() -> None:
    def views(customer_id: str, count: int) -> dict[str, object]:
        return {
            "customer_id": customer_id,
            "date": "2024-06-10",
            "logins": 1,
            "active_users": 1,
            "new_feature_page_views": count,
        }

    rows = detect("new_feature_interest", inputs(usage_daily=[views("c3", 3), views("c2", 2)]))
    assert rows == [
        {
            "customer_id": "c3",
            "level": "low",
            "occurrence": "2024-06",
            "occurred_on": AS_OF,
            "detail": {"new_feature_page_views": 3},
        }
    ]


def test_usage_spreading_to_new_departments() -> None:
    def departments(customer_id: str, day: str, count: int | None) -> dict[str, object]:
        return {
            "customer_id": customer_id,
            "date": day,
            "logins": 1,
            "active_users": 1,
            "departments_active": count,
        }

    data = inputs(
        usage_daily=[
            departments("grew", "2024-05-20", 2),
            departments("grew", "2024-06-20", 3),
            departments("same", "2024-05-20", 2),
            departments("same", "2024-06-20", 2),
            departments("unknown", "2024-05-20", None),
            departments("unknown", "2024-06-20", 4),
        ]
    )
    assert detect("usage_spreading", data) == [
        {
            "customer_id": "grew",
            "level": "medium",
            "occurrence": "2024-06",
            "occurred_on": AS_OF,
            "detail": {"departments": 3, "previous_departments": 2},
        }
    ]


def _goal(goal_id: str, achieved_on: str | None, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "goal_id": goal_id,
        "customer_id": "c1",
        "goal": "Month-end close in 3 days",
        "target": "3 days",
        "set_on": "2024-01-15",
        "achieved_on": achieved_on,
    }
    row.update(values)
    return row


def test_success_goal_achieved_within_30_days() -> None:
    data = inputs(
        success_goals=[
            # 1 June is the first day of the 30 days ending on 30 June: fires.
            _goal("g1", "2024-06-01"),
            # 31 May is one day too early.
            _goal("g2", "2024-05-31"),
            # Not achieved yet, and achieved after T (not known on T).
            _goal("g3", None),
            _goal("g4", "2024-07-01"),
            _goal("g5", "2024-06-30", customer_id="c2", goal="Zero paper invoices", target=None),
        ]
    )
    assert detect("success_goal_achieved", data) == [
        {
            "customer_id": "c1",
            "level": "medium",
            "occurrence": "g1",
            "occurred_on": date(2024, 6, 1),
            "detail": {
                "goal_id": "g1",
                "goal": "Month-end close in 3 days",
                "target": "3 days",
                "set_on": "2024-01-15",
            },
        },
        {
            "customer_id": "c2",
            "level": "medium",
            "occurrence": "g5",
            "occurred_on": date(2024, 6, 30),
            "detail": {
                "goal_id": "g5",
                "goal": "Zero paper invoices",
                "target": None,
                "set_on": "2024-01-15",
            },
        },
    ]
    assert len(detect("success_goal_achieved", data, success_goal_lookback_days=31)) == 3


def test_cross_sell_whitespace() -> None:
    def item(customer_id: str, product: str, price: str = "10000") -> dict[str, object]:
        plan = "Professional" if product == "core" else None
        return subscription(
            customer_id,
            subscription_id=f"{customer_id}-{product}",
            product=product,
            plan=plan,
            unit_price=price,
        )

    subscriptions = [
        item("big", "core"),  # 100,000 a month, one product
        item("small", "core", price="3000"),
        item("two", "core"),
        item("two", "crm"),
        item("all", "core"),
        item("all", "crm"),
        item("all", "analytics"),
    ]
    rows = detect("cross_sell_whitespace", inputs(subscriptions=subscriptions))
    assert rows == [
        {
            "customer_id": "big",
            "level": "high",
            "occurrence": "core",
            "occurred_on": AS_OF,
            "detail": {"owned": ["core"], "missing": ["analytics", "crm"], "mrr": 100000.0},
        },
        {
            "customer_id": "small",
            "level": "medium",
            "occurrence": "core",
            "occurred_on": AS_OF,
            "detail": {"owned": ["core"], "missing": ["analytics", "crm"], "mrr": 30000.0},
        },
        {
            "customer_id": "two",
            "level": "low",
            "occurrence": "core+crm",
            "occurred_on": AS_OF,
            "detail": {"owned": ["core", "crm"], "missing": ["analytics"], "mrr": 200000.0},
        },
    ]
    offered = detect(
        "cross_sell_whitespace", inputs(subscriptions=subscriptions), whitespace_products=("crm",)
    )
    assert [(r["customer_id"], r["detail"]["missing"]) for r in offered] == [
        ("big", ["crm"]),
        ("small", ["crm"]),
    ]
