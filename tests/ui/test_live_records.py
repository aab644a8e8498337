"""Enrollment ids reach a session live: 'e:<id>' payloads on the person's own channel (and on
the staff's enrollment channel, for those who may read it) become one Signal per batch."""

from __future__ import annotations

import asyncio

from school_tui.app import SchoolApp
from school_tui.auth.login import login
from school_tui.db import chat
from school_tui.live import payloads as notified
from tests.harness import DEMO_PASSWORD, wait_until


def test_payloads_become_ids_once_each_and_nothing_else():
    payloads = ["e:5", "m:9", "e:7", "e:5", "e:", "e:x1", "p:3", "e:12345678901234567890", "e:7"]
    assert notified.parse(payloads).of(notified.ENROLLMENT) == [5, 7]


async def test_enrollment_ids_on_the_students_channel_reach_the_signal(school):
    student = school.add_person("Student", email="s@records.test")
    session = await asyncio.to_thread(login, school.target, "s@records.test", DEMO_PASSWORD)
    app = SchoolApp(school.target, prepare_server=False)
    batches: list[list[int]] = []
    resyncs: list[bool] = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.start_session(session)
        app.live.enrollment.subscribe(app, batches.append)
        app.live.records.resync.subscribe(app, resyncs.append)
        await wait_until(pilot, lambda: resyncs == [False], "the first LISTEN")
        channel = school.admin.execute(
            "SELECT school.channel_for_login(%s)", (school.login_role(student),)
        ).fetchone()[0]
        with school.admin.transaction():  # one commit: one batch
            for payload in ("e:41", "e:42", "e:41", "e:not-an-id"):
                school.admin.execute("SELECT pg_notify(%s, %s)", (channel, payload))
        await wait_until(pilot, lambda: [41, 42] in batches, "the ids")
        assert sum(batches, []).count(41) == 1
        # a lost listener: once it LISTENs again the screens are told to read everything
        school.admin.execute("SELECT pg_terminate_backend(%s)", (session.listener.backend_pid,))
        await wait_until(pilot, lambda: resyncs[-1:] == [True], "the resync after reconnect")


def test_only_those_who_may_read_enrollment_listen_on_its_channel(demo_school):
    registrar = demo_school.user_id("registrar@demo.school")
    student = demo_school.user_id("student@demo.school")
    with demo_school.connect_as(registrar, autocommit=True) as conn:
        staff = chat.channels(conn)
        assert chat.enrollment_channel(conn) in staff and len(staff) == 3
    with demo_school.connect_as(student, autocommit=True) as conn:
        assert chat.enrollment_channel(conn) is None
        assert len(chat.channels(conn)) == 2
