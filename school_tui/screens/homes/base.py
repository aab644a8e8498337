"""What every role's home screen shares: a title bar naming the role (with the unread message
total), tabs of real data loaded by one worker, the footer of keys, chat on `c`, the role's
commands for the palette, the connection banner.

A role module (screens/<role>.py) subclasses RoleHome and declares its PANES: each is a
table whose rows come from a function in school_tui/db/. The screen never runs SQL itself:
`load_all` runs in a thread worker and delivers what it read to `show_loaded` on the UI
thread.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import (
    ContentSwitcher,
    DataTable,
    Footer,
    LoadingIndicator,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.tabbed_content import ContentTab, ContentTabs

from school_tui.db import notices
from school_tui.runtime.messages import ConnectionRestored
from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.banner import ConnectionBanner
from school_tui.widgets.base import SchoolScreen
from school_tui.widgets.presence import LivePresence
from school_tui.widgets.safe import format_cell, safe_join, safe_text
from school_tui.widgets.title import TitleBar, UnreadBadge

if TYPE_CHECKING:
    from school_tui.db.connect import Connection

Rows = list[tuple]
# Longest text a table cell shows; the rest is behind an ellipsis.
CELL_MAX = 60


@dataclass(frozen=True)
class Pane:
    """One tab: a title, its columns, and the db/ function that returns its rows."""

    id: str
    title: str
    columns: Sequence[str]
    query: Callable[[Connection], Rows]
    empty: str = "Nothing here yet."
    # The name of a screen method that opens a row: Enter (or `o`) on a row calls it with the
    # row's key and its cells as shown. With it set, each row `query` returns starts with
    # that key (an id, say), which becomes the DataTable row key and is not shown.
    on_select: str | None = None
    # A list of people: each row (after the key, if any) goes on with the person's user id
    # and their status ('online' | 'away' | 'offline', from school.online_status), neither
    # shown as such: a last Presence column says it, live (widgets/presence.py).
    presence: bool = False
    # Each column's width (long values end in …), so the table fits 80 columns.
    widths: Sequence[int] | None = None
    # The id of a line above the table, which the screen fills (a summary of the rows).
    header: str | None = None


class RoleHome(SchoolScreen):
    ROLE: str = ""
    PANES: Sequence[Pane] = ()

    DEFAULT_CSS = """
    RoleHome TabbedContent { height: 1fr; }
    RoleHome DataTable { height: 1fr; }
    RoleHome .empty-note { color: $text-muted; padding: 0 1; height: auto; }
    """

    BINDINGS = [
        Binding("c", "open_chat", "Chat", id="chat"),
        Binding("ctrl+l", "app.logout", "Log out", id="logout"),
        Binding("1", "show_pane(0)", "Tab 1", show=False, id="tab.1"),
        Binding("2", "show_pane(1)", "Tab 2", show=False, id="tab.2"),
        Binding("3", "show_pane(2)", "Tab 3", show=False, id="tab.3"),
        Binding("4", "show_pane(3)", "Tab 4", show=False, id="tab.4"),
        Binding("5", "show_pane(4)", "Tab 5", show=False, id="tab.5"),
        Binding("o", "open_row", "Open", id="open"),  # shown on panes with on_select only
        # Not in the footer (80 columns are full); in the palette as "Export this tab to CSV".
        Binding("ctrl+s", "export_pane", "Export CSV", show=False, id="home.export"),
    ]

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session
        self.pane_rows: dict[str, Rows] = {}  # as loaded: what Ctrl+S exports
        self.presence: LivePresence | None = None  # set at mount
        self._resumed_before = False  # on_screen_resume
        # The tables after the first tab's are mounted after the first frame; rows loaded
        # before that wait here (pane id -> rows, since), and a tab chosen meanwhile for focus.
        self._all_mounted = False
        self._unfilled: dict[str, tuple[Rows, int]] = {}
        self._focus_when_mounted: Pane | None = None
        # What waits for the first rows to be on screen (`when_rows_drawn`).
        self._after_rows: list[Callable[[], object]] | None = []

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        person = self.session.person
        yield TitleBar(safe_join(f"{self.ROLE} home", "·", person.full_name, "·", person.email))
        yield ConnectionBanner()
        with TabbedContent(id="panes"):
            for index, pane in enumerate(self.PANES):
                with TabPane(f"{index + 1} {pane.title}", id=f"pane-{pane.id}"):
                    # The first tab is the one shown: only its table is in the first frame.
                    # The others are mounted right after it (`_mount_other_panes`): each
                    # table mounted and styled cost about a tenth of the way to that frame.
                    if index == 0:
                        yield from _pane_widgets(pane)
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"{self.ROLE} home"
        self.presence = LivePresence(self)
        if self.PANES:
            self._add_columns(self.PANES[0])
        self.call_after_refresh(self._mount_other_panes)
        # The rows the app read while this screen was composed (SchoolApp.start_session), if
        # they are in: shown in the first frame. Live changes are followed from here on (the
        # subclasses' on_mount ran first), so the session hands them over only if no change
        # was heard since they were read. Nothing heard yet: `since` is 0.
        if self.session.prefetch_ready():
            data = self.session.take_prefetched()
            if data is not None:
                self.show_loaded(data, 0)
                return
        self._show_loading()
        self.load_all()

    async def _mount_other_panes(self) -> None:
        """The tables of the tabs after the first, once the first frame is drawn; rows that
        came before them (`show_loaded`) go in now."""
        mounting = [
            self.query_one(f"#pane-{pane.id}", TabPane).mount(*_pane_widgets(pane))
            for pane in self.PANES[1:]
        ]
        for mounted in mounting:
            await mounted
        for pane in self.PANES[1:]:
            self._add_columns(pane)
        self._all_mounted = True
        for pane in self.PANES[1:]:
            if pane.id in self._unfilled:
                self._fill(pane, *self._unfilled.pop(pane.id))
        self._show_loading()
        if self._focus_when_mounted is not None:
            self._table(self._focus_when_mounted).focus()
            self._focus_when_mounted = None

    def when_rows_drawn(self, callback: Callable[[], object]) -> None:
        """Call `callback` once the first rows this screen loads are drawn (at once after the
        next refresh if they are in already): the app's work that can wait (the heap's
        freeze, a count) comes after the frame a person waits for, not before it."""
        if self._after_rows is None:
            self.call_after_refresh(callback)
        else:
            self._after_rows.append(callback)

    def _add_columns(self, pane: Pane) -> None:
        table = self._table(pane)
        if pane.widths:
            for label, width in zip(pane.columns, pane.widths, strict=True):
                table.add_column(label, width=width)
        else:
            table.add_columns(*pane.columns)
        if pane.presence and self.presence is not None:
            self.presence.add_column(table)

    def _table(self, pane: Pane) -> DataTable:
        return self.query_one(f"#table-{pane.id}", DataTable)

    def _mounted(self, pane: Pane) -> bool:
        return self._all_mounted or (bool(self.PANES) and pane is self.PANES[0])

    def shows_all_rows(self) -> bool:
        """Every tab's table is mounted and shows the rows of its first load."""
        return (
            self._all_mounted
            and not self._unfilled
            and all(pane.id in self.pane_rows for pane in self.PANES)
        )

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual restyles a resumed screen's whole tree (for a screen coming back from under
        # another one). The first time, every widget was styled as it was mounted a moment
        # before: done again it was about a fifth of the UI thread's way to the first frame.
        # (This handler runs before Screen's own, which reads the flag.)
        if not self._resumed_before:
            self._resumed_before = True
            event.refresh_styles = False

    def _show_loading(self) -> None:
        """The loading indicator on the tab shown, while its rows are not in (one on each tab
        would cost every tab its own indicator's mount and style)."""
        pane = self._active_pane() or (self.PANES[0] if self.PANES else None)
        if pane is not None and pane.id not in self.pane_rows and self._mounted(pane):
            self._table(pane).loading = True

    # -- data --------------------------------------------------------------------------------

    @db_work(name="load home", group="home-load", exclusive=True)
    def load_all(self) -> None:
        since = self.presence.since() if self.presence else 0
        data = self.session.take_prefetched()  # the first load: what start_session read
        if data is None:
            data = self.session.run(self.fetch)
        deliver(self.show_loaded, data, since)

    @classmethod
    def fetch(cls, conn: Connection, only: set[str] | None = None) -> dict:
        """The rows of every pane (or of the panes in `only`), by pane id. A subclass may add
        keys of its own (what else its panes show) and read them in show_loaded. A class
        method: the app reads them before the screen exists (SchoolApp.start_session)."""
        return {pane.id: pane.query(conn) for pane in cls.PANES if only is None or pane.id in only}

    def show_loaded(self, data: dict, since: int) -> None:
        """Fill the tables with what `fetch` read (`since`: LivePresence.since() before the
        read). A subclass that shows more of `data` overrides it and calls it."""
        for pane in self.PANES:
            if pane.id not in data:
                continue  # a partial reload (StudentHome's live enrollment tab)
            rows = data[pane.id]
            self.pane_rows[pane.id] = rows
            if self._mounted(pane):
                self._fill(pane, rows, since)
            else:  # shown once its table is mounted (`_mount_other_panes`)
                self._unfilled[pane.id] = (rows, since)
        waiting, self._after_rows = self._after_rows, None
        for callback in waiting or ():
            self.call_after_refresh(callback)

    def _fill(self, pane: Pane, rows: Rows, since: int) -> None:
        table = self._table(pane)
        widths = pane.widths or ()
        fmt = self.app.money_format
        presence = self.presence if pane.presence else None
        with self.app.batch_update():
            table.clear()
            if presence is not None:
                presence.clear(table)
            for row in rows:
                key, cells = (str(row[0]), row[1:]) if pane.on_select else (None, row)
                if pane.presence:
                    (user_id, status), cells = cells[:2], cells[2:]
                shown = [
                    safe_text(format_cell(cell, fmt), max_length=_width(widths, i))
                    for i, cell in enumerate(cells)
                ]
                if presence is not None:
                    presence.add_row(
                        table,
                        shown,
                        key=key,
                        user_id=user_id,
                        status=status,
                        since=since,
                    )
                else:
                    table.add_row(*shown, key=key)
            table.loading = False
        note = self.query_one(f"#empty-{pane.id}", Static)
        # a query may say why it has no rows (db.security.RowsWithNote: "not available")
        empty = getattr(rows, "empty_note", None) or pane.empty
        note.update(safe_text(empty if not rows else ""))
        note.display = not rows

    def on_connection_restored(self, message: ConnectionRestored) -> None:
        self.load_all()

    # -- opening a row (panes with on_select) ------------------------------------------------

    def _active_pane(self) -> Pane | None:
        try:
            active = self.query_one(TabbedContent).active
        except NoMatches:  # not composed yet
            return None
        return next((p for p in self.PANES if f"pane-{p.id}" == active), None)

    def _open(self, pane: Pane, table: DataTable, row_key) -> None:
        if pane.on_select and row_key is not None and row_key.value is not None:
            cells = [str(cell) for cell in table.get_row(row_key)]
            getattr(self, pane.on_select)(row_key.value, cells)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        pane = next((p for p in self.PANES if event.data_table.id == f"table-{p.id}"), None)
        if pane is not None:
            self._open(pane, event.data_table, event.row_key)

    def action_open_row(self) -> None:
        pane = self._active_pane()
        if pane is None or not pane.on_select or not self._mounted(pane):
            return
        table = self._table(pane)
        if table.row_count:
            row_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
            self._open(pane, table, row_key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_row":
            pane = self._active_pane()
            return bool(pane and pane.on_select)
        return True

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()  # `o` Open shows on the tabs whose rows open
        if len(self.pane_rows) < len(self.PANES):
            self._show_loading()  # shown before its rows are in

    # -- actions -----------------------------------------------------------------------------

    def action_show_pane(self, index: int) -> None:
        if 0 <= index < len(self.PANES):
            pane = self.PANES[index]
            self.query_one(TabbedContent).active = f"pane-{pane.id}"
            if self._mounted(pane):
                self._table(pane).focus()
            else:
                self._focus_when_mounted = pane

    def action_export_pane(self) -> None:
        """The active tab's rows to a CSV file, whole (the table cuts long cells)."""
        from school_tui.widgets.export import export_rows

        pane = self._active_pane()
        if pane is None or pane.id not in self.pane_rows:
            return
        rows = self.pane_rows[pane.id]
        export_rows(
            self,
            what=f"{pane.title} ({self.ROLE} home)",
            stem=f"{self.ROLE}-{pane.title}",
            header=pane.columns,
            rows=[_shown_cells(pane, row) for row in rows],
        )

    def action_open_chat(self) -> None:
        from school_tui.screens.chat.screen import ChatScreen

        self.app.push_screen(ChatScreen(self.session))

    def palette_commands(self) -> list[tuple[str, Callable[[], None], str]]:
        """(name, callback, help) for the command palette: the role's own commands."""
        commands: list[tuple[str, Callable[[], None], str]] = [
            (
                f"Go to {pane.title}",
                functools.partial(self.action_show_pane, i),
                f"Show the {pane.title} tab",
            )
            for i, pane in enumerate(self.PANES)
        ]
        commands.append(("Chat", self.action_open_chat, "Messages, and who is online"))
        commands.append(
            ("Export this tab to CSV", self.action_export_pane, "The rows of the tab shown")
        )
        commands.append(("Log out", self.app.action_logout, "Close your session"))
        return commands


# The widgets of a home's first frame, in the order they are mounted (and the loading
# indicator, there when the rows are not in yet): their default CSS is parsed while the
# login's key derivation runs (SchoolApp.preload_session), not as the home is mounted.
FIRST_FRAME_WIDGETS = (
    RoleHome,
    TitleBar,
    Static,
    UnreadBadge,
    ConnectionBanner,
    TabbedContent,
    ContentTabs,
    Container,
    Vertical,
    Horizontal,
    ContentTab,
    ContentSwitcher,
    TabPane,
    DataTable,
    LoadingIndicator,
    Footer,
)

# Every role reads the announcements: the same tab on every home.
ANNOUNCEMENTS = Pane(
    "announcements",
    "Announcements",
    ("Posted", "Title", "By", "Text"),
    notices.recent_announcements,
    "No announcements yet.",
)


def _pane_widgets(pane: Pane) -> tuple[Static | DataTable, ...]:
    """A tab's header line (if it has one), its table and the note shown instead when it
    has no rows."""
    header = (Static("", id=pane.header),) if pane.header else ()
    return (
        *header,
        DataTable(id=f"table-{pane.id}", cursor_type="row", zebra_stripes=True),
        Static("", classes="empty-note", id=f"empty-{pane.id}"),
    )


def _width(widths: Sequence[int], index: int) -> int:
    return widths[index] if index < len(widths) else CELL_MAX


def _shown_cells(pane: Pane, row: tuple) -> tuple:
    """A row's cells as its columns say (without the key, the user id and the status)."""
    return row[(1 if pane.on_select else 0) + (2 if pane.presence else 0) :]
