"""ISO 4217 currencies and their minor units, for validating inputs and rounding output.

Kept as data in the engine (no extra dependency) because the engine must reject a currency it
cannot round correctly: an unknown code is an input error, never a silent default.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


# Active ISO 4217 codes whose minor unit is not 2 (the usual case). Fund codes such as CLF and
# UYW keep their official 4 places; precious metals and testing codes (XAU, XTS, …) are not
# money a subscription is billed in, so they are deliberately absent.
def _codes(text: str) -> list[str]:
    return text.split()


_MINOR_UNITS_OTHER_THAN_2: dict[str, int] = {
    **dict.fromkeys(
        _codes("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"), 0
    ),
    **dict.fromkeys(_codes("BHD IQD JOD KWD LYD OMR TND"), 3),
    **dict.fromkeys(_codes("CLF UYW"), 4),
}

_TWO_DECIMAL_CODES = _codes(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN
    BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP
    LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR
    NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP
    STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER
    ZAR ZMW ZWG ZWL
    """
)

MINOR_UNITS: dict[str, int] = {**dict.fromkeys(_TWO_DECIMAL_CODES, 2), **_MINOR_UNITS_OTHER_THAN_2}


def is_currency(code: str) -> bool:
    return code in MINOR_UNITS


def minor_unit(code: str) -> int:
    """Number of decimal places of ``code`` (JPY 0, USD 2, KWD 3); unknown codes raise."""
    try:
        return MINOR_UNITS[code]
    except KeyError:
        raise ValueError(f"unknown currency {code!r} (not an ISO 4217 code)") from None


def round_money(amount: Decimal, code: str) -> Decimal:
    """Round to the currency's minor unit, half away from zero (as invoices and 四捨五入 do)."""
    return amount.quantize(Decimal(1).scaleb(-minor_unit(code)), rounding=ROUND_HALF_UP)
