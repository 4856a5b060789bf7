"""Money as integer minor units with an ISO 4217 currency. Never a float.

Amounts cross the API as decimal strings ("12.50") or JSON numbers parsed as
``Decimal``; inside Patron they are ``int`` minor units (1250 cents).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from patron.core.errors import InvalidInput

# Minor-unit exponents that differ from 2. Anything else well-formed is 2.
_EXPONENTS: dict[str, int] = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}


# ISO 4217's codes (2024), funds and precious metals included: a program's currency
# must be one of them, so that a typo (GPB) is caught when the program is saved
# rather than as every event's "currency differs from the program currency".
ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV
    BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK
    DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG
    HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP
    LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN
    NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG
    SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
    UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD
    XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG ZWL""".split()  # noqa: SIM905
)


def exponent(currency: str) -> int:
    known = _EXPONENTS.get(currency)  # the common case: an upper-case code
    return known if known is not None else _EXPONENTS.get(currency.upper(), 2)


def check_currency(currency: str, field: str = "currency") -> str:
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if len(code) != 3 or not code.isalpha():
        raise InvalidInput(
            f"'{currency}' is not a three-letter ISO 4217 currency code", field=field
        )
    return code


def to_minor(amount: Decimal | int | str, currency: str, field: str = "amount") -> int:
    """Convert a decimal amount to minor units, refusing sub-minor precision."""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(f"'{amount}' is not a decimal amount", field=field) from exc
    if not value.is_finite():
        raise InvalidInput("amount must be a finite number", field=field)
    scaled = value.scaleb(exponent(currency))
    minor = int(scaled)  # toward zero; equal only if nothing was cut off
    if minor != scaled:
        raise InvalidInput(
            f"{value} has more than {exponent(currency)} decimal places for {currency}", field=field
        )
    return minor


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


def format_money(minor: int, currency: str) -> str:
    return f"{to_decimal(minor, currency):.{exponent(currency)}f} {currency}"
