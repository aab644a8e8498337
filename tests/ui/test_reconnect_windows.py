"""Nothing lost across reconnects, at any step: the listener's backend is killed at each
named point of its (re)connect path (live.listener.STEPS, through `Listener.on_step`) and,
in the soak, hundreds of times at random points while a sender streams messages. Every
message must reach the receiver exactly once, live, and be in the open conversation's pane.

Kills come from the hook itself, on the listener's thread, with `pg_terminate_backend(pid,
timeout)`, which returns once the backend is gone: the next statement fails, deterministically.
Every wait is for a condition, never a fixed sleep.
"""

from __future__ import annotations

import random
import threading
import time
import uuid

import psycopg
import pytest

from school_tui.db import chat
from school_tui.live.listener import LISTENER_APPLICATION_NAME, STEPS
from school_tui.screens.chat.screen import ChatScreen
from school_tui.screens.chat.widgets import MessageView
from tests.harness import raise_write_limits, wait_until
from tests.pages import ChatPage, toasts
from tests.ui.test_chat_faults import (
    Receiver,
    Sender,
    conversation_ids,
    join,
    listener_kept_down,
    listener_pid,
    open_receiver,
)

EVENT_STEP = "messages handed over"  # in LiveChat.events, not on the reconnect path
KILL_WAIT_MS = 10_000  # pg_terminate_backend waits this long at most for the backend to go


class StepKiller:
    """`Listener.on_step`: when the listener reaches the armed step, optionally sends a
    message (one written in that very window) and kills the listener's own backend."""

    def __init__(self, school, receiver: Receiver, sender_id: int, receiver_id: int) -> None:
        # Connections of its own: the hook runs on the listener's thread.
        self.admin = school.server.admin(school.dbname)
        raise_write_limits(school.admin)  # many steps, each with its messages
        self.sender = school.connect_as(sender_id, autocommit=True)
        self.receiver_id = receiver_id
        self.listener = receiver.session.listener
        self.lock = threading.Lock()
        self.armed: str | None = None
        self.firing = False  # disarmed, its kill not done yet
        self.wait = True  # each kill waits for the backend to be gone
        self.send_first = True
        self.sent: list[int] = []
        self.kills: list[str] = []
        self.killed_pids: set[int] = set()
        self.error: BaseException | None = None
        self.listener.on_step = self

    def arm(self, step: str | None, send_first: bool = True) -> None:
        with self.lock:
            self.armed, self.send_first = step, send_first

    def kill(self, pid: int | None, conn: psycopg.Connection | None = None) -> None:
        """Terminate `pid`; `conn`: the caller's own (superuser) connection, when not on the
        listener's thread. With `wait` set, returns once the backend is gone (the server
        checks every 100 ms), so the listener's next statement fails for certain."""
        if pid is not None:
            self.killed_pids.add(pid)
            conn = conn or self.admin
            timeout = KILL_WAIT_MS if self.wait else 0
            conn.execute("SELECT pg_terminate_backend(%s, %s)", (pid, timeout))

    async def kill_listener(self, school, receiver: Receiver) -> None:
        """From the test: kill the listener's connection (once it has one)."""
        await wait_until(
            receiver.pilot, lambda: listener_pid(receiver) is not None, "a listener to kill"
        )
        self.kill(listener_pid(receiver), school.admin)

    def __call__(self, step: str) -> None:
        with self.lock:
            if step != self.armed:
                return
            self.armed, send_first, self.firing = None, self.send_first, True
        try:
            if send_first:
                key = uuid.uuid4()
                self.sent.append(chat.send(self.sender, self.receiver_id, f"at {step}", key))
            self.kill(self.listener.backend_pid)
            self.kills.append(step)
        except BaseException as exc:  # reported by the test
            self.error = exc
            raise
        finally:
            self.firing = False

    def close(self) -> None:
        self.listener.on_step = None
        self.admin.close()
        self.sender.close()


def pane_ids(app) -> list[int]:
    return [row.id for row in app.screen.query_one(MessageView).rows]


async def in_the_pane(receiver: Receiver, ids: list[int]) -> None:
    """The open conversation's pane shows exactly `ids`, in order, once it has settled."""
    try:
        await wait_until(
            receiver.pilot, lambda: pane_ids(receiver.app) == ids, "the open chat to show all"
        )
    except AssertionError:
        assert pane_ids(receiver.app) == ids  # says which are missing or extra
        raise


async def open_chat(receiver: Receiver, partner_id: int) -> None:
    app = receiver.app
    await app.push_screen(ChatScreen(receiver.session, partner_id))
    await wait_until(
        receiver.pilot,
        lambda: isinstance(app.screen, ChatScreen) and ChatPage(app).list_loaded(),
        "the chat to open",
    )


def reconnected(killer: StepKiller, receiver: Receiver) -> bool:
    pid = listener_pid(receiver)
    return (
        killer.armed is None
        and not killer.firing
        and pid is not None
        and pid not in killer.killed_pids
    )


async def test_listener_killed_at_each_step_of_the_reconnect(school):
    teacher = school.add_person("Teacher", email="t@steps.test")
    student = school.add_person("Student", email="s@steps.test")
    async with open_receiver(school, "s@steps.test") as receiver:
        with school.connect_as(teacher, autocommit=True) as sender:
            first = chat.send(sender, student, "before", uuid.uuid4())
            await open_chat(receiver, teacher)
            await receiver.wait_for([first], "the first message")
            killer = StepKiller(school, receiver, teacher, student)
            try:
                expected = [first]
                for step in STEPS:
                    killer.arm(step)
                    await killer.kill_listener(school, receiver)  # the hook breaks the reconnect
                    # Written while the listener is down (or on its way back).
                    expected.append(chat.send(sender, student, f"down {step}", uuid.uuid4()))
                    await wait_until(
                        receiver.pilot, lambda: reconnected(killer, receiver), f"past {step}"
                    )
                    with_hook = sorted({*expected, *killer.sent})
                    await wait_until(
                        receiver.pilot,
                        lambda w=with_hook: sorted(receiver.received) == w,
                        f"every message after a kill at {step!r}",
                    )
                # In LiveChat.events: a message handed over, then the connection goes before
                # the receipts and statuses of the same batch are read.
                killer.arm(EVENT_STEP)
                expected.append(chat.send(sender, student, "live", uuid.uuid4()))
                await wait_until(receiver.pilot, lambda: reconnected(killer, receiver), "events")
                assert killer.error is None
                assert killer.kills == [*STEPS, EVENT_STEP]
                last = chat.send(sender, student, "the end", uuid.uuid4())
            finally:
                killer.close()
        everything = conversation_ids(school, teacher, student)
        assert sorted({*expected, *killer.sent, last}) == everything
        await wait_until(
            receiver.pilot, lambda: len(receiver.received) >= len(everything), "the last one"
        )
        assert sorted(receiver.received) == everything  # each once
        assert len(receiver.received) == len(everything)
        await in_the_pane(receiver, everything)


SOAK_MESSAGES = 300  # in about a minute at most: under the school's per-minute chat limit
SOAK_KILLS = 200
SOAK_SEED = 20261205


@pytest.mark.timeout(300)
async def test_soak_random_kills_during_a_send_stream(school):
    """Hundreds of kills at random points (while following, and at random steps of the
    reconnect path) while a sender streams messages: every message exactly once, live, and
    in the open conversation's pane."""
    rng = random.Random(SOAK_SEED)
    teacher = school.add_person("Teacher", email="t@soak.test")
    student = school.add_person("Student", email="s@soak.test")
    started = time.monotonic()
    async with open_receiver(school, "s@soak.test") as receiver:
        await open_chat(receiver, teacher)
        killer = StepKiller(school, receiver, teacher, student)
        # Kills land wherever the listener is when the signal does: random enough, and
        # a tenth of a second faster each than waiting for the backend to go.
        killer.wait = False
        sender = Sender(school, teacher, student, limit=0)
        sender.start()
        try:
            while len(killer.killed_pids) < SOAK_KILLS:
                if len(sender.sent) < SOAK_MESSAGES and rng.random() < 0.8:
                    sender.allow(min(SOAK_MESSAGES, len(sender.sent) + rng.randint(1, 3)))
                where = rng.choice([*STEPS, EVENT_STEP, "now", "now"])
                if where == "now":
                    await killer.kill_listener(school, receiver)  # while following
                elif where == EVENT_STEP:
                    killer.arm(EVENT_STEP, send_first=False)
                    # Fires on the next batch of messages; a later arm replaces it.
                else:
                    killer.arm(where, send_first=False)
                    await killer.kill_listener(school, receiver)
                await wait_until(
                    receiver.pilot,
                    lambda: (
                        listener_pid(receiver) not in (None, *killer.killed_pids)
                        and killer.armed in (None, EVENT_STEP)
                        and not killer.firing
                    ),
                    "the listener to come back",
                )
            killed_at = time.monotonic()
            killer.arm(None)
            sender.allow(SOAK_MESSAGES)
            await wait_until(
                receiver.pilot, lambda: len(sender.sent) >= SOAK_MESSAGES, "every send"
            )
            sender.finish()
            await join(sender)
            assert sender.error is None and killer.error is None
            with school.connect_as(teacher, autocommit=True) as conn:
                last = chat.send(conn, student, "the end", uuid.uuid4())
        finally:
            sender.finish()
            killer.close()
        expected = [*sender.sent, last]
        everything = conversation_ids(school, teacher, student)
        assert sorted(expected) == everything
        await wait_until(
            receiver.pilot, lambda: len(receiver.received) >= len(everything), "every message"
        )
        assert receiver.received == expected  # one sender: in order, each once
        await in_the_pane(receiver, everything)
        # About 40 s on a quiet machine; the timeout mark allows for a loaded one.
        print(
            f"{SOAK_KILLS} kills in {killed_at - started:.1f} s, all in {time.monotonic() - started:.1f} s"
        )


async def test_a_transaction_open_at_login_does_not_make_old_messages_new(school):
    """A transaction left open anywhere on the server holds every snapshot's horizon back.
    The first connection records what exists as seen, so the first reconnect's backfill
    (from that horizon) brings nothing from before the login, and no false alert."""
    teacher = school.add_person("Teacher", email="t@open.test")
    student = school.add_person("Student", email="s@open.test")
    with school.server.admin(school.dbname) as holder:
        holder.autocommit = False
        holder.execute("SELECT pg_current_xact_id()")  # a transaction id, held open
        with school.connect_as(teacher, autocommit=True) as sender:
            old = [chat.send(sender, student, f"before login {i}", uuid.uuid4()) for i in range(3)]
            async with open_receiver(school, "s@open.test") as receiver:
                toasts_before = len(toasts(receiver.app))
                school.admin.execute(
                    "SELECT pg_terminate_backend(%s, %s)", (listener_pid(receiver), KILL_WAIT_MS)
                )
                await wait_until(
                    receiver.pilot,
                    lambda: receiver.connection[-2:] == [False, True],
                    "the listener to go and come back",
                )
                new = chat.send(sender, student, "after login", uuid.uuid4())
                await receiver.wait_for([new], "only the new message")
                assert not set(old) & set(receiver.received)
                assert len(toasts(receiver.app)) <= toasts_before + 1
        holder.rollback()


async def test_presence_changed_while_down_arrives_after_the_reconnect(school):
    """A status change nobody heard (the listener was down) comes with the reconnect."""
    teacher = school.add_person("Teacher", email="t@presence.test")
    student = school.add_person("Student", email="s@presence.test")
    async with open_receiver(school, "s@presence.test") as receiver:
        heard: list[dict[int, str]] = []
        receiver.app.live.presence.subscribe(receiver.app, heard.append)
        # The teacher's app is running (the sweep finds a listener of theirs) and away.
        with school.connect_as(
            teacher, autocommit=True, application_name=LISTENER_APPLICATION_NAME
        ) as teachers_app:
            async with listener_kept_down(school, receiver, school.login_role(student)):
                teachers_app.execute("SELECT school.set_my_presence('away')")
            await wait_until(
                receiver.pilot,
                lambda: any(batch.get(teacher) == "away" for batch in heard),
                "the teacher's status",
            )


def test_retries_start_quick_and_stay_short():
    from school_tui.live.listener import FIRST_RETRY_S, MAX_BACKOFF_S, _backoff

    assert _backoff(0) == FIRST_RETRY_S <= 0.1
    assert [_backoff(n) for n in range(3)] == [FIRST_RETRY_S * 2**n for n in range(3)]
    assert _backoff(10_000) == MAX_BACKOFF_S <= 1.0
