"""Chat through the database, as people use it: two real app sessions at once, psql as the
sender's own login, row-level security, validation, long histories and presence.

Two SchoolApps run in one event loop here. Textual finds "the current app" through a context
variable, so whatever a test does to one app happens inside `on(app)`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from contextlib import contextmanager

import psycopg
import pytest

from school_tui.app import SchoolApp
from school_tui.db import chat
from school_tui.db.errors import NotAllowed
from school_tui.screens.auth.login import LoginScreen
from school_tui.screens.chat.alerts import TOASTS_ON_SCREEN
from school_tui.screens.chat.screen import ChatScreen, ContactSearch
from school_tui.screens.chat.widgets import ConversationList, MessageView
from school_tui.screens.homes.base import RoleHome
from school_tui.widgets.title import UnreadBadge
from tests.harness import log_in, wait_until
from tests.pages import ChatPage, listening, toasts

SIZE = (80, 24)
HOSTILE = "line [bold]one[/] [@click=app.quit]x[/]\n\x1b[31mline two\x1b]0;pwned\x07"


@contextmanager
def on(app):
    with app._context():
        yield


async def _logged_in(pilot, email: str) -> None:
    app = pilot.app
    with on(app):
        await log_in(pilot, email)
        await wait_until(
            pilot,
            lambda: listening(app) and app.live.unread_total is not None,
            f"{email}: the listener and the first unread count",
        )


def _badge(app) -> UnreadBadge:
    return app.screen.query_one(UnreadBadge)


def _chat(app) -> ChatScreen | None:
    return app.screen if isinstance(app.screen, ChatScreen) else None


def _showing(app, partner_id: int, *texts: str) -> bool:
    screen = _chat(app)
    if screen is None or screen.partner_id != partner_id:
        return False
    shown = [row.message for row in screen.query_one(MessageView).rows]
    return all(text in shown for text in texts)


async def _open_chat(pilot) -> ChatScreen:
    app = pilot.app
    await pilot.press("c")
    await wait_until(pilot, lambda: _chat(app) is not None, "the chat screen")
    screen = app.screen
    await wait_until(pilot, lambda: ChatPage(app).list_loaded(), "the conversation list")
    return screen


async def test_two_sessions_chat_with_unread_toast_and_read_receipts(school):
    teacher = school.add_person("Teacher", email="t@chat.test", first_name="Tess")
    student = school.add_person("Student", email="s@chat.test", first_name="Sam")
    a = SchoolApp(school.target, prepare_server=False)
    b = SchoolApp(school.target, prepare_server=False)
    async with a.run_test(size=SIZE) as pa, b.run_test(size=SIZE) as pb:
        await _logged_in(pa, "t@chat.test")
        await _logged_in(pb, "s@chat.test")
        with on(b):
            assert _badge(b).count == 0

        # A starts a conversation by searching for the student's name.
        with on(a):
            screen = await _open_chat(pa)
            assert screen.partner_id is None
            await pa.press("ctrl+n")
            await wait_until(pa, lambda: isinstance(a.screen, ContactSearch), "the search")
            search = a.screen
            await pa.press(*"Sam")
            await wait_until(pa, lambda: set(search.found) == {student}, "Sam in the results")
            await pa.press("enter", "enter")  # to the results, then pick
            await wait_until(pa, lambda: a.screen is screen, "back on the chat")
            assert screen.partner_id == student
            assert a.focused is ChatPage(a).compose_field
            await pa.press(*"Hello [b]Sam[/b]")
            await pa.press("enter")
            await wait_until(pa, lambda: _showing(a, student, "Hello [b]Sam[/b]"), "sent")
            assert ChatPage(a).compose_field.value == ""
            assert "· sent" in ChatPage(a).pane_text()
            assert len(screen.view.rows) == 1  # its own notification did not add it twice

        # B, on its home: the unread total and a toast with the sender and the text.
        with on(b):
            assert isinstance(b.screen, RoleHome)
            await wait_until(pb, lambda: _badge(b).count == 1, "B's unread total")
            await wait_until(
                pb,
                lambda: any(
                    "Tess" in title and msg == "Hello [b]Sam[/b]" for title, msg in toasts(b)
                ),
                "the toast",
            )
            assert "✉ 1 unread" in str(_badge(b).render())
            await pb.press("ctrl+j")  # go to the message
            await wait_until(pb, lambda: _showing(b, teacher, "Hello [b]Sam[/b]"), "B's pane")
            await wait_until(pb, lambda: _badge(b).count == 0, "B's unread total back to 0")

        # A sees that B read it.
        with on(a):
            await wait_until(pa, lambda: screen.view.rows[-1].is_read, "the read receipt")
            assert "· read" in ChatPage(a).pane_text()

        # B answers; A has the conversation open, so it is read at once and A gets no toast.
        with on(b):
            await pb.press(*"Hi Tess")
            await pb.press("enter")
        with on(a):
            await wait_until(pa, lambda: _showing(a, student, "Hi Tess"), "the answer")
            assert not any("Hi Tess" in msg for _title, msg in toasts(a))
            assert screen.conversations.unread_of(student) == 0
        with on(b):
            await wait_until(
                pb, lambda: b.screen.query_one(MessageView).rows[-1].is_read, "B's receipt"
            )
        with on(a):
            assert _badge(a).count == 0
            await pa.press("escape")
            await wait_until(pa, lambda: isinstance(a.screen, RoleHome), "A back home")


async def test_message_inserted_with_psql_reaches_the_receivers_app(school):
    teacher = school.add_person("Teacher", email="t@psql.test", first_name="Tess")
    student = school.add_person("Student", email="s@psql.test")
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot, "s@psql.test")
        screen = await _open_chat(pilot)
        assert screen.conversations.items == {}
        # The teacher's own login, as psql would connect: only ids travel in the notification.
        with school.connect_as(teacher, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO school.messages (sender_id, receiver_id, message) "
                "VALUES (school.me(), %s, %s)",
                (student, HOSTILE),
            )
        conversations = screen.query_one(ConversationList)
        await wait_until(
            pilot, lambda: conversations.unread_of(teacher) == 1, "the new conversation"
        )
        await wait_until(pilot, lambda: _badge(app).count == 1, "the unread total")
        # On the chat screen but not in that conversation: still a toast, first line, literal.
        await wait_until(
            pilot,
            lambda: any(
                msg == "line [bold]one[/] [@click=app.quit]x[/]" for _t, msg in toasts(app)
            ),
            "the toast",
        )
        # A burst from the same sender: counted, not one toast each.
        with school.connect_as(teacher, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO school.messages (sender_id, receiver_id, message) "
                "SELECT school.me(), %s, 'burst ' || i FROM generate_series(1, 20) AS i",
                (student,),
            )
        await wait_until(pilot, lambda: conversations.unread_of(teacher) == 21, "the burst")
        assert len(toasts(app)) == 1
        conversations.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: _showing(app, teacher, HOSTILE), "the message")
        text = ChatPage(app).pane_text()
        assert "line [bold]one[/] [@click=app.quit]x[/]" in text
        assert "\N{SYMBOL FOR ESCAPE}[31mline two\N{SYMBOL FOR ESCAPE}]0;pwned" in text
        assert "\x1b" not in text
        await wait_until(pilot, lambda: _badge(app).count == 0, "read once open")
        await wait_until(pilot, lambda: conversations.unread_of(teacher) == 0, "list count")
    assert school.admin.execute("SELECT bool_and(is_read) FROM school.messages").fetchone()[0]


async def test_toasts_are_capped_and_a_read_elsewhere_updates_the_list_in_place(school):
    """Messages from six people, one after another: at most TOASTS_ON_SCREEN toasts at once.
    Then another session of the same person reads one conversation: this session's list shows
    its count go to 0 in place, and the echo of its own mark-read reloads nothing."""
    student = school.add_person("Student", email="s@cap.test")
    senders = [
        school.add_person("Teacher", email=f"t{i}@cap.test", first_name=f"T{i}", password=None)
        for i in range(6)
    ]
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot, "s@cap.test")
        for count, sender in enumerate(senders, start=1):
            school.admin.execute(
                "INSERT INTO school.messages (sender_id, receiver_id, message) "
                "VALUES (%s, %s, 'hello')",
                (sender, student),
            )
            await wait_until(pilot, lambda c=count: _badge(app).count == c, f"message {count}")
        page = ChatPage(app)
        await wait_until(
            pilot,
            lambda: len(toasts(app)) + page.held_for_a_later_toast() == len(senders),
            "every message toasted or counted for a later toast",
        )
        assert len(toasts(app)) == TOASTS_ON_SCREEN
        screen = await _open_chat(pilot)
        opened = screen.partner_id
        assert opened == senders[-1]  # the newest conversation opens, and is read
        await wait_until(pilot, lambda: _badge(app).count == 5, "the open one read")
        reloads = []
        original = screen.load_conversations
        screen.load_conversations = lambda: (reloads.append(1), original())
        with school.connect_as(student, autocommit=True) as other_session:
            chat.mark_read(other_session, senders[0], 10**9)
        conversations = screen.conversations
        await wait_until(pilot, lambda: conversations.unread_of(senders[0]) == 0, "read elsewhere")
        await wait_until(pilot, lambda: _badge(app).count == 4, "the total")
        assert [conversations.unread_of(s) for s in senders] == [0, 1, 1, 1, 1, 0]
        assert "(1)" not in str(conversations.get_option(str(senders[0])).prompt)
        assert reloads == []


async def test_students_cannot_message_students_even_with_psql(school):
    me = school.add_person("Student", email="s1@rls.test", first_name="Ana")
    other = school.add_person("Student", email="s2@rls.test", first_name="Ana")
    teacher = school.add_person("Teacher", email="t@rls.test", first_name="Ana")
    with school.connect_as(me, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO school.messages (sender_id, receiver_id, message) "
                "VALUES (school.me(), %s, 'psst')",
                (other,),
            )
        with pytest.raises(NotAllowed):  # the app's send: the same refusal, as db/ names it
            chat.send(conn, other, "psst", uuid.uuid4())
        assert {c.id for c in chat.search_contacts(conn, "Ana")} == {teacher}
        assert chat.search_contacts(conn, "", role="Student") == []
        chat.send(conn, teacher, "a question", uuid.uuid4())  # staff: fine
    assert school.admin.execute("SELECT count(*) FROM school.messages").fetchone()[0] == 1

    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot, "s1@rls.test")
        await _open_chat(pilot)
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: isinstance(app.screen, ContactSearch), "the search")
        search = app.screen
        await pilot.press(*"Ana")
        await wait_until(pilot, lambda: search.found and search.text == "Ana", "results")
        assert set(search.found) == {teacher}
        roles = ChatPage(app).search_roles()
        assert "Student" not in roles and "Teacher" in roles


async def test_sending_past_the_rate_is_told_under_the_box_and_kept(school):
    """The database refuses past a person's chat rate (school.write_limits): the app says
    so under the compose box, keeps the text, and the app goes on."""
    teacher = school.add_person("Teacher", email="t@rate.test")
    student = school.add_person("Student", email="s@rate.test")
    school.admin.execute(
        "INSERT INTO school.messages (sender_id, receiver_id, message) VALUES (%s, %s, 'hi')",
        (teacher, student),
    )
    school.admin.execute(
        "UPDATE school.write_limits SET per_minute = 1 WHERE kind = 'chat message'"
    )
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot, "s@rate.test")
        await _open_chat(pilot)
        await wait_until(pilot, lambda: _showing(app, teacher, "hi"), "the conversation")
        page = ChatPage(app)
        compose = page.compose_field
        compose.value = "first"
        compose.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: _showing(app, teacher, "first"), "the first message")
        compose.value = "second"
        await pilot.press("enter")
        await wait_until(pilot, page.error_shown, "the refusal")
        assert "Chat message: at most 1 a minute" in page.error()
        assert compose.value == "second"
        assert isinstance(app.screen, ChatScreen)  # no error modal, no banner


async def test_empty_and_oversized_messages_are_refused(school):
    teacher = school.add_person("Teacher", email="t@valid.test")
    student = school.add_person("Student", email="s@valid.test")
    school.admin.execute(
        "INSERT INTO school.messages (sender_id, receiver_id, message) VALUES (%s, %s, 'hi')",
        (teacher, student),
    )
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot, "s@valid.test")
        screen = await _open_chat(pilot)
        await wait_until(pilot, lambda: _showing(app, teacher, "hi"), "the conversation")
        page = ChatPage(app)
        compose = page.compose_field
        for text, expected in [
            ("", "Message: write something first"),
            ("   ", "Message: write something first"),
            ("x" * 4001, "Message: at most 4000 characters (this one has 4001)"),
        ]:
            compose.value = text
            compose.focus()
            await pilot.press("enter")
            await wait_until(pilot, page.error_shown, "the refusal")
            assert expected in page.error()
            assert compose.value == text  # kept, to be fixed
            screen.show_error("")
        compose.value = "x" * 4000  # the limit itself is fine
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(screen.view.rows) == 2, "the 4000-character message")
        assert not page.error_shown()
    # The database refuses the same, whoever asks.
    with school.connect_as(student, autocommit=True) as conn:
        for text in ["", "  \n ", "y" * 4001]:
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(
                    "INSERT INTO school.messages (sender_id, receiver_id, message) "
                    "VALUES (school.me(), %s, %s)",
                    (teacher, text),
                )


async def test_a_send_whose_reply_was_lost_is_retried_with_the_same_key(school, monkeypatch):
    from school_tui.screens.chat import screen as chat_screen

    teacher = school.add_person("Teacher", email="t@retry.test")
    student = school.add_person("Student", email="s@retry.test")
    school.admin.execute(
        "INSERT INTO school.messages (sender_id, receiver_id, message) VALUES (%s, %s, 'hi')",
        (teacher, student),
    )
    keys: list[uuid.UUID] = []
    real_send = chat.send

    def send_then_lose_the_reply(conn, receiver_id, text, key):
        keys.append(key)
        message_id = real_send(conn, receiver_id, text, key)
        if len(keys) == 1:
            raise psycopg.OperationalError("the reply was lost")
        return message_id

    monkeypatch.setattr(chat_screen.chat, "send", send_then_lose_the_reply)
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot, "s@retry.test")
        screen = await _open_chat(pilot)
        await wait_until(pilot, lambda: _showing(app, teacher, "hi"), "the conversation")
        compose = ChatPage(app).compose_field
        await pilot.press("enter")  # on the conversation: open it for writing
        await wait_until(pilot, lambda: app.focused is compose, "the message box")
        await pilot.press(*"once only", "enter")
        await wait_until(pilot, lambda: len(keys) == 1, "the first attempt")
        await wait_until(pilot, lambda: app.connected and not ChatPage(app).sending(), "back")
        assert compose.value == "once only"  # kept: it did not (seem to) go
        compose.focus()
        await pilot.press("enter")  # the retry
        await wait_until(pilot, lambda: compose.value == "", "the retry to go through")
        assert keys[0] == keys[1]
        await wait_until(pilot, lambda: _showing(app, teacher, "once only"), "in the pane")
        assert [r.message for r in screen.view.rows].count("once only") == 1
    count = school.admin.execute(
        "SELECT count(*) FROM school.messages WHERE message = 'once only'"
    ).fetchone()[0]
    assert count == 1


def _seed(school, teacher, student, count: int) -> list[int]:
    school.admin.execute(
        "INSERT INTO school.messages (sender_id, receiver_id, message, sent_at, is_read) "
        "SELECT CASE WHEN i %% 2 = 0 THEN %(t)s ELSE %(s)s END, "
        "       CASE WHEN i %% 2 = 0 THEN %(s)s ELSE %(t)s END, "
        "       'message ' || i, now() - (%(n)s - i) * interval '1 minute', true "
        "FROM generate_series(1, %(n)s) AS i",
        {"t": teacher, "s": student, "n": count},
    )
    return [row[0] for row in school.admin.execute("SELECT id FROM school.messages ORDER BY id")]


async def test_history_pages_older_in_order_without_duplicates(school):
    teacher = school.add_person("Teacher", email="t@history.test")
    student = school.add_person("Student", email="s@history.test")
    ids = _seed(school, teacher, student, 300)
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot, "s@history.test")
        screen = await _open_chat(pilot)
        view = screen.view
        await wait_until(pilot, lambda: len(view.rows) == chat.PAGE, "the newest page")
        assert [r.id for r in view.rows] == ids[-chat.PAGE :]
        assert view.has_older and view.is_vertical_scroll_end
        assert view.rows[-1].message == "message 300"
        view.focus()
        loaded = chat.PAGE
        while view.has_older:
            await pilot.press("home")
            loaded += chat.PAGE
            await wait_until(
                pilot, lambda n=loaded: len(view.rows) == min(n, 300), f"{loaded} messages"
            )
            shown = [r.id for r in view.rows]
            assert shown == sorted(set(shown)), "out of order or repeated"
            assert shown == ids[-len(shown) :]
        assert [r.id for r in view.rows] == ids
        assert (
            ChatPage(app)
            .pane_text()
            .splitlines()[0]
            .startswith("— The beginning of the conversation")
        )
        assert "message 1\n" in ChatPage(app).pane_text()


async def test_a_long_conversation_keeps_a_bounded_window(school, monkeypatch):
    monkeypatch.setattr(MessageView, "MAX_LOADED", 120)
    teacher = school.add_person("Teacher", email="t@window.test")
    student = school.add_person("Student", email="s@window.test")
    ids = _seed(school, teacher, student, 400)
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot, "s@window.test")
        screen = await _open_chat(pilot)
        view = screen.view
        await wait_until(pilot, lambda: len(view.rows) == chat.PAGE, "the newest page")
        view.focus()
        for _ in range(4):  # 250 asked for, at most 120 kept: the newest go
            first = view.first_id
            await pilot.press("home")
            await wait_until(pilot, lambda f=first: view.first_id < f, "an older page")
            assert len(view.rows) <= 120
        assert view.has_newer
        shown = [r.id for r in view.rows]
        assert shown == sorted(set(shown)) and set(shown) <= set(ids)
        assert ids[-1] not in shown
        # Scrolling to the bottom brings the next newer page.
        last = view.last_id
        view.scroll_to(y=view.max_scroll_y, animate=False)
        await wait_until(pilot, lambda: view.last_id > last, "a newer page")
        shown = [r.id for r in view.rows]
        assert shown == sorted(set(shown)) and len(shown) <= 120
        assert shown == ids[ids.index(shown[0]) : ids.index(shown[0]) + len(shown)]
        # End: the newest again.
        await pilot.press("end")
        await wait_until(pilot, lambda: view.last_id == ids[-1], "the newest page again")
        assert not view.has_newer and [r.id for r in view.rows] == ids[-chat.PAGE :]


_HOLDER = """
import sys, threading
from school_tui.auth.login import login
from school_tui.db.connect import RoleNames, Target
from school_tui.live.listener import Listener

conninfo, prefix, email, password = sys.argv[1:]
session = login(Target(conninfo, RoleNames(prefix)), email, password)
listener = Listener(session.conninfo, on_connected=lambda again: print("connected", flush=True),
                    on_lost=lambda: None, on_events=lambda payloads: None)
listener.start()
threading.Event().wait()
"""


async def test_a_killed_session_shows_offline_to_others(school):
    teacher = school.add_person("Teacher", email="t@presence.test", first_name="Kim")
    student = school.add_person("Student", email="s@presence.test")
    school.admin.execute(
        "INSERT INTO school.messages (sender_id, receiver_id, message) VALUES (%s, %s, 'hi')",
        (teacher, student),
    )
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot, "s@presence.test")
        screen = await _open_chat(pilot)
        conversations = screen.conversations

        def status() -> str:
            return conversations.items[teacher].status

        assert status() == "offline"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _HOLDER,
                school.target.base_conninfo,
                school.roles.prefix,
                "t@presence.test",
                school.passwords["t@presence.test"],
            ],
            env=env,
            stdout=subprocess.PIPE,
        )
        try:
            await wait_until(pilot, lambda: status() == "online", "the teacher online")
            option = conversations.get_option(str(teacher))
            assert "● online" in str(option.prompt)
            assert "● online" in ChatPage(app).header()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            # Every listener sweeps every 10 s: offline for the others well within 60 s.
            await wait_until(pilot, lambda: status() == "offline", "offline", timeout=60)
            assert "○ offline" in str(conversations.get_option(str(teacher)).prompt)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


async def test_idle_input_shows_away_then_online(school):
    school.add_person("Teacher", email="t@away.test")
    user = school.add_person("Student", email="s@away.test")

    def status() -> str:
        return school.admin.execute(
            "SELECT status FROM school.online_status WHERE user_id = %s", (user,)
        ).fetchone()[0]

    app = SchoolApp(school.target, prepare_server=False, away_after=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot, "s@away.test")
        await wait_until(pilot, lambda: status() == "away", "away after idling")
        app.idle.away_after = 3600  # so that it stays online once back
        await pilot.press("down")
        await wait_until(pilot, lambda: status() == "online", "online after a key")


async def test_chat_from_the_palette_and_log_out_from_it(school):
    school.add_person("Student", email="s@keys.test")
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot, "s@keys.test")
        home = app.screen
        assert "Chat" in [name for name, _callback, _help in home.palette_commands()]
        await pilot.press("ctrl+p", *"chat", "enter")
        await wait_until(pilot, lambda: _chat(app) is not None, "the chat screen")
        await wait_until(pilot, lambda: ChatPage(app).list_loaded(), "the conversation list")
        assert "No conversations yet" in ChatPage(app).pane_text()
        assert _badge(app).count == 0
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, LoginScreen), "the login screen")
        assert len(app.screen_stack) == 2 and home not in app.screen_stack
        assert app.session is None and app.idle is None
