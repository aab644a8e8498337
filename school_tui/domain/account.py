"""A student's account as the documents show it: the statement (every charge, payment,
adjustment and reversal in order, with the running balance) and a payment's receipt.

Plain data: db/accounting_reports.py reads them under the reader's own login (so a student
only ever gets their own), output/statements.py and output/receipts.py render them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class StatementLine:
    on: date
    kind: str  # Charge, Payment, Adjustment, Reversal
    description: str  # "Tuition 2025-2026", "Scholarship: academic (approved by …)"
    reference: str  # receipt number, fee id, …
    charge: Decimal  # what it adds to the balance (0 when it reduces it)
    credit: Decimal  # what it takes off the balance (0 when it adds)
    balance: Decimal  # running balance after this line
    # What the line is, for the screens' actions: a payment's id (reverse it, reprint its
    # receipt), a fee assignment's id (adjust it). None for the others.
    payment_id: int | None = None
    fee_id: int | None = None
    adjustment_id: int | None = None  # an adjustment line's (reverse it)


@dataclass(frozen=True)
class Statement:
    school_name: str
    student_id: int
    student_name: str
    student_number: str
    grade_section: str
    as_of: datetime
    lines: Sequence[StatementLine]

    @property
    def total_charges(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal("0.00"))

    @property
    def total_credits(self) -> Decimal:
        return sum((line.credit for line in self.lines), Decimal("0.00"))

    @property
    def balance(self) -> Decimal:
        return self.total_charges - self.total_credits


def running_balance(rows: Sequence[tuple]) -> list[StatementLine]:
    """StatementLines from (on, kind, description, reference, charge, credit, payment_id,
    fee_id[, adjustment_id]) rows in order, the balance carried down."""
    balance = Decimal("0.00")
    out = []
    for on, kind, description, reference, charge, credit, *ids in rows:
        balance += charge - credit
        out.append(StatementLine(on, kind, description, reference, charge, credit, balance, *ids))
    return out


@dataclass(frozen=True)
class ReceiptLine:
    """What part of the payment went to which due."""

    fee: str  # "Tuition 2025-2026", "Miscellaneous"
    due_date: date | None
    amount: Decimal


@dataclass(frozen=True)
class Receipt:
    school_name: str
    receipt_no: str
    issued_at: datetime
    student_name: str
    student_number: str
    lines: Sequence[ReceiptLine]
    total: Decimal
    method: str
    reference: str | None
    clerk: str
    balance_after: Decimal
    # A reversed payment's receipt says so (reprints show the truth, not the original).
    reversed_note: str | None = None

    @property
    def allocated(self) -> Decimal:
        """What the lines add up to: the total, since a payment goes to dues in full
        (overpayment is refused; the ledger keeps no credit)."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))
