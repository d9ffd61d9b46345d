"""Money: exact decimals with an ISO 4217 currency; rounding to each currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from babel.numbers import get_currency_precision, list_currencies

# Store precision: 6 decimal places keeps per-unit prices of metered items exact, and 20
# digits hold any realistic company's totals in yen.
MONEY_MAX_DIGITS = 20
MONEY_DECIMAL_PLACES = 6


class UnknownCurrency(ValueError):
    def __init__(self, code: str):
        super().__init__(f"unknown currency {code!r}: use an ISO 4217 code such as JPY or USD")
        self.code = code


@cache
def known_currencies() -> frozenset[str]:
    return frozenset(code for code in list_currencies() if len(code) == 3 and code.isalpha())


def check_currency(code: str) -> str:
    """Return the upper-cased ISO 4217 code, or raise :class:`UnknownCurrency`."""
    normalised = code.strip().upper()
    if normalised not in known_currencies():
        raise UnknownCurrency(code)
    return normalised


@cache
def minor_units(code: str) -> int:
    """Digits after the decimal point in the currency's minor unit (JPY 0, USD 2, KWD 3)."""
    return int(get_currency_precision(check_currency(code)))


def round_money(amount: Decimal, code: str) -> Decimal:
    """Round to the currency's minor unit, halves away from zero (Decimal's ``ROUND_HALF_UP``:
    2.5 → 3 and −2.5 → −3, as invoices and 四捨五入 do; banker's rounding surprises finance
    teams)."""
    quantum = Decimal(1).scaleb(-minor_units(code))
    return amount.quantize(quantum, rounding=ROUND_HALF_UP)


def round_quotient(numerator: int, denominator: int, code: str) -> Decimal:
    """``numerator ÷ denominator`` (a positive denominator) rounded as :func:`round_money`
    rounds, in integer arithmetic: exact at any size, and several times faster than dividing
    decimals, which counts when a recompute formats millions of amounts."""
    places = minor_units(code)
    units, remainder = divmod(abs(numerator) * 10**places, denominator)
    if 2 * remainder >= denominator:
        units += 1
    sign = "-" if numerator < 0 else ""
    return Decimal(f"{sign}{units}E-{places}")
