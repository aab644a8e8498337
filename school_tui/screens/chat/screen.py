"""Chat: the conversation list, one conversation's messages, the compose box; and the search
that starts a new conversation.

Live updates come from app.live (school_tui.live.chat): new messages (de-duplicated by id:
the sender's own send comes back as a notification too), read receipts and presence. A
received message becomes read when its conversation is open on the active screen: the
screen marks it in a worker and asks LiveChat to re-count the unread total.

Sending: validated first (the database enforces the same rules), one client-generated key per
message, kept while it has not gone through, so a retry never sends it twice.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Footer, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from school_tui.db import chat
from school_tui.db.connect import APP_ROLE_GROUP
from school_tui.db.errors import Refused
from school_tui.runtime.messages import ConnectionRestored
from school_tui.runtime.workers import db_work, deliver
from school_tui.screens.chat.widgets import ConversationList, MessageView
from school_tui.textual_internals import typeahead
from school_tui.textual_internals.compositor import use_cropping_compositor
from school_tui.widgets.banner import ConnectionBanner
from school_tui.widgets.base import SchoolModal, SchoolScreen
from school_tui.widgets.presence import presence_label
from school_tui.widgets.safe import safe_join, safe_text
from school_tui.widgets.title import TitleBar


class ChatScreen(SchoolScreen):
    DEFAULT_CSS = """
    ChatScreen #chat-body { height: 1fr; }
    ChatScreen #chat-side { width: 30; border-right: vkey $panel; }
    ChatScreen .chat-heading { height: 1; padding: 0 1; text-style: bold; color: $text-muted; }
    ChatScreen #chat-main { width: 1fr; }
    ChatScreen #chat-header { height: 1; padding: 0 1; text-style: bold; background: $panel; }
    ChatScreen #chat-error { height: auto; max-height: 2; padding: 0 1; color: $error;
                             text-style: bold; display: none; }
    ChatScreen #chat-error.-shown { display: block; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="chat.back"),
        Binding("ctrl+n", "new_conversation", "New chat", id="chat.new"),
        Binding("ctrl+l", "app.logout", "Log out", id="logout"),
    ]

    def __init__(self, session, partner_id: int | None = None) -> None:
        super().__init__()
        # Draws only what shows in an update (an arriving message redraws the pane alone).
        use_cropping_compositor(self)
        self.session = session
        self.me = session.person.id
        self.partner_id: int | None = None
        self._open_first = partner_id  # None: the newest conversation, once the list is in
        self._list_loaded = False
        self._send_key: tuple[int, str, uuid.UUID] | None = None  # (partner, text, key)
        self._sending = False
        self._marking: set[int] = set()  # message ids being marked read
        self._receipts_pending: set[int] = set()
        self._receipts_timer: Timer | None = None
        self._reload_timer: Timer | None = None

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        person = self.session.person
        yield TitleBar(safe_join("Chat", "·", person.full_name, "·", person.email))
        yield ConnectionBanner()
        with Horizontal(id="chat-body"):
            with Vertical(id="chat-side"):
                yield Static("Conversations", classes="chat-heading")
                yield ConversationList(id="conversations")
            with Vertical(id="chat-main"):
                yield Static("", id="chat-header")
                yield MessageView(self.me, id="messages")
                yield Static("", id="chat-error")
                yield Input(placeholder="Write a message; Enter sends", id="compose", disabled=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Chat"
        live = self.app.live
        if live is not None:
            # Called in LiveChat's publish itself, not queued behind this screen's messages:
            # an arriving message goes into the pane one hop sooner.
            live.messages.subscribe(self, self._live_messages, immediate=True)
            live.receipts.subscribe(self, self._live_receipts)
            live.presence.subscribe(self, self._live_presence)
        self._show_header()
        self.load_conversations()
        if self._open_first is not None:
            # Opened on a conversation (Ctrl+J, to the last message): to answer it.
            self.open_conversation(self._open_first)
        else:
            # The list has the cursor: Enter on a conversation opens it for writing (the
            # newest one shows meanwhile); the message box only once one is chosen.
            self.query_one(ConversationList).focus()

    # -- what is shown -----------------------------------------------------------------------

    @property
    def conversations(self) -> ConversationList:
        return self.query_one(ConversationList)

    @property
    def view(self) -> MessageView:
        return self.query_one(MessageView)

    def _show_header(self) -> None:
        header = self.query_one("#chat-header", Static)
        item = self.conversations.items.get(self.partner_id) if self.partner_id else None
        if self.partner_id is None:
            header.update("No conversation open · Ctrl+N: new chat")
        elif item is None:
            header.update("…")
        else:
            header.update(
                safe_join(presence_label(item.status), "·", item.name[:60], "·", item.role)
            )

    def show_error(self, text: str) -> None:
        error = self.query_one("#chat-error", Static)
        error.update(safe_text(text, multiline=True))
        error.set_class(bool(text), "-shown")

    # -- conversations -----------------------------------------------------------------------

    @db_work(name="load conversations", group="chat-conversations", exclusive=True)
    def load_conversations(self) -> None:
        deliver(self._conversations_loaded, self.session.run(chat.conversations))

    def _conversations_loaded(self, rows: list[chat.Conversation]) -> None:
        """`rows`: newest first."""
        conversations = self.conversations
        conversations.set_conversations(rows)
        first_load = not self._list_loaded
        self._list_loaded = True
        if first_load and self.partner_id is None and rows:
            self.open_conversation(rows[0].partner_id, write=False)
        elif self.partner_id is not None:
            conversations.select_partner(self.partner_id)
            item = conversations.items.get(self.partner_id)
            if item is not None:
                self.view.set_partner_name(item.name)  # history may have come in first
        if first_load and not rows and self.partner_id is None:
            self.view.clear_conversation("No conversations yet. Ctrl+N starts one.")
        self._show_header()

    def _reload_conversations_soon(self) -> None:
        """Coalesce: one reload for a burst of events."""
        if self._reload_timer is None:
            self._reload_timer = self.set_timer(0.3, self._reload_now)

    def _reload_now(self) -> None:
        self._reload_timer = None
        self.load_conversations()

    @on(OptionList.OptionSelected, "#conversations")
    def _conversation_chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:  # every option has its partner's id
            self.open_conversation(int(event.option.id))

    def open_conversation(self, partner_id: int, *, write: bool = True) -> None:
        """Show the conversation with `partner_id`; `write`: the message box takes the
        cursor (a conversation chosen), else it stays where it is (the chat just opened)."""
        compose = self.query_one("#compose", Input)
        if write and partner_id == self.partner_id:
            compose.focus()  # already shown: on to writing
            return
        self.partner_id = partner_id
        self._send_key = None
        self.show_error("")
        self.conversations.select_partner(partner_id)
        self.view.clear_conversation("Loading…")
        self._show_header()
        compose.disabled = False
        if write:
            compose.focus()
        self.load_history(partner_id, "latest")

    # -- history -----------------------------------------------------------------------------

    @db_work(name="load chat history", group="chat-history")
    def load_history(self, partner_id: int, mode: str, edge_id: int | None = None) -> None:
        def fetch(conn):
            if mode == "newer" and edge_id is not None:
                return chat.history_after(conn, partner_id, edge_id)
            return chat.history(conn, partner_id, before_id=edge_id)

        try:
            rows = self.session.run(fetch)
        except Exception:
            deliver(self._history_loaded, partner_id, "failed", [])
            raise  # db_work hands it to the app
        deliver(self._history_loaded, partner_id, mode, rows)

    def _history_loaded(self, partner_id: int, mode: str, rows: list[chat.ChatMessage]) -> None:
        """`mode`: 'latest', 'refresh' (merged in place), 'older' (newest first), 'newer'
        (oldest first), 'failed' (none)."""
        if partner_id != self.partner_id:
            return  # the person moved on to another conversation meanwhile
        view = self.view
        full = len(rows) == chat.PAGE
        if mode == "failed":
            view.fetch_failed()  # the banner or the error says why; the keys work again
            return
        if mode == "latest":
            item = self.conversations.items.get(self.partner_id)
            view.empty_note = "No messages yet. Say hello below."
            # Messages that arrived live while the page was read are kept: those above the
            # page's oldest (a full page covers everything from there up to its read), or all
            # of them (a page that is not full is the whole conversation).
            floor = min(r.id for r in rows) if full else None
            arrived = [r for r in view.rows if floor is None or r.id > floor]
            view.reset(item.name if item else "", [*rows, *arrived], has_older=full)
        elif mode == "refresh":
            view.merge_page(rows)
        elif mode == "older":
            view.add_older(rows, has_older=full)
        else:
            view.add_newer(rows, has_newer=full)
        self.mark_seen()

    @on(MessageView.OlderWanted)
    def _older_wanted(self, event: MessageView.OlderWanted) -> None:
        if self.partner_id is not None:
            self.load_history(self.partner_id, "older", event.before_id)

    @on(MessageView.NewerWanted)
    def _newer_wanted(self, event: MessageView.NewerWanted) -> None:
        if self.partner_id is not None:
            self.load_history(self.partner_id, "newer", event.after_id)

    @on(MessageView.LatestWanted)
    def _latest_wanted(self) -> None:
        if self.partner_id is not None:
            self.load_history(self.partner_id, "latest")

    # -- read receipts -----------------------------------------------------------------------

    def mark_seen(self) -> None:
        """The open conversation is on screen: what the partner sent is now read."""
        if self.partner_id is None or self.app.screen is not self:
            return
        ids = [i for i in self.view.unread_from(self.partner_id) if i not in self._marking]
        if not ids:
            return
        self._marking.update(ids)
        # The unread total is counted in the marking's own transaction (one round trip, no
        # second worker), leaving out what LiveChat says the badge must not count yet.
        # LiveChat also remembers them: their receipts will come back as echoes.
        count_as = self.app.live.marking_started(ids) if self.app.live is not None else None
        self.view.mark_read(ids)
        self.conversations.set_unread(self.partner_id, 0)
        # The database after the screen: the message is drawn first, and the worker's
        # thread does not compete with the drawing for the interpreter.
        self.call_after_refresh(self._mark_read, self.partner_id, max(ids), ids, count_as)

    @db_work(name="mark messages read", group="chat-read")
    def _mark_read(self, partner_id: int, up_to: int, ids: list[int], count_as) -> None:
        def mark(conn) -> tuple[int, int] | None:
            if count_as is None:
                chat.mark_read_and_count(conn, partner_id, up_to)
                return None
            being_marked, published_up_to, number = count_as
            counting = (being_marked, published_up_to)
            total = chat.mark_read_and_count(conn, partner_id, up_to, counting)
            return None if total is None else (total, number)

        counted = None
        try:
            counted = self.session.run(mark)
        finally:
            deliver(self._marked_read, ids, counted)

    def _marked_read(self, ids: list[int], counted: tuple[int, int] | None) -> None:
        """`ids`: whose marking finished (or failed); `counted`: (unread total, marking
        number) if it committed."""
        self._marking.difference_update(ids)
        if self.app.live is not None:
            self.app.live.marking_done(ids, counted)

    def on_screen_resume(self) -> None:
        self.mark_seen()

    def on_unmount(self) -> None:
        # Closed while marking: the reply will not reach this screen; count them again.
        if self._marking and self.app.live is not None:
            self.app.live.marking_done(sorted(self._marking))

    # -- live --------------------------------------------------------------------------------

    def _live_messages(self, rows: list[chat.ChatMessage]) -> None:
        open_rows = []
        reload = False
        active = self.app.screen is self
        for row in rows:
            partner = row.receiver_id if row.sender_id == self.me else row.sender_id
            incoming = row.receiver_id == self.me
            if partner == self.partner_id:
                open_rows.append(row)
            counts = incoming and not row.is_read and not (partner == self.partner_id and active)
            if not self.conversations.bump(partner, row, 1 if counts else 0):
                reload = True
        if open_rows:
            self.view.add_live(open_rows)
            self.mark_seen()
        if reload:
            self._reload_conversations_soon()

    def _live_receipts(self, ids: list[int]) -> None:
        self.view.mark_read(ids)
        # Our own mark_read comes back as receipts: its counts are already shown. Receipts
        # for what we sent change no count. The rest may be messages to us read in another
        # session of ours: the counts of just those conversations are read again, and their
        # rows updated in place (no reload of the list).
        mine = self.view.sent_by(self.me, ids)
        live = self.app.live
        others = [i for i in ids if i not in mine and not (live and live.marked_here(i))]
        if others:
            self._receipts_pending.update(others)
            if self._receipts_timer is None:
                self._receipts_timer = self.set_timer(0.3, self._recount_now)

    def _recount_now(self) -> None:
        self._receipts_timer = None
        ids, self._receipts_pending = sorted(self._receipts_pending), set()
        if ids:
            self._recount_conversations(ids)

    @db_work(name="recount conversations", group="chat-recount")
    def _recount_conversations(self, ids: list[int]) -> None:
        counts = self.session.run(lambda conn: chat.unread_from_senders_of(conn, ids))
        deliver(self._unread_counted, counts)

    def _unread_counted(self, counts: dict[int, int]) -> None:
        """`counts`: partner id -> their messages this person has not read."""
        for partner_id, count in counts.items():
            self.conversations.set_unread(partner_id, count)

    def _live_presence(self, statuses: dict[int, str]) -> None:
        self.conversations.update_presence(statuses)
        if self.partner_id in statuses:
            self._show_header()

    def on_connection_restored(self, message: ConnectionRestored) -> None:
        self.load_conversations()
        if self.partner_id is not None and not self.view.has_newer:
            # Read again in place, never reset: what arrived while the page was read stays
            # (the listener's backfill brings what was missed; this, the read states).
            self.load_history(self.partner_id, "refresh")

    # -- sending -----------------------------------------------------------------------------

    @on(Input.Submitted, "#compose")
    def _submit(self, event: Input.Submitted) -> None:
        self.send_message(event.value)

    def send_message(self, text: str) -> None:
        if self.partner_id is None:
            self.show_error("Message: choose someone to write to first (Ctrl+N).")
            return
        problem = chat.validate_message(text)
        if problem:
            self.show_error(problem)
            return
        if self._sending:
            return
        self.show_error("")
        partner = self.partner_id
        if self._send_key is None or self._send_key[:2] != (partner, text):
            self._send_key = (partner, text, uuid.uuid4())
        self._sending = True
        self._send(partner, text, self._send_key[2])

    @db_work(
        name="send message", group="chat-send", on_refused="_send_refused", on_failed="_send_failed"
    )
    def _send(self, partner_id: int, text: str, key: uuid.UUID) -> None:
        rows = self.session.run(lambda conn: chat.send_and_read(conn, partner_id, text, key))
        deliver(self._sent, partner_id, rows)

    def _sent(self, partner_id: int, rows: list[chat.ChatMessage]) -> None:
        """The sent message as read back, for the pane."""
        self._sending = False
        sent_text = self._send_key[1] if self._send_key else None
        self._send_key = None
        compose = self.query_one("#compose", Input)
        if partner_id == self.partner_id and compose.value == sent_text:
            compose.value = ""
        for row in rows:
            if partner_id == self.partner_id:
                self.view.add_live([row])
            if not self.conversations.bump(partner_id, row, 0):
                self._reload_conversations_soon()

    def _send_refused(self, refusal: Refused) -> None:
        """Past the rate a person may send: say so under the box."""
        self._sending = False
        message = refusal.message
        self.show_error(message[:1].upper() + message[1:])

    def _send_failed(self, error: Exception) -> None:
        """The banner or the app's handler says why."""
        self._sending = False  # the text stays in the box; Enter retries with the same key

    # -- actions -----------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_new_conversation(self) -> None:
        def chosen(contact: chat.Contact | None) -> None:
            if contact is not None:
                self.conversations.ensure(contact)
                self.open_conversation(contact.id)

        self.app.push_screen(ContactSearch(self.session), chosen)

    def action_older(self) -> None:
        self.view.action_older()

    def palette_commands(self) -> list[tuple[str, Callable[[], None], str]]:
        return [
            ("New chat", self.action_new_conversation, "Find someone by name and write to them"),
            ("Load older messages", self.action_older, "Older messages of this conversation"),
            ("Back", self.action_back, "Back to your home"),
            ("Log out", self.app.action_logout, "Close your session"),
        ]


class ContactSearch(SchoolModal["chat.Contact | None"]):
    """Find someone to write to, by name or email, optionally of one role. Only people the
    database allows are offered (a student sees staff only)."""

    DEFAULT_CSS = """
    ContactSearch { align: center middle; }
    ContactSearch > Vertical {
        width: 72; max-width: 100%; height: 20; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ContactSearch #contact-title { height: 1; text-style: bold; }
    ContactSearch #contact-filters { height: auto; }
    ContactSearch #contact-query { width: 1fr; }
    ContactSearch #contact-role { width: 28; }
    ContactSearch #contact-results { height: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    ContactSearch #contact-note { height: 1; color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Close", id="contacts.close")]

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session
        self.found: dict[int, chat.Contact] = {}
        self._shown: tuple[str, str | None] | None = None  # the search whose results show
        self._enter_waiting = False  # Enter came before the results of the text typed
        self._timer: Timer | None = None
        student = session.person.role == "Student"
        self.roles = [r for r in APP_ROLE_GROUP if not (student and r == "Student")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("New chat: find someone by name", id="contact-title")
            with Horizontal(id="contact-filters"):
                yield Input(placeholder="Name or email", id="contact-query")
                yield Select(
                    [(role, role) for role in self.roles], prompt="Any role", id="contact-role"
                )
            yield OptionList(id="contact-results")
            yield Static("", id="contact-note")

    def on_mount(self) -> None:
        self.query_one("#contact-query", Input).focus()
        if self.app.live is not None:
            self.app.live.presence.subscribe(self, self._live_presence)
        self.search()

    @staticmethod
    def prompt(contact: chat.Contact):
        return safe_join(presence_label(contact.status), "·", contact.name[:50], "·", contact.role)

    def _live_presence(self, statuses: dict[int, str]) -> None:
        results = self.query_one("#contact-results", OptionList)
        for user_id, status in statuses.items():
            contact = self.found.get(user_id)
            if contact is not None and contact.status != status:
                self.found[user_id] = contact = dataclasses.replace(contact, status=status)
                results.replace_option_prompt(str(user_id), self.prompt(contact))

    @property
    def role(self) -> str | None:
        value = self.query_one("#contact-role", Select).value
        return None if value is Select.NULL else str(value)

    @property
    def text(self) -> str:
        return self.query_one("#contact-query", Input).value

    @on(Input.Changed, "#contact-query")
    @on(Select.Changed, "#contact-role")
    def _changed(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(0.15, self.search)

    def search(self) -> None:
        self._timer = None
        self._search(self.text, self.role)

    @db_work(name="search contacts", group="chat-contacts")
    def _search(self, text: str, role: str | None) -> None:
        rows = self.session.run(lambda conn: chat.search_contacts(conn, text, role))
        deliver(self._contacts_found, text, role, rows)

    def _contacts_found(self, query: str, role: str | None, rows: list[chat.Contact]) -> None:
        if (query, role) != (self.text, self.role):
            return  # an older search; a newer one is on its way
        self._shown = (query, role)
        results = self.query_one("#contact-results", OptionList)
        self.found = {c.id: c for c in rows}
        results.set_options(Option(self.prompt(c), id=str(c.id)) for c in rows)
        if rows:
            results.highlighted = 0
        note = f"{len(rows)} found" if rows else "Nobody found"
        if len(rows) == 50:
            note = "The first 50; type more of the name"
        self.query_one("#contact-note", Static).update(note + " · Enter picks · Esc closes")
        if self._enter_waiting:  # the Enter typed before these came: it acts now
            self._enter_waiting = False
            if rows:
                results.focus()
            typeahead.release(self, "results", drop=not rows)

    @on(Input.Submitted, "#contact-query")
    def _to_results(self) -> None:
        if self._shown != (self.text, self.role):
            # The name just typed is still being looked up (debounced, then a worker): the
            # Enter acts once its results are in, and the keys after it (Enter picks) wait.
            self._enter_waiting = True
            typeahead.hold(self, "results")
            return
        results = self.query_one("#contact-results", OptionList)
        if results.option_count:
            results.focus()

    @on(OptionList.OptionSelected, "#contact-results")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:  # every option has its contact's id
            self.dismiss(self.found.get(int(event.option.id)))

    def action_cancel(self) -> None:
        self.dismiss(None)
