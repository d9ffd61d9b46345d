from decimal import Decimal, localcontext

from hypothesis import given
from hypothesis import strategies as st

from kizuna.core.money import round_money, round_quotient


def divided(numerator: int, denominator: int) -> Decimal:
    with localcontext() as context:
        context.prec = 60
        return Decimal(numerator) / Decimal(denominator)


def test_halves_round_away_from_zero_in_the_currency_minor_unit() -> None:
    assert str(round_quotient(5, 2, "JPY")) == "3"
    assert str(round_quotient(-5, 2, "JPY")) == "-3"
    assert str(round_quotient(7, 3, "JPY")) == "2"
    assert str(round_quotient(1, 3, "USD")) == "0.33"
    assert str(round_quotient(2, 3, "USD")) == "0.67"
    assert str(round_quotient(-1, 200, "USD")) == "-0.01"
    assert str(round_quotient(1234567, 1000, "KWD")) == "1234.567"
    assert str(round_quotient(0, 7, "USD")) == "0.00"


@given(
    numerator=st.integers(min_value=-(10**24), max_value=10**24),
    denominator=st.integers(min_value=1, max_value=10**22),
    code=st.sampled_from(["JPY", "USD", "KWD"]),
)
def test_same_decimal_as_dividing_then_rounding(
    numerator: int, denominator: int, code: str
) -> None:
    expected = round_money(divided(numerator, denominator), code)
    got = round_quotient(numerator, denominator, code)
    assert got == expected
    assert str(got) == str(expected)  # the same exponent and sign, "-0" included
