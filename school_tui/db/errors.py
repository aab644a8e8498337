"""The database's refusals, as a form shows them: on the field they name.

The school's rules are enforced in the database (constraints, triggers, the functions'
checks), and their messages start with the field they concern: "email: ... is already used
by another person", "capacity: ...". `field_refusal` turns such an error into a FieldError
naming the form's widget, so the form keeps what was typed and shows the reason under the
field. What is not a refusal of a rule (a lost connection, a permission denied) is left to
the app's one error handler.
"""

from __future__ import annotations

from collections.abc import Mapping

import psycopg
from psycopg import errors

from school_tui.domain.fields import FieldError

# A rule broken: a constraint, a value out of range, a function's own check (RAISE).
REFUSALS = (errors.IntegrityError, errors.DataError, errors.RaiseException)


def message_of(exc: BaseException) -> str:
    """The database's own words (its primary message), else the exception's first line."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag else None
    lines = str(exc).strip().splitlines()
    return (primary or (lines[0] if lines else type(exc).__name__)).strip()


def field_refusal(
    exc: BaseException,
    fields: Mapping[str, str],
    constraints: Mapping[str, str] | None = None,
) -> FieldError | None:
    """`exc` as a FieldError on the form's field, or None when it is not a refusal.

    `fields`: a message's leading "<name>:" (lower case) -> the field's id; `constraints`: a
    violated constraint's name (a part of it) -> the field's id, for the messages PostgreSQL
    writes itself (a duplicate key names no field). A checked-before-sending ValueError
    ("capacity: ...", the db helpers' own rules) counts as a refusal too. The message is
    shown as a sentence: its first letter capitalised."""
    if isinstance(exc, psycopg.Error):
        if not isinstance(exc, REFUSALS):
            return None
    elif not isinstance(exc, ValueError) or isinstance(exc, FieldError):
        return None
    text = message_of(exc)
    prefix = text.split(":", 1)[0].strip().lower() if ":" in text else ""
    field = fields.get(prefix)
    if field is None and constraints:
        name = getattr(getattr(exc, "diag", None), "constraint_name", None) or ""
        field = next((f for part, f in constraints.items() if part in name), None)
    return FieldError(field, text[:1].upper() + text[1:])
