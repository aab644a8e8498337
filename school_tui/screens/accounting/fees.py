"""Accounting's fee administration: fee types, fee schedules (a fee type's amount per grade
level and school year), assigning them to a grade level, a section or one student (a late
enrollee), installment plans, and the corrections made from a statement (discounts and
scholarships, payment reversals).

Every form checks its fields first (school_tui/domain/fee_rules.py) and says which rule a field
broke; the ledger's functions in the database check again and write append-only rows.
Bulk assignment asks first with the count, and a second run adds nothing and says so.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from school_tui.db import accounting_reports as ar
from school_tui.domain import fee_rules
from school_tui.domain.fields import FieldError
from school_tui.domain.money import MoneyFormat, format_money
from school_tui.runtime.messages import ConnectionRestored
from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.banner import ConnectionBanner
from school_tui.widgets.base import SchoolScreen
from school_tui.widgets.forms import Field, FormModal, FormSpec, Pick, Row, Unchanged
from school_tui.widgets.safe import safe_join, safe_text

# -- fee schedules ----------------------------------------------------------------------------


def _money_in(fmt: MoneyFormat | None):
    """Amounts in the school's money format `fmt`: a form's texts close over it."""
    return lambda amount: format_money(amount, fmt)


def schedule_form(
    choices: ar.ScheduleChoices, schedule: ar.Schedule | None = None, *, fmt: MoneyFormat | None
) -> FormSpec:
    """A new schedule, or a changed amount and due date of one (its year, grade level and
    fee type are what it is: a different one is a new schedule). `fmt`: the school's money
    format, for what is typed and what is shown."""
    s = schedule
    money = _money_in(fmt)

    def check(values: dict) -> dict:
        if s is None:
            if values["sched-year"] is None:
                raise FieldError("sched-year", "School year: choose one")
            if values["sched-grade"] is None:
                raise FieldError("sched-grade", "Grade level: choose one")
            if values["sched-type"] is None:
                raise FieldError("sched-type", "Fee type: choose one")
        value = fee_rules.amount(values["sched-amount"], "sched-amount", "Amount", fmt)
        due = fee_rules.required_date(values["sched-due"], "sched-due", "Due date")
        if s is not None and s.plan and value != s.amount:
            raise FieldError(
                "sched-amount",
                f"Amount: its {len(s.plan)} installments add up to {money(s.amount)}; change "
                "the plan with it (i, then clear it to one due)",
            )
        return {
            "school_year_id": s.school_year_id if s else values["sched-year"],
            "grade_level": s.grade_level if s else values["sched-grade"],
            "fee_type": s.fee_type if s else values["sched-type"],
            "amount": value,
            "due_date": due,
            "plan": s.plan if s else [],
            "schedule_id": s.id if s else None,  # None: new, refused if it exists
        }

    def save(conn, checked: dict) -> str:
        ar.save_schedule(conn, **checked)
        return f"{checked['fee_type']} for {checked['grade_level']}: {money(checked['amount'])}"

    if s is None:
        fields = [
            Field("sched-year", "School year", options=choices.years),
            Field("sched-grade", "Grade level", options=[(g, g) for g in choices.grades]),
            Field("sched-type", "Fee type", options=[(t, t) for t in choices.fee_types]),
        ]
    else:
        fields = []
    fields += [
        Field("sched-amount", "Amount", str(s.amount) if s else "", placeholder="e.g. 25000.00"),
        Field(
            "sched-due", "Due date", s.due_date.isoformat() if s else "", placeholder="YYYY-MM-DD"
        ),
    ]
    return FormSpec(
        title="New fee schedule"
        if s is None
        else f"{s.fee_type} · {s.grade_level} · {s.school_year}",
        note=(
            "Fees already assigned keep their amount (correct those with a discount or "
            "scholarship); the change applies to fees assigned from now on."
            if s
            else "Assign it to students with b."
        ),
        fields=fields,
        check=check,
        save=save,
    )


REQUIRED_CHOICES = (("Yes: needed for Payment Complete", "yes"), ("No: optional", "no"))
FEE_TYPE_MAX = 60  # the database's rule for fee_types.name


def fee_type_form(existing: list) -> FormSpec:
    """A new fee type: its name and whether it is required (the year's required fees, all
    paid, move a Verified enrollment to Payment Complete). `existing`: ledger.FeeType rows."""
    taken = {t.name.casefold(): t.name for t in existing}

    def check(values: dict) -> dict:
        name = " ".join((values["type-name"] or "").split())
        if not name:
            raise FieldError("type-name", "Name: required")
        if len(name) > FEE_TYPE_MAX:
            raise FieldError(
                "type-name", f"Name: at most {FEE_TYPE_MAX} characters (you typed {len(name)})"
            )
        if any(not ch.isprintable() for ch in name):
            raise FieldError("type-name", "Name: no control characters (tabs, escapes, …)")
        if name.casefold() in taken:
            raise FieldError("type-name", f"Name: the fee type {taken[name.casefold()]} exists")
        if values["type-required"] is None:
            raise FieldError("type-required", "Required: choose yes or no")
        return {"name": name, "required": values["type-required"] == "yes"}

    def save(conn, checked: dict) -> str:
        ar.add_fee_type(conn, checked["name"], checked["required"])
        kind = "required" if checked["required"] else "optional"
        return f"Fee type {checked['name']} added ({kind})"

    listed = ", ".join(t.name + ("" if t.required else " (optional)") for t in existing)
    return FormSpec(
        title="New fee type",
        note=f"There are: {listed or 'none yet'}. Give it an amount per grade level with n.",
        fields=[
            Field("type-name", "Name", placeholder="e.g. Computer laboratory"),
            Field("type-required", "Required", options=REQUIRED_CHOICES, placeholder="Yes or no"),
        ],
        check=check,
        save=save,
    )


# -- corrections from a statement line ---------------------------------------------------------

ADJUSTMENT_MODES = (("Fixed amount", "fixed"), ("Percentage of the fee", "percent"))


def adjustment_form(line, approvers: list, *, fmt: MoneyFormat | None) -> FormSpec:
    """A discount or scholarship on the charge of a statement line: its own row in the
    ledger, never an edit of the fee. The key is made when the form opens, so saving twice
    (a retry after a lost reply) records it once."""
    from school_tui.db.ledger import ADJUSTMENT_KINDS, new_client_key

    money = _money_in(fmt)

    key = new_client_key()

    def check(values: dict) -> dict:
        if values["adj-kind"] is None:
            raise FieldError("adj-kind", "Kind: discount, scholarship or waiver")
        if values["adj-mode"] is None:
            raise FieldError("adj-mode", "Type: fixed amount or percentage")
        amount = percent = None
        if values["adj-mode"] == "percent":
            percent = fee_rules.percentage(values["adj-value"], "adj-value", "Value")
        else:
            amount = fee_rules.amount(values["adj-value"], "adj-value", "Value", fmt)
            if amount > line.charge:
                raise FieldError("adj-value", f"Value: at most the charge ({money(line.charge)})")
        reason = fee_rules.reason(values["adj-reason"], "adj-reason")
        if values["adj-approved"] is None:
            raise FieldError("adj-approved", "Approved by: choose who approved it")
        return {
            "fee_id": line.fee_id,
            "kind": values["adj-kind"],
            "amount": amount,
            "percent": percent,
            "reason": reason,
            "approved_by": values["adj-approved"],
            "client_key": key,
        }

    def save(conn, checked: dict) -> str:
        ar.add_adjustment(conn, **checked)
        return f"{checked['kind']} recorded on {line.description}"

    return FormSpec(
        title=f"Discount or scholarship · {line.description}",
        note=f"Charge {money(line.charge)}. Recorded as its own adjustment; the fee stays as it is.",
        fields=[
            Field("adj-kind", "Kind", options=[(k, k) for k in ADJUSTMENT_KINDS]),
            Field("adj-mode", "Type", options=ADJUSTMENT_MODES),
            Field("adj-value", "Value", placeholder="amount, or percent such as 10"),
            Field("adj-reason", "Reason", placeholder="e.g. sibling discount"),
            Field("adj-approved", "Approved by", options=approvers, placeholder="Who approved"),
        ],
        check=check,
        save=save,
    )


def reversal_form(line, *, fmt: MoneyFormat | None) -> FormSpec:
    """Reverse a payment or an adjustment: a new row pointing at the original, with the
    reason; the original stays on record."""
    money = _money_in(fmt)
    is_payment = line.payment_id is not None
    what = f"payment {line.reference}" if is_payment else f"adjustment ({line.description})"

    def check(values: dict) -> dict:
        return {"reason": fee_rules.reason(values["rev-reason"], "rev-reason")}

    def save(conn, checked: dict) -> str:
        if is_payment:
            ar.reverse_payment(conn, line.payment_id, checked["reason"])
        else:
            ar.reverse_adjustment(conn, line.adjustment_id, checked["reason"])
        return f"Reversed {what}"

    return FormSpec(
        title=f"Reverse {what}",
        note=(
            f"{money(line.credit)} on {line.on}. It stays on record; a reversal pointing at it "
            "takes it back out of the balance"
            + (" and out of today's takings." if is_payment else ".")
        ),
        fields=[Field("rev-reason", "Reason", placeholder="e.g. bounced check, wrong student")],
        check=check,
        save=save,
        confirm=lambda c: (
            f"Reverse {what} of {money(line.credit)} because: {c['reason']}? This cannot be undone."
        ),
    )


# -- bulk assignment ------------------------------------------------------------------------


ONE_STUDENT = "one student"  # the scope Select's value that opens the student picker


class AssignModal(FormModal):
    """Assign the year's fee schedules to every student of a grade level or a section, or to
    one student (found by name or number: a late enrollee): choose, see the count, confirm.
    Fees a student already has are counted and left alone. Dismisses with what it did."""

    def __init__(self, session, year: tuple[int, str], scopes: list) -> None:
        super().__init__(session, assign_form(year, scopes))


def assign_form(year: tuple[int, str], scopes: list) -> FormSpec:
    """`scopes`: (label, (grade level, section id or None)) of the year's grade levels and
    sections. The checked value is (grade level, section id, student id), two of them None."""
    from school_tui.widgets.pickers import StudentPicker

    year_id, year_name = year
    options = [(label, (*key, None)) for label, key in scopes]
    labels = {key: label for label, key in options}

    def check(values: dict) -> tuple:
        scope = values["assign-scope"]
        if scope is None:
            raise FieldError("assign-scope", "Assign to: a grade level, a section or one student")
        return (None, None, scope) if isinstance(scope, int) else tuple(scope)

    def ask(conn, scope: tuple) -> str | Unchanged:
        one = scope[2] is not None
        if one:
            from school_tui.db.ledger import account

            student = account(conn, scope[2])
            label = student.name if student else f"student {scope[2]}"
            if student is not None and student.number:
                label = f"{label} ({student.number})"
        else:
            label = labels[scope]
        students, new, already = ar.assign_preview(conn, year_id, *scope)
        if new == 0 and one and students:
            return Unchanged(
                f"Nothing to add: {label} already has every fee of {year_name} ({already} fees)."
            )
        if new == 0 and one:
            return Unchanged(
                f"{label} is not enrolled in {year_name} (or has withdrawn), or no fee schedule "
                "applies to their grade level."
            )
        if new == 0 and students:
            return Unchanged(
                f"Nothing to add: the {students} students of {label} already have every fee of "
                f"{year_name} ({already} fees)."
            )
        if new == 0:
            return Unchanged(f"{label} has no enrolled students, or no fee schedule applies.")
        whom = label if one else f"the {students} students of {label}"
        return (
            f"Charge {new} fees to {whom} ({year_name})? {already} fees they already have are "
            "left alone."
        )

    def save(conn, scope: tuple) -> str:
        added = ar.assign_fees(conn, year_id, *scope)
        return f"Charged {added} fees." if added else "Nothing added: they all had these fees."

    def picker(session):
        return StudentPicker(session, f"Assign the fees of {year_name} to which student?")

    return FormSpec(
        title=f"Assign the fee schedules of {year_name}",
        note=(
            "Every schedule of the year for the students' grade level is charged once; "
            "students who already have a fee from a schedule keep it as it is."
        ),
        fields=[
            Field(
                "assign-scope",
                "Assign to",
                options=[("One student (find by name or number)…", ONE_STUDENT), *options],
                placeholder="Grade level, section or one student",
                pick=Pick(ONE_STUDENT, picker, cancelled="No student chosen."),
            )
        ],
        check=check,
        ask=ask,
        asking="Counting…",
        confirm_title="Assign fees",
        not_confirmed="Nothing assigned.",
        save=save,
        saving="Assigning…",
        save_on_choice=True,
        hint="Enter on a choice counts the fees and asks before assigning · Esc cancels",
        label_width=11,
    )


# -- installment plans ------------------------------------------------------------------------

PLAN_ROWS = 10


class InstallmentModal(FormModal):
    """Due dates and amounts for a schedule's fee; the line under them shows, as you type,
    what is left to assign (the plan saves only when it is exactly zero)."""

    # Before the Inputs' own Ctrl+E (end of line; End does that too): the hint's key works
    # from whichever field has the cursor.
    BINDINGS = [
        Binding("ctrl+e", "form_action('split')", "Split evenly", id="plan.split", priority=True)
    ]

    def __init__(
        self, session, schedule: ar.Schedule, plan: list, *, fmt: MoneyFormat | None
    ) -> None:
        super().__init__(session, installment_form(schedule, plan, fmt=fmt))


def installment_form(s: ar.Schedule, plan: list, *, fmt: MoneyFormat | None) -> FormSpec:
    money = _money_in(fmt)
    numbers = range(1, PLAN_ROWS + 1)

    def row(n: int) -> Row:
        due, value = ("", "")
        if n <= len(plan):
            due, value = plan[n - 1][0].isoformat(), str(plan[n - 1][1])
        return Row(
            f"{n:>2}",
            [
                Field(f"due-{n}", f"Due date {n}", due, placeholder="due YYYY-MM-DD"),
                Field(f"amount-{n}", f"Amount {n}", value, placeholder="amount"),
            ],
        )

    def rows(values: dict) -> list[tuple[str, str]]:
        return [(values[f"due-{n}"] or "", values[f"amount-{n}"] or "") for n in numbers]

    def check(values: dict) -> list:
        typed = rows(values)
        if not any(d.strip() or a.strip() for d, a in typed):
            return []  # no plan: one due, on the schedule's due date
        return fee_rules.installment_plan(s.amount, typed, fmt)

    def save(conn, checked: list) -> str:
        ar.save_schedule(
            conn,
            s.school_year_id,
            s.grade_level,
            s.fee_type,
            s.amount,
            s.due_date,
            [(i.due_date, i.amount) for i in checked],
            schedule_id=s.id,
        )
        if checked:
            return f"{len(checked)} installments saved for {s.fee_type}."
        return f"{s.fee_type}: one due, on {s.due_date}."

    def live(values: dict) -> str:
        left = fee_rules.plan_difference(s.amount, [a for _, a in rows(values)], fmt)
        if left is None:
            return "An amount is not a valid amount yet."
        if left == 0:
            return f"Adds up to the fee exactly ({money(s.amount)})."
        if left > 0:
            return f"Left to assign: {money(left)}"
        return f"Over the fee by {money(-left)}"

    def split(values: dict) -> dict[str, str]:
        dated = [n for n, (due, _) in enumerate(rows(values), start=1) if due.strip()]
        if not dated:
            raise FieldError(None, "Type the due dates first, then Ctrl+E.")
        parts = fee_rules.split_evenly(s.amount, len(dated))
        return {f"amount-{n}": str(part) for n, part in zip(dated, parts, strict=True)}

    return FormSpec(
        title=f"Installments · {s.fee_type} {s.grade_level} · {money(s.amount)}",
        fields=[row(n) for n in numbers],
        check=check,
        save=save,
        live=live,
        actions={"split": split},
        compact=True,
        label_width=4,
        width=60,
        hint=(
            "Enter: next field · Ctrl+S saves (all empty: one due) · Ctrl+E splits the fee "
            "over the dates · Esc cancels"
        ),
    )


# -- the screen -------------------------------------------------------------------------------


class FeesScreen(SchoolScreen):
    DEFAULT_CSS = """
    FeesScreen #title-bar { height: 1; background: $primary; color: $text; padding: 0 1; }
    FeesScreen DataTable { height: 1fr; }
    FeesScreen #fees-status { height: 1; color: $text-muted; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="fees.back"),
        Binding("n", "new", "New", id="fees.new"),
        Binding("e", "edit", "Edit", id="fees.edit"),
        Binding("b", "assign", "Assign", id="fees.assign"),
        Binding("i", "installments", "Plan", id="fees.installments"),
        Binding("t", "fee_type", "Fee type", id="fees.fee-type"),
    ]
    COLUMNS = ("Year", "Grade level", "Fee type", "Amount", "Due", "Plan", "Assigned")

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session
        self.schedules: list[ar.Schedule] = []
        self.choices: ar.ScheduleChoices | None = None
        self.fee_types: list = []
        self._note = ""

    def compose(self) -> ComposeResult:
        yield Static(
            safe_join("Fee schedules", "·", "amounts per grade level and school year"),
            id="title-bar",
        )
        yield ConnectionBanner()
        table: DataTable = DataTable(id="fees-table", cursor_type="row", zebra_stripes=True)
        table.loading = True
        yield table
        yield Static("", id="fees-status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Fee schedules"
        self.query_one(DataTable).add_columns(*self.COLUMNS)
        self.query_one(DataTable).focus()
        self.reload()

    def reload(self) -> None:
        self._load()

    @db_work(name="fee schedules", group="acct-fees", exclusive=True)
    def _load(self) -> None:
        def fetch(conn):
            return ar.fee_schedules(conn), ar.schedule_choices(conn), ar.fee_types(conn)

        deliver(self._schedules_loaded, *self.session.run(fetch))

    def _schedules_loaded(self, schedules: list, choices, fee_types: list) -> None:
        self.schedules, self.choices, self.fee_types = schedules, choices, fee_types
        table = self.query_one(DataTable)
        row = table.cursor_row
        with self.app.batch_update():
            table.clear()
            for s in self.schedules:
                table.add_row(
                    safe_text(s.school_year),
                    safe_text(s.grade_level),
                    safe_text(s.fee_type),
                    safe_text(format_money(s.amount, self.app.money_format)),
                    safe_text(s.due_date.isoformat()),
                    safe_text(f"{s.installments} dues" if s.installments else "1 due"),
                    safe_text(s.assigned),
                    key=str(s.id),
                )
            table.loading = False
        if self.schedules:
            table.move_cursor(row=min(row, len(self.schedules) - 1))
        status = (
            f"{len(self.schedules)} schedules · n new · e edit · b assign · i installments"
            " · t new fee type"
            if self.schedules
            else "No fee schedules yet: n makes one (t: a new fee type)."
        )
        if self._note:  # what the last change did stays in view after the reload
            status = f"{self._note} · {status}"
        self.query_one("#fees-status", Static).update(safe_text(status))

    def _scopes_loaded(self, year: tuple[int, str], scopes: list) -> None:
        self.app.push_screen(AssignModal(self.session, year, scopes), self._done)

    def _current(self) -> ar.Schedule | None:
        table = self.query_one(DataTable)
        if not self.schedules or not table.row_count:
            self.notify("No schedule chosen: n makes one.", markup=False)
            return None
        return self.schedules[table.cursor_row]

    def _done(self, result) -> None:
        if result:
            self._note = str(result)
            self.notify(self._note, title="Fees", markup=False)
        self.reload()

    def action_new(self) -> None:
        if self.choices is not None:
            spec = schedule_form(self.choices, fmt=self.app.money_format)
            self.app.push_screen(FormModal(self.session, spec), self._done)

    def action_edit(self) -> None:
        s = self._current()
        if s is not None and self.choices is not None:
            spec = schedule_form(self.choices, s, fmt=self.app.money_format)
            self.app.push_screen(FormModal(self.session, spec), self._done)

    def action_assign(self) -> None:
        s = self._current()
        if s is not None:
            self._load_scopes(s)

    @db_work(name="assign scopes", group="acct-fees-open")
    def _load_scopes(self, s: ar.Schedule) -> None:
        scopes = self.session.run(lambda c: ar.assign_scopes(c, s.school_year_id))
        deliver(self._scopes_loaded, (s.school_year_id, s.school_year), scopes)

    def action_fee_type(self) -> None:
        if self.choices is not None:
            self.app.push_screen(FormModal(self.session, fee_type_form(self.fee_types)), self._done)

    def action_installments(self) -> None:
        s = self._current()
        if s is not None:
            self.app.push_screen(
                InstallmentModal(self.session, s, s.plan, fmt=self.app.money_format), self._done
            )

    def on_connection_restored(self, message: ConnectionRestored) -> None:
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    def palette_commands(self):
        return [
            ("New fee schedule", self.action_new, "A fee type's amount for a grade level"),
            ("Edit fee schedule", self.action_edit, "The highlighted schedule"),
            ("Assign fees", self.action_assign, "To a grade level, a section or one student"),
            ("New fee type", self.action_fee_type, "A fee's name, required or optional"),
            ("Installment plan", self.action_installments, "Due dates that add up to the fee"),
            ("Back", self.action_back, "Close fee schedules"),
        ]
