"""Page objects: what a test reads off a screen, by what a person sees on it.

A test asks `CashierPage(app).receipt()` rather than `app.screen.query_one("#receipt")`;
the widget ids and the screens' private state are named here once, so a screen can change
its widgets while its tests keep saying what they check. Each page reads `app.screen` when
asked, so one page object follows the app from screen to screen.
"""

from __future__ import annotations

from textual.widgets import DataTable, Input, OptionList, Select, Static


def notes(app) -> list[str]:
    """The messages of the toasts (notifications) the app is showing."""
    return [n.message for n in app._notifications]


def toasts(app) -> list[tuple[str, str]]:
    """The toasts the app is showing, as (title, message)."""
    return [(n.title, n.message) for n in app._notifications]


def listening(app) -> bool:
    """The session's listener is connected and its first backfill is done: from now on
    what others write reaches this app."""
    session = app.session
    return (
        session is not None
        and session.listener.backend_pid is not None
        and app.live._horizon is not None
    )


def _text(widget) -> str:
    return str(widget.render())


class CashierPage:
    """Accounting's cashier: find a student, take an amount and a method, show a receipt."""

    def __init__(self, app) -> None:
        self.app = app

    def _query(self, selector: str, kind):
        return self.app.screen.query_one(selector, kind)

    @property
    def student_field(self) -> Input:
        return self._query("#student", Input)

    @property
    def amount_field(self) -> Input:
        return self._query("#amount", Input)

    @property
    def reference_field(self) -> Input:
        return self._query("#reference", Input)

    @property
    def methods(self) -> OptionList:
        return self._query("#methods", OptionList)

    def focused(self, widget) -> bool:
        return self.app.focused is widget

    def who(self) -> str:
        """The found student's line: name, number, balance."""
        return _text(self._query("#who", Static))

    def status(self) -> str:
        """The line under the form: what to do next, or why a post was refused."""
        return _text(self._query("#status", Static))

    def refused(self) -> bool:
        """The status line shows a refusal (drawn as one)."""
        return self._query("#status", Static).has_class("refused")

    def receipt(self) -> str:
        return _text(self._query("#receipt", Static))


class ChatPage:
    """The chat: the conversation list, the open conversation's pane, the message box."""

    def __init__(self, app) -> None:
        self.app = app

    @property
    def screen(self):
        return self.app.screen

    @property
    def compose_field(self) -> Input:
        return self.screen.query_one("#compose", Input)

    def list_loaded(self) -> bool:
        """The conversation list has been read at least once."""
        return self.screen._list_loaded

    def sending(self) -> bool:
        """A message is on its way to the database."""
        return self.screen._sending

    def error(self) -> str:
        return _text(self.screen.query_one("#chat-error"))

    def error_shown(self) -> bool:
        return bool(self.screen.query_one("#chat-error").display)

    def held_for_a_later_toast(self) -> int:
        """Messages heard but not toasted yet: a burst waits for the next toast's count."""
        return sum(self.app.alerts._held.values())

    def search_roles(self) -> list:
        """The roles the contact search (Ctrl+N) offers to filter by."""
        from textual.widgets import Select

        return [value for _label, value in self.screen.query_one(Select)._options]

    def header(self) -> str:
        """The open conversation's header: the other person and their presence."""
        return _text(self.screen.query_one("#chat-header"))

    def pane_text(self) -> str:
        """What the message pane draws, line by line (all of its loaded lines)."""
        from school_tui.screens.chat.widgets import MessageView

        view = self.screen.query_one(MessageView)
        top = view.scroll_offset.y
        lines = []
        for y in range(view.virtual_size.height):
            strip = view._line(y)
            lines.append("".join(segment.text for segment in strip).rstrip())
        assert view.scroll_offset.y == top  # reading drew nothing
        return "\n".join(lines)


class FormPage:
    """The app's form (widgets/forms.py, FormModal): every dialog that takes fields, whatever
    screen opened it. Fields are named by the ids their FormSpec gives them."""

    def __init__(self, app) -> None:
        self.app = app

    @property
    def form(self):
        from school_tui.widgets.forms import FormModal

        screen = self.app.screen
        assert isinstance(screen, FormModal), f"no form on screen: {screen!r}"
        return screen

    def is_open(self, kind=None) -> bool:
        """A form (of class `kind`, when given) is on top."""
        from school_tui.widgets.forms import FormModal

        return isinstance(self.app.screen, kind or FormModal)

    def field(self, field_id: str):
        return self.form.query_one(f"#{field_id}")

    def focused(self, field_id: str) -> bool:
        return self.app.focused is self.field(field_id)

    def ready(self, kind=None) -> bool:
        """The form is up and a field of it has the focus: keys typed now go into it."""
        return self.is_open(kind) and self.app.focused in self.form.query("*")

    def choices(self, field_id: str) -> int:
        """How many choices a Select offers (those read from the database included)."""
        return len(self.field(field_id)._options)

    def set(self, field_id: str, value) -> None:
        """Choose `value` in a Select, or put it in an Input, as a person would."""
        self.field(field_id).value = value

    def title(self) -> str:
        return _text(self.form.query_one(".modal-title"))

    def note(self) -> str:
        return _text(self.form.query_one(".modal-note"))

    def live(self) -> str:
        """The line under the fields that follows what is typed or chosen."""
        return _text(self.form.query_one("#form-live"))

    def status(self) -> str:
        """The line at the bottom: what the keys do, what it is doing, or why it refused."""
        return _text(self.form.query_one("#form-status")).strip()

    def error(self, field_id: str) -> str:
        """The rule shown under a field ("" when none is)."""
        below = self.form.query_one(f"#{field_id}-error", Static)
        return _text(below).strip() if below.has_class("shown") else ""


class ListPage:
    """A list screen (widgets/lists.py, ListScreen): a search box or filters, one table, a
    status line. Subclasses name their screen's class and widgets."""

    SCREEN: str  # "module:Class" of the screen, imported when first asked
    TABLE: str  # the table's id
    SEARCH: str | None = None  # the search box's id
    STATUS: str  # the status line's id

    def __init__(self, app) -> None:
        self.app = app

    @classmethod
    def screen_class(cls):
        import importlib

        module, name = cls.SCREEN.split(":")
        return getattr(importlib.import_module(module), name)

    def is_open(self) -> bool:
        return isinstance(self.app.screen, self.screen_class())

    @property
    def screen(self):
        screen = self.app.screen
        assert isinstance(screen, self.screen_class()), f"not on {self.SCREEN}: {screen!r}"
        return screen

    @property
    def table(self) -> DataTable:
        return self.screen.query_one(f"#{self.TABLE}", DataTable)

    @property
    def search_field(self) -> Input:
        assert self.SEARCH is not None, f"{self.SCREEN} has no search box"
        return self.screen.query_one(f"#{self.SEARCH}", Input)

    def search_focused(self) -> bool:
        """On this screen, typing goes into its search box (False until it is composed)."""
        return self._focused(f"#{self.SEARCH}")

    def table_focused(self) -> bool:
        """On this screen, keys go to its table (False until it is composed)."""
        return self._focused(f"#{self.TABLE}")

    def _focused(self, selector: str) -> bool:
        focused = self.app.focused
        return self.is_open() and focused is not None and focused in self.screen.query(selector)

    def settled(self) -> bool:
        """On this screen, the rows of its last search or filter shown, no page loading."""
        return self.is_open() and self.screen.current and not self.screen._loading

    def rows(self) -> list:
        """The rows shown, as loaded (the screen's own records), in table order."""
        return list(self.screen.rows.values())

    def cells(self) -> list[list[str]]:
        """The table's rows as the strings shown."""
        table = self.table
        return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]

    def selected(self):
        """The row under the cursor, as loaded (None: no row)."""
        return self.screen.selected()

    def selected_cells(self) -> list[str]:
        """The row under the cursor as shown ([] when the table is empty)."""
        table = self.table
        if not table.row_count:
            return []
        return [str(cell) for cell in table.get_row_at(table.cursor_row)]

    def status(self) -> str:
        return _text(self.screen.query_one(f"#{self.STATUS}")).strip()


class PeoplePage(ListPage):
    """The Admin's People: search by name or email, a role filter, the accounts."""

    SCREEN = "school_tui.screens.admin.people:PeopleScreen"
    TABLE = "people-table"
    SEARCH = "people-search"
    STATUS = "people-status"

    @property
    def role_filter(self) -> Select:
        return self.screen.query_one("#people-role", Select)

    def emails(self) -> list[str]:
        return [person.email for person in self.rows()]


class StudentsPage(ListPage):
    """The Registrar's Students: search as you type, the matches."""

    SCREEN = "school_tui.screens.registrar.students:StudentsScreen"
    TABLE = "students-table"
    SEARCH = "student-search"
    STATUS = "students-status"

    def ids(self) -> list[int]:
        return [hit.id for hit in self.rows()]


class SectionsPage(ListPage):
    """The Registrar's Sections of one school year."""

    SCREEN = "school_tui.screens.registrar.sections:SectionsScreen"
    TABLE = "sections-table"
    STATUS = "sections-status"

    @property
    def year_chooser(self) -> Select:
        return self.screen.query_one("#sections-year", Select)

    def title(self) -> str:
        """The title bar: the school year shown among the rest."""
        return _text(self.screen.query_one("#title-bar"))


class RosterPage(ListPage):
    """One section's roster."""

    SCREEN = "school_tui.screens.registrar.sections:RosterScreen"
    TABLE = "roster-table"
    STATUS = "roster-status"

    def loaded(self) -> bool:
        """On the roster, its section read."""
        return self.is_open() and self.screen.section is not None


class BoardPage(ListPage):
    """The enrollment board: the counts line, the filters, one status's students."""

    SCREEN = "school_tui.screens.registrar.board:EnrollmentBoardScreen"
    TABLE = "board-table"
    STATUS = "board-status"

    def loaded(self) -> bool:
        """The first column and its counts are in, the table no longer loading."""
        return self.is_open() and self.screen._loaded and not self.table.loading

    def counts_line(self) -> str:
        return _text(self.screen.query_one("#board-counts"))

    def counts(self) -> dict[str, int]:
        return dict(self.screen.counts)

    def marked(self) -> set[int]:
        return set(self.screen.marked)

    def sections_loaded(self) -> bool:
        """The section filter has its choices (read once the board opens)."""
        return bool(self.screen.sections)

    def grade(self) -> str | None:
        """The grade level the board is filtered on (None: every grade)."""
        return self.screen.grade

    @property
    def grade_filter(self) -> Select:
        return self.screen.query_one("#board-grade", Select)

    @property
    def section_filter(self) -> Select:
        return self.screen.query_one("#board-section", Select)


class AuditPage(ListPage):
    """The Admin's audit log: filters on top (the person's first), the entries."""

    SCREEN = "school_tui.screens.admin.audit:AuditLogScreen"
    TABLE = "audit-table"
    SEARCH = "f-person"
    STATUS = "audit-status"

    def loaded(self) -> bool:
        """On the log, the entries of its filters shown (none loading)."""
        return self.settled() and not self.table.loading

    def filter_focused(self, name: str) -> bool:
        """The filter `name` ("person", "from", "table", ...) has the focus."""
        return self._focused(f"#f-{name}")

    def ids(self) -> list[int]:
        """The entries' ids, in table order."""
        return [int(str(key.value)) for key in self.table.rows]


def entry_body(app) -> str:
    """An audit entry's text (the dialog Enter opens on the log)."""
    return _text(app.screen.query_one("#entry-body"))


class ExportPage:
    """The export dialog (widgets/export.py) that Ctrl+S opens on any list."""

    def __init__(self, app) -> None:
        self.app = app

    def is_open(self) -> bool:
        from school_tui.widgets.export import ExportModal

        return isinstance(self.app.screen, ExportModal)

    def summary(self) -> str:
        """What will be written, and how many rows."""
        return FormPage(self.app).title()

    @property
    def path_field(self) -> Input:
        return self.app.screen.query_one("#export-path", Input)

    def set_path(self, path) -> None:
        self.path_field.value = str(path)

    def status(self) -> str:
        """The line at the bottom: the keys, or why the file name will not do."""
        return FormPage(self.app).status()

    def error(self) -> str:
        """Why the file name will not do, under it ("" when it will)."""
        return FormPage(self.app).error("export-path")


def error_detail(app) -> str:
    """The error dialog's text (widgets/error.py): what failed and the database's words."""
    return _text(app.screen.query_one("#error-detail"))


class ImportPage:
    """The Registrar's student import: a file's path, its preview, the import's progress."""

    def __init__(self, app) -> None:
        self.app = app

    def is_open(self) -> bool:
        from school_tui.screens.registrar.student_import import ImportScreen

        return isinstance(self.app.screen, ImportScreen)

    @property
    def screen(self):
        assert self.is_open(), f"not on the import: {self.app.screen!r}"
        return self.app.screen

    def set_path(self, path) -> None:
        self.screen.query_one("#import-path", Input).value = str(path)

    def previewed(self) -> bool:
        """A file's preview is shown (what confirming would write)."""
        return self.is_open() and self.screen.parsed is not None

    def running(self) -> bool:
        return self.screen.running

    def status(self) -> str:
        return _text(self.screen.query_one("#import-status"))

    def totals(self) -> str:
        return _text(self.screen.query_one("#import-totals"))

    def rows(self) -> list[list[str]]:
        """The preview's lines as shown: line, action, ..., reason."""
        table = self.screen.query_one("#import-table", DataTable)
        return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]

    @property
    def progress(self):
        from textual.widgets import ProgressBar

        return self.screen.query_one("#import-progress", ProgressBar)


def dialog_note(app) -> str:
    """The explaining line of the dialog on top (a question, an error)."""
    return _text(app.screen.query_one(".modal-note"))


class StudentPagePage:
    """A student's page (the Registrar's): details, fees, the enrollment history."""

    def __init__(self, app) -> None:
        self.app = app

    def loaded(self) -> bool:
        """On a student's page, the student read."""
        from school_tui.screens.registrar.students import StudentPage

        screen = self.app.screen
        return isinstance(screen, StudentPage) and screen.profile is not None

    def details(self) -> str:
        return _text(self.app.screen.query_one("#page-details"))

    def history(self) -> list[list[str]]:
        """The enrollment history as shown, newest first."""
        table = self.app.screen.query_one("#page-history", DataTable)
        return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def _cells(table: DataTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


class _Screen:
    """A screen of one class, read by what it shows; nothing while another is on top."""

    SCREEN: str  # "module:Class"

    def __init__(self, app) -> None:
        self.app = app

    def is_open(self) -> bool:
        import importlib

        module, name = self.SCREEN.split(":")
        return isinstance(self.app.screen, getattr(importlib.import_module(module), name))

    @property
    def screen(self):
        assert self.is_open(), f"not on {self.SCREEN}: {self.app.screen!r}"
        return self.app.screen

    def _table(self, table_id: str) -> DataTable:
        return self.screen.query_one(f"#{table_id}", DataTable)

    def _loaded(self, table_id: str) -> bool:
        """On this screen, the table `table_id` has its rows (no loading indicator)."""
        if not self.is_open():
            return False
        tables = self.screen.query(f"#{table_id}")
        return bool(tables) and not tables.first(DataTable).loading

    def _line(self, static_id: str) -> str:
        """A line of text of this screen ('' while another screen is on top)."""
        return _text(self.screen.query_one(f"#{static_id}")) if self.is_open() else ""

    def _move_to(self, table_id: str, column: int, value: str) -> None:
        """The cursor on the first row whose `column` shows `value`, as Up/Down would."""
        table = self._table(table_id)
        table.move_cursor(row=[row[column] for row in _cells(table)].index(value))

    def keys(self) -> set[str]:
        """The keys this screen offers now (enabled in its footer)."""
        return {key for key, b in self.screen.active_bindings.items() if b.enabled}


class FeesPage(_Screen):
    """Accounting's fee schedules: the list of schedules and the line under it. Its dialogs
    (a schedule, a fee type, assigning, an installment plan) are forms: FormPage."""

    SCREEN = "school_tui.screens.accounting.fees:FeesScreen"

    def loaded(self) -> bool:
        return self._loaded("fees-table")

    def rows(self) -> list[list[str]]:
        """Year, grade level, fee type, amount, due, plan, assigned: as shown."""
        return _cells(self._table("fees-table")) if self.is_open() else []

    def highlight(self, fee_type: str) -> None:
        self._move_to("fees-table", 2, fee_type)

    def status(self) -> str:
        """What the last change did, and the keys."""
        return self._line("fees-status")


class StatementPage(_Screen):
    """A student's statement: charges and credits, the running balance, the summary."""

    SCREEN = "school_tui.screens.accounting.statement:StatementScreen"

    def loaded(self) -> bool:
        return self._loaded("statement-table")

    def rows(self) -> list[list[str]]:
        return _cells(self._table("statement-table")) if self.is_open() else []

    def kinds(self) -> list[str]:
        """Each line's kind (Charge, Payment, Adjustment...), in order."""
        return [row[1] for row in self.rows()]

    def highlight(self, kind: str) -> None:
        """The cursor on the first line of this kind."""
        self._move_to("statement-table", 1, kind)

    def summary(self) -> str:
        return self._line("statement-summary")


class DayClosePage(_Screen):
    """Accounting's day close: the takings expected by method, the count, the closes made."""

    SCREEN = "school_tui.screens.accounting.day_close:DayCloseScreen"

    def loaded(self) -> bool:
        return self._loaded("expected")

    def expected(self) -> dict[str, str]:
        """Method -> the takings expected, as shown."""
        return {row[0]: row[2] for row in _cells(self._table("expected"))}

    def live(self) -> str:
        """The line that follows the count typed: over, short, not a number."""
        return self._line("close-live")

    def status(self) -> str:
        return self._line("close-status")

    def title(self) -> str:
        """The title bar: which day is being closed."""
        return self._line("title-bar")

    def closes(self) -> list[list[str]]:
        return _cells(self._table("history")) if self.is_open() else []


class ReportsPage(_Screen):
    """Accounting's reports: one tab per report, a status line."""

    SCREEN = "school_tui.screens.accounting.reports:ReportsScreen"

    def loaded(self, tab: str = "aging") -> bool:
        return self._loaded(f"table-{tab}")

    def status(self) -> str:
        return self._line("report-status")


class ReceiptPage(_Screen):
    """A payment's receipt, as the dialog shows it."""

    SCREEN = "school_tui.screens.accounting.statement:ReceiptModal"

    def text(self) -> str:
        return self._line("receipt-text")


class HomePage:
    """A role's home (screens/homes/): the title, one tab per pane, each a table; the
    student's enrollment summary above its history."""

    def __init__(self, app) -> None:
        self.app = app

    def is_open(self, role: str | None = None) -> bool:
        """A home is on top (of `role`, when given: "Accounting", "Student"...)."""
        from school_tui.screens.homes.base import RoleHome

        screen = self.app.screen
        return isinstance(screen, RoleHome) and role in (None, screen.ROLE)

    @property
    def screen(self):
        assert self.is_open(), f"not on a home: {self.app.screen!r}"
        return self.app.screen

    def title(self) -> str:
        """The title bar's text: "<role> home · <name> · <email>"."""
        return _text(self.screen.query_one("#title-bar"))

    def loaded(self) -> bool:
        """On a home, every tab's table shows the rows of its first load."""
        return self.is_open() and self.screen.shows_all_rows()

    def table(self, pane: str) -> DataTable:
        return self.screen.query_one(f"#table-{pane}", DataTable)

    def rows(self, pane: str) -> list[list[str]]:
        """A pane's rows as shown."""
        return _cells(self.table(pane))

    def highlight(self, pane: str, row: int) -> None:
        """The pane's table focused, its cursor on `row`: where Enter opens."""
        table = self.table(pane)
        table.move_cursor(row=row)
        table.focus()

    def summary(self) -> str:
        """The student's enrollment summary: the status and what comes next."""
        return _text(self.screen.query_one("#enrollment-summary")) if self.is_open() else ""


class PickerPage(_Screen):
    """The student picker (widgets/pickers.py): a search box, the matches; Enter picks."""

    SCREEN = "school_tui.widgets.pickers:StudentPicker"

    def rows(self) -> list[list[str]]:
        return _cells(self._table("picker-table")) if self.is_open() else []


class ConfirmPage(_Screen):
    """The yes/no question (widgets/confirm.py): y or Enter does what it says, n or Esc not."""

    SCREEN = "school_tui.widgets.confirm:ConfirmModal"

    def question(self) -> str:
        return dialog_note(self.app)


class LoginPage(_Screen):
    """The login form: email, password, the status line under them."""

    SCREEN = "school_tui.screens.auth.login:LoginScreen"

    @property
    def email_field(self) -> Input:
        return self.screen.query_one("#email", Input)

    @property
    def password_field(self) -> Input:
        return self.screen.query_one("#password", Input)

    def email_focused(self) -> bool:
        return self.is_open() and self.app.focused is self.email_field

    def password_focused(self) -> bool:
        return self.is_open() and self.app.focused is self.password_field

    def status(self) -> str:
        """Why a login was refused, or what it is doing ('' when not on the login form)."""
        return self._line("login-status").strip()

    def refused(self) -> bool:
        """The status line is drawn as a refusal."""
        return self.screen.query_one("#login-status").has_class("error")


class PasswordPage(_Screen):
    """Changing a password (screens/auth/change_password.py): the current one (when it is
    not a temporary one), the new one twice, the status line."""

    SCREEN = "school_tui.screens.auth.change_password:ChangePasswordScreen"

    def field(self, name: str) -> Input:
        """ "current", "new" or "repeat"."""
        return self.screen.query_one(f"#{name}-password", Input)

    def focused(self, name: str) -> bool:
        return self.is_open() and self.app.focused is self.field(name)

    def fill(self, new: str, repeat: str | None = None) -> None:
        """The new password and its repeat typed, the cursor on the repeat (Enter submits)."""
        self.field("new").value = new
        self.field("repeat").value = new if repeat is None else repeat
        self.field("repeat").focus()

    def checking(self) -> bool:
        """The new password is being checked (or the change made): the form waits."""
        return self.screen._busy

    def status(self) -> str:
        return self._line("password-status").strip()


class LockPage(_Screen):
    """The idle lock: who is logged in, their password, the status line."""

    SCREEN = "school_tui.screens.auth.lock:LockScreen"

    @property
    def password_field(self) -> Input:
        return self.screen.query_one("#lock-password", Input)

    def password_focused(self) -> bool:
        return self.is_open() and self.app.focused is self.password_field

    def who(self) -> str:
        return self._line("lock-who")

    def status(self) -> str:
        return self._line("lock-status").strip()

    def refused(self) -> bool:
        """The status line is drawn as a refusal."""
        return self.screen.query_one("#lock-status").has_class("error")
