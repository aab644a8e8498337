"""A screen that is one list of records: filters or a search box on top, one table, a status
line, the footer of keys.

People, Students, Sections, a section's Roster, the enrollment board and the audit log are
such screens. Each subclasses `ListScreen` and declares its `LIST` (a `ListSpec`: the table's
columns, how a row shows, its key, whether it lists people, the search box, keyset paging),
the way a home screen declares its `Pane`s (screens/homes/base.py). The screen says what to
read, `ListScreen` does the rest, once for all of them:

- **Loading.** `reload()` takes the filters as they stand (`list_query`, UI thread) and reads
  in a db_work thread worker (`list_fetch`, on the person's own connection through
  school_tui/db/; no SQL here); the answer comes back to `list_loaded` on the UI thread
  (runtime/workers.py `deliver`), as a `ListLoaded`.
- **The stale-result guard.** Every reload is numbered (its generation). Loads run in thread
  workers and finish in any order: the answer of an older one (the search for "Cr" finishing
  after the one for "Cruz") is dropped, never drawn over a newer one.
- **The table.** Filled in one `batch_update`; the cursor stays on the row it was on; cells
  from the database go through safe_text, cut to their column's width.
- **Presence.** A list of people (`ListSpec.presence`) gets the live Presence column last
  (widgets/presence.py): the load notes `since()` before it queries, so a status heard
  meanwhile wins over the one it read.
- **Paging.** With `ListSpec.page`, the next page loads when the cursor reaches the last row
  (keyset paging: the last row's position is where the next page starts).
- **The search box.** With `ListSpec.search`, typing reloads and Enter goes to the list
  (`action_focus_table`, `action_focus_search`: the screen binds Down and `/` to them).
- **Selection.** `selected_key()` and `selected()`: the row under the cursor; Enter on a row
  calls the screen's `ListSpec.on_select` method.
- **Export.** `action_export` (Ctrl+S, bound by the screen) writes what `list_export()`
  describes: the rows held, or the whole list read again (widgets/export.py).
- **Reconnect.** ConnectionRestored reloads.

Textual calls a message handler of every class of a screen's MRO, so a subclass does not
define `on_mount` or `on_connection_restored` itself: it overrides the hooks
`list_mounted`, `list_filled` and `reload` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.widgets import DataTable, Input

from school_tui.runtime.messages import ConnectionRestored
from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.base import SchoolScreen
from school_tui.widgets.presence import LivePresence
from school_tui.widgets.safe import safe_text

Row = Any


@dataclass(frozen=True)
class Column:
    label: str
    # Cells are cut to it (long values end in …); with ListSpec.sized, the column's width.
    width: int | None = None
    key: str | None = None  # for update_cell and get_cell; Textual's own when None


@dataclass(frozen=True)
class ListSpec:
    """What a list screen's table shows, and how it behaves."""

    table: str  # the DataTable's id
    columns: Sequence[Column]
    key: Callable[[Row], object]  # a row's key: str() of it is the DataTable's row key
    # A row's cells, one per column: a Text as it is, anything else through safe_text, cut
    # to the column's width. A screen whose cells depend on its own state (the board's
    # marks) overrides ListScreen.list_cells instead.
    cells: Callable[[Row], Sequence[object]] | None = None
    # A list of people: (user id, status as read) of a row; a live Presence column comes last.
    presence: Callable[[Row], tuple[int, str | None]] | None = None
    search: str | None = None  # the id of the Input that searches as you type
    # Keyset paging: a row's position in the order, where the page after it starts.
    page: Callable[[Row], object] | None = None
    on_select: str | None = None  # the screen's method that Enter on a row calls
    sized: bool = True  # the columns take their widths (else as wide as their cells)
    # A loading indicator until the first rows come (a loading table takes no focus).
    loading: bool = True
    # At mount, focus goes to this widget ("#id"); None: to the table (once loaded).
    focus: str | None = None
    keep_cursor: bool = True  # a reload keeps the cursor on the row it was on


@dataclass
class Page:
    """What a load read: the rows, whether more follow (paging), and whatever else the screen
    reads in the same load (a year's name, the board's counts)."""

    rows: list
    more: bool = False
    extra: Any = None


@dataclass(frozen=True)
class Export:
    """What Ctrl+S writes: the rows held (`rows`, each as its CSV line), or the whole list
    read again in the worker (`fetch(conn)`, for a list the screen shows only part of)."""

    what: str  # names the list in the modal and the toast
    stem: str  # the file name's start
    header: Sequence[str]
    rows: Sequence[Sequence[object]] | None = None
    fetch: Callable[[Any], Iterable[Sequence[object]]] | None = None
    count: int | None = None  # with fetch: how many, when known


@dataclass(frozen=True)
class ListLoaded:
    """What one load brought back to the UI thread."""

    generation: int
    page: Page
    append: bool  # a next page (paging), not a new list
    since: int = 0  # LivePresence.since() when the load began


class ListScreen(SchoolScreen):
    LIST: ClassVar[ListSpec]

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session
        self.rows: dict[str, Row] = {}  # DataTable row key -> the row as loaded
        self.presence: LivePresence | None = None  # set at mount, for a list of people
        self._generation = 0  # of the last load started
        self._shown = 0  # of the load whose rows are in the table
        self._loading = False
        self._has_more = False
        self._after: object = None  # where the next page starts
        self._keep: str | None = None  # the row the cursor goes to once loaded
        self._focus_table = False  # once loaded, the table takes the focus

    # -- hooks for the screen ----------------------------------------------------------------

    def list_mounted(self) -> None:
        """The table has its columns; the first load starts next (subscribe to live data)."""

    def list_query(self) -> object:
        """The filters as they stand (on the UI thread), handed to list_fetch."""
        return None

    def list_fetch(self, conn, query: object, after: object) -> Page | list:
        """The rows (in a worker thread): a page from `after` on (None: the first)."""
        raise NotImplementedError

    def list_filled(self, loaded: ListLoaded) -> None:
        """The rows are in the table (the status line, anything else the load read)."""

    def list_cells(self, row: Row) -> Sequence[object]:
        assert self.LIST.cells is not None, "ListSpec.cells or list_cells"
        return self.LIST.cells(row)

    def list_export(self) -> Export | None:
        """What Ctrl+S writes; None: nothing to export."""
        return None

    # -- the table ---------------------------------------------------------------------------

    @property
    def table(self) -> DataTable:
        return self.query_one(f"#{self.LIST.table}", DataTable)

    def on_mount(self) -> None:
        spec = self.LIST
        table = self.table
        for column in spec.columns:
            width = column.width if spec.sized else None
            table.add_column(column.label, key=column.key, width=width)
        if spec.presence is not None:
            self.presence = LivePresence(self)
            self.presence.add_column(table)
        table.loading = spec.loading
        self.list_mounted()
        if spec.focus is not None:
            self.query_one(spec.focus).focus()
        elif spec.loading:
            self._focus_table = True  # a loading table takes no focus: once loaded
        else:
            table.focus()
        self.reload()

    def shown_cells(self, row: Row) -> list[Text]:
        """A row's cells as the table shows them (literal text, cut to the widths)."""
        return [
            cell if isinstance(cell, Text) else safe_text(cell, max_length=column.width)
            for column, cell in zip(self.LIST.columns, self.list_cells(row), strict=True)
        ]

    def add_row(self, row: Row, since: int = 0) -> str:
        """The row at the end of the table (its presence cell live); returns its key."""
        key = str(self.LIST.key(row))
        self.rows[key] = row
        cells = self.shown_cells(row)
        if self.presence is not None and self.LIST.presence is not None:
            user_id, status = self.LIST.presence(row)
            self.presence.add_row(
                self.table, cells, key=key, user_id=user_id, status=status, since=since
            )
        else:
            self.table.add_row(*cells, key=key)
        return key

    def update_row(self, row: Row) -> None:
        """A row shown already, drawn again as it is now (its columns have keys)."""
        key = str(self.LIST.key(row))
        self.rows[key] = row
        for column, cell in zip(self.LIST.columns, self.shown_cells(row), strict=True):
            assert column.key is not None, "update_row needs every column's key"
            self.table.update_cell(key, column.key, cell)

    def remove_row(self, key: str) -> None:
        self.rows.pop(key, None)
        if key in self.table.rows:
            self.table.remove_row(key)
        if self.presence is not None:
            self.presence.forget(self.table, key)

    def move_to(self, key: str | None) -> None:
        """The cursor on the row `key`, when it is there."""
        table = self.table
        if key is not None and key in table.rows:
            table.move_cursor(row=table.get_row_index(key))

    # -- loading -----------------------------------------------------------------------------

    def reload(self, *, cursor: object = None, focus_table: bool = False) -> None:
        """Read the list again from its first row. `cursor`: the key of the row the cursor
        goes to once loaded (else the one it is on); `focus_table`: the table takes the
        focus once loaded."""
        self._generation += 1
        self._loading = True
        self._has_more = False
        self._after = None
        self._keep = None if cursor is None else str(cursor)
        self._focus_table = self._focus_table or focus_table
        self._load(self._generation, self.list_query(), None)

    def load_more(self) -> None:
        """The next page, when there is one and none is loading."""
        if self._has_more and not self._loading and self._after is not None:
            self._loading = True
            self._load(self._generation, self.list_query(), self._after)

    @db_work(name="list load", group="list-load")
    def _load(self, generation: int, query: object, after: object) -> None:
        since = self.presence.since() if self.presence is not None else 0
        page = self.session.run(lambda conn: self.list_fetch(conn, query, after))
        if not isinstance(page, Page):
            page = Page(list(page))
        deliver(self.list_loaded, ListLoaded(generation, page, after is not None, since))

    def list_loaded(self, message: ListLoaded) -> None:
        """A load's answer, on the UI thread: drawn when it is the last load started."""
        if message.generation != self._generation:
            return  # an older load's answer: a newer one is on its way
        self._shown = message.generation
        self._loading = False
        self._has_more = message.page.more
        spec = self.LIST
        table = self.table
        keep = self._keep or (self.selected_key() if spec.keep_cursor else None)
        self._keep = None
        with self.app.batch_update():
            if not message.append:
                table.clear()
                if self.presence is not None:
                    self.presence.clear(table)
                self.rows = {}
            for row in message.page.rows:
                self.add_row(row, message.since)
            if message.page.rows and spec.page is not None:
                self._after = spec.page(message.page.rows[-1])
            table.loading = False
            if not message.append:
                self.move_to(keep)
        if self._focus_table or self.focused is None:
            self._focus_table = False
            table.focus()
        self.list_filled(message)
        self.refresh_bindings()

    @property
    def generation(self) -> int:
        """The number of the last load started (each reload takes the next)."""
        return self._generation

    @property
    def current(self) -> bool:
        """The rows shown are those of the last load started (no search still running)."""
        return self._shown == self._generation

    def on_connection_restored(self, message: ConnectionRestored) -> None:
        self.reload()

    # -- the search box ----------------------------------------------------------------------

    @on(Input.Changed)
    def _list_search_changed(self, event: Input.Changed) -> None:
        if self.LIST.search is not None and event.input.id == self.LIST.search:
            self.reload()

    @on(Input.Submitted)
    def _list_search_submitted(self, event: Input.Submitted) -> None:
        if self.LIST.search is not None and event.input.id == self.LIST.search:
            self.search_submitted()

    def search_submitted(self) -> None:
        """Enter in the search box: on to the list."""
        self.action_focus_table()

    def action_focus_search(self) -> None:
        if self.LIST.search is not None:
            self.query_one(f"#{self.LIST.search}", Input).focus()

    def action_focus_table(self) -> None:
        self.table.focus()

    # -- the row under the cursor ------------------------------------------------------------

    def selected_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def selected(self) -> Row | None:
        key = self.selected_key()
        return self.rows.get(key) if key else None

    @on(DataTable.RowHighlighted)
    def _list_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != self.LIST.table:
            return
        table = event.data_table
        if self.LIST.page is not None and table.cursor_row >= table.row_count - 1:
            self.load_more()
        self.refresh_bindings()  # keys that depend on the row (Deactivate or Reactivate)

    @on(DataTable.RowSelected)
    def _list_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == self.LIST.table and self.LIST.on_select:
            getattr(self, self.LIST.on_select)()

    # -- export ------------------------------------------------------------------------------

    def action_export(self) -> None:
        from school_tui.widgets.export import export_query, export_rows

        export = self.list_export()
        if export is None:
            return
        if export.fetch is not None:
            export_query(
                self,
                session=self.session,
                what=export.what,
                stem=export.stem,
                header=export.header,
                fetch=export.fetch,
                count=export.count,
            )
        else:
            export_rows(
                self,
                what=export.what,
                stem=export.stem,
                header=export.header,
                rows=export.rows or (),
            )
