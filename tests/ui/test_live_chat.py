"""Live delivery: a message committed by the sender's own login (as psql would) reaches the
receiver's open app through LISTEN/NOTIFY, exactly once, with presence and unread counts."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest
from psycopg import sql

from school_tui.app import SchoolApp
from school_tui.auth.login import login
from school_tui.db import chat
from tests.harness import DEMO_PASSWORD, wait_until
from tests.pages import listening


async def _open_app(school, email):
    session = await asyncio.to_thread(login, school.target, email, DEMO_PASSWORD)
    return session


async def test_message_from_psql_reaches_receiver_once(school):
    teacher = school.add_person("Teacher", email="t@live.test")
    student = school.add_person("Student", email="s@live.test")
    session = await _open_app(school, "s@live.test")
    app = SchoolApp(school.target, prepare_server=False)
    received: list[int] = []
    unread: list[int] = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.start_session(session)
        app.live.messages.subscribe(app, lambda rows: received.extend(r.id for r in rows))
        app.live.unread.subscribe(app, unread.append)
        await wait_until(
            pilot, lambda: session.listener.backend_pid is not None, "the listener to connect"
        )
        await wait_until(pilot, lambda: listening(app), "the first backfill")
        with school.connect_as(teacher, autocommit=True) as sender:
            key = uuid.uuid4()
            first = chat.send(sender, student, "hello [bold]there[/]", key)
            again = chat.send(sender, student, "hello [bold]there[/]", key)  # a retry
            assert first == again
        await wait_until(pilot, lambda: received == [first], "the message to arrive")
        await wait_until(pilot, lambda: unread and unread[-1] == 1, "the unread count")
        # The listener's backend killed while more messages are sent: all arrive, once each.
        school.admin.execute("SELECT pg_terminate_backend(%s)", (session.listener.backend_pid,))
        with school.connect_as(teacher, autocommit=True) as sender:
            more = [chat.send(sender, student, f"m{i}", uuid.uuid4()) for i in range(20)]
        await wait_until(pilot, lambda: received == [first, *more], "every message exactly once")


def test_listening_on_someone_elses_channel_reveals_only_an_id(school):
    """Channels are not secret-proof by design: even a person who learns another's channel
    name hears only ids, and the id opens nothing that row-level security hides."""
    teacher = school.add_person("Teacher", email="t2@live.test")
    student = school.add_person("Student", email="s2@live.test")
    snoop = school.add_person("Student", email="snoop@live.test")
    teacher_login = school.login_role(teacher)
    victim_channel = school.admin.execute(
        "SELECT school.channel_for_login(%s)", (school.login_role(student),)
    ).fetchone()[0]
    with school.connect_as(snoop, autocommit=True) as eve:
        # Nobody can compute another person's channel: the function is not theirs to call.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            eve.execute("SELECT school.channel_for_login(%s)", (teacher_login,))
        assert eve.execute("SELECT school.my_channel()").fetchone()[0] != victim_channel
        eve.execute(sql.SQL("LISTEN {}").format(sql.Identifier(victim_channel)))
        with school.connect_as(teacher, autocommit=True) as sender:
            sent = chat.send(sender, student, "private: your grade", uuid.uuid4())
        payloads = [n.payload for n in eve.notifies(timeout=5, stop_after=1)]
        assert payloads == [f"m:{sent}"]
        assert "grade" not in payloads[0]
        assert eve.execute("SELECT * FROM school.messages WHERE id = %s", (sent,)).fetchall() == []
