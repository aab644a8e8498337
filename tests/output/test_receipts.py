"""Receipts as a receipt printer and a PDF see them: pure, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from rich.cells import cell_len

from school_tui.domain.account import Receipt, ReceiptLine
from school_tui.output import documents
from school_tui.output.receipts import WIDTH, receipt_lines, receipt_pdf, receipt_text


def fmt(amount: Decimal) -> str:
    return f"PHP {amount:,.2f}"


def make(**changes) -> Receipt:
    fields = dict(
        school_name="Demo School of the Philippines",
        receipt_no="OR 000123",
        issued_at=datetime(2025, 6, 2, 9, 30, tzinfo=UTC),
        student_name="Dela Cruz, Juan",
        student_number="2025-0001",
        lines=[
            ReceiptLine("Tuition 2025-2026", date(2025, 6, 30), Decimal("12500.00")),
            ReceiptLine("Miscellaneous 2025-2026", date(2025, 7, 31), Decimal("2500.00")),
        ],
        total=Decimal("15000.00"),
        method="Cash",
        reference=None,
        clerk="Santos, Maria",
        balance_after=Decimal("30000.00"),
    )
    fields.update(changes)
    return Receipt(**fields)


HOSTILE_NAME = "[bold]Peña[/] \x1b[31mRed\x1b[0m \x07\u202eevil\u202c 👩‍🏫 中文名字 " + "x" * 120


@pytest.mark.parametrize(
    "receipt",
    [
        make(),
        make(student_name=HOSTILE_NAME, clerk="\x9b2J" + "Łukasz " * 20, reference="R" * 200),
        make(
            school_name="学校" * 30,
            lines=[ReceiptLine("費用" * 40, None, Decimal("99999999.99"))],
            total=Decimal("99999999.99"),
            reversed_note="wrong student\x1b]0;title\x07",
        ),
    ],
    ids=["plain", "hostile", "wide"],
)
def test_every_line_fits_40_columns_and_carries_no_control(receipt):
    text = receipt_text(receipt, fmt)
    lines = text.splitlines()
    assert text.endswith("\n")
    assert max(cell_len(line) for line in lines) <= WIDTH
    for ch in text:
        if ch != "\n":
            assert ord(ch) >= 0x20 and not (0x7F <= ord(ch) < 0xA0), repr(ch)
    assert "\u202e" not in text and "\x1b" not in text


def test_ascii_receipt_is_one_byte_a_column():
    text = receipt_text(make(student_name="Peña, José Ñoño 中"), fmt, ascii_only=True)
    assert text.isascii()
    assert "Student" in text and "Pena, Jose Nono ?" in text
    assert max(len(line) for line in text.splitlines()) <= WIDTH


def test_totals_and_allocations_are_shown():
    r = make()
    lines = receipt_lines(r, fmt)
    text = "\n".join(lines)
    # every peso went to a due (overpayment is refused): no credit line, ever
    assert r.allocated == r.total == Decimal("15000.00")
    assert "Credit" not in text
    total = next(line for line in lines if line.startswith("TOTAL PAID"))
    assert total.endswith("PHP 15,000.00") and len(total) == WIDTH
    assert "due 2025-06-30" in text and "PHP 12,500.00" in text
    assert any(
        line.endswith("PHP 30,000.00") and line.startswith("Balance after") for line in lines
    )
    assert "OR 000123" in text and "Santos, Maria" in text and "2025-06-02 09:30" in text


def test_long_values_wrap_instead_of_being_lost():
    ref = "BANK-" + "1234567890" * 8
    lines = receipt_lines(make(reference=ref, method="Bank Transfer"), fmt)
    start = lines.index("Reference")
    assert "".join(line.strip() for line in lines[start + 1 : start + 4]).startswith(ref)


def test_reversed_receipt_says_so():
    text = receipt_text(make(reversed_note="entered twice"), fmt)
    assert "REVERSED: entered twice" in text


def _pdf_text(data: bytes) -> tuple[str, object]:
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), reader


def test_pdf_is_the_receipt_on_an_80mm_strip():
    data = receipt_pdf(make(student_name="Peña, José Łukasz"), fmt)
    assert data.startswith(b"%PDF-")
    text, reader = _pdf_text(data)
    assert "Peña, José Łukasz" in text  # Unicode names survive (the shipped DejaVu font)
    assert "OR 000123" in text and "PHP 15,000.00" in text
    width_pt = float(reader.pages[0].mediabox.width)
    assert 70 < width_pt * 25.4 / 72 < 90  # millimetres: a receipt roll, not A4


def test_pdf_of_hostile_text_has_no_controls():
    text, _ = _pdf_text(receipt_pdf(make(student_name=HOSTILE_NAME), fmt))
    assert "\x1b" not in text and "\u202e" not in text and "[bold]Peña[/]" in text


def test_printable_and_cut():
    assert documents.printable("a\tb\nc\x1b[0m\u2028d") == "a b c [0m d"
    assert documents.cut("中文中文中文", 5) == "中文…"
    assert documents.wrap("", 10) == [""]


# -- statements (pure as well) ----------------------------------------------------------------


def _statement(**changes):
    from school_tui.domain.account import Statement, running_balance

    rows = [
        (
            date(2025, 6, 1),
            "Charge",
            "Tuition 2025-2026",
            "",
            Decimal("30000.00"),
            Decimal("0"),
            None,
            1,
        ),
        (
            date(2025, 6, 2),
            "Payment",
            "Cash",
            "OR 000001",
            Decimal("0"),
            Decimal("10000.00"),
            7,
            None,
        ),
        (
            date(2025, 6, 3),
            "Adjustment",
            "Scholarship 10%: honours",
            "",
            Decimal("0"),
            Decimal("3000.00"),
            None,
            1,
        ),
        (
            date(2025, 6, 4),
            "Reversal",
            "of OR 000001: bounced",
            "OR 000001",
            Decimal("10000.00"),
            Decimal("0"),
            None,
            None,
        ),
    ]
    fields = dict(
        school_name="Demo School",
        student_id=5,
        student_name="Peña, José",
        student_number="2025-0001",
        grade_section="Grade 7 · Rizal",
        as_of=datetime(2025, 6, 5, 8, 0, tzinfo=UTC),
        lines=running_balance(rows),
    )
    fields.update(changes)
    return Statement(**fields)


def test_statement_running_balance_and_totals():
    s = _statement()
    assert [line.balance for line in s.lines] == [
        Decimal("30000.00"), Decimal("20000.00"), Decimal("17000.00"), Decimal("27000.00"),
    ]  # fmt: skip
    assert s.balance == s.lines[-1].balance == Decimal("27000.00")
    from school_tui.output.statements import statement_lines

    lines = statement_lines(s, fmt)
    assert max(cell_len(line) for line in lines) <= 80
    assert lines[-1].startswith("BALANCE DUE") and lines[-1].endswith("PHP 27,000.00")
    at = next(i for i, line in enumerate(lines) if "Adjustment: Scholarship" in line)
    assert lines[at + 1].strip() == "10%: honours"  # a long description wraps under itself


def test_statement_csv_and_pdf(tmp_path):
    import csv

    from school_tui.output.documents import write_csv
    from school_tui.output.statements import CSV_HEADER, csv_rows, statement_pdf

    s = _statement(student_name='=HYPERLINK("http://evil")')
    rows = csv_rows(s)
    rows.append((date(2025, 6, 5), "Charge", "@SUM(A1)", "-1+1", Decimal("1"), 0, 1))
    path = tmp_path / "s.csv"
    assert write_csv(path, CSV_HEADER, rows) == 5
    read = list(csv.reader(path.open(encoding="utf-8")))
    assert read[0] == list(CSV_HEADER)
    assert read[5][2] == "'@SUM(A1)" and read[5][3] == "'-1+1"  # formulas neutralised
    assert read[4][6] == "27000.00"
    text, _ = _pdf_text(statement_pdf(s, fmt))
    assert "STATEMENT OF ACCOUNT" in text and "PHP 27,000.00" in text
