"""The audit log screen (Admin and Principal): who changed what, and who read which report.

Filters on top (person, table, row id, from and to date; Enter applies them), the entries
newest first below (the next page loads when the cursor reaches the last row: keyset
pagination, see db/audit.py), Enter on an entry shows its changed fields, Ctrl+S exports what
the filter matches to a CSV file, Escape goes back. Every query runs in a db_work worker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.suggester import SuggestFromList
from textual.widgets import DataTable, Footer, Input, Static

from school_tui.db import audit
from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.banner import ConnectionBanner
from school_tui.widgets.base import SchoolModal
from school_tui.widgets.export import ExportModal
from school_tui.widgets.lists import Column, ListLoaded, ListScreen, ListSpec, Page
from school_tui.widgets.safe import clean, safe_join, safe_text

# -- the filter form: what each field accepts, and the message when it does not ------------


@dataclass
class FilterError(ValueError):
    field: str  # the Input's id
    message: str

    def __str__(self) -> str:
        return self.message


FILTER_FIELDS = ("f-person", "f-table", "f-row", "f-from", "f-to")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TABLE = re.compile(r"[a-z_][a-z0-9_]*")
_ROW_ID = re.compile(r"[0-9]{1,18}")


def _parse_date(text: str, field: str, label: str) -> date | None:
    if not text:
        return None
    try:
        if not _DATE.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise FilterError(field, f"{label}: use YYYY-MM-DD, a real date") from None


def parse_filter(
    person: str,
    table: str,
    row_id: str,
    since: str,
    until: str,
    tables: Collection[str] | None = None,
) -> audit.AuditFilter:
    """The filter the form describes, or FilterError naming the field and its rule.
    `tables`: the audited tables, when known, so a misspelt name is caught here."""
    person, table, row_id = person.strip(), table.strip().lower(), row_id.strip()
    if len(person) > 254:
        raise FilterError("f-person", "Person: at most 254 characters")
    if table and not _TABLE.fullmatch(table):
        raise FilterError("f-table", "Table: a table name such as payments")
    if table and tables is not None and table not in tables:
        raise FilterError("f-table", f"Table: {clean(table)} is not a table of the school")
    if row_id and not _ROW_ID.fullmatch(row_id):
        raise FilterError("f-row", "Row id: a whole number such as 42")
    start = _parse_date(since.strip(), "f-from", "From date")
    end = _parse_date(until.strip(), "f-to", "To date")
    if start and end and end < start:
        raise FilterError("f-to", "To date: must not be before the from date")
    return audit.AuditFilter(
        person=person, table=table, row_id=int(row_id) if row_id else None, since=start, until=end
    )


# -- how an entry looks ---------------------------------------------------------------------


def _when(moment: datetime, seconds: bool = False) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M")


def _value(value: object) -> str:
    if value is audit.MISSING:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def describe_entry(e: audit.Entry) -> Text:
    """The whole entry as literal text: who, what, when, from where, and the fields."""
    who = (
        safe_join(e.person, "·", e.email, f"(login {e.login_role})")
        if e.person
        else safe_join(e.login_role, "(no person: the database owner or an administrator)")
    )
    lines = [
        safe_join("When:", _when(e.logged_at, seconds=True)),
        Text.assemble("Who:  ", who),
        safe_join("What:", e.action, e.table_name, f"row {e.row_id}" if e.row_id else ""),
        safe_join(
            "From:",
            e.client_addr or "local socket",
            "·",
            f"app {e.application_name}" if e.application_name else "no app name",
            "·",
            f"transaction {e.txid}",
        ),
        Text(""),
    ]
    changes = e.changes()
    if e.action == "READ":
        lines.append(Text("Read the report's text. Nothing changed."))
    elif e.action == "TRUNCATE":
        lines.append(Text("Every row of the table was removed at once."))
    elif not changes:
        lines.append(Text("No fields recorded."))
    else:
        heading = {"INSERT": "New row:", "DELETE": "Deleted row:"}.get(
            e.action, "Changed fields (old → new):"
        )
        lines.append(Text(heading, style="bold"))
        for field, old, new in changes:
            line = Text("  ")
            line.append_text(safe_text(field, style="bold"))
            line.append(": ")
            if e.action == "UPDATE":
                line.append_text(safe_text(_value(old)))
                line.append(" → ")
            line.append_text(safe_text(_value(new if e.action != "DELETE" else old)))
            lines.append(line)
    return Text("\n").join(lines)


class AuditEntryModal(SchoolModal[None]):
    DEFAULT_CSS = """
    AuditEntryModal { align: center middle; }
    AuditEntryModal > Vertical {
        width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    AuditEntryModal #entry-title { text-style: bold; }
    AuditEntryModal #entry-scroll { height: auto; max-height: 18; }
    """
    BINDINGS = [Binding("escape,enter", "close", "Close", id="entry.close")]

    def __init__(self, entry: audit.Entry) -> None:
        super().__init__()
        self.entry = entry

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe_text(f"Audit entry {self.entry.id}"), id="entry-title")
            with VerticalScroll(id="entry-scroll"):
                yield Static(describe_entry(self.entry), id="entry-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#entry-scroll", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)


# -- export ---------------------------------------------------------------------------------


# The form that asks where is the shared one (widgets/export.py); the audit export streams
# from the database instead of writing rows held on screen (it may be millions of entries).


# -- the screen -----------------------------------------------------------------------------


class AuditLogScreen(ListScreen):
    DEFAULT_CSS = """
    AuditLogScreen #title-bar { height: 1; background: $primary; color: $text; padding: 0 1; }
    AuditLogScreen #filters { height: 3; }
    AuditLogScreen #filters Input {
        border: round $border-blurred; border-title-color: $text-muted; height: 3; padding: 0 1;
    }
    AuditLogScreen #filters Input:focus { border: round $border; border-title-color: $text; }
    AuditLogScreen #f-person { width: 1fr; }
    AuditLogScreen #f-table { width: 18; }
    AuditLogScreen #f-row { width: 12; }
    AuditLogScreen #f-from, AuditLogScreen #f-to { width: 15; }
    AuditLogScreen #audit-status { height: 1; color: $text-muted; padding: 0 1; }
    AuditLogScreen #audit-status.error { color: $error; text-style: bold; }
    AuditLogScreen DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="audit.back"),
        Binding("ctrl+s", "export", "Export CSV", id="audit.export"),
    ]
    LIST = ListSpec(
        table="audit-table",
        columns=(
            Column("When", 16),
            Column("Person", 18),
            Column("Table", 19),
            Column("Row", 7),
            Column("Action", 8),
        ),
        key=lambda e: e.id,
        cells=lambda e: (
            safe_text(_when(e.logged_at)),
            e.person,
            e.table_name,
            safe_text("" if e.row_id is None else e.row_id),
            safe_text(e.action),
        ),
        page=lambda e: e.id,  # newest first: the next page is the entries before it
        on_select="open_entry",
        sized=False,
        focus="#f-person",  # the screen is a search: type at once
        keep_cursor=False,
    )

    def __init__(self, session) -> None:
        super().__init__(session)
        self.filter = audit.AuditFilter()  # the one applied: what the table shows
        self.tables: list[str] | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            safe_join("Audit log", "·", "who changed what, who read which report"),
            id="title-bar",
        )
        yield ConnectionBanner()
        with Horizontal(id="filters"):
            for field_id, title, placeholder in (
                ("f-person", "Person", "email or name"),
                ("f-table", "Table", "e.g. payments"),
                ("f-row", "Row id", ""),
                ("f-from", "From date", "YYYY-MM-DD"),
                ("f-to", "To date", "YYYY-MM-DD"),
            ):
                field = Input(placeholder=placeholder, id=field_id)
                field.border_title = title
                yield field
        yield Static("", id="audit-status")
        yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def list_mounted(self) -> None:
        self.title = "Audit log"
        self._load_tables()

    # -- filtering ---------------------------------------------------------------------------

    def _set_status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#audit-status", Static)
        status.update(safe_text(text))
        status.set_class(error, "error")

    @on(Input.Submitted)
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if event.input.id in FILTER_FIELDS:
            self.apply_filters()

    def apply_filters(self) -> None:
        person, table, row_id, since, until = (
            self.query_one(f"#{field_id}", Input).value for field_id in FILTER_FIELDS
        )
        try:
            self.filter = parse_filter(person, table, row_id, since, until, tables=self.tables)
        except FilterError as exc:
            self._set_status(exc.message, error=True)
            self.query_one(f"#{exc.field}", Input).focus()
            return
        self.reload(focus_table=True)  # once loaded: a loading table takes no focus

    def reload(self, **how) -> None:
        self.table.loading = True
        self._set_status("Loading…")
        super().reload(**how)

    @db_work(name="audit tables", group="audit-tables")
    def _load_tables(self) -> None:
        deliver(self._tables_loaded, self.session.run(audit.audited_tables))

    def _tables_loaded(self, tables: list[str]) -> None:
        self.tables = tables
        self.query_one("#f-table", Input).suggester = SuggestFromList(tables, case_sensitive=False)

    def list_query(self) -> audit.AuditFilter:
        return self.filter

    def list_fetch(self, conn, query, after) -> Page:
        entries, more = audit.page(conn, query, before=after)
        return Page(entries, more=more)

    def list_filled(self, loaded: ListLoaded) -> None:
        shown = len(self.rows)
        if not shown:
            self._set_status("No entries match these filters.")
        else:
            more = "; more load as you scroll down" if self._has_more else ""
            self._set_status(f"{shown} entries shown, newest first{more}. Enter: details")

    # -- one entry ---------------------------------------------------------------------------

    def open_entry(self) -> None:
        key = self.selected_key()
        if key is not None:
            self._load_entry(int(key))

    @db_work(name="audit entry", group="audit-entry")
    def _load_entry(self, entry_id: int) -> None:
        deliver(self._entry_loaded, self.session.run(lambda c: audit.entry(c, entry_id)))

    def _entry_loaded(self, entry: audit.Entry | None) -> None:
        if entry is None:  # it is not there
            self.notify("That entry is not there.", severity="warning", markup=False)
            return
        self.app.push_screen(AuditEntryModal(entry))

    # -- export ------------------------------------------------------------------------------

    def action_export(self) -> None:
        f = self.filter
        parts = [
            f"person ~ {f.person}" if f.person else "",
            f"table {f.table}" if f.table else "",
            f"row {f.row_id}" if f.row_id is not None else "",
            f"from {f.since}" if f.since else "",
            f"to {f.until}" if f.until else "",
        ]
        described = ", ".join(p for p in parts if p) or "no filter: every entry"
        summary = safe_join("Export the entries matching the applied filters", f"({described})")
        self.app.push_screen(ExportModal(summary, "audit-log"), self._export_to)

    def _export_to(self, path: Path | None) -> None:
        if path is not None:
            self._set_status(f"Exporting to {path}…")
            self._export(self.filter, path)

    @db_work(name="audit export", group="audit-export")
    def _export(self, f: audit.AuditFilter, path: Path) -> None:
        from school_tui.output.csv_files import write_csv

        # Every entry the filter matches, read as they are written; a failed export
        # removes its partial file, and cells a spreadsheet would run are defused.
        count = self.session.run(
            lambda conn: write_csv(path, audit.CSV_HEADER, audit.entries(conn, f))
        )
        deliver(self._exported, str(path), count)

    def _exported(self, path: str, count: int) -> None:
        text = f"Exported {count} entries to {clean(path)}"
        self._set_status(text)
        self.notify(text, title="Audit log exported", markup=False, timeout=8)

    # -- elsewhere ---------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def palette_commands(self):
        return [
            ("Export audit log to CSV", self.action_export, "The entries the filters match"),
            ("Back", self.action_back, "Close the audit log"),
        ]
