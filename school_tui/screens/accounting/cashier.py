"""Cashier mode: the queue at the window, one student after another, by keyboard.

    student number or name, Enter   -> their balance and open dues, oldest first
    Enter (or type an amount first) -> the amount: the next due by default
    Enter on the method             -> posts (Cash, Card); Bank transfer and Check ask for
                                       their reference first, then Enter posts
    -> a numbered receipt on screen, and the cursor back in the student field

Three keys per cash payment besides the student and the amount, and they may all be typed
as one burst: keys typed while the account is looked up (or a payment posts) wait, and go to
the amount field (or the next student's) once it is ready (school_tui/textual_internals/typeahead.py); when
the lookup is a refusal or a choice (nobody, several students, nothing owed) they are
dropped with a note instead of landing in the wrong field. Several students matching
the text: a list to pick from (arrows, Enter). Esc clears the form; on an empty form it goes
back to the home. Ctrl+S saves the last receipt as 40-column text or a PDF.

Posting is idempotent (db/ledger.post_payment): the key of a payment is made when it is
first sent and kept until its reply comes, so a double Enter posts it once. When the reply
is lost (the connection dropped mid-post) the outcome is unknown: the payment as sent (student,
amount, method, reference, key) is kept, the form is locked, and as soon as the connection is
back it is sent again with the same key, before anything is reloaded: the database posts it
then, or finds the first post and replays it; either way the receipt shows. Esc (or logging
out) does not drop such a payment without a confirmation. Overpayment is refused: more than
the balance is never taken.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from school_tui.db import ledger
from school_tui.domain.money import DEFAULT_FORMAT, MoneyFormat, format_money, parse_amount
from school_tui.runtime.messages import ConnectionRestored
from school_tui.runtime.workers import db_work, deliver
from school_tui.textual_internals import typeahead
from school_tui.widgets.banner import ConnectionBanner
from school_tui.widgets.base import SchoolScreen
from school_tui.widgets.safe import clean, safe_join, safe_text
from school_tui.widgets.title import TitleBar

if TYPE_CHECKING:
    from school_tui.db.errors import Refused
    from school_tui.output import receipts

METHOD_LABELS = {
    "Cash": "Cash",
    "Bank Transfer": "Bank transfer (reference)",
    "Check": "Check (check number)",
    "Card": "Card",
}


# -- messages from workers ------------------------------------------------------------------
@dataclass(frozen=True)
class Pending:
    """A payment as sent, with its key: sent again unchanged, it keeps the key."""

    student_id: int
    amount: Decimal
    method: str
    reference: str | None
    key: uuid.UUID


class CashierScreen(SchoolScreen):
    DEFAULT_CSS = """
    CashierScreen Horizontal.row { height: 1; margin: 0 1; }
    CashierScreen Label.field { width: 11; }
    CashierScreen Input { border: none; height: 1; padding: 0 1; width: 1fr; }
    /* Input's own :focus rule (a tall border) outranks the line above: without this, a
       focused one-line field is all border and hides what is typed */
    CashierScreen Input:focus { border: none; background: $boost; }
    CashierScreen #who { height: 1; margin: 0 1; }
    CashierScreen #dues { height: 8; margin: 0 1; }
    CashierScreen #matches { height: 8; margin: 0 1; border: none; display: none; }
    CashierScreen #pay { height: 4; margin: 0 1; }
    CashierScreen #pay-left { width: 1fr; }
    CashierScreen #pay-left Horizontal { height: 1; }
    CashierScreen #methods { width: 30; height: 4; border: none; padding: 0; }
    CashierScreen #status { height: 1; margin: 0 1; }
    CashierScreen #status.refused { color: $error; text-style: bold; }
    CashierScreen #receipt { height: 1fr; margin: 0 1; border: round $primary; padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape", "clear", "Clear / back", id="cashier.clear"),
        Binding("ctrl+r", "resend", "Resend", id="cashier.resend"),
        Binding("ctrl+s", "save_receipt", "Save receipt", id="cashier.save-receipt"),
        Binding("ctrl+l", "logout", "Log out", id="logout"),
    ]

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session
        self.account: ledger.Account | None = None
        self.amount: Decimal | None = None
        self.pending: Pending | None = None
        self.posting = False
        # The pending payment was sent but no reply came: it may have been posted. Until a
        # reply comes (or the clerk discards it after a confirmation) the form stays locked.
        self.unknown = False
        self.last_receipt: ledger.Receipt | None = None
        self._search_generation = 0

    @property
    def money(self) -> MoneyFormat:
        return getattr(self.app, "money_format", None) or DEFAULT_FORMAT

    def fmt(self, amount: Decimal, symbol: bool = True) -> str:
        return format_money(amount, self.money, symbol=symbol)

    # -- layout --------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        person = self.session.person
        yield TitleBar(safe_join("Cashier", "·", person.full_name))
        yield ConnectionBanner()
        with Horizontal(classes="row"):
            yield Label("Student", classes="field")
            yield Input(placeholder="student number or name, then Enter", id="student")
        yield Static("", id="who")
        yield DataTable(id="dues", cursor_type="row", zebra_stripes=True)
        yield OptionList(id="matches")
        with Horizontal(id="pay"):
            with Vertical(id="pay-left"):
                with Horizontal():
                    yield Label("Amount", classes="field")
                    yield Input(id="amount", disabled=True)
                with Horizontal():
                    yield Label("Reference", classes="field")
                    yield Input(id="reference", disabled=True, max_length=100)
            yield OptionList(
                *(Option(label, id=method) for method, label in METHOD_LABELS.items()),
                id="methods",
                disabled=True,
            )
        yield Static("", id="status")
        yield Static("", id="receipt")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Cashier"
        self.query_one("#dues", DataTable).add_columns("Due", "Fee", "Part", "Open", "Status")
        self.query_one("#receipt", Static).border_title = "Receipt"
        self._say("Type a student number or name and press Enter.")
        self.query_one("#student", Input).focus()
        # A signal, not ConnectionRestored: that goes to the top screen only (a confirmation
        # may be over this one), and the resend must go before anything reloads.
        self.app.connection_signal.subscribe(self, self._connection_changed, immediate=True)

    # -- helpers -------------------------------------------------------------------------------
    def _say(self, text: str, refused: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(safe_text(text))
        status.set_class(refused, "refused")

    def _enable(self, amount: bool, methods: bool, reference: bool) -> None:
        self.query_one("#amount", Input).disabled = not amount
        self.query_one("#methods", OptionList).disabled = not methods
        self.query_one("#reference", Input).disabled = not reference

    def _method(self) -> str:
        methods = self.query_one("#methods", OptionList)
        index = methods.highlighted or 0
        return methods.get_option_at_index(index).id or "Cash"

    def reset(self) -> None:
        """Ready for the next student (the last receipt stays on screen)."""
        self.account = None
        self.amount = None
        self.query_one("#dues", DataTable).clear()
        self.query_one("#who", Static).update("")
        for field in ("#amount", "#reference"):
            self.query_one(field, Input).value = ""
        self.query_one("#amount", Input).placeholder = ""
        self.query_one("#methods", OptionList).highlighted = 0
        self._enable(False, False, False)
        self._show_matches(False)
        student = self.query_one("#student", Input)
        student.value = ""
        student.focus()

    def _show_matches(self, show: bool) -> None:
        self.query_one("#matches", OptionList).display = show
        self.query_one("#dues", DataTable).display = not show

    # -- 1. the student ------------------------------------------------------------------------
    @on(Input.Submitted, "#student")
    def student_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return  # (a stray Enter after a post leaves its "Posted" note in place)
        self._search_generation += 1
        self._say("Looking up…")
        # The amount typed ahead is for this student's account: it waits for it.
        typeahead.hold(self, "account")
        self.search(text)

    @db_work(name="cashier search", group="cashier-search", exclusive=True)
    def search(self, text: str) -> None:
        matches = self.session.run(lambda conn: ledger.find_students(conn, text))
        deliver(self._matches_found, text, matches)

    def _matches_found(self, text: str, matches: list) -> None:
        if text != self.query_one("#student", Input).value.strip():
            return  # typed on since: that search is no longer the question
        matches = matches
        if not matches:
            self._say(f"Student: nobody matches {clean(text)!r}.", refused=True)
            typeahead.release(self, "account", drop=True)
            return
        if len(matches) == 1:
            self.open_account(matches[0].student_id)
            return
        options = self.query_one("#matches", OptionList)
        options.clear_options()
        for m in matches:
            options.add_option(
                Option(
                    safe_join(
                        m.number or "—",
                        m.name,
                        m.section or "",
                        "owes",
                        self.fmt(m.balance),
                        sep="  ",
                    ),
                    id=str(m.student_id),
                )
            )
        self._show_matches(True)
        options.highlighted = 0
        options.focus()
        self._say(f"{len(matches)} students match: pick one and press Enter (Esc: back).")
        # An Enter typed ahead would pick the first, maybe the wrong student: the clerk looks.
        typeahead.release(self, "account", drop=True)

    @on(OptionList.OptionSelected, "#matches")
    def match_chosen(self, event: OptionList.OptionSelected) -> None:
        self._show_matches(False)
        if event.option.id is not None:  # every option has its student's id
            self.open_account(int(event.option.id))

    def open_account(self, student_id: int) -> None:
        self._say("Loading the account…")
        typeahead.hold(self, "account")  # (picked from the list: the amount waits too)
        self.load_account(student_id)

    @db_work(name="cashier account", group="cashier-account", exclusive=True)
    def load_account(self, student_id: int) -> None:
        account = self.session.run(lambda conn: ledger.account(conn, student_id))
        deliver(self._account_loaded, account)

    def _account_loaded(self, account: ledger.Account | None) -> None:
        account = account
        if account is None:
            self._say("Student: not found (removed meanwhile?).", refused=True)
            typeahead.release(self, "account", drop=True)
            return
        self.account = account
        who = self.query_one("#who", Static)
        who.update(
            safe_join(
                account.name,
                f"({account.number})" if account.number else "",
                "· balance",
                self.fmt(account.balance),
            )
        )
        table = self.query_one("#dues", DataTable)
        with self.app.batch_update():
            table.clear()
            for due in account.dues:
                table.add_row(
                    due.due_date.isoformat() if due.due_date else "—",
                    safe_text(due.fee_type, max_length=24),
                    f"{due.seq} of {due.installments}",
                    self.fmt(due.open, symbol=False),
                    due.status,
                )
        if not account.dues:
            self._say("Nothing to pay: this student owes nothing. Esc for the next student.")
            typeahead.release(self, "account", drop=True)
            return
        amount = self.query_one("#amount", Input)
        self._enable(True, False, False)
        amount.value = ""
        amount.placeholder = f"{self.fmt(account.dues[0].open, symbol=False)} (the next due)"
        amount.focus()
        self._say(
            f"Amount: Enter takes the next due ({self.fmt(account.dues[0].open)}), or type another."
        )
        # The amount field is enabled and focused (applied before the keys go on): the
        # amount and Enters typed ahead reach it, and post against this account.
        typeahead.release(self, "account")

    # -- 2. the amount -------------------------------------------------------------------------
    @on(Input.Submitted, "#amount")
    def amount_submitted(self, event: Input.Submitted) -> None:
        if self.account is None:
            return
        text = event.value.strip() or self.fmt(self.account.dues[0].open, symbol=False)
        try:
            amount = parse_amount(text, "Amount", self.money)
        except ValueError as exc:
            self._say(str(exc), refused=True)
            return
        if amount > self.account.balance:
            self._say(
                f"Amount: {self.fmt(amount)} is more than the balance "
                f"{self.fmt(self.account.balance)}; overpayment is refused.",
                refused=True,
            )
            return
        self.amount = amount
        self._enable(True, True, False)
        methods = self.query_one("#methods", OptionList)
        methods.focus()
        self._say(f"Method: Enter posts {self.fmt(amount)} (↑↓ to change the method).")

    # -- 3. the method, the reference, the post --------------------------------------------------
    @on(OptionList.OptionSelected, "#methods")
    def method_chosen(self, event: OptionList.OptionSelected) -> None:
        method = event.option.id or "Cash"
        if method in ledger.NEEDS_REFERENCE:
            self._enable(True, True, True)
            self.query_one("#reference", Input).focus()
            self._say(f"Reference: the {method.lower()}'s number, then Enter posts.")
            return
        self.post_now(method, None)

    @on(Input.Submitted, "#reference")
    def reference_submitted(self, event: Input.Submitted) -> None:
        method = self._method()
        reference = event.value.strip()
        if method in ledger.NEEDS_REFERENCE and not reference:
            self._say(f"Reference: a {method.lower()} needs its reference number.", refused=True)
            return
        self.post_now(method, reference or None)

    def post_now(self, method: str, reference: str | None) -> None:
        if self.posting or self.unknown or self.account is None or self.amount is None:
            return  # a second Enter while the first is on its way, or its outcome unknown
        pending = self.pending
        if pending is None or (
            pending.student_id,
            pending.amount,
            pending.method,
            pending.reference,
        ) != (
            self.account.student_id,
            self.amount,
            method,
            reference,
        ):
            pending = Pending(
                self.account.student_id, self.amount, method, reference, ledger.new_client_key()
            )
        self.pending = pending
        self.posting = True
        self._say(f"Posting {self.fmt(pending.amount)}…")
        # The next student's number typed ahead goes to the student field once this is done.
        typeahead.hold(self, "post")
        self.post_payment(pending)

    @db_work(
        name="cashier post",
        group="cashier-post",
        on_refused="_post_refused",
        on_failed="_post_failed",
    )
    def post_payment(self, pending: Pending) -> None:
        """Post `pending`. A failure after sending (the reply lost, or anything else but a
        refusal) may have posted it: the screen learns so (`_lost`, on the UI thread, waited
        for) before the app's error handler sees the error, so the reconnect that follows
        always finds the payment kept and sends it again."""

        def post(conn):
            return ledger.take_payment(
                conn,
                pending.student_id,
                pending.amount,
                pending.method,
                pending.reference,
                pending.key,
            )

        receipt, enrollment_now = self.session.run(post)
        deliver(self._posted, receipt, enrollment_now)

    def _post_failed(self, exc: Exception) -> None:
        """No reply, or an error after sending. The connection: the app shows the banner and
        reconnects. Anything else (reading the receipt back, say): it may have been posted,
        so the same key goes again (Ctrl+R) and the error modal says why."""
        from school_tui.db.errors import connection_lost

        self._lost(connection_lost(exc))

    def _posted(self, receipt: ledger.Receipt, enrollment_now: str | None = None) -> None:
        self.posting = False
        self.pending = None
        self.unknown = False
        self.query_one("#student", Input).disabled = False
        self.refresh_bindings()
        receipt = receipt
        self.last_receipt = receipt
        self._show_receipt(receipt)
        note = "already posted, not again: " if receipt.replayed else "Posted "
        moved = f" Enrollment now {enrollment_now}." if enrollment_now else ""
        self._say(f"{note}{receipt.receipt_label}.{moved} Next student.")
        self.reset()
        typeahead.release(self, "post")

    def _post_refused(self, exc: Refused) -> None:
        """The database refused the payment: nothing was posted under its key."""
        message = str(exc)
        self.posting = False
        self.pending = None  # refused: nothing was posted under that key
        typeahead.release(self, "post", drop=True)  # the clerk reads why first
        if self.unknown:  # a resend refused (the key was not found, and now cannot post)
            self.unknown = False
            self.query_one("#student", Input).disabled = False
            self.refresh_bindings()
        self._say(message, refused=True)
        field = message.split(":", 1)[0].strip().lower()
        if field == "reference":
            self.query_one("#reference", Input).focus()
        elif self.account is not None:
            self._enable(True, False, False)
            self.query_one("#amount", Input).focus()

    def _lost(self, connection: bool) -> None:
        """No reply for the pending payment: it may have been posted."""
        if not self.is_attached:
            return  # the clerk logged out meanwhile (after saying so)
        self.posting = False  # the payment and its key stay in self.pending
        self.unknown = True
        typeahead.release(self, "post", drop=True)
        # Nothing else may be posted (or typed over it) until its outcome is known.
        self._enable(False, False, False)
        self.query_one("#student", Input).disabled = True
        self.refresh_bindings()
        then = (
            "It is sent again when the connection is back"
            if connection
            else "Ctrl+R sends it again"  # the connection is fine: nothing will resend it
        )
        self._say(
            f"{self._pending_text()}: no reply, it may have been posted. {then} (it posts once).",
            refused=True,
        )

    def _pending_text(self) -> str:
        p = self.pending
        if p is None:
            return "The payment"
        who = clean(self.account.name) if self.account is not None else f"student {p.student_id}"
        return f"{self.fmt(p.amount)} {p.method} for {who}"

    def _connection_changed(self, connected: bool) -> None:
        if connected and self.unknown and not self.posting:
            self.resend()

    def resend(self) -> None:
        """The kept payment again, unchanged, with its key: posted once whatever happened."""
        if self.pending is None or self.posting:
            return
        self.posting = True
        self.refresh_bindings()
        self._say(f"Sending {self._pending_text()} again (same payment, posts once)…")
        self.post_payment(self.pending)

    def _show_receipt(self, r: ledger.Receipt) -> None:
        when = r.posted_at.astimezone().strftime("%Y-%m-%d %H:%M")
        reference = f" ref {clean(r.reference)}" if r.reference else ""
        number = f" ({clean(r.number)})" if r.number else ""
        lines = [
            f"{r.receipt_label}   {when}   {r.method}{reference}",
            f"{clean(r.student)[:40]}{number}".ljust(52) + self.fmt(r.amount).rjust(18),
            # Before the dues it settled: what the clerk tells the student must never be the
            # line cut off (at 80x24 the box holds five lines).
            f"Balance now {self.fmt(r.balance)} · received by {clean(r.clerk or '—')}",
        ]
        dues = []
        for a in r.allocations:
            due = a.due_date.isoformat() if a.due_date else "no due date"
            label = f"  {clean(a.fee_type)[:24]} {a.seq} of {a.installments}, due {due}"
            dues.append(label.ljust(52) + self.fmt(a.amount, symbol=False).rjust(18))
        room = max(self.query_one("#receipt", Static).content_size.height - len(lines), 1)
        if len(dues) > room:  # say how many more rather than cut them off unseen
            hidden = len(dues) - room + 1
            dues[room - 1 :] = [f"  … and {hidden} more dues (Ctrl+S saves the whole receipt)"]
        lines += dues
        # clean() above: every part from the database is literal text without control bytes
        self.query_one("#receipt", Static).update(safe_text("\n".join(lines), multiline=True))

    # -- keys ----------------------------------------------------------------------------------
    def check_action(self, action: str, parameters) -> bool | None:
        if action == "resend":
            return self.unknown and not self.posting
        if action == "save_receipt":
            return self.last_receipt is not None
        return True

    def action_resend(self) -> None:
        if self.unknown:
            self.resend()

    def action_clear(self) -> None:
        if self.posting:
            return  # the post's reply decides what happens next
        if self.unknown:
            self._confirm_discard(self._discarded)
            return
        student = self.query_one("#student", Input)
        if self.account is None and not student.value:
            self.app.pop_screen()
            return
        self.pending = None
        self.reset()
        self._say("Type a student number or name and press Enter.")

    def action_logout(self) -> None:
        if self.unknown or self.posting:
            self._confirm_discard(lambda: self.app.action_logout())
            return
        self.app.action_logout()

    def _confirm_discard(self, then) -> None:
        """Dropping a payment that may have been posted: only when the clerk says so."""
        from school_tui.widgets.confirm import ConfirmModal

        question = (
            f"{self._pending_text()} was sent, but no reply came: it may have been posted. "
            "Kept, it is sent again when the connection is back and posts once (n). "
            "Discard it anyway (y)? Then check the student's statement before taking the "
            "money again."
        )

        def answered(yes: bool | None) -> None:
            if yes and (self.unknown or self.posting):
                then()
            elif yes:
                self._say("Its outcome came meanwhile: see the receipt.")

        self.app.push_screen(ConfirmModal("Payment outcome unknown", question), answered)

    def action_save_receipt(self) -> None:
        if self.last_receipt is not None:
            self._load_receipt(self.last_receipt.payment_id)

    @db_work(name="cashier receipt", group="cashier-receipt", exclusive=True)
    def _load_receipt(self, payment_id: int) -> None:
        from school_tui.db import accounting_reports as ar

        printable = self.session.run(lambda conn: ar.receipt(conn, payment_id))
        deliver(self._receipt_ready, printable)

    def _receipt_ready(self, receipt: receipts.Receipt | None) -> None:
        from school_tui.widgets.export import ExportModal

        receipt = receipt
        if receipt is None:
            self._say("Receipt: not found.", refused=True)
            return

        def chosen(path: Path | None) -> None:
            if path is not None:
                self._save_receipt(path, receipt, self.money)

        self.app.push_screen(
            ExportModal(
                f"Save receipt {clean(receipt.receipt_no)}",
                f"receipt-{receipt.receipt_no}",
                [".txt", ".pdf"],
            ),
            chosen,
        )

    @db_work(name="cashier save receipt", group="cashier-export")
    def _save_receipt(self, path: Path, receipt, fmt: MoneyFormat) -> None:
        from school_tui.screens.accounting.statement import save_receipt

        save_receipt(path, receipt, fmt)
        deliver(self._receipt_saved, str(path))

    def _receipt_saved(self, path: str) -> None:
        self._say(f"Saved {clean(path)}")

    def _discarded(self) -> None:
        if self.posting:
            self._say("It is being sent again now: its reply decides.")
            return
        self.pending = None
        self.unknown = False
        self.query_one("#student", Input).disabled = False
        self.refresh_bindings()
        self.reset()
        self._say(
            "Discarded: it may have been posted. Check the statement before taking it again.",
            refused=True,
        )

    def on_connection_restored(self, message: ConnectionRestored) -> None:
        if self.unknown or self.posting:
            return  # the kept payment goes first (_connection_changed); its reply resets
        if self.account is not None:
            self.load_account(self.account.student_id)
