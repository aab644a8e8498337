"""Money as people type and read it. Amounts are Decimal with two places, never float.

The shape (symbol, where it goes, separators) comes from config.toml (see server/config.py):

    currency_symbol = "₱"          # up to 8 characters, no digits: "PHP " or "" too
    currency_position = "before"   # or "after": 1.234,50 €
    thousands_separator = ","
    decimal_separator = "."

The database checks the same rules itself (school.check_amount, the tables' CHECKs); these
give the message before anything is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
# Anything bigger at a school's window is a typing accident; the database refuses it too.
MAX_AMOUNT = Decimal("9999999.99")


@dataclass(frozen=True)
class MoneyFormat:
    symbol: str = "₱"
    symbol_after: bool = False
    thousands: str = ","
    decimal: str = "."


DEFAULT_FORMAT = MoneyFormat()


def format_money(
    amount: Decimal, fmt: MoneyFormat | None = DEFAULT_FORMAT, symbol: bool = True
) -> str:
    """1234.5 -> '₱1,234.50' (or '1.234,50 €' with another format); `symbol=False` for
    table columns whose header already says it is money. `fmt` is the school's format
    (config.toml, SchoolApp.money_format); None: the default."""
    fmt = fmt or DEFAULT_FORMAT
    value = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):,.2f}".split(".")
    number = whole.replace(",", fmt.thousands) + fmt.decimal + cents
    if not symbol or not fmt.symbol.strip():
        return sign + number
    if fmt.symbol_after:
        return f"{sign}{number} {fmt.symbol.strip()}"
    return f"{sign}{fmt.symbol}{number}"


_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")  # ASCII digits only: no ٣, no 1e9, no NaN


def parse_amount(text: str, field: str = "amount", fmt: MoneyFormat = DEFAULT_FORMAT) -> Decimal:
    """What a person typed -> Decimal('1250.50'), or ValueError naming the field and the rule.

    Accepted: '1250', '1,250.5', '₱1,250.50' (the configured separators and symbol).
    Refused: empty, text, zero, negative, more than two decimals, more than MAX_AMOUNT.
    """
    example = format_money(Decimal("1250"), fmt, symbol=False)
    raw = (text or "").strip()
    symbol = fmt.symbol.strip()
    if symbol:
        raw = raw.removeprefix(symbol).removesuffix(symbol).strip()
    if not raw:
        raise ValueError(f"{field}: enter an amount, such as {example}")
    if fmt.thousands and fmt.thousands != fmt.decimal:
        raw = raw.replace(fmt.thousands, "")
    if fmt.decimal != ".":
        if "." in raw:
            raise ValueError(f"{field}: {text.strip()!r} is not an amount; write it as {example}")
        raw = raw.replace(fmt.decimal, ".")
    if not _PLAIN.fullmatch(raw):
        raise ValueError(f"{field}: {text.strip()!r} is not an amount; write it as {example}")
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        raise ValueError(f"{field}: {text.strip()!r} is not an amount") from None
    if value <= 0:
        raise ValueError(f"{field}: must be more than zero")
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValueError(f"{field}: at most two decimal places")
    if value > MAX_AMOUNT:
        raise ValueError(f"{field}: at most {format_money(MAX_AMOUNT, fmt, symbol=False)}")
    return value.quantize(CENT)
