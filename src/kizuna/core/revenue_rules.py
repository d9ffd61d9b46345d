"""The contested revenue rules: settings on which subscription-analytics tools disagree.

Plain Python (no engine, no Django) so that both the configuration, which reads them once at
start-up from ``KIZUNA_REVENUE_RULES``, and the revenue engine, which applies them, share one
definition. A rules file is TOML, one ``setting = value`` per line, with the field names of
:class:`RevenueRules`.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal


class RulesError(ValueError):
    """Rules that cannot be used; ``problems`` are one message per line."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class RevenueRules:
    """Rules on which subscription-analytics tools disagree; the defaults are Kizuna's.

    Changing a rule recomputes the whole history with it.
    """

    churn_at: Literal["end_of_service", "cancellation_request"] = "end_of_service"
    """When a cancelled item stops counting: at ``end_date`` (service really ends) or at
    ``canceled_at`` (the day the customer asked to cancel)."""
    discounts: Literal["subtract", "ignore"] = "subtract"
    """Subtract discounts from MRR (net MRR), or report list-price MRR."""
    reactivation_window_months: int | None = None
    """``None``: any return after a gap is a reactivation. ``N``: a return after more than N
    months without MRR counts as new business again."""
    trials_carry_mrr: bool = False
    """Trials carry no MRR by default; ``True`` counts an item from its start date."""
    gross_margin: Decimal = Decimal(1)
    """Gross margin as a fraction (0.8 = 80 %) for LTV and payback."""
    free_plans_are_customers: bool = False
    """``False``: a customer whose in-service items are all free (MRR 0) is not a customer: it
    is absent from ``customers``, the movements and the cohorts, and its first paid month is
    ``new``. ``True``: it also counts in ``customers`` (hence in ARPA and the logo-churn base)
    while the movements stay MRR-based."""
    past_due_churn_days: int | None = None
    """``None``: a customer who does not pay stays in MRR until its items end. ``N``: a customer
    with an invoice unpaid more than N days after its due date at a month-end has no MRR that
    month (churned), until the invoice is paid (reactivation). Needs the invoices input."""

    def __post_init__(self) -> None:
        if self.churn_at not in ("end_of_service", "cancellation_request"):
            raise ValueError(
                f"churn_at must be end_of_service or cancellation_request, not {self.churn_at!r}"
            )
        if self.discounts not in ("subtract", "ignore"):
            raise ValueError(f"discounts must be subtract or ignore, not {self.discounts!r}")
        if self.reactivation_window_months is not None and self.reactivation_window_months < 0:
            raise ValueError("reactivation_window_months must be ≥ 0")
        if not Decimal(0) < self.gross_margin <= Decimal(1):
            raise ValueError("gross_margin must be a fraction in (0, 1]")
        if self.past_due_churn_days is not None and self.past_due_churn_days < 0:
            raise ValueError("past_due_churn_days must be ≥ 0")

    @property
    def fingerprint(self) -> str:
        """A short digest that changes whenever any rule does (results computed under other
        rules are stale)."""
        text = repr(sorted((name, str(value)) for name, value in asdict(self).items()))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


_INTEGER_SETTINGS = ("reactivation_window_months", "past_due_churn_days")
_BOOLEAN_SETTINGS = ("trials_carry_mrr", "free_plans_are_customers")
_TEXT_SETTINGS = ("churn_at", "discounts")


def rules_from_settings(settings: Mapping[str, object], source: str) -> RevenueRules:
    """:class:`RevenueRules` from a mapping of field names to values (a parsed TOML file);
    ``gross_margin`` may be a number or a decimal string. Every problem is reported as
    ``source: message`` in a :class:`RulesError`."""
    known = {item.name: item for item in fields(RevenueRules)}
    problems = [f"{source}: unknown setting {name!r}" for name in settings if name not in known]
    values: dict[str, Any] = {}
    for name, value in settings.items():
        if name not in known:
            continue
        if (
            name == "gross_margin"
            and isinstance(value, int | float | str)
            and not isinstance(value, bool)
        ):
            values[name] = Decimal(str(value))
        elif name in _INTEGER_SETTINGS and not (
            isinstance(value, int) and not isinstance(value, bool)
        ):
            problems.append(f"{source}: {name} must be a whole number, got {value!r}")
        elif name in _BOOLEAN_SETTINGS and not isinstance(value, bool):
            problems.append(f"{source}: {name} must be true or false, got {value!r}")
        elif name in _TEXT_SETTINGS and not isinstance(value, str):
            problems.append(f"{source}: {name} must be text, got {value!r}")
        else:
            values[name] = value
    if problems:
        raise RulesError(problems)
    try:
        return RevenueRules(**values)
    except (ValueError, ArithmeticError) as error:
        raise RulesError([f"{source}: {error}"]) from None


def read_rules_file(path: Path) -> RevenueRules:
    """:class:`RevenueRules` from a TOML file; problems name the file."""
    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RulesError([f"{path}: cannot read ({error.strerror})"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise RulesError([f"{path}: not valid TOML ({error})"]) from None
    return rules_from_settings(settings, str(path))
