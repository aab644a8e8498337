"""The app's one form: a `FormSpec` says what the fields are, how they are checked and how
they are saved; `FormModal` shows it and does the rest, the same way for every form (a fee
schedule, a discount, a section, a student, a person).

- **Keys.** Enter moves to the next field and saves from the last one; choosing in a list
  (a Select) moves on too. Ctrl+S saves from anywhere, Escape cancels. The line under the
  fields says so. A short dialog (`enter_saves`: a remark, a choice among a few) saves with
  Enter from any of its fields, and its line says that instead (`hint`).
- **Fields.** An Input, a Select (`options`), or, for a handful of choices that Up/Down go
  through, a list shown open (`options` and `listed`). A `Row` puts fields side by side on
  one line under one label (a grid: an installment plan's due dates and amounts). A Select
  option may open a picker screen (`Field.pick`: "one student…"); what it picks is the
  field's value. A form that is one choice (`save_on_choice`) goes on as soon as it is made.
- **Keys of its own** (`actions`): fill fields from the others (split the fee over the
  dates typed). A FormModal subclass binds the key to `form_action('<name>')` (Textual
  binds keys per class), so the footer shows it.
- **Checking.** Nothing is sent until every field passes `check`; the first field that
  breaks a rule gets the cursor, its rule shows under it in red and on the status line.
- **Asking first.** `confirm` asks a question made from the checked values; `ask` reads the
  database first, in a worker (how many fees an assignment would add), and asks with what
  it found, or says there is nothing to do (`Unchanged`) and leaves the form open.
- **Saving.** A form that only asks (`save` None: a file's name) closes with the checked
  values. Otherwise `save` runs in a worker thread on the person's own connection, so the screen
  stays responsive and a refusal leaves the form open with what was typed. What the database
  refuses (`refused` turns it into a FieldError, see db/errors.py) shows the same way, under
  the field it names, after "Not saved."; anything else (a lost connection, a permission)
  goes to the app's one error handler.
- **Choices read from the database** (a section list, the school years): `choices` runs in
  a worker when the form opens and fills those Selects.

A form whose numbers are money gets the school's money format from its caller (the screen
reads `app.money_format`) and closes over it: nothing here depends on which app is running.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from school_tui.domain.fields import FieldError
from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.base import SchoolModal
from school_tui.widgets.confirm import ConfirmModal
from school_tui.widgets.modal import MODAL_CSS
from school_tui.widgets.safe import safe_text

HINT = "Enter: next field, then save · Ctrl+S saves · Esc cancels"
ENTER_SAVES_HINT = "Enter saves · Esc cancels"


@dataclass(frozen=True)
class Field:
    id: str  # the widget's id; FieldError.field names it
    label: str
    value: Any = ""  # an Input's text, or a Select's value (Select.NULL or "" for none)
    placeholder: str = ""  # an Input's placeholder, or a Select's prompt
    options: Sequence[tuple[str, Any]] | None = None  # a Select instead of an Input
    max_length: int = 0
    disabled: bool = False
    listed: bool = False  # `options` shown as an open list (Up/Down choose), not a Select
    pick: Pick | None = None  # an option of the Select that opens a picker


@dataclass(frozen=True)
class Pick:
    """A Select option that opens a picker: `value` is the option's value, `screen(session)`
    the screen, which dismisses with the field's value, or None (`cancelled` says so)."""

    value: Any
    screen: Callable[[Any], Any]
    cancelled: str = "Nothing chosen."


@dataclass(frozen=True)
class Row:
    """Fields side by side on one line, under one label (their own labels are not shown)."""

    label: str
    fields: Sequence[Field]


@dataclass(frozen=True)
class Unchanged:
    """What `ask` returns when saving would change nothing: the note says why, and the form
    stays open with what was chosen."""

    note: str


@dataclass(frozen=True)
class Options:
    """Choices read from the database for a Select, and the value to choose once they are
    there (None: the field's own value, when it is one of them)."""

    options: Sequence[tuple[str, Any]]
    value: Any = None


@dataclass
class FormSpec:
    title: str
    fields: Sequence[Field | Row]
    # values (field id -> text, or a Select's value, None when nothing is chosen) -> the
    # checked values, or raise FieldError
    check: Callable[[dict], Any]
    # (conn, checked) -> result, run in a worker as the person's own login; FieldError for
    # a rule it finds broken. None: the form only asks, and closes with the checked values.
    save: Callable[[Any, Any], Any] | None
    note: str = ""
    # Text for a live line under the fields, recomputed on every change (None: no line).
    live: Callable[[dict], str] | None = None
    # A question to confirm before saving (from the checked values), None: no question.
    confirm: Callable[[Any], str | None] | None = None
    # (conn, checked) -> the question to confirm, read from the database in a worker before
    # saving; or Unchanged(note): nothing to save, the form stays open.
    ask: Callable[[Any, Any], str | Unchanged] | None = None
    asking: str = "Checking…"  # the status line while `ask` reads
    confirm_title: str | None = None  # the question's title (None: the form's)
    not_confirmed: str = "Not saved."  # the status line when the answer is No
    # conn -> {field id: Options or [(label, value)]}: Selects filled when the form opens.
    choices: Callable[[Any], Mapping[str, Any]] | None = None
    # An error `save` raised -> FieldError when it is the database refusing a rule (worker
    # thread), None to leave it to the app's error handler.
    refused: Callable[[BaseException], FieldError | None] | None = None
    saving: str = "Saving…"  # the status line while it saves
    # (checked, result) -> a toast once saved (None: the caller says what it needs to).
    saved_note: Callable[[Any, Any], str] | None = None
    compact: bool = False  # one line per field (a long form at 80x24)
    enter_saves: bool = False  # Enter saves from any field (a short dialog)
    save_on_choice: bool = False  # a choice made in a Select saves (a form that is one choice)
    # name -> fill(values) -> {field id: new text}: fields filled from the others (a
    # FieldError when it cannot), run by the key bound to form_action('<name>').
    actions: Mapping[str, Callable[[dict], Mapping[str, str]]] = field(default_factory=dict)
    hint: str | None = None  # the line under the fields; None: what the keys do here
    label_width: int = 18
    width: int | None = None  # the dialog's width (None: the form's own)
    extra: dict = field(default_factory=dict)

    def inputs(self) -> list[Field]:
        """Every field, those of a Row one after another."""
        out: list[Field] = []
        for item in self.fields:
            out.extend(item.fields if isinstance(item, Row) else (item,))
        return out


class FormModal(SchoolModal[Any]):
    """A form from a FormSpec; dismisses with what `save` returned, None when cancelled."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="FormModal")
        + """
    FormModal > Vertical { width: 76; }
    FormModal .modal-title { margin-bottom: 0; }
    FormModal #form-fields { height: auto; max-height: 16; }
    FormModal .field { height: auto; margin-top: 0; }
    FormModal .field .in-row { width: 1fr; }
    FormModal .field Label { padding-top: 1; }
    FormModal .field Input, FormModal .field Select { width: 1fr; }
    FormModal .field OptionList { width: 1fr; height: auto; max-height: 7; }
    FormModal .field-error { color: $error; height: auto; display: none; }
    FormModal .field-error.shown { display: block; }
    FormModal .invalid, FormModal .invalid:focus { border: tall $error; }
    FormModal #form-live { height: auto; text-style: bold; }
    FormModal.-compact #form-fields { max-height: 18; }
    FormModal.-compact .field Label { padding-top: 0; }
    FormModal.-compact .invalid, FormModal.-compact .invalid:focus {
        border: none; background: $error 30%;
    }
    """
    )
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save"),
    ]

    def __init__(self, session, spec: FormSpec) -> None:
        """`session`: the person's, for `choices` and `save` (None for a form that only asks)."""
        super().__init__(classes="-compact" if spec.compact else "")
        self.session = session
        self.spec = spec
        self._busy = False
        self._checked: Any = None  # what is being saved
        self._picked: dict[str, Any] = {}  # field id -> what its picker chose

    def compose(self) -> ComposeResult:
        spec = self.spec
        with Vertical():
            yield Static(safe_text(spec.title), classes="modal-title")
            if spec.note:
                yield Static(safe_text(spec.note, multiline=True), classes="modal-note")
            with VerticalScroll(id="form-fields"):
                for item in spec.fields:
                    fields = item.fields if isinstance(item, Row) else (item,)
                    with Horizontal(classes="field"):
                        label = Label(item.label, markup=False)
                        label.styles.width = spec.label_width
                        yield label
                        for f in fields:
                            widget = self._widget(f)
                            if isinstance(item, Row):
                                widget.add_class("in-row")
                            yield widget
                    for f in fields:
                        yield Static("", classes="field-error", id=f"{f.id}-error")
            if spec.live is not None:
                yield Static("", id="form-live")
            yield Static(self.hint, classes="form-status", id="form-status")
        yield Footer()

    def _widget(self, f: Field) -> Input | Select | OptionList:
        compact = self.spec.compact
        if f.options is not None and f.listed:
            return OptionList(
                *(Option(safe_text(label)) for label, _value in f.options),
                id=f.id,
                disabled=f.disabled,
            )
        if f.options is not None:
            return Select(
                list(f.options),
                id=f.id,
                prompt=f.placeholder or "Choose",
                # a value among choices read later is set once they are
                value=f.value if _offered(f) else Select.NULL,
                compact=compact,
                disabled=f.disabled,
            )
        return Input(
            str(f.value or ""),
            placeholder=f.placeholder,
            id=f.id,
            max_length=f.max_length,
            compact=compact,
            disabled=f.disabled,
        )

    @property
    def hint(self) -> str:
        """What the keys do in this form (the line under the fields, until a status)."""
        if self.spec.hint is not None:
            return self.spec.hint
        return ENTER_SAVES_HINT if self.spec.enter_saves else HINT

    def on_mount(self) -> None:
        if self.spec.width is not None:
            self.query_one(Vertical).styles.width = self.spec.width
        for f in self.spec.inputs():
            if f.listed:
                values = [value for _label, value in f.options or ()]
                listed = self.query_one(f"#{f.id}", OptionList)
                listed.highlighted = values.index(f.value) if f.value in values else 0
        first = next((f for f in self.spec.inputs() if not f.disabled), None)
        if first is not None:
            self.query_one(f"#{first.id}").focus()
        self._update_live()
        if self.spec.choices is not None:
            self._load_choices()

    # -- choices read from the database ------------------------------------------------------

    @db_work(name="form choices", group="form-choices")
    def _load_choices(self) -> None:
        choices = self.spec.choices
        assert choices is not None
        deliver(self._choices_loaded, self.session.run(choices))

    def _choices_loaded(self, choices: Mapping[str, Any]) -> None:
        own = {f.id: f.value for f in self.spec.inputs()}
        for field_id, found in choices.items():
            if not isinstance(found, Options):
                found = Options(list(found))
            select = self.query_one(f"#{field_id}", Select)
            with self.prevent(Select.Changed):
                select.set_options(list(found.options))
                offered = {value for _label, value in found.options}
                for wanted in (found.value, own.get(field_id)):
                    if _chosen(wanted) and wanted in offered:
                        select.value = wanted
                        break
        self._update_live()

    # -- values --------------------------------------------------------------------------

    def values(self) -> dict:
        out = {}
        for f in self.spec.inputs():
            widget = self.query_one(f"#{f.id}")
            if isinstance(widget, OptionList):
                index = widget.highlighted
                out[f.id] = None if index is None else (f.options or ())[index][1]
                continue
            assert isinstance(widget, (Input, Select))
            value = widget.value
            if f.pick is not None and value == f.pick.value:
                value = self._picked.get(f.id)  # what the picker chose (None: nothing yet)
            out[f.id] = None if value is Select.NULL else value
        return out

    def _update_live(self) -> None:
        if self.spec.live is not None:
            self.query_one("#form-live", Static).update(
                safe_text(self.spec.live(self.values()), multiline=True)
            )

    @on(Input.Changed)
    @on(Select.Changed)
    @on(OptionList.OptionHighlighted)
    def _changed(self, event) -> None:
        self._update_live()

    @on(Select.Changed)
    def _chose(self, event: Select.Changed) -> None:
        """A choice made in a list (not one set by the form itself): on to the next field, or
        (`save_on_choice`) on to saving; a picker's option opens the picker first."""
        select = event.select
        if event.value is Select.NULL or not select.has_focus_within or self._busy:
            return
        f = next((f for f in self.spec.inputs() if f.id == select.id), None)
        if f is None:
            return
        if f.pick is not None and event.value == f.pick.value:
            pick = f.pick

            def picked(value: Any) -> None:
                if value is None:
                    with self.prevent(Select.Changed):
                        select.clear()  # choosing it again opens the picker again
                    self.set_status(pick.cancelled)
                    select.focus()
                    return
                self._picked[f.id] = value
                self._chosen(f.id)

            self.app.push_screen(pick.screen(self.session), picked)
            return
        self._chosen(f.id)

    def _chosen(self, field_id: str) -> None:
        if self.spec.save_on_choice:
            self.action_save()
        else:
            self._focus_after(field_id)

    def action_form_action(self, name: str) -> None:
        if self._busy:
            return
        try:
            filled = self.spec.actions[name](self.values())
        except FieldError as exc:
            self.show_error(exc)
            return
        self.clear_errors()
        for field_id, text in filled.items():
            self.query_one(f"#{field_id}", Input).value = text

    @on(Input.Submitted)
    @on(OptionList.OptionSelected)
    def _next_field(self, event: Input.Submitted | OptionList.OptionSelected) -> None:
        """Enter in a field: save (`enter_saves`, or the last field), else the next field."""
        widget = event.input if isinstance(event, Input.Submitted) else event.option_list
        if self.spec.enter_saves or not self._focus_after(widget.id):
            self.action_save()

    def _focus_after(self, field_id: str | None) -> bool:
        """Focus the next field that takes input; False when `field_id` is the last one."""
        ids = [f.id for f in self.spec.inputs() if not f.disabled]
        if field_id not in ids:
            return False
        later = ids[ids.index(field_id) + 1 :]
        if not later:
            return False
        self.query_one(f"#{later[0]}").focus()
        return True

    # -- status and errors -------------------------------------------------------------------

    def set_status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#form-status", Static)
        status.update(safe_text(text, multiline=True))
        status.set_class(error, "error")

    def clear_errors(self) -> None:
        for f in self.spec.inputs():
            self.query_one(f"#{f.id}").remove_class("invalid")
            error = self.query_one(f"#{f.id}-error", Static)
            error.update("")
            error.remove_class("shown")

    def show_error(self, error: FieldError, status: str | None = None) -> None:
        """The rule under its field (the cursor goes there) and on the status line."""
        self.clear_errors()
        self.set_status(status if status is not None else error.message, error=True)
        if error.field is None or not self.query(f"#{error.field}-error"):
            return
        widget = self.query_one(f"#{error.field}")
        widget.add_class("invalid")
        below = self.query_one(f"#{error.field}-error", Static)
        below.update(safe_text(error.message))
        below.add_class("shown")
        widget.focus()

    # -- saving --------------------------------------------------------------------------

    def action_cancel(self) -> None:
        if not self._busy:
            self.dismiss(None)

    def action_save(self) -> None:
        if self._busy:
            return
        try:
            checked = self.spec.check(self.values())
        except FieldError as exc:
            self.show_error(exc)
            return
        self.clear_errors()
        if self.spec.ask is not None:
            self._busy = True
            self.set_status(self.spec.asking)
            self._ask(checked)
            return
        self._confirm(checked, self.spec.confirm(checked) if self.spec.confirm else None)

    @db_work(name="form question", group="form-save", exclusive=True, on_failed="_save_failed")
    def _ask(self, checked: Any) -> None:
        ask = self.spec.ask
        assert ask is not None
        deliver(self._asked, checked, self.session.run(lambda conn: ask(conn, checked)))

    def _asked(self, checked: Any, question: str | Unchanged) -> None:
        self._busy = False
        if isinstance(question, Unchanged):
            self.set_status(question.note)
            return
        self._confirm(checked, question)

    def _confirm(self, checked: Any, question: str | None) -> None:
        """Save `checked`, once the answer to `question` (None: no question) is yes."""
        if not question:
            self._start_save(checked)
            return
        self._busy = True  # until answered: Escape, Enter and a choice wait

        def answered(yes: bool | None) -> None:
            self._busy = False
            if yes:
                self._start_save(checked)
            else:
                self.set_status(self.spec.not_confirmed)

        title = self.spec.confirm_title or self.spec.title
        self.app.push_screen(ConfirmModal(title, question), answered)

    def _start_save(self, checked: Any) -> None:
        if self.spec.save is None:
            self.dismiss(checked)
            return
        self._busy = True
        self._checked = checked
        self.set_status(self.spec.saving)
        self._save(checked)

    @db_work(name="save form", group="form-save", exclusive=True, on_failed="_save_failed")
    def _save(self, checked: Any) -> None:
        spec = self.spec
        save = spec.save
        assert save is not None
        try:
            result = self.session.run(lambda conn: save(conn, checked))
        except FieldError as exc:
            deliver(self._save_refused, exc)
            return
        except Exception as exc:
            refusal = spec.refused(exc) if spec.refused is not None else None
            if refusal is None:
                raise
            deliver(self._save_refused, refusal)
            return
        deliver(self._saved, result)

    def _save_refused(self, error: FieldError) -> None:
        self._busy = False
        self.show_error(error, f"Not saved. {error.message}")

    def _save_failed(self, exc: Exception) -> None:
        """The save raised (the app's handler shows why); the form is usable again."""
        self._busy = False
        self.set_status("Not saved: see the message.", error=True)

    def _saved(self, result: Any) -> None:
        self._busy = False
        if self.spec.saved_note is not None:
            note = self.spec.saved_note(self._checked, result)
            self.app.notify(note, markup=False)
        self.dismiss(result)


def _chosen(value: Any) -> bool:
    return value is not None and value is not Select.NULL and value != ""


def _offered(f: Field) -> bool:
    return _chosen(f.value) and any(value == f.value for _label, value in f.options or ())
