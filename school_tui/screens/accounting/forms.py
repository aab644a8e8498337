"""What the accounting screens share: a form modal that checks every field before it saves
(in a worker, so a refusal by the database leaves the form open with what was typed), and an
export modal whose file name's extension picks the format (.txt, .pdf, .csv).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Select, Static

from school_tui.domain.fee_rules import FieldError
from school_tui.runtime.workers import db_work
from school_tui.widgets.modal import MODAL_CSS
from school_tui.widgets.safe import clean, safe_text

# -- money in the school's format (config.toml -> SchoolApp.money_format) ---------------------

# Thread workers do not see Textual's active app: they run `with formatting(fmt)`, fmt read on
# the UI thread.
_FORMAT: ContextVar = ContextVar("school_tui_money_format", default=None)


def money_format():
    """The school's money format: the worker's, else the running app's, else the default."""
    from school_tui.domain.money import DEFAULT_FORMAT

    fmt = _FORMAT.get()
    if fmt is None:
        from textual._context import active_app

        try:
            fmt = getattr(active_app.get(), "money_format", None)
        except LookupError:
            fmt = None
    return fmt or DEFAULT_FORMAT


@contextmanager
def formatting(fmt) -> Iterator[None]:
    token = _FORMAT.set(fmt)
    try:
        yield
    finally:
        _FORMAT.reset(token)


def money(amount) -> str:
    """An amount as the school shows money (money.format_money)."""
    from school_tui.domain.money import format_money

    return format_money(amount, money_format())


def money_cell(amount, lead: str = ""):
    """A table cell of money: right-aligned, without the symbol (the column is money, and the
    symbol costs a column's worth of width at 80 columns). `lead`: a gap of its own, for a
    table without cell padding."""
    from school_tui.domain.money import format_money

    cell = safe_text(lead + format_money(amount, money_format(), symbol=False))
    cell.justify = "right"
    return cell


@dataclass
class Loaded(Message):
    """A worker's result for the screen that asked: `what` names the request."""

    what: str
    data: Any = None


@dataclass
class Failed(Message):
    """A worker raised (the app's error handler shows why); the screen is usable again."""

    what: str


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    value: str = ""
    placeholder: str = ""
    options: Sequence[tuple[str, Any]] | None = None  # a Select instead of an Input
    note: str = ""


@dataclass
class FormSpec:
    title: str
    fields: Sequence[Field]
    # values (field id -> text or Select value) -> the checked values, or FieldError
    check: Callable[[dict], Any]
    # (conn, checked) -> result, run in a worker as the person's own login
    save: Callable[[Any, Any], Any]
    note: str = ""
    # Text for a live line under the fields, recomputed on every change (None: no line).
    live: Callable[[dict], str] | None = None
    # A question to confirm before saving (from the checked values), None: no question.
    confirm: Callable[[Any], str | None] | None = None
    extra: dict = field(default_factory=dict)


class FormModal(ModalScreen[Any]):
    """A form from a FormSpec: Enter moves to the next field and saves from the last, Ctrl+S
    saves, Escape cancels. The first field that breaks a rule gets the cursor and the
    message; nothing is written until every field passes."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="FormModal")
        + """
    FormModal > Vertical { width: 76; }
    FormModal .modal-title { margin-bottom: 0; }
    FormModal #form-fields { height: auto; max-height: 16; }
    FormModal .field { height: auto; margin-top: 0; }
    FormModal .field Label { width: 18; padding-top: 1; }
    FormModal .field Input, FormModal .field Select { width: 1fr; }
    FormModal #form-live { height: auto; text-style: bold; }
    """
    )
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="acct-form.cancel"),
        Binding("ctrl+s", "save", "Save", id="acct-form.save"),
    ]

    def __init__(self, session, spec: FormSpec) -> None:
        super().__init__()
        self.session = session
        self.spec = spec
        self._busy = False
        self._confirmed: Any = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe_text(self.spec.title), classes="modal-title")
            if self.spec.note:
                yield Static(safe_text(self.spec.note, multiline=True), classes="modal-note")
            with VerticalScroll(id="form-fields"):
                for f in self.spec.fields:
                    with Horizontal(classes="field"):
                        yield Label(f.label)
                        if f.options is not None:
                            yield Select(
                                list(f.options),
                                id=f.id,
                                prompt=f.placeholder or "Choose",
                                value=f.value if f.value else Select.NULL,
                            )
                        else:
                            yield Input(f.value, placeholder=f.placeholder, id=f.id)
            if self.spec.live is not None:
                yield Static("", id="form-live")
            yield Static(
                "Enter: next field, then save · Ctrl+S saves · Esc cancels",
                classes="form-status",
                id="form-status",
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(f"#{self.spec.fields[0].id}").focus()
        self._update_live()

    # -- values --------------------------------------------------------------------------

    def values(self) -> dict:
        out = {}
        for f in self.spec.fields:
            widget = self.query_one(f"#{f.id}")
            value = widget.value
            out[f.id] = None if value is Select.NULL else value
        return out

    def _update_live(self) -> None:
        if self.spec.live is not None:
            self.query_one("#form-live", Static).update(safe_text(self.spec.live(self.values())))

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self, event) -> None:
        self._update_live()

    def set_status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#form-status", Static)
        status.update(safe_text(text, multiline=True))
        status.set_class(error, "error")

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        ids = [f.id for f in self.spec.fields]
        index = ids.index(event.input.id) if event.input.id in ids else -1
        if 0 <= index < len(ids) - 1:
            self.query_one(f"#{ids[index + 1]}").focus()
        else:
            self.action_save()

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
            self.set_status(exc.message, error=True)
            self.query_one(f"#{exc.field}").focus()
            return
        question = self.spec.confirm(checked) if self.spec.confirm else None
        if question:
            from school_tui.widgets.confirm import ConfirmModal

            def answered(yes: bool | None) -> None:
                if yes:
                    self._start_save(checked)
                else:
                    self.set_status("Not saved.")

            self.app.push_screen(ConfirmModal(self.spec.title, question), answered)
            return
        self._start_save(checked)

    def _start_save(self, checked: Any) -> None:
        self._busy = True
        self.set_status("Saving…")
        self._save(checked, money_format())

    @db_work(name="accounting form", group="acct-form", exclusive=True)
    def _save(self, checked: Any, fmt) -> None:
        try:
            with formatting(fmt):
                result = self.session.run(lambda conn: self.spec.save(conn, checked))
        except BaseException:
            self.post_message(Failed("save"))
            raise
        self.post_message(Loaded("saved", result))

    def on_failed(self, message: Failed) -> None:
        message.stop()
        self._busy = False
        self.set_status("Not saved: see the message.", error=True)

    def on_loaded(self, message: Loaded) -> None:
        message.stop()
        self._busy = False
        self.dismiss(message.data)


# -- export ---------------------------------------------------------------------------------

FORMATS = {".txt": "text", ".pdf": "PDF", ".csv": "CSV"}


def check_export_path(text: str, allowed: Sequence[str]) -> Path:
    """A new file in an existing folder (relative to the current one) whose extension is one
    of `allowed`: it picks the format."""
    text = text.strip()
    if not text:
        raise FieldError("export-path", "File: required")
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    if path.suffix.lower() not in allowed:
        kinds = ", ".join(f"{ext} ({FORMATS[ext]})" for ext in allowed)
        raise FieldError("export-path", f"File: end the name with {kinds}")
    if path.exists():
        raise FieldError("export-path", "File: already exists; choose another name")
    if not path.parent.is_dir():
        raise FieldError("export-path", f"File: the folder {clean(path.parent)} does not exist")
    return path


def default_name(stem: str, ext: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in stem)[:40]
    return f"{safe}-{datetime.now():%Y%m%d-%H%M%S}{ext}"


class ExportModal(ModalScreen[Path | None]):
    """Asks where to save; the extension of the name picks the format."""

    DEFAULT_CSS = MODAL_CSS.format(name="ExportModal")
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="acct-export.cancel")]

    def __init__(self, title: str, stem: str, allowed: Sequence[str]) -> None:
        super().__init__()
        self._title = title
        self.stem = stem
        self.allowed = list(allowed)

    def compose(self) -> ComposeResult:
        kinds = ", ".join(f"{ext} {FORMATS[ext]}" for ext in self.allowed)
        with Vertical():
            yield Static(safe_text(self._title), classes="modal-title")
            yield Label(f"File (a new file; the ending picks the format: {kinds})", markup=False)
            yield Input(default_name(self.stem, self.allowed[0]), id="export-path")
            yield Static(
                "Enter exports, Escape cancels.", classes="form-status", id="export-status"
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Input.Submitted, "#export-path")
    def _submit(self, event: Input.Submitted) -> None:
        try:
            path = check_export_path(event.value, self.allowed)
        except FieldError as exc:
            status = self.query_one("#export-status", Static)
            status.update(safe_text(exc.message))
            status.add_class("error")
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
