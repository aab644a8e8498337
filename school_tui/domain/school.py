"""The school's fixed vocabulary, the same everywhere it appears: the database's CHECKs
state the same lists (sql/), the screens offer them, imports and reports go by them.

Pure: no database, no Textual."""

from __future__ import annotations

# The grade levels, youngest first: what a student's profile, a section and a fee schedule
# may name, in the order lists and reports show them.
GRADE_LEVELS: tuple[str, ...] = ("Kindergarten", *(f"Grade {n}" for n in range(1, 13)))

# The enrollment pipeline's statuses in their order (school.set_enrollment_status decides
# which moves are allowed).
ENROLLMENT_STATUSES: tuple[str, ...] = (
    "Pending",
    "Verified",
    "Payment Complete",
    "Enrolled",
    "Withdrawn",
)

# Payment Complete is set by the ledger once the required fees are paid; set by hand while
# some are unpaid, the database requires a remark saying why (sql/schema/06_enrollment.sql).
PAYMENT_COMPLETE_REMARK = (
    "Required fees still unpaid? Then a remark saying why is needed for Payment Complete."
)
