"""A clerk closes their day: what they took by method (as the ledger says), the cash they
counted in the drawer, the difference, recorded once (the database refuses a second close of
the same day, and computes the expected totals itself: what the screen shows is a preview).

The day is the database's `current_date`, read by the first load, never this machine's date:
posting stamps payments with the server's clock in the session's time zone, and close_day
refuses a day after the server's today, so a terminal whose clock or zone differs from the
server's would otherwise show an empty drawer or be unable to close at all.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Input, Label, Static

from school_tui.db import accounting_reports as ar
from school_tui.domain.fee_rules import amount
from school_tui.domain.fields import FieldError
from school_tui.domain.money import MoneyFormat, format_money
from school_tui.runtime.messages import ConnectionRestored
from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.banner import ConnectionBanner
from school_tui.widgets.base import SchoolScreen
from school_tui.widgets.safe import safe_join, safe_text

CASH = "Cash"


def counted_cash(text: str, fmt: MoneyFormat | None) -> Decimal:
    """The counted cash, typed in the school's money format `fmt`: 0 is a real count (an
    empty drawer), so it is allowed here."""
    if text.strip() in ("0", "0.0", "0.00"):
        return Decimal("0.00")
    return amount(text, "counted-cash", "Counted cash", fmt)


def difference_note(expected_cash: Decimal, counted_text: str, fmt: MoneyFormat | None) -> str:
    """The live line under the count: over, short or exact."""

    def money(value: Decimal) -> str:
        return format_money(value, fmt)

    if not counted_text.strip():
        return f"Expected cash {money(expected_cash)}: type what the drawer holds."
    try:
        diff = counted_cash(counted_text, fmt) - expected_cash
    except FieldError:
        return "Counted cash: not a number yet."
    if diff == 0:
        return f"Counted matches the expected {money(expected_cash)}."
    word = "over" if diff > 0 else "short"
    return f"Drawer is {money(abs(diff))} {word} (expected {money(expected_cash)})."


class DayCloseScreen(SchoolScreen):
    DEFAULT_CSS = """
    DayCloseScreen #title-bar { height: 1; background: $primary; color: $text; padding: 0 1; }
    DayCloseScreen #expected { height: 8; }
    DayCloseScreen .field { height: 3; }
    DayCloseScreen .field Label { width: 16; padding: 1 1 0 1; }
    DayCloseScreen .field Input { width: 1fr; }
    DayCloseScreen #close-live { height: 1; padding: 0 1; text-style: bold; }
    DayCloseScreen #close-status { height: auto; padding: 0 1; color: $text-muted; }
    DayCloseScreen #close-status.error { color: $error; text-style: bold; }
    DayCloseScreen #history { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="close.back"),
        Binding("ctrl+s", "close_day", "Close the day", id="close.save"),
    ]

    def __init__(self, session, day: date | None = None) -> None:
        super().__init__()
        self.session = session
        self.day = day  # None until the first load reads the database's today
        self.expected: list[tuple[str, int, Decimal]] = []
        self.closed: tuple[Decimal, Decimal, datetime] | None = None  # expected, counted, when
        self._busy = False

    def money(self, amount: Decimal) -> str:
        return format_money(amount, self.app.money_format)

    def compose(self) -> ComposeResult:
        person = self.session.person
        yield Static(self._title_text(person.full_name), id="title-bar")
        yield ConnectionBanner()
        expected: DataTable = DataTable(id="expected", cursor_type="row", zebra_stripes=True)
        expected.loading = True
        yield expected
        with Horizontal(classes="field"):
            yield Label("Counted cash")
            yield Input(placeholder="what the drawer holds, e.g. 12500.00", id="counted-cash")
        with Horizontal(classes="field"):
            yield Label("Note")
            yield Input(placeholder="optional: why it is over or short", id="close-note")
        yield Static("", id="close-live")
        yield Static("Ctrl+S closes the day (asks first).", id="close-status")
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Close the day"
        self.query_one("#expected", DataTable).add_columns("Method", "Payments", "Expected")
        self.query_one("#history", DataTable).add_columns(
            "Day", "Expected cash", "Counted", "Difference", "Closed at"
        )
        self.query_one("#counted-cash", Input).focus()
        self.reload()

    def _title_text(self, name: str):
        day = self.day.isoformat() if self.day else "…"
        return safe_join("Close the day", "·", day, "·", name)

    def reload(self) -> None:
        self._load(self.day)

    @db_work(name="day close", group="acct-close", exclusive=True)
    def _load(self, day: date | None) -> None:
        def fetch(conn):
            # The day stays the one first read, even if the screen is left open past midnight:
            # the clerk is closing the day they counted.
            on = day or ar.business_day(conn)
            return on, ar.day_expected(conn, on), ar.my_day_closes(conn)

        deliver(self._loaded, *self.session.run(fetch))

    @property
    def expected_cash(self) -> Decimal:
        return next(
            (total for method, _, total in self.expected if method == CASH), Decimal("0.00")
        )

    def _loaded(self, day: date, expected: list, history: list) -> None:
        self.expected = expected
        if self.day is None:
            self.day = day
            self.query_one("#title-bar", Static).update(
                self._title_text(self.session.person.full_name)
            )
        table = self.query_one("#expected", DataTable)
        with self.app.batch_update():
            table.clear()
            for method, count, total in self.expected:
                table.add_row(safe_text(method), safe_text(count), safe_text(self.money(total)))
            table.add_row(
                safe_text("All methods", style="bold"),
                safe_text(sum(c for _, c, _ in self.expected)),
                safe_text(
                    self.money(sum((t for _, _, t in self.expected), Decimal("0.00"))),
                    style="bold",
                ),
            )
            table.loading = False
            hist = self.query_one("#history", DataTable)
            hist.clear()
            self.closed = None
            for day, exp, counted, closed_at in history:
                if day == self.day:
                    self.closed = (exp, counted, closed_at)
                hist.add_row(
                    safe_text(day.isoformat()),
                    safe_text(self.money(exp)),
                    safe_text(self.money(counted)),
                    safe_text(self.money(counted - exp)),
                    safe_text(closed_at.astimezone().strftime("%Y-%m-%d %H:%M")),
                )
        self._update_live()
        if self.closed:
            self._set_status(f"{self.day} is closed; the close is kept as recorded.")

    def _set_status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#close-status", Static)
        status.update(safe_text(text))
        status.set_class(error, "error")

    @on(Input.Changed, "#counted-cash")
    def _update_live(self, event=None) -> None:
        text = self.query_one("#counted-cash", Input).value
        self.query_one("#close-live", Static).update(
            safe_text(difference_note(self.expected_cash, text, self.app.money_format))
        )

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "counted-cash":
            self.query_one("#close-note", Input).focus()
        else:
            self.action_close_day()

    def action_close_day(self) -> None:
        day = self.day
        if self._busy or day is None:  # nothing to close before the first load
            return
        if self.closed:
            self._set_status(f"{self.day} is already closed.", error=True)
            return
        try:
            counted = counted_cash(
                self.query_one("#counted-cash", Input).value, self.app.money_format
            )
            note = self.query_one("#close-note", Input).value.strip()
            if len(note) > 500:
                raise FieldError(
                    "close-note", f"Note: at most 500 characters (you typed {len(note)})"
                )
        except FieldError as exc:
            self._set_status(exc.message, error=True)
            self.query_one(f"#{exc.field}", Input).focus()
            return
        from school_tui.widgets.confirm import ConfirmModal

        diff = counted - self.expected_cash
        question = (
            f"Close {self.day}: expected cash {self.money(self.expected_cash)}, counted "
            f"{self.money(counted)}, difference {self.money(diff)}. A close cannot be undone."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._busy = True
                self._set_status("Recording…")
                self._close(day, counted, note)

        self.app.push_screen(ConfirmModal("Close the day?", question), answered)

    @db_work(name="close day", group="acct-close-save", exclusive=True, on_failed="_close_failed")
    def _close(self, day: date, counted: Decimal, note: str) -> None:
        self.session.run(lambda conn: ar.close_day(conn, day, counted, note))
        deliver(self._day_closed)

    def _day_closed(self) -> None:
        self._busy = False
        self.notify(f"Day {self.day} closed.", title="Day close", markup=False)
        self.reload()

    def _close_failed(self, exc: BaseException) -> None:
        self._busy = False
        self._set_status("Not recorded: see the message.", error=True)

    def on_connection_restored(self, message: ConnectionRestored) -> None:
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    def palette_commands(self):
        return [
            ("Close the day", self.action_close_day, "Record the counted cash"),
            ("Back", self.action_back, "Leave without closing"),
        ]
