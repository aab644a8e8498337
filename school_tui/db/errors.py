"""What the database said no to, in terms the UI can show without knowing psycopg.

The schema's functions refuse with a message that names the field and the rule
("amount: more than the balance", "name: this grade already has a section of that name").
db functions that the UI calls for a write run inside `refusals()`, which turns those into:

- `Refused(field, message)`: a rule of the school was broken (a CHECK, a unique or foreign
  key, a missing row, a value the column cannot hold, a row still in use), a write rate
  was passed ("chat message: at most 30 a minute; ..."), or the school was busy with
  another's change for longer than a write may wait. `field` is what
  the message names before its colon, lower-case ("amount", "fee type"), else the column the
  broken constraint is about when a caller says (`fields=`), else None.
- `NotAllowed(message)`: this login may not do it (the database's own words).

Anything else passes through untouched, for the app's one error handler: a lost connection
(`connection_lost(exc)` says which), or a bug. `explain(exc)` sorts any exception into a
kind and the database's words for that handler, so no UI module reads psycopg's diagnostics.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import Literal

import psycopg
from psycopg import errors

from school_tui.domain.fields import FieldError

# A message that names its field: "fee type: ...", "birth date: ..." (a few lower-case words).
_FIELD_PREFIX = re.compile(r"\s*([a-z][a-z ]{0,30}):")

# A wait for another's change that passed the server's lock_timeout, in a person's words.
BUSY = "Someone else is changing this right now; try again in a moment"

# The SQLSTATE classes that are a refusal of the data rather than of the person or a fault.
_REFUSALS = (
    errors.IntegrityError,  # class 23: check, unique, foreign key, not null, exclusion
    errors.DataError,  # class 22: out of range, bad text for the type
    errors.NoDataFound,  # P0002: the row it names is not there
    errors.ObjectInUse,  # 55006: still referenced by something that stays
    errors.LockNotAvailable,  # 55P03: busy with another's change past the wait allowed
    errors.ProgramLimitExceeded,  # 54000: more writes a minute than a person may make
)


class Refused(ValueError):
    """The database refused the write; `message` says which field and which rule."""

    def __init__(
        self,
        field: str | None,
        message: str,
        *,
        detail: str | None = None,
        constraint: str | None = None,
    ):
        super().__init__(message)
        self.field = field
        self.message = message
        self.detail = detail  # the database's DETAIL line, when it gave one
        self.constraint = constraint  # the broken constraint's name, when one was

    def __str__(self) -> str:
        return self.message

    def with_detail(self) -> str:
        """The message and, when the database gave one, its detail after it."""
        return f"{self.message} {self.detail}" if self.detail else self.message


class NotAllowed(Exception):
    """The database refused because this login may not do it (insufficient_privilege)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def primary(exc: BaseException) -> str:
    """The database's own one-line words for `exc` (its primary message), or the first line
    of the exception's text; "" for an exception with no text."""
    diag = getattr(exc, "diag", None)
    words = getattr(diag, "message_primary", None) if diag is not None else None
    text = str(exc).strip()
    return (words or (text.splitlines()[0] if text else "")).strip()


def field_named(message: str) -> str | None:
    """The field a "field: rule" message names, lower-case, or None."""
    match = _FIELD_PREFIX.match(message)
    return match.group(1).strip() if match else None


def refused(exc: psycopg.Error, fields: Mapping[str, str] | None = None) -> Refused:
    """`exc` as a Refused: its message, and the field it names (else the one `fields` maps
    its broken constraint's name to: the first key found in the name)."""
    message = primary(exc)
    if isinstance(exc, errors.LockNotAvailable) and message.startswith("canceling statement"):
        message = BUSY  # the server's lock_timeout: its words say nothing to a person
    constraint = exc.diag.constraint_name
    field = field_named(message)
    if field is None and constraint and fields:
        field = next((f for key, f in fields.items() if key in constraint), None)
    return Refused(field, message, detail=exc.diag.message_detail, constraint=constraint)


@contextlib.contextmanager
def refusals(fields: Mapping[str, str] | None = None) -> Iterator[None]:
    """Turn the database's refusals inside the block into Refused / NotAllowed.
    `fields`: a part of a constraint's name -> the field it is about, for the refusals that
    come from a constraint rather than a function's message. Lost connections and any other
    error pass through untouched."""
    try:
        yield
    except _REFUSALS as exc:
        raise refused(exc, fields) from exc
    except errors.InsufficientPrivilege as exc:
        raise NotAllowed(primary(exc)) from exc


# SQLSTATEs of errors after which the connection is gone: the server shut it (terminated,
# shut down, crashed, an idle session ended) or would not take it (starting up, full).
_CONNECTION_GONE = {
    "57P01",  # admin_shutdown: pg_terminate_backend, a fast shutdown
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now: starting up or shutting down
    "57P05",  # idle_session_timeout
    "25P03",  # idle_in_transaction_session_timeout
    "25P04",  # transaction_timeout
    "53300",  # too_many_connections
}


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` means the database could not be reached (the connection broke, the
    server went away, or no pooled connection came in time), rather than a refusal.

    A statement that the server cancelled (statement_timeout, lock_timeout, a deadlock) is
    not one: the connection still works, and what the statement did was rolled back, so
    nothing may treat it as an outage (no banner, no automatic resend)."""
    if not isinstance(exc, psycopg.Error):
        return False
    sqlstate = exc.sqlstate
    if sqlstate is None:
        # No answer from the server at all: a broken socket, a refused connection, or the
        # pool's PoolTimeout / PoolClosed (no connection came in time).
        return isinstance(exc, psycopg.OperationalError)
    return sqlstate.startswith("08") or sqlstate in _CONNECTION_GONE


Kind = Literal["not allowed", "refused", "connection", "database", "other"]


def explain(exc: BaseException) -> tuple[Kind, str]:
    """What kind of failure `exc` is, and the database's words for it ("" when none)."""
    if isinstance(exc, NotAllowed | errors.InsufficientPrivilege):
        return "not allowed", primary(exc)
    if isinstance(exc, Refused | errors.IntegrityError):
        return "refused", primary(exc)
    if connection_lost(exc):
        return "connection", primary(exc)
    if isinstance(exc, psycopg.Error):
        return "database", primary(exc)
    return "other", str(exc)


# -- a refusal on the form's field --------------------------------------------------------


def message_of(exc: BaseException) -> str:
    """The database's own words (its primary message), else the exception's first line."""
    if isinstance(exc, Refused):
        return exc.message.strip()
    return primary(exc) or type(exc).__name__


def field_refusal(
    exc: BaseException,
    fields: Mapping[str, str],
    constraints: Mapping[str, str] | None = None,
) -> FieldError | None:
    """`exc` as a FieldError on the form's field, or None when it is not a refusal.

    `fields`: a field as the database names it (a Refused's `field`, or a raw message's
    leading "<name>:", lower case) -> the form's id; `constraints`: for a raw error that did
    not pass through `refusals()`, a violated constraint's name (a part of it) -> the
    form's id (a duplicate key names no field). A Refused, a database refusal that did
    not pass through `refusals()`, and a checked-before-sending ValueError ("capacity: ...",
    the db helpers' own rules) all count. The message is shown as a sentence: its first
    letter capitalised."""
    if isinstance(exc, psycopg.Error):
        if not isinstance(exc, (*_REFUSALS, errors.RaiseException)):
            return None
    elif not isinstance(exc, ValueError) or isinstance(exc, FieldError):
        return None
    text = message_of(exc)
    if isinstance(exc, Refused):  # db/ has already named the field, constraints included
        field = fields.get(exc.field or "")
    else:
        prefix = text.split(":", 1)[0].strip().lower() if ":" in text else ""
        field = fields.get(prefix)
    if field is None and constraints:
        name = getattr(getattr(exc, "diag", None), "constraint_name", None) or ""
        field = next((f for part, f in constraints.items() if part in name), None)
    return FieldError(field, text[:1].upper() + text[1:])
