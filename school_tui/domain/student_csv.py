"""Reading a students CSV and checking each row's fields (pure Python, no SQL).

The file is UTF-8 (a byte-order mark is allowed). Its first line names the columns, in any
order, case and spacing ignored ("Student Number", "student_number" are the same):

    student_number  required; letters, digits, dashes (stored in capitals), unique
    first_name      required, at most 100 characters
    last_name       required, at most 100 characters
    email           required, like name@school.example, unique among people
    grade_level     optional; Kindergarten, Grade 1 ... Grade 12 (or just 1 ... 12, K)
    section         optional; a section's name in that grade this school year
    birth_date      optional; YYYY-MM-DD
    guardian_name   optional, at most 200 characters
    guardian_phone  optional; digits with spaces, dashes, brackets, a leading +
    address         optional, at most 500 characters

Other columns are ignored. school_tui.db.student_import adds what needs the database (does
the student number exist, is the section there, is the email taken) and writes the rows.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date

from school_tui.domain.school import GRADE_LEVELS

COLUMNS = (
    "student_number",
    "first_name",
    "last_name",
    "email",
    "grade_level",
    "section",
    "birth_date",
    "guardian_name",
    "guardian_phone",
    "address",
)
REQUIRED = ("student_number", "first_name", "last_name", "email")

STUDENT_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")
EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
PHONE = re.compile(r"\+?[0-9][0-9 ()./-]{4,29}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
GRADE_NUMBER = re.compile(r"(?:grade\s*)?(\d{1,2})")
MAX_ROWS = 200_000


class ImportFileError(ValueError):
    """The file as a whole cannot be read (encoding, no header, missing columns)."""


@dataclass(frozen=True)
class Row:
    line: int  # the file's line number where the row starts (the header is line 1)
    values: dict[str, str]  # every column of COLUMNS, trimmed ('' when absent)
    problem: str | None = None  # the first broken field rule, "field: rule"


@dataclass
class ParsedFile:
    rows: list[Row]
    columns: list[str]  # the known columns the file has, in its order
    ignored: list[str] = field(default_factory=list)  # columns of the file we do not use

    @property
    def total(self) -> int:
        return len(self.rows)


def _key(name: str) -> str:
    return re.sub(r"[\s_-]+", "_", name.strip().lower())


def normalise_grade(text: str) -> str:
    """'7', 'grade 7', 'Grade 7' -> 'Grade 7'; 'k', 'kinder' -> 'Kindergarten'; else as is."""
    t = text.strip()
    if t in GRADE_LEVELS:  # already as stored (most files): what the rules below give too
        return t
    low = t.lower()
    if low in ("k", "kg", "kinder", "kindergarten"):
        return "Kindergarten"
    match = GRADE_NUMBER.fullmatch(low)
    if match and 1 <= int(match.group(1)) <= 12:
        return f"Grade {int(match.group(1))}"
    return t


def check_fields(values: dict[str, str], today: date | None = None) -> str | None:
    """The first field that breaks its rule, as "field: rule", else None."""
    today = today or date.today()
    number = values["student_number"]
    if not number:
        return "student number: required"
    if not STUDENT_NUMBER.fullmatch(number):
        return "student number: 1 to 32 letters, digits or dashes, like 2026-00123"
    for key, label in (("first_name", "first name"), ("last_name", "last name")):
        if not values[key]:
            return f"{label}: required (missing name)"
        if len(values[key]) > 100:
            return f"{label}: at most 100 characters"
        if CONTROL.search(values[key]):
            return f"{label}: no control characters"
    email = values["email"]
    if not email:
        return "email: required"
    if len(email) > 254 or not EMAIL.fullmatch(email):
        return "email: must look like name@school.example (bad email)"
    if values["grade_level"] and values["grade_level"] not in GRADE_LEVELS:
        return "grade level: must be Kindergarten or Grade 1 to Grade 12"
    if values["section"] and not values["grade_level"]:
        return "section: needs the grade level too (sections are named per grade)"
    birth = values["birth_date"]
    if birth:
        parsed = None
        if ISO_DATE.fullmatch(birth):
            try:
                parsed = date.fromisoformat(birth)
            except ValueError:
                parsed = None
        if parsed is None or not date(1900, 1, 1) <= parsed <= today:
            return "birth date: must be a date like 2012-05-31"
    if values["guardian_name"] and len(values["guardian_name"]) > 200:
        return "guardian name: at most 200 characters"
    if values["guardian_phone"] and not PHONE.fullmatch(values["guardian_phone"]):
        return "guardian phone: digits with spaces, dashes or brackets, like +63 912 345 6789"
    if values["address"] and len(values["address"]) > 500:
        return "address: at most 500 characters"
    for key in ("guardian_name", "address", "section"):
        if CONTROL.search(values[key]):
            return f"{key.replace('_', ' ')}: no control characters"
    return None


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            f"line {line}: wrong encoding: the file must be UTF-8 (save it as 'CSV UTF-8')"
        ) from None


def read_csv(data: bytes, today: date | None = None) -> ParsedFile:
    """Parse a students CSV: every data row with its fields trimmed and checked.

    Raises ImportFileError when the file itself is unusable: not UTF-8 (with the line), no
    header, a required column missing, or more than MAX_ROWS rows.
    """
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError("the file is empty: the first line must name the columns") from None
    except csv.Error as exc:
        raise ImportFileError(f"line 1: not a CSV header ({exc})") from None
    keys = [_key(h) for h in header]
    missing = [c for c in REQUIRED if c not in keys]
    if missing:
        raise ImportFileError(
            "line 1: the header lacks "
            + ", ".join(missing)
            + " (columns: "
            + ", ".join(COLUMNS)
            + ")"
        )
    index = {}
    for position, key in enumerate(keys):
        if key in COLUMNS and key not in index:
            index[key] = position
    ignored = [h for h, k in zip(header, keys, strict=True) if k not in COLUMNS]
    rows: list[Row] = []
    today = today or date.today()
    while True:
        line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ImportFileError(f"line {line}: cannot be read as CSV ({exc})") from None
        if not any(cell.strip() for cell in record):
            continue  # a blank line
        if len(rows) >= MAX_ROWS:
            raise ImportFileError(f"more than {MAX_ROWS:,} rows: split the file")
        values = {
            c: (record[index[c]].strip() if c in index and index[c] < len(record) else "")
            for c in COLUMNS
        }
        values["student_number"] = values["student_number"].upper()
        if values["grade_level"]:
            values["grade_level"] = normalise_grade(values["grade_level"])
        rows.append(Row(line, values, check_fields(values, today)))
    return ParsedFile(rows, [k for k in keys if k in COLUMNS], ignored)
