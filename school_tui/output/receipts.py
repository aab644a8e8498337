"""A payment's receipt: 40-column plain text for a receipt printer, and the same as a PDF.

`Receipt` is plain data (domain/account.py; db/accounting_reports.receipt reads it); rendering
is pure, so the tests check every line's width, the totals and hostile names without a
database. Money goes through the formatter handed in (money.format_money by default: the
school's configured currency).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from school_tui.domain.account import Receipt
from school_tui.output import documents as doc

WIDTH = 40  # a 58/80 mm receipt printer's line in its standard font
RULE = "-" * WIDTH

MoneyFormat = Callable[[Decimal], str]


def _default_format(amount: Decimal) -> str:
    from school_tui.domain.money import format_money

    return format_money(amount)


def receipt_lines(
    r: Receipt, fmt: MoneyFormat | None = None, *, width: int = WIDTH, ascii_only: bool = False
) -> list[str]:
    """The receipt as lines of at most `width` columns. `ascii_only`: for a printer without
    Unicode (accents dropped, other characters '?')."""
    fmt = fmt or _default_format

    def t(value: object) -> str:
        text = doc.printable(value)
        return doc.ascii_fold(text) if ascii_only else text

    rule = "-" * width
    out: list[str] = []
    out += [doc.center(part, width) for part in doc.wrap(t(r.school_name), width)]
    out.append(doc.center("OFFICIAL RECEIPT", width))
    if r.reversed_note:
        out += [doc.center(p, width) for p in doc.wrap(t(f"REVERSED: {r.reversed_note}"), width)]
    out.append(rule)
    out += doc.label_value("Receipt no.", t(r.receipt_no), width)
    out += doc.label_value("Date", r.issued_at.astimezone().strftime("%Y-%m-%d %H:%M"), width)
    out += doc.label_value("Student", t(r.student_name), width)
    out += doc.label_value("Student no.", t(r.student_number), width)
    out.append(rule)
    for line in r.lines:
        amount = t(fmt(line.amount))
        due = f"due {line.due_date.isoformat()}" if line.due_date else ""
        # The fee's name on its own line(s), then the due date and the amount under it.
        out += doc.wrap(t(line.fee), width)
        out += doc.label_value("  " + due if due else " ", amount, width)
    out.append(rule)
    out += doc.label_value("TOTAL PAID", t(fmt(r.total)), width)
    out += doc.label_value("Method", t(r.method), width)
    if r.reference:
        out += doc.label_value("Reference", t(r.reference), width)
    out += doc.label_value("Received by", t(r.clerk), width)
    out += doc.label_value("Balance after", t(fmt(r.balance_after)), width)
    out.append(rule)
    out.append(doc.center("Thank you. Please keep this receipt.", width))
    return out


def receipt_text(
    r: Receipt, fmt: MoneyFormat | None = None, *, width: int = WIDTH, ascii_only: bool = False
) -> str:
    """The receipt for a receipt printer: lines of at most 40 columns, newline-terminated."""
    return "\n".join(receipt_lines(r, fmt, width=width, ascii_only=ascii_only)) + "\n"


def receipt_pdf(r: Receipt, fmt: MoneyFormat | None = None) -> bytes:
    """The same receipt as a PDF on an 80 mm strip: what the printer would print."""
    lines = receipt_lines(r, fmt)
    # The school's name and the total in bold.
    bold = {i for i, line in enumerate(lines) if line.startswith("TOTAL PAID")}
    bold |= set(range(len(doc.wrap(doc.printable(r.school_name), WIDTH)) + 1))
    return doc.text_pdf(lines, columns=WIDTH, bold=bold, title=f"Receipt {r.receipt_no}")
