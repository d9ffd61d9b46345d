"""Business-day arithmetic with real Japanese holidays and the company calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kizuna.core.calendar import (
    JAPANESE_YEAR_END,
    AnnualClosure,
    BusinessCalendar,
    add_business_days,
    business_calendar,
    business_days_between,
    due_after_hours,
    is_business_day,
    parse_annual_closure,
)

JAPAN = BusinessCalendar()
JAPAN_NO_COMPANY_CLOSURES = business_calendar("JP", annual_closures=())


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 7, 12), True),  # Friday
        (date(2024, 7, 13), False),  # Saturday
        (date(2024, 7, 15), False),  # Marine Day (Monday)
        (date(2024, 5, 6), False),  # substitute holiday for Children's Day
        (date(2024, 12, 27), True),  # last business day of the year
        (date(2024, 12, 30), False),  # Monday inside the year-end break
        (date(2025, 1, 3), False),  # Friday inside the year-end break
        (date(2025, 1, 6), True),  # first business day of 2025
    ],
)
def test_is_business_day_in_japan(day: date, expected: bool) -> None:
    assert is_business_day(day) is expected


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # Friday before Marine Day (Monday 15 July 2024).
        (date(2024, 7, 12), 1, date(2024, 7, 16)),
        (date(2024, 7, 12), 3, date(2024, 7, 18)),
        (date(2024, 7, 12), 5, date(2024, 7, 22)),
        # Golden Week 2024: Showa Day Mon 29 Apr; 3–6 May closed (Fri holiday to substitute Mon).
        (date(2024, 4, 26), 1, date(2024, 4, 30)),
        (date(2024, 5, 2), 1, date(2024, 5, 7)),
        # Golden Week 2025: 3 May Sat to 6 May Tue (substitute holiday).
        (date(2025, 5, 2), 1, date(2025, 5, 7)),
        (date(2025, 4, 28), 3, date(2025, 5, 2)),
        # Year end: 29 Dec – 3 Jan closed, then a weekend.
        (date(2024, 12, 27), 1, date(2025, 1, 6)),
        (date(2024, 12, 26), 2, date(2025, 1, 6)),
        # Backwards and zero.
        (date(2024, 7, 16), -1, date(2024, 7, 12)),
        (date(2024, 7, 13), 0, date(2024, 7, 16)),
        (date(2024, 7, 12), 0, date(2024, 7, 12)),
    ],
)
def test_add_business_days(start: date, n: int, expected: date) -> None:
    assert add_business_days(start, n) == expected


def test_year_end_closure_is_the_company_calendar_not_a_holiday() -> None:
    assert JAPAN_NO_COMPANY_CLOSURES.add_business_days(date(2024, 12, 27), 1) == date(2024, 12, 30)
    # 1 January stays closed: it is a national holiday.
    assert JAPAN_NO_COMPANY_CLOSURES.is_business_day(date(2025, 1, 1)) is False
    assert JAPAN_NO_COMPANY_CLOSURES.is_business_day(date(2025, 1, 2)) is True


def test_business_days_between() -> None:
    assert business_days_between(date(2024, 12, 27), date(2025, 1, 6)) == 1
    assert business_days_between(date(2024, 7, 12), date(2024, 7, 19)) == 4
    assert business_days_between(date(2024, 7, 19), date(2024, 7, 12)) == -4
    assert business_days_between(date(2024, 7, 12), date(2024, 7, 12)) == 0
    # Whole of Golden Week 2024, Friday 26 April to Friday 10 May.
    assert business_days_between(date(2024, 4, 26), date(2024, 5, 10)) == 7


def test_explicit_closed_and_open_days() -> None:
    calendar = business_calendar(
        "JP", closed_days=[date(2024, 7, 16)], open_days=[date(2024, 7, 13)]
    )
    assert calendar.is_business_day(date(2024, 7, 13)) is True  # a working Saturday
    assert calendar.is_business_day(date(2024, 7, 16)) is False
    assert calendar.add_business_days(date(2024, 7, 12), 1) == date(2024, 7, 13)
    assert calendar.add_business_days(date(2024, 7, 12), 2) == date(2024, 7, 17)


def test_other_country() -> None:
    us = business_calendar("US", annual_closures=())
    assert us.add_business_days(date(2024, 7, 3), 1) == date(2024, 7, 5)  # Independence Day
    assert us.is_business_day(date(2024, 7, 15)) is True  # Marine Day is Japanese only


def test_annual_closure_parsing_and_wrapping() -> None:
    assert parse_annual_closure("12-29..01-03") == JAPANESE_YEAR_END
    assert parse_annual_closure("08-13..08-16") == AnnualClosure(8, 13, 8, 16)
    assert parse_annual_closure("05-01") == AnnualClosure(5, 1, 5, 1)
    assert JAPANESE_YEAR_END.contains(date(2024, 12, 28)) is False
    assert JAPANESE_YEAR_END.contains(date(2024, 12, 29)) is True
    assert JAPANESE_YEAR_END.contains(date(2025, 1, 3)) is True
    assert JAPANESE_YEAR_END.contains(date(2025, 1, 4)) is False
    with pytest.raises(ValueError):
        AnnualClosure(2, 30, 3, 1)


@pytest.mark.parametrize(
    ("start", "mode", "expected"),
    [
        # Ordinary weekday: business hours equal calendar hours.
        (datetime(2024, 7, 8, 10, 0), "business", datetime(2024, 7, 10, 10, 0)),
        (datetime(2024, 7, 8, 10, 0), "calendar", datetime(2024, 7, 10, 10, 0)),
        # Friday afternoon before Marine Day: the weekend and the holiday do not count.
        (datetime(2024, 7, 12, 15, 0), "business", datetime(2024, 7, 17, 15, 0)),
        (datetime(2024, 7, 12, 15, 0), "calendar", datetime(2024, 7, 14, 15, 0)),
        # Raised on a closed day: counting starts at midnight of the next business day.
        (datetime(2024, 7, 13, 10, 0), "business", datetime(2024, 7, 18, 0, 0)),
        # Raised on the last business day of the year.
        (datetime(2024, 12, 27, 18, 0), "business", datetime(2025, 1, 7, 18, 0)),
    ],
)
def test_due_after_48_hours(start: datetime, mode: str, expected: datetime) -> None:
    assert due_after_hours(start, 48, mode) == expected  # type: ignore[arg-type]


def test_due_after_hours_keeps_the_time_zone() -> None:
    jst = timezone(timedelta(hours=9))
    start = datetime(2024, 7, 12, 15, 0, tzinfo=jst)
    assert JAPAN.due_after_hours(start, 48) == datetime(2024, 7, 17, 15, 0, tzinfo=jst)


@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    n=st.integers(min_value=0, max_value=40),
)
def test_counting_and_adding_agree(start: date, n: int) -> None:
    due = JAPAN.add_business_days(start, n)
    assert JAPAN.is_business_day(due)
    if n > 0:
        assert JAPAN.business_days_between(start, due) == n
        assert JAPAN.business_days_between(start, due - timedelta(days=1)) == n - 1
