"""Churn signals S1–S9: each fires at its threshold and not just below it."""

from __future__ import annotations

from datetime import date

from signal_data import AS_OF, daily, detect, inputs, subscription

# --- S1 usage drop ---------------------------------------------------------------------------


def test_usage_drop_fires_at_exactly_30_percent() -> None:
    data = inputs(
        subscriptions=[subscription("c1")],
        usage_daily=daily("c1", "2024-05-02", "2024-05-31", active_users=10)
        + daily("c1", "2024-06-01", "2024-06-30", active_users=7),
    )
    assert detect("usage_drop", data) == [
        {
            "customer_id": "c1",
            "level": "high",
            "occurrence": "2024-06",
            "occurred_on": AS_OF,
            "detail": {
                "drop_percent": 30.0,
                "active_users": 7.0,
                "previous_active_users": 10.0,
                "seats": 10.0,
                "rate": 0.7,
                "previous_rate": 1.0,
            },
        }
    ]


def test_usage_drop_does_not_fire_at_29_percent() -> None:
    # 29 days at 7 and one at 10: 213 user-days, an average of 7.1 against 10.
    data = inputs(
        subscriptions=[subscription("c1")],
        usage_daily=daily("c1", "2024-05-02", "2024-05-31", active_users=10)
        + daily("c1", "2024-06-01", "2024-06-29", active_users=7)
        + daily("c1", "2024-06-30", "2024-06-30", active_users=10),
    )
    assert detect("usage_drop", data) == []


def test_usage_drop_is_a_rate_of_contracted_seats() -> None:
    # Users went from 10 to 14 but seats from 10 to 20: the rate fell from 1.0 to 0.7.
    extra_seats = subscription("c1", subscription_id="sub-c1-2", start_date="2024-06-15")
    data = inputs(
        subscriptions=[subscription("c1"), extra_seats],
        usage_daily=daily("c1", "2024-05-02", "2024-05-31", active_users=10)
        + daily("c1", "2024-06-01", "2024-06-30", active_users=14),
    )
    [row] = detect("usage_drop", data)
    assert row["detail"]["seats"] == 20.0
    assert row["detail"]["drop_percent"] == 30.0


def test_usage_drop_without_subscriptions_compares_active_users() -> None:
    data = inputs(
        usage_daily=daily("c1", "2024-05-02", "2024-05-31", active_users=4)
        + daily("c1", "2024-06-01", "2024-06-30", active_users=2),
    )
    [row] = detect("usage_drop", data)
    assert row["detail"]["drop_percent"] == 50.0
    assert row["detail"]["seats"] is None


def test_usage_drop_threshold_is_a_setting() -> None:
    data = inputs(
        usage_daily=daily("c1", "2024-05-02", "2024-05-31", active_users=10)
        + daily("c1", "2024-06-01", "2024-06-30", active_users=8),
    )
    assert detect("usage_drop", data) == []
    assert len(detect("usage_drop", data, usage_drop_percent=20.0)) == 1


# --- S1 falling logins -----------------------------------------------------------------------


def _weekly_logins(*totals: int) -> list[dict[str, object]]:
    """One row per 7-day block ending on AS_OF, oldest first (blocks start 3, 10, 17, 24 June)."""
    days = ["2024-06-05", "2024-06-12", "2024-06-19", "2024-06-26"]
    return [
        {"customer_id": "c1", "date": day, "logins": total, "active_users": 1}
        for day, total in zip(days, totals, strict=True)
    ]


def test_login_decline_fires_after_three_falling_weeks_down_40_percent() -> None:
    data = inputs(usage_daily=_weekly_logins(50, 40, 35, 30))
    assert detect("login_decline", data) == [
        {
            "customer_id": "c1",
            "level": "high",
            "occurrence": "2024-06",
            "occurred_on": AS_OF,
            "detail": {"weekly_logins": [50, 40, 35, 30], "decline_percent": 40.0},
        }
    ]


def test_login_decline_needs_the_full_percentage() -> None:
    # 38 % down: below the default; the earlier default of 25 % would fire.
    data = inputs(usage_daily=_weekly_logins(50, 40, 35, 31))
    assert detect("login_decline", data) == []
    assert len(detect("login_decline", data, login_decline_percent=25.0)) == 1


def test_login_decline_needs_every_week_to_fall() -> None:
    assert detect("login_decline", inputs(usage_daily=_weekly_logins(50, 40, 40, 20))) == []


# --- S2 core features unused -----------------------------------------------------------------

FEATURES = [
    {"feature": "reports", "core": True},
    {"feature": "dashboards", "core": True},
    {"feature": "sso", "core": False, "enterprise": True},
    # Released 15 days ago: too new to expect use.
    {"feature": "forecasting", "core": True, "released_on": "2024-06-15"},
]


def test_core_feature_unused_for_30_days() -> None:
    data = inputs(
        subscriptions=[subscription("c1")],
        features=FEATURES,
        feature_usage=[
            {"customer_id": "c1", "date": "2024-06-01", "feature": "reports", "uses": 3},
            {"customer_id": "c1", "date": "2024-05-31", "feature": "dashboards", "uses": 9},
        ],
    )
    assert detect("core_features_unused", data) == [
        {
            "customer_id": "c1",
            "level": "medium",
            "occurrence": "2024-06",
            "occurred_on": AS_OF,
            "detail": {"unused_features": ["dashboards"], "unused_count": 1, "days": 30},
        }
    ]


def test_core_features_used_within_30_days_do_not_fire() -> None:
    data = inputs(
        subscriptions=[subscription("c1")],
        features=FEATURES,
        feature_usage=[
            {"customer_id": "c1", "date": "2024-06-01", "feature": "reports", "uses": 3},
            {"customer_id": "c1", "date": "2024-06-01", "feature": "dashboards", "uses": 1},
        ],
    )
    assert detect("core_features_unused", data) == []


def test_core_features_leave_onboarding_customers_alone() -> None:
    data = inputs(
        subscriptions=[
            subscription("new", start_date="2024-06-01"),
            subscription("settled", start_date="2024-05-31"),
        ],
        features=FEATURES,
        feature_usage=[],
    )
    [row] = detect("core_features_unused", data)
    assert row["customer_id"] == "settled"
    assert row["detail"]["unused_features"] == ["dashboards", "reports"]


# --- S3 support trouble ----------------------------------------------------------------------


def _ticket(ticket_id: str, opened_at: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "ticket_id": ticket_id,
        "customer_id": "c1",
        "opened_at": opened_at,
        "resolved_at": None,
        "type": "bug",
        "severity": "critical",
    }
    row.update(values)
    return row


def test_three_critical_bugs_in_a_month() -> None:
    data = inputs(
        tickets=[
            _ticket("t1", "2024-06-02T10:00:00", resolved_at="2024-06-02T11:00:00"),
            _ticket("t2", "2024-06-10T10:00:00", resolved_at="2024-06-10T11:00:00"),
            _ticket("t3", "2024-06-20T10:00:00", resolved_at="2024-06-20T11:00:00"),
        ]
    )
    assert detect("critical_bugs", data) == [
        {
            "customer_id": "c1",
            "level": "high",
            "occurrence": "2024-06",
            "occurred_on": date(2024, 6, 20),
            "detail": {"critical_bugs": 3, "month": "2024-06"},
        }
    ]


def test_two_critical_bugs_or_a_split_across_months_do_not_fire() -> None:
    data = inputs(
        tickets=[
            _ticket("t1", "2024-05-31T10:00:00"),
            _ticket("t2", "2024-06-10T10:00:00"),
            _ticket("t3", "2024-06-20T10:00:00"),
            _ticket("t4", "2024-06-21T10:00:00", severity="high"),
            _ticket("t5", "2024-06-22T10:00:00", type="question"),
        ]
    )
    assert detect("critical_bugs", data) == []


def test_critical_bugs_of_the_previous_month_are_still_reported_on_the_first() -> None:
    data = inputs(
        tickets=[
            _ticket("t1", "2024-05-29T10:00:00"),
            _ticket("t2", "2024-05-30T10:00:00", type="incident"),
            _ticket("t3", "2024-05-31T10:00:00"),
        ]
    )
    [row] = detect("critical_bugs", data, as_of=date(2024, 6, 1))
    assert (row["occurrence"], row["occurred_on"]) == ("2024-05", date(2024, 5, 31))
    assert detect("critical_bugs", data, as_of=date(2024, 7, 1)) == []


def test_slow_resolution_above_48_calendar_hours() -> None:
    data = inputs(
        tickets=[
            # Exactly 48 hours: in time.
            _ticket("t1", "2024-06-10T09:00:00", resolved_at="2024-06-12T09:00:00"),
            # One second more: late.
            _ticket(
                "t2", "2024-06-10T09:00:00", resolved_at="2024-06-12T09:00:01", severity="normal"
            ),
            # Still open at the end of 30 June: 49 hours.
            _ticket("t3", "2024-06-28T23:00:00"),
            # Still open, exactly 48 hours at the end of 30 June.
            _ticket("t4", "2024-06-29T00:00:00"),
            # Requests are not trouble.
            _ticket("t5", "2024-06-01T09:00:00", type="feature_request"),
        ]
    )
    assert detect("slow_resolution", data, resolution_hours_counting="calendar") == [
        {
            "customer_id": "c1",
            "level": "medium",
            "occurrence": "t2",
            "occurred_on": date(2024, 6, 12),
            "detail": {"ticket_id": "t2", "severity": "normal", "hours": 48.0, "resolved": True},
        },
        {
            "customer_id": "c1",
            "level": "high",
            "occurrence": "t3",
            "occurred_on": date(2024, 6, 30),
            "detail": {"ticket_id": "t3", "severity": "critical", "hours": 49.0, "resolved": False},
        },
    ]


def test_slow_resolution_counts_business_hours_by_default() -> None:
    # Opened on Friday 12 July 2024 at 10:00; Monday 15 July is Marine Day. Business hours:
    # 14 on Friday, none over the weekend and the holiday, 24 on Tuesday, 10 on Wednesday:
    # 48 hours at Wednesday 17 July 10:00 (120 calendar hours).
    data = inputs(
        tickets=[
            _ticket("t1", "2024-07-12T10:00:00", resolved_at="2024-07-17T10:00:00"),
            _ticket("t2", "2024-07-12T10:00:00", resolved_at="2024-07-17T10:00:01"),
            # Opened on Saturday: the clock starts on Tuesday at 0:00; 47 hours by Wed 23:00.
            _ticket("t3", "2024-07-13T09:00:00", resolved_at="2024-07-17T23:00:00"),
        ]
    )
    assert detect("slow_resolution", data, as_of=date(2024, 7, 31)) == [
        {
            "customer_id": "c1",
            "level": "high",
            "occurrence": "t2",
            "occurred_on": date(2024, 7, 17),
            "detail": {"ticket_id": "t2", "severity": "critical", "hours": 48.0, "resolved": True},
        }
    ]
    assert [
        row["occurrence"]
        for row in detect(
            "slow_resolution", data, as_of=date(2024, 7, 31), resolution_hours_counting="calendar"
        )
    ] == ["t1", "t2", "t3"]


def test_slow_resolution_open_ticket_across_a_holiday_weekend() -> None:
    # Still open: 38 business hours at the end of Tuesday 16 July, 62 at the end of Wednesday.
    data = inputs(tickets=[_ticket("t1", "2024-07-12T10:00:00")])
    assert detect("slow_resolution", data, as_of=date(2024, 7, 16)) == []
    [row] = detect("slow_resolution", data, as_of=date(2024, 7, 17))
    assert row["occurred_on"] == date(2024, 7, 17)
    assert row["detail"]["hours"] == 62.0


def test_slow_resolution_skips_company_closures() -> None:
    from kizuna.core.calendar import business_calendar

    # Friday 27 December 2024, 9:00: 15 hours that day, then the year-end closure (to 3
    # January) and a weekend; 24 hours on Monday 6 January, 9 on Tuesday 7 January = 48.
    data = inputs(
        tickets=[
            _ticket("t1", "2024-12-27T09:00:00", resolved_at="2025-01-07T09:00:00"),
            _ticket("t2", "2024-12-27T09:00:00", resolved_at="2025-01-07T09:00:01"),
        ]
    )
    as_of = date(2025, 1, 20)
    assert [row["occurrence"] for row in detect("slow_resolution", data, as_of=as_of)] == ["t2"]
    # A company closed on Monday 6 January too: t2 is in time.
    closed = business_calendar("JP", closed_days=[date(2025, 1, 6)])
    assert detect("slow_resolution", data, as_of=as_of, calendar=closed) == []


def test_resolution_hours_counting_is_checked() -> None:
    import pytest

    from kizuna.engine.signals import SignalSettings

    with pytest.raises(ValueError, match="resolution_hours_counting"):
        SignalSettings(resolution_hours_counting="office")  # type: ignore[arg-type]


def _questions(prefix: str, day: str, count: int) -> list[dict[str, object]]:
    return [
        _ticket(
            f"{prefix}{n}",
            f"{day}T10:00:00",
            type="question",
            severity="low",
            resolved_at=f"{day}T11:00:00",
        )
        for n in range(count)
    ]


def test_ticket_spike_doubles_with_at_least_five_tickets() -> None:
    data = inputs(tickets=_questions("p", "2024-05-15", 3) + _questions("c", "2024-06-15", 6))
    assert detect("ticket_spike", data) == [
        {
            "customer_id": "c1",
            "level": "medium",
            "occurrence": "2024-06",
            "occurred_on": AS_OF,
            "detail": {"tickets": 6, "previous_tickets": 3},
        }
    ]


def test_ticket_spike_below_double_or_below_five_does_not_fire() -> None:
    below_double = inputs(
        tickets=_questions("p", "2024-05-15", 3) + _questions("c", "2024-06-15", 5)
    )
    too_few = inputs(tickets=_questions("c", "2024-06-15", 4))
    assert detect("ticket_spike", below_double) == []
    assert detect("ticket_spike", too_few) == []
    assert len(detect("ticket_spike", inputs(tickets=_questions("c", "2024-06-15", 5)))) == 1


# --- S4 NPS drop -----------------------------------------------------------------------------


def _responses(*scores: tuple[str, str, int]) -> list[dict[str, object]]:
    return [
        {"response_id": rid, "customer_id": "c1", "responded_on": day, "score": score}
        for rid, day, score in scores
    ]


def test_nps_drop_from_7_to_6_is_medium_risk() -> None:
    data = inputs(nps=_responses(("r1", "2024-01-10", 7), ("r2", "2024-06-01", 6)))
    assert detect("nps_drop", data) == [
        {
            "customer_id": "c1",
            "level": "medium",
            "occurrence": "r2",
            "occurred_on": date(2024, 6, 1),
            "detail": {
                "score": 6,
                "previous_score": 7,
                "response_id": "r2",
                "previous_response_id": "r1",
            },
        }
    ]


def test_nps_drop_to_4_or_lower_is_high_risk() -> None:
    responses = _responses(("r1", "2024-01-10", 9), ("r2", "2024-06-01", 4))
    responses += [
        {"response_id": "r3", "customer_id": "c2", "responded_on": "2024-01-10", "score": 8},
        {"response_id": "r4", "customer_id": "c2", "responded_on": "2024-06-02", "score": 5},
    ]
    data = inputs(nps=responses)
    assert [(row["customer_id"], row["level"]) for row in detect("nps_drop", data)] == [
        ("c1", "high"),
        ("c2", "medium"),
    ]


def test_nps_without_crossing_or_outside_the_lookback_does_not_fire() -> None:
    assert (
        detect("nps_drop", inputs(nps=_responses(("r1", "2024-01-10", 7), ("r2", "2024-06-01", 7))))
        == []
    )
    assert (
        detect("nps_drop", inputs(nps=_responses(("r1", "2024-01-10", 6), ("r2", "2024-06-01", 0))))
        == []
    )
    assert (
        detect(
            "nps_drop", inputs(nps=_responses(("r1", "2024-01-10", 10), ("r2", "2024-05-31", 2)))
        )
        == []
    )


# --- S5 key contact left ---------------------------------------------------------------------


def _contact(contact_id: str, role: str, status: str, changed: str | None) -> dict[str, object]:
    return {
        "contact_id": contact_id,
        "customer_id": "c1",
        "name": f"Contact {contact_id}",
        "role": role,
        "status": status,
        "status_changed_on": changed,
    }


def test_key_contact_left_or_moved() -> None:
    data = inputs(
        contacts=[
            _contact("p1", "champion", "left", "2024-06-01"),
            _contact("p2", "decision_maker", "moved", None),
            _contact("p3", "decision_maker", "left", "2024-05-31"),  # before the lookback
            _contact("p4", "other", "left", "2024-06-10"),  # not a key role
            _contact("p5", "daily_contact", "active", "2024-06-10"),
        ]
    )
    assert detect("key_contact_left", data) == [
        {
            "customer_id": "c1",
            "level": "high",
            "occurrence": "p1:left",
            "occurred_on": date(2024, 6, 1),
            "detail": {
                "contact_id": "p1",
                "name": "Contact p1",
                "role": "champion",
                "status": "left",
            },
        },
        {
            "customer_id": "c1",
            "level": "high",
            "occurrence": "p2:moved",
            "occurred_on": AS_OF,
            "detail": {
                "contact_id": "p2",
                "name": "Contact p2",
                "role": "decision_maker",
                "status": "moved",
            },
        },
    ]


# --- S6 renewal windows ----------------------------------------------------------------------


def test_renewal_windows_90_60_30() -> None:
    data = inputs(
        subscriptions=[
            subscription("d91", interval="year", start_date="2023-09-29"),  # renews 2024-09-29
            subscription("d90", interval="year", start_date="2023-09-28"),
            subscription("d61", interval="year", start_date="2023-08-30"),
            subscription("d60", interval="year", start_date="2023-08-29"),
            subscription("d30", interval="month", interval_count=12, start_date="2022-07-30"),
            subscription("fixed", start_date="2024-01-15", end_date="2024-07-15"),
            subscription("monthly"),  # renews continuously: no renewal event
            subscription(
                "canceled", interval="year", start_date="2023-07-10", canceled_at="2024-05-01"
            ),
            subscription("today", interval="year", start_date="2023-06-30"),  # renewed today
        ]
    )
    rows = detect("renewal_due", data)
    assert [(r["customer_id"], r["level"], r["occurrence"], r["occurred_on"]) for r in rows] == [
        ("d30", "high", "2024-07-30:30d", date(2024, 6, 30)),
        ("d60", "medium", "2024-08-29:60d", date(2024, 6, 30)),
        ("d61", "low", "2024-08-30:90d", date(2024, 6, 1)),
        ("d90", "low", "2024-09-28:90d", date(2024, 6, 30)),
        ("fixed", "high", "2024-07-15:30d", date(2024, 6, 15)),
    ]
    assert rows[0]["detail"] == {"renewal_on": "2024-07-30", "days_left": 30, "window_days": 30}


# --- S7 communication gap --------------------------------------------------------------------


def _activity(activity_id: str, customer_id: str, kind: str, at: str) -> dict[str, object]:
    return {"activity_id": activity_id, "customer_id": customer_id, "type": kind, "occurred_at": at}


def test_communication_gap_of_60_days() -> None:
    data = inputs(
        subscriptions=[
            subscription("quiet"),
            subscription("recent"),
            subscription("never", start_date="2024-05-01"),
        ],
        activities=[
            _activity("a1", "quiet", "email", "2024-05-01T18:00:00"),
            _activity("a2", "quiet", "note", "2024-06-20T10:00:00"),  # a note is not contact
            _activity("a3", "recent", "meeting", "2024-05-02T10:00:00"),
        ],
    )
    assert detect("communication_gap", data) == [
        {
            "customer_id": "never",
            "level": "medium",
            "occurrence": "2024-05-01",
            "occurred_on": AS_OF,
            "detail": {"last_contact_on": None, "days_silent": 60},
        },
        {
            "customer_id": "quiet",
            "level": "medium",
            "occurrence": "2024-05-01",
            "occurred_on": AS_OF,
            "detail": {"last_contact_on": "2024-05-01", "days_silent": 60},
        },
    ]


# --- S8 competitor pages ---------------------------------------------------------------------


def test_competitor_page_view_levels() -> None:
    def views(customer_id: str, count: int, day: str = "2024-06-10") -> dict[str, object]:
        return {
            "customer_id": customer_id,
            "date": day,
            "logins": 1,
            "active_users": 1,
            "competitor_page_views": count,
        }

    data = inputs(
        usage_daily=[
            views("none", 0),
            views("low", 1),
            views("medium", 3),
            views("high", 10),
            views("old", 10, day="2024-05-31"),  # previous window only
        ]
    )
    rows = detect("competitor_interest", data)
    assert [(r["customer_id"], r["level"], r["detail"]) for r in rows] == [
        ("high", "high", {"competitor_page_views": 10}),
        ("low", "low", {"competitor_page_views": 1}),
        ("medium", "medium", {"competitor_page_views": 3}),
    ]


# --- S9 impact × risk ------------------------------------------------------------------------


def test_high_mrr_and_30_days_inactive() -> None:
    data = inputs(
        subscriptions=[
            subscription("idle"),  # 10 × 10,000 = 100,000 a month
            subscription("active"),
            subscription("small", unit_price="9999"),  # 99,990 a month
            subscription("never"),
        ],
        usage_daily=[
            {"customer_id": "idle", "date": "2024-05-31", "logins": 1, "active_users": 1},
            {"customer_id": "idle", "date": "2024-06-10", "logins": 0, "active_users": 0},
            {"customer_id": "active", "date": "2024-06-01", "logins": 1, "active_users": 1},
            {"customer_id": "small", "date": "2024-05-01", "logins": 1, "active_users": 1},
        ],
    )
    assert detect("high_value_inactive", data) == [
        {
            "customer_id": "idle",
            "level": "high",
            "occurrence": "2024-05-31",
            "occurred_on": AS_OF,
            "detail": {"mrr": 100000.0, "last_used_on": "2024-05-31", "days_inactive": 30},
        },
        {
            "customer_id": "never",
            "level": "high",
            "occurrence": "2023-01-01",
            "occurred_on": date(2023, 1, 31),
            "detail": {"mrr": 100000.0, "last_used_on": None, "days_inactive": 546},
        },
    ]


def test_high_value_inactive_uses_revenue_engine_mrr_when_given() -> None:
    data = inputs(
        subscriptions=[subscription("idle")],
        usage_daily=[{"customer_id": "idle", "date": "2024-05-01", "logins": 1, "active_users": 1}],
        customer_mrr=[{"customer_id": "idle", "mrr": 50_000.0}],
    )
    assert detect("high_value_inactive", data) == []
    assert len(detect("high_value_inactive", data, high_mrr=50_000.0)) == 1
