"""Forged notifications: any login may NOTIFY on a channel it can name, and every login can
name the presence channel. A malformed payload is dropped (the listener keeps its connection),
and a well-formed one is only a hint: a forged receipt marks nothing read, a forged message id
shows nothing the receiver may not read."""

from __future__ import annotations

import uuid

from school_tui.db import chat
from school_tui.live import payloads as notified
from tests.harness import wait_until
from tests.ui.test_chat_faults import listener_pid, open_receiver

MALFORMED = [
    "p:²",  # '²'.isdigit() is True; int('²') fails
    "m:٣",  # an Arabic-Indic digit: int() reads it, the parser must not
    "r:007",
    "e:-1",
    "m:99999999999999999999",  # past a bigint
    "p:1 ",
    "x:1",
    "",
    "m:",
    "r:1:2",
]


def test_the_parser_takes_ascii_ids_only():
    parsed = notified.parse([*MALFORMED, "m:5", "r:6", "p:7", "e:8", "m:5"])
    assert parsed.dropped == len(MALFORMED)
    assert parsed.ids == {"m": [5], "r": [6], "p": [7], "e": [8], "l": []}


async def test_forged_payloads_change_nothing_and_break_nothing(school):
    teacher = school.add_person("Teacher", email="t@forge.test")
    student = school.add_person("Student", email="s@forge.test")
    forger = school.add_person("Student", email="eve@forge.test")
    async with open_receiver(school, "s@forge.test") as receiver:
        app = receiver.app
        receipts: list[list[int]] = []
        presence: list[dict[int, str]] = []
        app.live.receipts.subscribe(app, receipts.append)
        app.live.presence.subscribe(app, presence.append)
        pid = listener_pid(receiver)
        dropped = notified.dropped.total
        with school.connect_as(teacher, autocommit=True) as sender:
            unread = chat.send(sender, student, "not read yet", uuid.uuid4())
            await receiver.wait_for([unread], "the first message")
            other = school.add_person("Teacher", email="t2@forge.test")
            theirs = chat.send(sender, other, "not the student's", uuid.uuid4())
            with school.connect_as(forger, autocommit=True) as eve:
                channel = eve.execute("SELECT school.presence_channel()").fetchone()[0]
                for payload in [
                    *MALFORMED,
                    f"r:{unread}",  # not read: must not turn "read" anywhere
                    f"m:{theirs}",  # a message the student may not read
                    f"p:{teacher}",  # well-formed: re-read, shows the truth
                ]:
                    eve.execute("SELECT pg_notify(%s, %s)", (channel, payload))
            # A genuine message after the forgeries: once it is here, they were all handled.
            after = chat.send(sender, student, "after the forgeries", uuid.uuid4())
            await receiver.wait_for([unread, after], "the message after them")
        await wait_until(
            receiver.pilot,
            lambda: notified.dropped.total >= dropped + len(MALFORMED),
            "the malformed payloads to be dropped",
        )
        assert listener_pid(receiver) == pid, "the listener lost its connection"
        assert receiver.connection == [], "the banner showed"
        assert receipts == []
        assert theirs not in receiver.received
        teacher_status = school.admin.execute(
            "SELECT status FROM school.online_status WHERE user_id = %s", (teacher,)
        ).fetchone()
        truth = teacher_status[0] if teacher_status else None
        assert all(batch.get(teacher, truth) == truth for batch in presence), (presence, truth)
        # A genuine receipt still comes through: the student reads it in another session.
        with school.connect_as(student, autocommit=True) as other_session:
            chat.mark_read(other_session, teacher, unread)
        await wait_until(receiver.pilot, lambda: [unread] in receipts, "the real receipt")
