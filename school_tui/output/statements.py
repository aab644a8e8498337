"""A student's statement of account: charges, payments and adjustments in date order with the
running balance, as 80-column text, as a PDF and as CSV rows.

`Statement` is plain data (domain/account.py; db/accounting_reports.statement reads it
under the reader's own login, so a student only ever gets their own); rendering is pure.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from school_tui.domain.account import Statement
from school_tui.output import documents as doc

WIDTH = 80
MoneyFormat = Callable[[Decimal], str]


def _default_format(amount: Decimal) -> str:
    from school_tui.domain.money import format_money

    return format_money(amount)


CSV_HEADER = ("date", "kind", "description", "reference", "charge", "credit", "balance")


def csv_rows(s: Statement) -> list[tuple]:
    return [
        (line.on.isoformat(), line.kind, line.description, line.reference, line.charge,
         line.credit, line.balance)
        for line in s.lines
    ]  # fmt: skip


def statement_lines(s: Statement, fmt: MoneyFormat | None = None, width: int = WIDTH) -> list[str]:
    """The statement as lines of at most `width` columns (80: a terminal, an A4 page)."""
    fmt = fmt or _default_format
    t = doc.printable
    money_w = 14  # "₱99,999,999.99" and a space
    desc_w = width - 11 - money_w * 3 - 1
    rule = "=" * width
    out = [doc.cut(t(s.school_name), width), "STATEMENT OF ACCOUNT", rule]
    out += [
        doc.cut(f"Student: {t(s.student_name)}  ({t(s.student_number)})", width),
        doc.cut(f"Grade/section: {t(s.grade_section)}", width),
        f"As of: {s.as_of.astimezone():%Y-%m-%d %H:%M}",
        rule,
        "Date       "
        + doc.pad_right("Description", desc_w)
        + doc.pad_left("Charge", money_w)
        + doc.pad_left("Credit", money_w)
        + doc.pad_left("Balance", money_w + 1),
        "-" * width,
    ]
    for line in s.lines:
        description = f"{line.kind}: {t(line.description)}"
        if line.reference:
            description += f" ({t(line.reference)})"
        parts = doc.wrap(description, desc_w)
        out.append(
            f"{line.on.isoformat()} "
            + doc.pad_right(parts[0], desc_w)
            + doc.pad_left(fmt(line.charge) if line.charge else "", money_w)
            + doc.pad_left(fmt(line.credit) if line.credit else "", money_w)
            + doc.pad_left(fmt(line.balance), money_w + 1)
        )
        more = parts[1:4]
        if len(parts) > 4:
            more[-1] = doc.cut(more[-1] + " …", desc_w)
        out += [" " * 11 + part for part in more]
    if not s.lines:
        out.append("No charges, payments or adjustments.")
    out.append("-" * width)
    out.append(doc.label_value("Total charges", fmt(s.total_charges), width)[0])
    out.append(doc.label_value("Total payments and adjustments", fmt(s.total_credits), width)[0])
    out.append(doc.label_value("BALANCE DUE", fmt(s.balance), width)[0])
    return [doc.cut(line, width) for line in out]


def statement_text(s: Statement, fmt: MoneyFormat | None = None) -> str:
    return "\n".join(statement_lines(s, fmt)) + "\n"


def statement_pdf(s: Statement, fmt: MoneyFormat | None = None) -> bytes:
    lines = statement_lines(s, fmt)
    bold = {0, 1, len(lines) - 1}
    return doc.text_pdf(lines, columns=WIDTH, bold=bold, title=f"Statement {s.student_name}")
