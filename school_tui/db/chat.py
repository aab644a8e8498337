"""Chat and presence SQL. Row-level security decides what a caller sees: only messages they
sent or received; the NOTIFY payloads (ids) are turned into rows here, never trusted as content.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from school_tui.db.errors import refusals

MAX_MESSAGE_LENGTH = 4000  # the database enforces the same (messages_message_check)
PAGE = 50


@dataclass(frozen=True)
class ChatMessage:
    id: int
    sender_id: int
    receiver_id: int
    message: str
    sent_at: datetime
    is_read: bool


@dataclass(frozen=True)
class Conversation:
    partner_id: int
    name: str
    role: str
    status: str
    last_id: int
    last_at: datetime | None  # None: someone found by the search, no message yet
    unread: int


@dataclass(frozen=True)
class Contact:
    id: int
    name: str
    role: str
    status: str


_MESSAGE_COLUMNS = "id, sender_id, receiver_id, message, sent_at, is_read"


def validate_message(text: str) -> str | None:
    """A message a person may send, or the reason it may not (names the field and the rule)."""
    if not text.strip():
        return "Message: write something first (it is empty)."
    if len(text) > MAX_MESSAGE_LENGTH:
        return f"Message: at most {MAX_MESSAGE_LENGTH} characters (this one has {len(text)})."
    return None


def send(conn: psycopg.Connection, receiver_id: int, text: str, client_key: uuid.UUID) -> int:
    """Send once per client_key: a retry after a lost reply returns the same message id.
    Past the sender's rate (write_limits) the database refuses: Refused("chat message", ...)."""
    with refusals(), conn.transaction():
        row = conn.execute(
            "INSERT INTO school.messages (sender_id, receiver_id, message, client_key) "
            "VALUES (school.me(), %s, %s, %s) "
            "ON CONFLICT (sender_id, client_key) DO NOTHING RETURNING id",
            (receiver_id, text, client_key),
        ).fetchone()
        if row is None:
            row = conn.execute(
                "SELECT id FROM school.messages WHERE sender_id = school.me() AND client_key = %s",
                (client_key,),
            ).fetchone()
    return row[0]


def newest_id(conn: psycopg.Connection) -> int:
    """The id of the newest message the caller sent or received (0: none yet)."""
    return conn.execute(
        "SELECT coalesce(max(id), 0) FROM school.messages "
        "WHERE school.me() IN (sender_id, receiver_id)"
    ).fetchone()[0]


def send_and_read(
    conn: psycopg.Connection, receiver_id: int, text: str, client_key: uuid.UUID
) -> list[ChatMessage]:
    """Send (once per client_key, as `send`) and read the message back as stored, for the
    sender's own pane."""
    return messages_by_id(conn, [send(conn, receiver_id, text, client_key)])


def messages_by_id(conn: psycopg.Connection, ids: list[int]) -> list[ChatMessage]:
    with conn.cursor(row_factory=class_row(ChatMessage)) as cur:
        cur.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM school.messages WHERE id = ANY(%s) ORDER BY id",  # noqa: S608
            (ids,),
        )
        return cur.fetchall()


def horizon(conn: psycopg.Connection) -> int:
    """The xmin of a snapshot taken now: every message whose transaction (`messages.xact`,
    sql/schema/08_chat.sql) is older than it had committed, or never will, by now. As a plain
    int (xid8)."""
    return conn.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint").fetchone()[
        0
    ]


def messages_written_since(
    conn: psycopg.Connection, horizon: int, after_id: int = 0, limit: int = 2000
) -> list[tuple[ChatMessage, int]]:
    """Backfill: the caller's messages written by transactions from `horizon` on (RLS limits
    them to the caller's), with id > after_id (keyset pages), each with its xact."""
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT {_MESSAGE_COLUMNS}, xact::text::bigint FROM school.messages "  # noqa: S608
            "WHERE xact >= %s::text::xid8 AND id > %s "
            "AND school.me() IN (sender_id, receiver_id) ORDER BY id LIMIT %s",
            (horizon, after_id, limit),
        )
        return [(ChatMessage(*row[:-1]), row[-1]) for row in cur.fetchall()]


def live_messages_by_id(conn: psycopg.Connection, ids: list[int]) -> list[tuple[ChatMessage, int]]:
    """The notified messages the caller may read, each with its xact (see `horizon`)."""
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT {_MESSAGE_COLUMNS}, xact::text::bigint FROM school.messages "  # noqa: S608
            "WHERE id = ANY(%s) ORDER BY id",
            (ids,),
        )
        return [(ChatMessage(*row[:-1]), row[-1]) for row in cur.fetchall()]


def history(
    conn: psycopg.Connection, partner_id: int, before_id: int | None = None, limit: int = PAGE
) -> list[ChatMessage]:
    """One conversation, newest first, `limit` messages older than `before_id` (keyset)."""
    with conn.cursor(row_factory=class_row(ChatMessage)) as cur:
        cur.execute(
            f"""
            SELECT {_MESSAGE_COLUMNS} FROM school.messages
            WHERE least(sender_id, receiver_id) = least(school.me(), %(p)s)
              AND greatest(sender_id, receiver_id) = greatest(school.me(), %(p)s)
              AND (%(before)s::bigint IS NULL OR id < %(before)s)
            ORDER BY least(sender_id, receiver_id), greatest(sender_id, receiver_id), id DESC
            LIMIT %(limit)s
            """,  # noqa: S608 - the column list is a constant
            {"p": partner_id, "before": before_id, "limit": limit},
        )
        return cur.fetchall()


def history_after(
    conn: psycopg.Connection, partner_id: int, after_id: int, limit: int = PAGE
) -> list[ChatMessage]:
    """One conversation, oldest first, `limit` messages newer than `after_id` (keyset): the
    way back down after older pages pushed the newest out of a bounded view."""
    with conn.cursor(row_factory=class_row(ChatMessage)) as cur:
        cur.execute(
            f"""
            SELECT {_MESSAGE_COLUMNS} FROM school.messages
            WHERE least(sender_id, receiver_id) = least(school.me(), %(p)s)
              AND greatest(sender_id, receiver_id) = greatest(school.me(), %(p)s)
              AND id > %(after)s
            ORDER BY least(sender_id, receiver_id), greatest(sender_id, receiver_id), id
            LIMIT %(limit)s
            """,  # noqa: S608 - the column list is a constant
            {"p": partner_id, "after": after_id, "limit": limit},
        )
        return cur.fetchall()


def conversations(conn: psycopg.Connection, limit: int = 200) -> list[Conversation]:
    """People the caller has talked with, newest conversation first, with unread counts."""
    with conn.cursor(row_factory=class_row(Conversation)) as cur:
        cur.execute(
            """
            WITH mine AS (
                SELECT CASE WHEN sender_id = school.me() THEN receiver_id ELSE sender_id END
                           AS partner_id, id, sent_at,
                       (receiver_id = school.me() AND NOT is_read) AS unread
                FROM school.messages
                WHERE school.me() IN (sender_id, receiver_id)
            ), per AS (
                SELECT partner_id, max(id) AS last_id, max(sent_at) AS last_at,
                       count(*) FILTER (WHERE unread) AS unread
                FROM mine GROUP BY partner_id
            )
            SELECT per.partner_id, u.first_name || ' ' || u.last_name AS name, r.name AS role,
                   coalesce(o.status, 'offline') AS status, per.last_id, per.last_at,
                   per.unread
            FROM per JOIN school.users u ON u.id = per.partner_id
            JOIN school.roles r ON r.id = u.role_id
            LEFT JOIN school.online_status o ON o.user_id = u.id
            ORDER BY per.last_id DESC LIMIT %s
            """,
            (limit,),
        )
        return cur.fetchall()


def unread_total(
    conn: psycopg.Connection, being_marked: list[int] | None = None, up_to: int | None = None
) -> int:
    """The caller's unread messages, not counting `being_marked` (ids whose mark_read is on
    its way) nor those above `up_to` (not handed to the screens yet): counted, they would
    flash in the badge for a message that is, or is about to be, on screen and read."""
    return conn.execute(
        "SELECT count(*) FROM school.messages WHERE receiver_id = school.me() AND NOT is_read "
        "AND id <> ALL(%s) AND (%s::bigint IS NULL OR id <= %s::bigint)",
        (being_marked or [], up_to, up_to),
    ).fetchone()[0]


def unread_from_senders_of(conn: psycopg.Connection, message_ids: list[int]) -> dict[int, int]:
    """For the people who sent the caller any of `message_ids`: how many of their messages the
    caller has not read (read receipts from another session update those rows only)."""
    rows = conn.execute(
        """
        SELECT s.sender_id,
               (SELECT count(*) FROM school.messages u
                WHERE u.receiver_id = school.me() AND u.sender_id = s.sender_id
                  AND NOT u.is_read)
        FROM (SELECT DISTINCT sender_id FROM school.messages
              WHERE id = ANY(%s) AND receiver_id = school.me()) s
        """,
        (message_ids,),
    ).fetchall()
    return dict(rows)


def mark_read(conn: psycopg.Connection, partner_id: int, up_to_id: int) -> int:
    """The caller has seen the conversation up to `up_to_id`: their received ones become read."""
    return conn.execute(
        "UPDATE school.messages SET is_read = true WHERE receiver_id = school.me() "
        "AND sender_id = %s AND id <= %s AND NOT is_read",
        (partner_id, up_to_id),
    ).rowcount


def mark_read_and_count(
    conn: psycopg.Connection,
    partner_id: int,
    up_to_id: int,
    counting: tuple[list[int], int | None] | None = None,
) -> int | None:
    """`mark_read`, then, when `counting` = (being_marked, up_to) is given, the caller's
    unread total as `unread_total(conn, being_marked, up_to)` counts it (else None)."""
    mark_read(conn, partner_id, up_to_id)
    if counting is None:
        return None
    being_marked, up_to = counting
    return unread_total(conn, being_marked, up_to)


def search_contacts(
    conn: psycopg.Connection, text: str, role: str | None = None, limit: int = 50
) -> list[Contact]:
    """People the caller may message, by name or email, optionally of one role."""
    pattern = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with conn.cursor(row_factory=class_row(Contact)) as cur:
        cur.execute(
            """
            SELECT u.id, u.first_name || ' ' || u.last_name AS name, r.name AS role,
                   coalesce(o.status, 'offline') AS status
            FROM school.users u JOIN school.roles r ON r.id = u.role_id
            LEFT JOIN school.online_status o ON o.user_id = u.id
            WHERE (u.first_name || ' ' || u.last_name ILIKE %(p)s OR u.email ILIKE %(p)s)
              AND (%(role)s::text IS NULL OR r.name = %(role)s)
              AND school.may_message(u.id)
            ORDER BY u.last_name, u.first_name, u.id LIMIT %(limit)s
            """,
            {"p": pattern, "role": role, "limit": limit},
        )
        return cur.fetchall()


def presence_of(conn: psycopg.Connection, user_ids: list[int]) -> dict[int, str]:
    rows = conn.execute(
        "SELECT user_id, status FROM school.online_status WHERE user_id = ANY(%s)", (user_ids,)
    ).fetchall()
    return dict(rows)


def presence_all(conn: psycopg.Connection) -> dict[int, str]:
    """Everyone's status (what a reconnect hands over: changes heard by nobody meanwhile)."""
    return dict(conn.execute("SELECT user_id, status FROM school.online_status").fetchall())


def read_among(conn: psycopg.Connection, message_ids: list[int]) -> list[int]:
    """Those of `message_ids` that are read, among the messages the caller may see (RLS): a
    notified receipt is a hint, this is what the screens are told."""
    rows = conn.execute(
        "SELECT id FROM school.messages WHERE id = ANY(%s) AND is_read ORDER BY id",
        (message_ids,),
    ).fetchall()
    return [row[0] for row in rows]


def person_names(conn: psycopg.Connection, user_ids: list[int]) -> dict[int, str]:
    rows = conn.execute(
        "SELECT id, first_name || ' ' || last_name FROM school.users WHERE id = ANY(%s)",
        (user_ids,),
    ).fetchall()
    return dict(rows)


# -- the listener's own statements (its dedicated connection) ---------------------------------


def channels(conn: psycopg.Connection) -> tuple[str, ...]:
    """The caller's private channel and the school's presence channel, the staff's
    enrollment channel when the caller may read enrollment, and the lockout channel when
    the caller may read locked accounts (the Admin) (live/records.py)."""
    from school_tui.db.lockout import lockout_channel

    mine = conn.execute("SELECT school.my_channel(), school.presence_channel()").fetchone()
    extra = (enrollment_channel(conn), lockout_channel(conn))
    return (*mine, *(c for c in extra if c))  # type: ignore[misc]


def listen(conn: psycopg.Connection, channels: tuple[str, ...]) -> None:
    """LISTEN on each channel: their notifications come to this connection."""
    for channel in channels:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))


def enrollment_channel(conn: psycopg.Connection) -> str | None:
    """`school.enrollment_channel()` if this login may call it, else None: a role without
    EXECUTE (a student, a teacher), or a database without the function. Checked first, not
    tried: a failed statement would abort a caller's transaction."""
    may = conn.execute(
        "SELECT has_function_privilege(p, 'EXECUTE') "
        "FROM to_regprocedure('school.enrollment_channel()') AS p WHERE p IS NOT NULL"
    ).fetchone()
    if not (may and may[0]):
        return None
    return conn.execute("SELECT school.enrollment_channel()").fetchone()[0]


def set_presence(conn: psycopg.Connection, status: str) -> None:
    conn.execute("SELECT school.set_my_presence(%s)", (status,))


def sweep_presence(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT school.sweep_presence()").fetchone()[0]


def sweep_presence_at_horizon(conn: psycopg.Connection) -> int:
    """The sweep, and the horizon (see `horizon`) of the snapshot it ran in."""
    return conn.execute(
        "SELECT school.sweep_presence(), pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    ).fetchone()[1]
