"""The simulated period: ``months`` calendar months ending with the month of ``as_of``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


# Months before the first simulated month whose start dates are precomputed (the installed
# base reaches 24 months back, its sales cycles and FX history a little further).
_CACHED_BACK = 36


@dataclass(frozen=True)
class Timeline:
    as_of: date
    months: int

    @cached_property
    def first_month(self) -> date:
        return add_months(self.as_of.replace(day=1), -(self.months - 1))

    @cached_property
    def _month_starts(self) -> list[date]:
        return [
            add_months(self.first_month, index) for index in range(-_CACHED_BACK, self.months + 2)
        ]

    def month_start(self, index: int) -> date:
        """First day of month ``index`` (0 = first simulated month; negative = before it)."""
        if -_CACHED_BACK <= index < self.months + 2:
            return self._month_starts[index + _CACHED_BACK]
        return add_months(self.first_month, index)

    def month_end(self, index: int) -> date:
        """Last day of month ``index``."""
        return self.month_start(index + 1) - timedelta(days=1)

    def month_of(self, day: date) -> int:
        return (day.year - self.first_month.year) * 12 + day.month - self.first_month.month

    def day_in_month(self, index: int, offset: int) -> date:
        """Day ``offset`` (0-based, clamped) of month ``index``, never after ``as_of``."""
        start = self.month_start(index)
        day = min(start + timedelta(days=offset), self.month_end(index))
        return min(day, self.as_of)
