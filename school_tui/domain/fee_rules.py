"""What the accounting forms accept, checked before anything is written (the database
refuses the same things again). Each rule returns the clean value or a FieldError naming the
field and the rule, so a form can put the cursor on the field and say why.

Pure: no database, no Textual; money is Decimal, parsed by money.parse_amount.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from school_tui.domain.fields import FieldError

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
TEXT_MAX = 500
MAX_INSTALLMENTS = 24


def amount(text: str, field: str, label: str, fmt=None) -> Decimal:
    """A positive amount of money with at most two decimals and within the column's range,
    typed in the school's money format `fmt` (money.MoneyFormat; None: the default), else
    FieldError "<label>: <the rule>"."""
    from school_tui.domain.money import DEFAULT_FORMAT, parse_amount

    try:
        return parse_amount(text, label, fmt or DEFAULT_FORMAT)  # the message names the label
    except ValueError as exc:
        raise FieldError(field, str(exc)) from None


def percentage(text: str, field: str, label: str) -> Decimal:
    """A percentage above 0 and at most 100, at most two decimals."""
    text = text.strip().removesuffix("%").strip()
    try:
        value = Decimal(text)
    except ArithmeticError:
        value = None
    if value is None or not value.is_finite():
        raise FieldError(field, f"{label}: a number such as 10 or 12.5 (percent)")
    if value <= 0 or value > 100:
        raise FieldError(field, f"{label}: more than 0 and at most 100 percent")
    if int(value.as_tuple().exponent) < -2:  # an int: the value is finite
        raise FieldError(field, f"{label}: at most two decimals")
    return value


def required_date(text: str, field: str, label: str) -> date:
    text = text.strip()
    if not text:
        raise FieldError(field, f"{label}: required (YYYY-MM-DD)")
    try:
        if not _DATE.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise FieldError(field, f"{label}: use YYYY-MM-DD, a real date") from None


def reason(text: str, field: str, label: str = "Reason") -> str:
    text = text.strip()
    if not text:
        raise FieldError(field, f"{label}: required; say why")
    if len(text) > TEXT_MAX:
        raise FieldError(field, f"{label}: at most {TEXT_MAX} characters (you typed {len(text)})")
    if _CONTROL.search(text):
        raise FieldError(field, f"{label}: no control characters (tabs, escapes, …)")
    return text


# -- installment plans ------------------------------------------------------------------------


@dataclass(frozen=True)
class Installment:
    due_date: date
    amount: Decimal


def plan_difference(fee: Decimal, amounts: Sequence[str], fmt=None) -> Decimal | None:
    """What the installments typed so far leave to assign (negative: too much), for the live
    line under the editor; None while an amount is not a valid amount yet."""
    total = Decimal("0.00")
    for n, text in enumerate(amounts, start=1):
        if not text.strip():
            continue
        try:
            total += amount(text, f"amount-{n}", f"Amount {n}", fmt)
        except FieldError:
            return None
    return fee - total


def installment_plan(fee: Decimal, rows: Sequence[tuple[str, str]], fmt=None) -> list[Installment]:
    """The plan the editor's rows describe (due date text, amount text; blank rows are
    skipped): due dates distinct and in order, each amount valid, the amounts summing to
    exactly the fee. Field ids: due-<n>, amount-<n> (n from 1)."""
    plan: list[Installment] = []
    for n, (due_text, amount_text) in enumerate(rows, start=1):
        if not due_text.strip() and not amount_text.strip():
            continue
        due = required_date(due_text, f"due-{n}", f"Due date {n}")
        value = amount(amount_text, f"amount-{n}", f"Amount {n}", fmt)
        if plan and due <= plan[-1].due_date:
            raise FieldError(f"due-{n}", f"Due date {n}: must be after due date {len(plan)}")
        plan.append(Installment(due, value))
    if not plan:
        raise FieldError("due-1", "Installments: at least one due date and amount")
    if len(plan) > MAX_INSTALLMENTS:
        raise FieldError("due-1", f"Installments: at most {MAX_INSTALLMENTS}")
    total = sum((i.amount for i in plan), Decimal("0.00"))
    if total != fee:
        last = len(rows)
        more = "short" if total < fee else "over"
        raise FieldError(
            f"amount-{last}",
            f"Installments: must add up to the fee exactly; they are {abs(fee - total)} {more}",
        )
    return plan


def split_evenly(fee: Decimal, count: int) -> list[Decimal]:
    """`count` amounts summing exactly to `fee`, the cents left over on the last one."""
    if count < 1:
        return []
    part = (fee / count).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    return [part] * (count - 1) + [fee - part * (count - 1)]
