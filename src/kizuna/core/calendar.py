"""Business days: weekends, national holidays and the company's own closed days.

Due dates of tasks and escalations are counted in business days (SPEC W). A day is a
business day when it is not a weekend day, not a national holiday of the configured country
(from the ``holidays`` package; Japan by default, including substitute holidays) and not a
company closed day. Company closed days are either recurring every year (the Japanese year-end
break, 29 December to 3 January, by default) or explicit dates (a foundation day, an office
move). Explicit open days override everything else, for the rare Saturday the company works.

This module is pure Python: it takes its configuration as arguments so the engine, the
playbooks and the tests can use it without Django settings.

Counting conventions (the same in every function, so they compose):

* ``add_business_days(start, n)`` is the n-th business day *after* ``start``; ``start`` itself
  is never counted, so a task created on Friday and due "in 1 business day" is due on the next
  business day, whatever day it was created on.
* ``business_days_between(start, end)`` counts business days in ``(start, end]``, so
  ``business_days_between(d, add_business_days(d, n)) == n`` for every ``n ≥ 0``.
* ``due_after_hours(start, hours)`` counts hours only while the clock is on a business day
  (the default), or plain elapsed hours (``mode="calendar"``); see its docstring for why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal

import holidays

HourCounting = Literal["business", "calendar"]

# Monday is 0 in ``date.weekday()``; Saturday and Sunday are the weekend in Japan and most
# countries the product is used in. Countries with another weekend pass their own.
DEFAULT_WEEKEND: frozenset[int] = frozenset({5, 6})

# A bound on how far a search for the next business day may run: no real calendar closes for
# a whole year, so hitting it means a misconfiguration (e.g. every weekday in ``weekend``).
_MAX_CLOSED_RUN_DAYS = 366


@dataclass(frozen=True)
class AnnualClosure:
    """Days the company is closed every year, from ``start`` to ``end`` inclusive.

    Given as (month, day) pairs; a range may wrap the year end, e.g. 29 Dec → 3 Jan.
    """

    start_month: int
    start_day: int
    end_month: int
    end_day: int

    def __post_init__(self) -> None:
        # Validate with a leap year so 29 February is accepted.
        date(2000, self.start_month, self.start_day)
        date(2000, self.end_month, self.end_day)

    def contains(self, day: date) -> bool:
        key = (day.month, day.day)
        start = (self.start_month, self.start_day)
        end = (self.end_month, self.end_day)
        if start <= end:
            return start <= key <= end
        return key >= start or key <= end


# The customary Japanese year-end and New Year break (年末年始休暇).
JAPANESE_YEAR_END = AnnualClosure(12, 29, 1, 3)


@dataclass(frozen=True)
class BusinessCalendar:
    """Which days are business days; immutable and cheap to share."""

    country: str = "JP"
    subdivision: str | None = None
    weekend: frozenset[int] = DEFAULT_WEEKEND
    annual_closures: tuple[AnnualClosure, ...] = (JAPANESE_YEAR_END,)
    closed_days: frozenset[date] = field(default_factory=frozenset)
    open_days: frozenset[date] = field(default_factory=frozenset)
    """Explicit working days that override weekends, holidays and closures."""

    def is_holiday(self, day: date) -> bool:
        """A national (or subdivision) public holiday of ``country``."""
        return day in _holidays_of_year(self.country, self.subdivision, day.year)

    def is_business_day(self, day: date) -> bool:
        if day in self.open_days:
            return True
        if day.weekday() in self.weekend or day in self.closed_days:
            return False
        if any(closure.contains(day) for closure in self.annual_closures):
            return False
        return not self.is_holiday(day)

    def next_business_day(self, day: date) -> date:
        """``day`` itself when it is a business day, else the first business day after it."""
        return self._roll(day, step=1)

    def previous_business_day(self, day: date) -> date:
        """``day`` itself when it is a business day, else the last business day before it."""
        return self._roll(day, step=-1)

    def add_business_days(self, start: date, n: int) -> date:
        """The ``n``-th business day after ``start`` (before it when ``n`` is negative).

        ``start`` is not counted. ``n == 0`` gives ``start`` rolled forward to a business day.
        """
        if n == 0:
            return self.next_business_day(start)
        step = 1 if n > 0 else -1
        day = start
        for _ in range(abs(n)):
            day = self._roll(day + timedelta(days=step), step=step)
        return day

    def business_days_between(self, start: date, end: date) -> int:
        """Business days in ``(start, end]``; negative when ``end`` is before ``start``."""
        if end < start:
            return -self.business_days_between(end, start)
        count = 0
        day = start + timedelta(days=1)
        while day <= end:
            count += self.is_business_day(day)
            day += timedelta(days=1)
        return count

    def due_after_hours(
        self, start: datetime, hours: float, mode: HourCounting = "business"
    ) -> datetime:
        """The moment ``hours`` after ``start``.

        ``mode="business"`` (the default) lets the clock run only on business days, 24 hours
        each: "within 48 hours" raised on a Monday at 10:00 is due on Wednesday at 10:00, as
        in calendar hours, but raised on a Friday at 15:00 before a Monday holiday it is due
        on Wednesday at 15:00, not on Sunday when nobody can act. Office hours (9 to 18) are
        deliberately not used: "48 hours" would then stretch to more than five days, which
        is not what a customer promised a meeting "within 48 hours" expects. A start on a
        closed day counts from midnight of the next business day.

        ``mode="calendar"`` is plain elapsed time, for commitments made in wall-clock terms.
        """
        remaining = timedelta(hours=hours)
        if mode == "calendar":
            return start + remaining
        if remaining < timedelta(0):
            raise ValueError("business-hour counting needs a non-negative number of hours")
        moment = start
        if not self.is_business_day(moment.date()):
            moment = _midnight(moment, self.next_business_day(moment.date()))
        while True:
            day_end = _midnight(moment, moment.date() + timedelta(days=1))
            available = day_end - moment
            if remaining <= available:
                return moment + remaining
            remaining -= available
            moment = _midnight(moment, self.next_business_day(day_end.date()))

    def _roll(self, day: date, step: int) -> date:
        for _ in range(_MAX_CLOSED_RUN_DAYS):
            if self.is_business_day(day):
                return day
            day += timedelta(days=step)
        raise ValueError(f"no business day within {_MAX_CLOSED_RUN_DAYS} days of {day}")


def _midnight(like: datetime, day: date) -> datetime:
    """Midnight of ``day`` in the time zone of ``like`` (naive stays naive)."""
    return datetime.combine(day, time.min, tzinfo=like.tzinfo)


@lru_cache(maxsize=256)
def _holidays_of_year(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    # One lookup table per (country, year): due-date arithmetic runs for every task of a
    # playbook run, and building a ``holidays`` object is far slower than a set lookup.
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year).keys())


def business_calendar(
    country: str = "JP",
    subdivision: str | None = None,
    *,
    weekend: Iterable[int] = DEFAULT_WEEKEND,
    annual_closures: Iterable[AnnualClosure] = (JAPANESE_YEAR_END,),
    closed_days: Iterable[date] = (),
    open_days: Iterable[date] = (),
) -> BusinessCalendar:
    """Build a :class:`BusinessCalendar` from plain values (e.g. read from settings)."""
    return BusinessCalendar(
        country=country,
        subdivision=subdivision,
        weekend=frozenset(weekend),
        annual_closures=tuple(annual_closures),
        closed_days=frozenset(closed_days),
        open_days=frozenset(open_days),
    )


def parse_annual_closure(text: str) -> AnnualClosure:
    """``"12-29..01-03"`` (or a single ``"05-01"``) to an :class:`AnnualClosure`."""
    first, _, last = text.partition("..")
    start_month, start_day = (int(part) for part in first.strip().split("-"))
    end_month, end_day = (
        (int(part) for part in last.strip().split("-")) if last else (start_month, start_day)
    )
    return AnnualClosure(start_month, start_day, end_month, end_day)


DEFAULT_CALENDAR = BusinessCalendar()


def is_business_day(day: date, calendar: BusinessCalendar = DEFAULT_CALENDAR) -> bool:
    return calendar.is_business_day(day)


def add_business_days(start: date, n: int, calendar: BusinessCalendar = DEFAULT_CALENDAR) -> date:
    return calendar.add_business_days(start, n)


def business_days_between(
    start: date, end: date, calendar: BusinessCalendar = DEFAULT_CALENDAR
) -> int:
    return calendar.business_days_between(start, end)


def due_after_hours(
    start: datetime,
    hours: float,
    mode: HourCounting = "business",
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
) -> datetime:
    return calendar.due_after_hours(start, hours, mode)
