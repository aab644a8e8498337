"""Presence: online, away or offline shown as a symbol and a word, never colour alone (in the
chat, and as a live column in every list of people).

Every list of people does it the same way (ARCHITECTURE.md, "Presence on screen"): the list's
own query reads each person's status (a join of `school.online_status` in its db/ module),
the table gets a PRESENCE column, and one `LivePresence` per screen follows
`app.live.presence`, changing only the cells of the people whose status changed, inside one
`batch_update`: no list is read again for it.

A load's rows can be older than what was heard while it ran (the query read "offline", then
the notification "online" came before the rows were drawn). So a load notes `since()` before
it queries, and `cell()` prefers a status heard after that.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from school_tui.widgets.safe import safe_text

LABELS = {"online": "● online", "away": "◐ away", "offline": "○ offline"}


def presence_label(status: str | None) -> str:
    """A symbol and a word, so presence never depends on colour."""
    return LABELS.get(status or "offline", LABELS["offline"])


PRESENCE = "presence"  # the column's key
PRESENCE_HEADER = "Presence"
PRESENCE_WIDTH = max(len(presence_label(s)) for s in ("online", "away", "offline"))


class LivePresence:
    """Which rows of a screen's tables show whom, and their presence cells kept current."""

    def __init__(self, screen) -> None:
        self.screen = screen
        self._seq = 0  # one more for each batch of statuses heard
        self._heard: dict[int, tuple[int, str]] = {}  # user id -> (seq, status)
        self._rows: dict[int, dict[tuple[DataTable, RowKey], None]] = {}  # user id -> rows
        self._who: dict[tuple[DataTable, RowKey], int] = {}
        live = screen.app.live
        if live is not None:
            live.presence.subscribe(screen, self.heard)

    @staticmethod
    def add_column(table: DataTable) -> None:
        table.add_column(PRESENCE_HEADER, key=PRESENCE, width=PRESENCE_WIDTH)

    def since(self) -> int:
        """Note this before a load queries (any thread); give it to `cell` with its rows."""
        return self._seq

    def status(self, user_id: int, loaded: str | None, since: int) -> str:
        heard = self._heard.get(user_id)
        if heard is not None and heard[0] > since:
            return heard[1]
        return loaded or "offline"

    def cell(self, user_id: int, loaded: str | None, since: int) -> Text:
        return safe_text(presence_label(self.status(user_id, loaded, since)))

    def track(self, table: DataTable, row_key: RowKey | str, user_id: int) -> None:
        """The row `row_key` of `table` shows `user_id`'s presence in its PRESENCE column."""
        key = (table, row_key if isinstance(row_key, RowKey) else RowKey(row_key))
        self.forget(*key)
        self._who[key] = user_id
        self._rows.setdefault(user_id, {})[key] = None

    def add_row(
        self, table: DataTable, cells, *, key: str | None, user_id: int, status, since: int
    ) -> RowKey:
        """`table.add_row` with the presence cell last, tracked."""
        row_key = table.add_row(*cells, self.cell(user_id, status, since), key=key)
        self.track(table, row_key, user_id)
        return row_key

    def forget(self, table: DataTable, row_key: RowKey | str) -> None:
        key = (table, row_key if isinstance(row_key, RowKey) else RowKey(row_key))
        user_id = self._who.pop(key, None)
        if user_id is not None:
            rows = self._rows.get(user_id, {})
            rows.pop(key, None)
            if not rows:
                self._rows.pop(user_id, None)

    def clear(self, table: DataTable) -> None:
        """The table was cleared: none of its rows shows anyone now."""
        for key in [k for k in self._who if k[0] is table]:
            self.forget(*key)

    def heard(self, statuses: dict[int, str]) -> None:
        """LiveChat's presence Signal: change the cells of those people, nothing else."""
        self._seq += 1
        for user_id, status in statuses.items():
            self._heard[user_id] = (self._seq, status)
        changed = [
            (table, row_key, status)
            for user_id, status in statuses.items()
            for table, row_key in self._rows.get(user_id, ())
        ]
        if not changed:
            return
        with self.screen.app.batch_update():
            for table, row_key, status in changed:
                if row_key in table.rows:
                    table.update_cell(row_key, PRESENCE, safe_text(presence_label(status)))
