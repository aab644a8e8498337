"""The Admin's People screen: find people, create them, edit them, change their role,
deactivate or reactivate them, reset their password. All by keyboard at 80x24.

The list searches as you type (every word in the name or the email) with a role filter, and
loads the next page when the cursor reaches the last row (keyset paging, db/people.py).
Forms check each field and say which rule it broke before anything is written; what the
database refuses (a taken email) shows under the field it names and the form stays open to
be corrected. A new person's or a reset temporary password is shown once; once it is
closed, the search box has the cursor (a name typed next finds someone, and `n` is a
letter, not New person).

The list is a ListScreen (widgets/lists.py): its searching, paging, stale-result guard and
live Presence column (online / away / offline, a symbol and a word, changing in place
without reloading the list) are the shared ones. The columns fit 80 terminal columns.

The Account column's "locked" is live too: the listener hears every lock and unlock
('l:<user id>' on school_lockouts, the login watcher's and an Admin's), and the screen
re-reads the lock state of just those people (db/lockout.locked_among: an id is only a
hint) and redraws their Account cells in place: no reload, the cursor stays. After every
(re)connect of the listener it re-reads the lock state of every row shown, since locks
made while nobody listened sent their notice to nobody.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Input,
    OptionList,
    Select,
    Static,
)
from textual.widgets.option_list import Option

from school_tui.domain.access import ROLES
from school_tui.domain.fields import FieldError
from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.banner import ConnectionBanner
from school_tui.widgets.base import SchoolModal
from school_tui.widgets.confirm import ConfirmModal
from school_tui.widgets.forms import Field, FormModal, FormSpec
from school_tui.widgets.lists import Column, ListLoaded, ListScreen, ListSpec, Page
from school_tui.widgets.modal import MODAL_CSS
from school_tui.widgets.safe import clean, safe_join, safe_text

PAGE = 100
# 67 characters of text plus each cell's padding and the scrollbar fit an 80-column
# terminal, so nothing hides off to the right (long names and emails end in …); Presence
# (widgets/presence.py) comes last.
COLUMNS = (
    Column("Name", 16, key="name"),
    Column("Email", 20, key="email"),
    Column("Role", 11, key="role"),
    Column("Account", 11, key="account"),
)
# The only role name longer than its column.
SHORT_ROLE = {"Academic Coordinator": "Coordinator"}
# What the Account column says (PersonRow.account says "must change password").
SHORT_ACCOUNT = {"must change password": "temporary"}
NAME_MAX = 100
EMAIL_MAX = 254
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


# -- validation: the field, and the rule it broke -------------------------------------------


@dataclass(frozen=True)
class PersonFields:
    first_name: str
    last_name: str
    email: str
    role: str | None = None


def _name_error(field: str, label: str, value: str) -> FieldError | None:
    if not value:
        return FieldError(field, f"{label}: required.")
    if len(value) > NAME_MAX:
        return FieldError(
            field, f"{label}: at most {NAME_MAX} characters (you typed {len(value)})."
        )
    if _CONTROL.search(value):
        return FieldError(field, f"{label}: no control characters (tabs, escapes, …).")
    return None


def validate_person(
    first_name: str,
    last_name: str,
    email: str,
    role: str | None = None,
    *,
    need_role: bool = False,
) -> PersonFields | FieldError:
    """The fields, trimmed, or the first one that breaks its rule (in the form's order)."""
    first_name, last_name, email = first_name.strip(), last_name.strip(), email.strip()
    for error in (
        _name_error("first-name", "First name", first_name),
        _name_error("last-name", "Last name", last_name),
    ):
        if error:
            return error
    if not email:
        return FieldError("email", "Email: required.")
    if len(email) > EMAIL_MAX:
        return FieldError(
            "email", f"Email: at most {EMAIL_MAX} characters (you typed {len(email)})."
        )
    if not _EMAIL.fullmatch(email):
        return FieldError(
            "email", "Email: must look like name@school.example (one @, no spaces, a dot after @)."
        )
    if need_role and role not in ROLES:
        return FieldError("role", "Role: choose one of the school's roles.")
    return PersonFields(first_name, last_name, email, role if need_role else None)


@dataclass(frozen=True)
class TemporaryPassword:
    full_name: str
    email: str
    password: str
    created: bool  # a new person (else a reset)


# -- small modals ---------------------------------------------------------------------------


class TemporaryPasswordModal(SchoolModal[None]):
    """The temporary password, shown this once."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="TemporaryPasswordModal")
        + """
    TemporaryPasswordModal #temp-password {
        text-style: bold; background: $boost; padding: 0 1; margin: 1 0; width: auto;
    }
    """
    )
    BINDINGS = [Binding("escape,enter", "close", "Close", id="temp.close")]

    def __init__(self, temporary: TemporaryPassword) -> None:
        super().__init__()
        self.temporary = temporary

    def compose(self) -> ComposeResult:
        t = self.temporary
        what = "New person" if t.created else "Password reset"
        with Vertical():
            yield Static(safe_join(what, "·", t.full_name, "·", t.email), classes="modal-title")
            yield Static("Temporary password:")
            yield Static(safe_text(t.password), id="temp-password")
            yield Static(
                "Shown only once: give it to the person now, in person or by a safe channel. "
                "They must choose their own password when they log in with it.",
                classes="modal-note",
            )
            yield Button("Close", variant="primary", compact=True, id="temp-close")
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class RolePicker(SchoolModal[str | None]):
    DEFAULT_CSS = (
        MODAL_CSS.format(name="RolePicker")
        + """
    RolePicker OptionList { height: auto; max-height: 10; }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="role.cancel")]

    def __init__(self, person) -> None:
        super().__init__()
        self.person = person

    def compose(self) -> ComposeResult:
        p = self.person
        with Vertical():
            yield Static(
                safe_join("Change the role of", p.full_name, f"(now {p.role})"),
                classes="modal-title",
            )
            yield OptionList(*(Option(role, id=role) for role in ROLES), id="role-options")
            yield Static(
                "Enter chooses. Their access changes at once, in the database.",
                classes="modal-note",
            )
        yield Footer()

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = ROLES.index(self.person.role) if self.person.role in ROLES else 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PersonForm(FormModal):
    """Create a person (names, email, role), or edit one (names, email), on the app's form
    (widgets/forms.py): it saves in a worker, and what the database refuses (a taken email,
    the last Admin) shows under the field it names, the form open with what was typed.
    Dismisses with the TemporaryPassword of a new person, or the name of an edited one."""

    def __init__(self, session, person=None) -> None:
        super().__init__(session, person_form(person))


# the database's message prefix -> the form's field
PERSON_FIELDS = {
    "first name": "first-name",
    "last name": "last-name",
    "email": "email",
    "role": "role",
}


def person_form(person=None) -> FormSpec:
    """`person`: db.people.PersonRow to edit, None for a new person."""
    p = person
    creating = p is None

    def check(values: dict) -> PersonFields:
        checked = validate_person(
            values["first-name"] or "",
            values["last-name"] or "",
            values["email"] or "",
            values.get("role"),
            need_role=creating,
        )
        if isinstance(checked, FieldError):
            raise checked
        return checked

    def save(conn, fields: PersonFields):
        from school_tui.db import people

        if p is None:
            assert fields.role is not None  # check() requires one for a new person
            _, password = people.create_with_temporary_password(
                conn,
                role=fields.role,
                first_name=fields.first_name,
                last_name=fields.last_name,
                email=fields.email,
            )
            return TemporaryPassword(
                f"{fields.first_name} {fields.last_name}", fields.email, password, True
            )
        people.update_person(
            conn,
            p.id,
            first_name=fields.first_name,
            last_name=fields.last_name,
            email=fields.email,
        )
        return f"{fields.first_name} {fields.last_name}"

    def refused(exc: BaseException) -> FieldError | None:
        from school_tui.db.errors import field_refusal

        return field_refusal(exc, PERSON_FIELDS)

    fields = [
        Field("first-name", "First name", p.first_name if p else ""),
        Field("last-name", "Last name", p.last_name if p else ""),
        Field("email", "Email", p.email if p else "", "name@school.example"),
    ]
    if creating:
        fields.append(Field("role", "Role", "", "Choose a role", [(r, r) for r in ROLES]))
    return FormSpec(
        title="New person" if p is None else f"Edit {p.full_name}",
        fields=fields,
        check=check,
        save=save,
        refused=refused,
        saving="Creating the login…" if creating else "Saving…",
        label_width=12,
    )


# -- the screen -----------------------------------------------------------------------------


class PeopleScreen(ListScreen):
    DEFAULT_CSS = """
    PeopleScreen #title-bar { height: 1; background: $primary; color: $text; padding: 0 1; }
    PeopleScreen #people-filters { height: 3; }
    PeopleScreen #people-search { width: 1fr; }
    PeopleScreen #people-role { width: 30; }
    PeopleScreen DataTable { height: 1fr; }
    PeopleScreen #people-status { height: 1; color: $text-muted; padding: 0 1; }
    """

    BINDINGS = [
        Binding("slash", "focus_search", "Search", show=False, id="people.search"),
        Binding("n", "new_person", "New", id="people.new"),
        Binding("e", "edit_person", "Edit", id="people.edit"),
        Binding("r", "change_role", "Role", id="people.role"),
        # One key, two meanings: the footer shows the one that fits the selected person.
        Binding("d", "set_active(False)", "Deactivate", id="people.deactivate"),
        Binding("d", "set_active(True)", "Reactivate", id="people.reactivate"),
        Binding("p", "reset_password", "Password", id="people.reset"),
        Binding("u", "unlock", "Unlock", id="people.unlock"),
        Binding("escape", "back", "Back", id="people.back"),
        Binding("down", "focus_table", "To the list", show=False, id="people.to-list"),
    ]

    LIST = ListSpec(
        table="people-table",
        columns=COLUMNS,
        key=lambda person: person.id,
        cells=lambda person: (
            f"{person.last_name}, {person.first_name}",
            person.email,
            SHORT_ROLE.get(person.role, person.role),
            SHORT_ACCOUNT.get(person.account, person.account),
        ),
        presence=lambda person: (person.id, person.status),
        search="people-search",
        page=lambda person: person.key,
        on_select="action_edit_person",
        loading=False,
        focus="#people-search",  # finding someone comes first: type a name at once
    )

    def compose(self) -> ComposeResult:
        person = self.session.person
        yield Static(safe_join("People", "·", person.full_name, "(Admin)"), id="title-bar")
        yield ConnectionBanner()
        with Horizontal(id="people-filters"):
            yield Input(placeholder="Search name or email (/)", id="people-search")
            yield Select(((r, r) for r in ROLES), prompt="All roles", id="people-role")
        yield DataTable(id="people-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="people-status")
        yield Footer()

    def list_mounted(self) -> None:
        self.title = "People"
        self._lock_reads = 0  # lock-state reads started (a later one wins)
        self._lock_floor = 0  # reads up to this one began before the list's last load
        self._lock_applied: dict[int, int] = {}  # user id -> the read that last set it
        self._lock_pending: set[int] = set()  # heard while a load ran: read once it lands
        live = self.app.live
        if live is not None:
            live.lockouts.subscribe(self, self._lockouts_heard)
            live.records.resync.subscribe(self, lambda _again: self._reread_locks())

    # -- live lock state -------------------------------------------------------------------

    def reload(self, **how) -> None:
        self._lock_floor = self._lock_reads
        super().reload(**how)

    def _lockouts_heard(self, user_ids: list[int]) -> None:
        """Accounts locked or unlocked somewhere: re-read those shown. A load running now
        may have read them before the change: they are read again once it lands."""
        if self._loading or not self.current:
            self._lock_pending.update(user_ids)
        shown = [i for i in user_ids if str(i) in self.rows]
        if shown:
            self._read_locks(shown)

    def _reread_locks(self) -> None:
        """The listener (re)connected: every row's lock state, read again."""
        if self.rows:
            self._read_locks([row.id for row in self.rows.values()])

    def _read_locks(self, user_ids: list[int]) -> None:
        self._lock_reads += 1
        self._fetch_locks(self._lock_reads, user_ids)

    @db_work(name="lock state", group="lock-state")
    def _fetch_locks(self, number: int, user_ids: list[int]) -> None:
        from school_tui.db import lockout

        locked = self.session.run(lambda conn: lockout.locked_among(conn, user_ids))
        deliver(self._locks_read, number, user_ids, locked)

    def _locks_read(self, number: int, user_ids: list[int], locked: set[int]) -> None:
        """Redraw the rows whose lock state changed; a read older than one already applied
        to a row leaves it alone."""
        with self.app.batch_update():
            for user_id in user_ids:
                row = self.rows.get(str(user_id))
                if (
                    row is None
                    or number <= self._lock_floor  # the rows were read after it
                    or self._lock_applied.get(user_id, 0) > number
                ):
                    continue
                self._lock_applied[user_id] = number
                if row.locked != (user_id in locked):
                    self.update_row(replace(row, locked=user_id in locked))
        self.refresh_bindings()  # `u` Unlock follows the selected row's state

    # -- loading ---------------------------------------------------------------------------

    def list_query(self) -> tuple[str, str | None]:
        text = self.query_one("#people-search", Input).value
        role = self.query_one("#people-role", Select).value
        return text, (role if isinstance(role, str) else None)

    def list_fetch(self, conn, query, after) -> Page:
        from school_tui.db import people

        text, role = query
        rows = people.search_people(conn, text, role, after=after, limit=PAGE + 1)
        return Page(rows[:PAGE], more=len(rows) > PAGE)

    def list_filled(self, loaded: ListLoaded) -> None:
        if self.current and not self._loading:
            pending, self._lock_pending = self._lock_pending, set()
            shown = [i for i in pending if str(i) in self.rows]
            if shown:
                self._read_locks(shown)
        count = len(self.rows)
        if not count:
            text = "Nobody matches."
        elif self._has_more:
            text = f"{count} shown; more load as you scroll down."
        else:
            text = f"{count} shown."
        self.query_one("#people-status", Static).update(safe_text(text))

    @on(Select.Changed, "#people-role")
    def _role_changed(self) -> None:
        self.reload()
        self.action_focus_table()  # a role chosen: on to the list

    # -- the selected person ---------------------------------------------------------------

    def _need_selection(self):
        person = self.selected()
        if person is None:
            self.notify("Choose a person in the list first.", severity="warning")
        return person

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "set_active":
            person = self.selected() if self.is_mounted else None
            wanted = bool(parameters and parameters[0])
            if person is None:
                return not wanted  # nobody chosen: show "Deactivate"; it says what to do
            return person.is_active is not wanted
        if action == "unlock":
            person = self.selected() if self.is_mounted else None
            return person is not None and person.locked
        return True

    # -- actions ---------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss(None)

    def action_new_person(self) -> None:
        self.app.push_screen(PersonForm(self.session), self._created)

    def _created(self, result) -> None:
        if isinstance(result, TemporaryPassword):
            self.reload()
            self._show_temporary(result)

    def action_edit_person(self) -> None:
        person = self._need_selection()
        if person is not None:
            self.app.push_screen(PersonForm(self.session, person), self._edited)

    def _edited(self, result) -> None:
        if result:
            self.notify(f"Saved {clean(result)}.", markup=False)
            self.reload()

    def action_change_role(self) -> None:
        person = self._need_selection()
        if person is None:
            return

        def chosen(role: str | None) -> None:
            if role and role != person.role:
                self._change_role(person, role)

        self.app.push_screen(RolePicker(person), chosen)

    @db_work(name="change role", group="account")
    def _change_role(self, person, role: str) -> None:
        from school_tui.db import people

        self.session.run(lambda conn: people.change_role(conn, person.id, role))
        deliver(self._account_done, f"{person.full_name} is now {role}.")

    def action_set_active(self, active: bool) -> None:
        person = self._need_selection()
        if person is None or person.is_active is active:
            return
        if not active:
            question = ConfirmModal(
                f"Deactivate {person.full_name}?",
                "Their open sessions end now, and they cannot log in until reactivated. "
                "Their records stay.",
            )
        else:
            question = ConfirmModal(
                f"Reactivate {person.full_name}?",
                "They can log in again with the password they had.",
            )

        def answered(yes: bool | None) -> None:
            if yes:
                self._set_active(person, not person.is_active)

        self.app.push_screen(question, answered)

    @db_work(name="set active", group="account")
    def _set_active(self, person, active: bool) -> None:
        from school_tui.db import people

        self.session.run(lambda conn: people.set_active(conn, person.id, active))
        state = "reactivated" if active else "deactivated"
        deliver(self._account_done, f"{person.full_name} is {state}.")

    def action_reset_password(self) -> None:
        person = self._need_selection()
        if person is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._reset(person)

        self.app.push_screen(
            ConfirmModal(
                f"Give {person.full_name} a temporary password?",
                "Their old password stops working and their open sessions end. The temporary "
                "one is shown once; they must choose their own when they log in with it.",
            ),
            answered,
        )

    @db_work(name="reset password", group="account")
    def _reset(self, person) -> None:
        from school_tui.db import people

        password = self.session.run(lambda conn: people.reset_password(conn, person.id))
        deliver(
            self._account_done,
            f"{person.full_name} has a temporary password.",
            TemporaryPassword(person.full_name, person.email, password, False),
        )

    def action_unlock(self) -> None:
        person = self._need_selection()
        if person is None or not person.locked:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._unlock(person)

        self.app.push_screen(
            ConfirmModal(
                f"Unlock {person.full_name}?",
                "After three wrong passwords in a row the account refuses every password for "
                "a while. Unlocking lets them log in now; make sure it is them trying.",
            ),
            answered,
        )

    @db_work(name="unlock", group="account")
    def _unlock(self, person) -> None:
        from school_tui.db import lockout

        self.session.run(lambda conn: lockout.unlock_login(conn, person.id))
        deliver(self._account_done, f"{person.full_name} is unlocked.")

    def _account_done(self, note: str, temporary: TemporaryPassword | None = None) -> None:
        """An account change went through: `note` to show, maybe a password to show once."""
        self.notify(clean(note), markup=False)  # the note holds a person's name
        self.reload()
        if temporary is not None:
            self._show_temporary(temporary)

    def _show_temporary(self, temporary: TemporaryPassword) -> None:
        """The password, once; then the search box has the cursor, whatever had it before."""
        self.app.push_screen(
            TemporaryPasswordModal(temporary), lambda _closed: self.action_focus_search()
        )
