"""Integer money is used only when it is exact and every monthly total fits 64 bits."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from kizuna.core.revenue_rules import RevenueRules
from kizuna.engine.revenue import InputPlaces, MoneyScale, integer_scale

if TYPE_CHECKING:
    from conftest import Revenue

WHOLE = InputPlaces(quantity=0, unit_price=0, discount_percent=0, discount_amount=0)


def _scale(places: InputPlaces = WHOLE, **sizes: float) -> MoneyScale:
    figures = {
        "spend_places": 0,
        "rate_places": 2,
        "items_bound": 1e9,
        "spend_bound": 0.0,
        "largest_rate": 150.0,
        "largest_operand": 1e6,
    }
    figures.update(sizes)
    return integer_scale(1, RevenueRules(), places, **figures)  # type: ignore[arg-type]


def test_whole_amounts_and_small_totals_use_integers() -> None:
    scale = _scale(spend_places=2)
    assert scale.integer
    # Numerators count hundredths (the spend's decimals); rates are in hundredths.
    assert (scale.amount_places, scale.rate_scale) == (2, 100)
    assert scale.denominator == 100 * 12 * 100 * 100
    assert scale.to_money(24_000_000) == Decimal(2)


def test_more_than_six_decimals_in_a_period_amount_keep_decimals() -> None:
    # 1.5 seats × 0.333333 (7 decimals): the decimal path rounds that to 10⁻⁶.
    places = InputPlaces(quantity=1, unit_price=6, discount_percent=0, discount_amount=0)
    assert not _scale(places).integer
    assert not integer_scale(
        1, RevenueRules(discounts="ignore"), places, 0, 0, 1.0, 0.0, 1.0, 1.0
    ).integer
    assert integer_scale(
        1,
        RevenueRules(discounts="ignore"),
        InputPlaces(quantity=1, unit_price=5, discount_percent=3, discount_amount=0),
        0,
        0,
        1.0,
        0.0,
        1.0,
        1.0,
    ).integer


def test_totals_that_might_not_fit_64_bits_keep_decimals() -> None:
    assert _scale(items_bound=1e13).integer
    # 1e14 × 150 × 100 = 1.5e18 > 2⁶³ ÷ 8.
    assert not _scale(items_bound=1e14).integer
    assert not _scale(spend_bound=1e12).integer
    assert not _scale(largest_operand=1e11).integer


def test_decimal_path_when_the_data_needs_it(revenue: Revenue) -> None:
    rows = [
        revenue.item(
            "a",
            "1000.333333",
            "2024-01-01",
            "2024-03-01",
            quantity="1.5",
            discount_percent="12.5",
        ),
        revenue.item("b", "1000", "2024-02-01"),
    ]
    result = revenue.compute(rows)
    assert not result.scale.integer
    # 1.5 × 1000.333333 × 87.5 % = 1312.9374995625 (10 decimals): 1,313 yen.
    assert revenue.movements(result, "a") == [
        ("2024-01", "new", Decimal(1313), Decimal(1313)),
        ("2024-02", "none", Decimal(0), Decimal(1313)),
        ("2024-03", "churned", Decimal(-1313), Decimal(0)),
    ]


def test_an_operand_that_would_overflow_when_scaled_keeps_decimals() -> None:
    # 24,018,000 with six places in use: 24,018,000 × 10⁶ (held) × 10⁶ (scaled) > 2⁶³.
    places = InputPlaces(quantity=0, unit_price=6, discount_percent=0, discount_amount=0)
    assert not _scale(places, largest_operand=24_018_000.0, items_bound=1.0).integer
    assert _scale(WHOLE, largest_operand=24_018_000.0, items_bound=1.0).integer


def test_large_prices_are_exact_on_either_path(revenue: Revenue) -> None:
    # An annual contract of ¥24,018,000 (MRR 2,001,500) beside a price that uses six places.
    rows = [
        revenue.item("big", "24018000", "2024-01-01", "2024-03-01", interval="year"),
        revenue.item("fine", "1000.000001", "2024-02-01"),
    ]
    result = revenue.compute(rows)
    assert not result.scale.integer
    assert revenue.movements(result, "big") == [
        ("2024-01", "new", Decimal(2_001_500), Decimal(2_001_500)),
        ("2024-02", "none", Decimal(0), Decimal(2_001_500)),
        ("2024-03", "churned", Decimal(-2_001_500), Decimal(0)),
    ]
    whole = revenue.compute(rows[:1])
    assert whole.scale.integer
    assert revenue.movements(whole, "big")[0] == (
        "2024-01",
        "new",
        Decimal(2_001_500),
        Decimal(2_001_500),
    )
