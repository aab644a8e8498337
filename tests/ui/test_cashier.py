"""Cashier mode through the real app (Pilot, 80x24) on the demo school: the keys a clerk
presses, what the screen shows, what the database then holds. The posting rules themselves
are proved in test_ledger.py; these check that the screen drives them as promised."""

from __future__ import annotations

from decimal import Decimal

from school_tui.app import SchoolApp
from school_tui.db import ledger
from school_tui.screens.accounting.cashier import CashierScreen
from tests.builders import verified_student
from tests.harness import assert_ledger_invariants, burst, log_in, wait_until
from tests.pages import BoardPage, CashierPage, ExportPage, notes

SIZE = (80, 24)


def _payments(school, student_id: int) -> list[tuple]:
    return school.admin.execute(
        "SELECT amount_paid, payment_method, reference FROM school.payments "
        "WHERE student_id = %s AND payment_date > now() - interval '1 hour' ORDER BY id",
        (student_id,),
    ).fetchall()


async def _find(pilot, name: str) -> None:
    app = pilot.app
    await pilot.press(*name, "enter")
    await wait_until(
        pilot,
        lambda: app.focused is CashierPage(app).amount_field,
        "the amount field, with the student's dues",
    )


async def test_a_cash_payment_takes_three_keys_and_a_double_enter_posts_once(demo_school):
    payer = verified_student(demo_school)
    app = SchoolApp(demo_school.target, prepare_server=False)
    cashier = CashierPage(app)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "accounting@demo.school")
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, CashierScreen), "the cashier")
        await _find(pilot, payer.name)
        assert f"balance ₱{payer.balance:,.2f}" in cashier.who()
        # Enter: the next due; Enter on Cash posts; the extra Enter lands on the method list
        # again before the reply or on the empty student field after it: nothing more posts.
        await pilot.press("enter", "enter", "enter")
        await wait_until(pilot, lambda: "OR 000" in cashier.receipt(), "the receipt")
        assert f"₱{payer.next_due:,.2f}" in cashier.receipt()
        assert "Next student" in cashier.status()
        assert "Enrollment now" not in cashier.status()  # a part paid moves no enrollment
        assert app.focused is cashier.student_field
        assert _payments(demo_school, payer.id) == [(payer.next_due, "Cash", None)]

        # By the student number this time. Overpayment is refused on screen, before anything
        # is sent.
        await _find(pilot, payer.number.lower())
        await pilot.press(*str(payer.balance + 1), "enter")
        assert "overpayment is refused" in cashier.status()
        # A check needs its number; then Enter posts.
        await pilot.press("ctrl+a", "ctrl+k", *"1.50", "enter", "down", "down", "enter")
        assert app.focused is cashier.reference_field
        await pilot.press("enter")
        assert "Reference: a check needs its reference number" in cashier.status()
        await pilot.press(*"CHK-77", "enter")
        await wait_until(pilot, lambda: "ref CHK-77" in cashier.receipt(), "the check's receipt")
        # Esc on an empty form: back to the home.
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CashierScreen), "the home")
    assert _payments(demo_school, payer.id) == [
        (payer.next_due, "Cash", None),
        (Decimal("1.50"), "Check", "CHK-77"),
    ]
    assert_ledger_invariants(demo_school.admin)


async def test_paying_the_balance_completes_the_enrollment_and_the_form_says_so(demo_school):
    payer = verified_student(demo_school)
    student, name, balance = payer.id, payer.name, payer.balance
    app = SchoolApp(demo_school.target, prepare_server=False)
    cashier = CashierPage(app)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "accounting@demo.school")
        app.screen.action_cashier()
        await wait_until(pilot, lambda: isinstance(app.screen, CashierScreen), "the cashier")
        await pilot.press(*"nobody-like-this", "enter")
        await wait_until(pilot, lambda: "nobody matches" in cashier.status(), "no match")
        await pilot.press("escape")
        await _find(pilot, name)
        await pilot.press(*f"{balance:,.2f}", "enter")
        methods = cashier.methods
        assert app.focused is methods
        await pilot.press("down", "down", "down", "enter")  # Card
        await wait_until(pilot, lambda: "Balance now ₱0.00" in cashier.receipt(), "the receipt")
        # the clerk can tell the student at the window
        assert "Enrollment now Payment Complete." in cashier.status()
    status = demo_school.admin.execute(
        "SELECT current_status FROM school.enrollment_progress WHERE student_id = %s", (student,)
    ).fetchone()[0]
    assert status == "Payment Complete"
    assert_ledger_invariants(demo_school.admin)


def _payment_count(school) -> int:
    return school.admin.execute("SELECT count(*) FROM school.payments").fetchone()[0]


def _lose_the_first_reply(monkeypatch, school, before_losing=None) -> list:
    """The cashier's post goes to the real database and commits; then, the first time only,
    its connection is killed before the reply is read back, so the screen gets the
    OperationalError of a lost reply for a payment that is in the books. Returns the calls:
    (client key, replayed) per post that reached the database."""
    real_post = ledger.post_payment
    calls: list = []

    def post(conn, *args):
        receipt = real_post(conn, *args)  # committed: the connection is in autocommit
        calls.append((args[-1], receipt.replayed))
        if len(calls) == 1:
            if before_losing is not None:
                before_losing()
            with school.server.admin() as admin:  # from another database
                admin.execute("SELECT pg_terminate_backend(%s, 10000)", (conn.info.backend_pid,))
            conn.execute("SELECT 1")  # psycopg.OperationalError: the server closed it
        return receipt

    monkeypatch.setattr(ledger, "post_payment", post)
    return calls


async def _open_cashier(pilot) -> None:
    await log_in(pilot, "accounting@demo.school")
    await pilot.press("p")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, CashierScreen), "the cashier")


async def test_a_post_whose_reply_was_lost_is_sent_again_with_its_key_and_posts_once(
    demo_school, monkeypatch
):
    payer = verified_student(demo_school)
    student, name, next_due = payer.id, payer.name, payer.next_due
    calls = _lose_the_first_reply(monkeypatch, demo_school)
    before = _payment_count(demo_school)
    app = SchoolApp(demo_school.target, prepare_server=False)
    cashier = CashierPage(app)
    async with app.run_test(size=SIZE) as pilot:
        await _open_cashier(pilot)
        await _find(pilot, name)
        await pilot.press("enter", "enter")  # the next due, Cash: posts; the reply is lost
        # Back by itself: the kept payment goes again before anything reloads, and the
        # database finds the first post under its key.
        await wait_until(pilot, lambda: "already posted, not again" in cashier.status(), "replay")
        assert f"₱{next_due:,.2f}" in cashier.receipt() and "OR 000" in cashier.receipt()
        assert app.focused is cashier.student_field
        assert not cashier.student_field.disabled
    assert len(calls) == 2 and calls[0][0] == calls[1][0]  # the same key, sent twice
    assert [replayed for _, replayed in calls] == [False, True]
    assert _payment_count(demo_school) == before + 1
    assert _payments(demo_school, student) == [(next_due, "Cash", None)]
    assert_ledger_invariants(demo_school.admin)


async def test_esc_does_not_drop_a_payment_whose_outcome_is_unknown(demo_school, monkeypatch):
    from psycopg import sql

    payer = verified_student(demo_school)
    student, name, next_due = payer.id, payer.name, payer.next_due
    database = sql.Identifier(demo_school.dbname)

    def allow(yes: bool) -> None:
        # From another database: the app cannot reconnect until it is allowed again.
        with demo_school.server.admin() as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(
                    database, sql.SQL("true" if yes else "false")
                )
            )

    calls = _lose_the_first_reply(monkeypatch, demo_school, before_losing=lambda: allow(False))
    before = _payment_count(demo_school)
    app = SchoolApp(demo_school.target, prepare_server=False)
    cashier = CashierPage(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _open_cashier(pilot)
            await _find(pilot, name)
            await pilot.press("enter", "enter")
            await wait_until(pilot, lambda: "may have been posted" in cashier.status(), "unknown")
            assert "sent again when the connection is back" in cashier.status()
            # The form is locked: nothing else can be posted meanwhile.
            assert cashier.student_field.disabled
            assert cashier.methods.disabled
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen.query("#confirm-no"), "the question")
            question = str(app.screen.query(".modal-note").first().render())
            assert f"₱{next_due:,.2f} Cash for" in question and "may have been posted" in question
            await pilot.press("n")  # keep it
            await wait_until(pilot, lambda: isinstance(app.screen, CashierScreen), "cashier")
            assert "may have been posted" in cashier.status()
            allow(True)
            await wait_until(
                pilot,
                lambda: "already posted" in cashier.status(),
                "the replay",
                timeout=60,
            )
            assert f"₱{next_due:,.2f}" in cashier.receipt()
    finally:
        allow(True)
    assert [replayed for _, replayed in calls] == [False, True]
    assert _payment_count(demo_school) == before + 1
    assert _payments(demo_school, student) == [(next_due, "Cash", None)]
    assert_ledger_invariants(demo_school.admin)


async def test_bad_amounts_are_refused_naming_the_field_and_the_rule(demo_school):
    name = verified_student(demo_school).name
    before = _payment_count(demo_school)
    app = SchoolApp(demo_school.target, prepare_server=False)
    cashier = CashierPage(app)
    async with app.run_test(size=SIZE) as pilot:
        await _open_cashier(pilot)
        await _find(pilot, name)
        amount = cashier.amount_field
        for typed, message in (
            ("0", "Amount: must be more than zero"),
            ("-5", "Amount: must be more than zero"),
            ("12.345", "Amount: at most two decimal places"),
            ("twelve", "Amount: 'twelve' is not an amount"),
            ("99999999999", "Amount: at most 9,999,999.99"),
        ):
            await pilot.press("ctrl+a", "ctrl+k", *typed, "enter")
            assert message in cashier.status(), typed
            assert cashier.refused()
            assert app.focused is amount  # still on the amount: no method, no post
            assert cashier.methods.disabled
    assert _payment_count(demo_school) == before


async def test_the_receipt_just_posted_saves_as_text_and_pdf(demo_school, tmp_path):
    payer = verified_student(demo_school)
    name, next_due, number = payer.name, payer.next_due, payer.number
    app = SchoolApp(demo_school.target, prepare_server=False)
    cashier = CashierPage(app)
    async with app.run_test(size=SIZE) as pilot:
        await _open_cashier(pilot)
        await _find(pilot, name)
        await pilot.press("enter", "enter")
        await wait_until(pilot, lambda: "Posted OR 0" in cashier.status(), "the receipt")
        label = cashier.status().split("Posted ", 1)[1].split(".", 1)[0]  # OR 000123
        for path in (tmp_path / "receipt.txt", tmp_path / "receipt.pdf"):
            await pilot.press("ctrl+s")
            export = ExportPage(app)
            await wait_until(pilot, export.is_open, "where to save")
            export.set_path(path)
            await pilot.press("enter")
            await wait_until(pilot, lambda p=path: f"Saved {p}" in cashier.status(), path.name)
        assert app.focused is cashier.student_field
    lines = (tmp_path / "receipt.txt").read_text(encoding="utf-8").splitlines()
    assert max(len(line) for line in lines) <= 40
    text = "\n".join(lines)
    assert "OFFICIAL RECEIPT" in text and label in text and number in text
    assert any(
        line.startswith("TOTAL PAID") and line.endswith(f"₱{next_due:,.2f}") for line in lines
    )
    assert (tmp_path / "receipt.pdf").read_bytes().startswith(b"%PDF-")
    assert_ledger_invariants(demo_school.admin)


async def test_the_registrars_board_shows_the_payment_completing_an_enrollment_live(demo_school):
    """Two sessions: the registrar watches the Payment Complete column while the accountant
    takes a Verified student's last required due at the window; the student appears on the
    registrar's board by itself, without a key."""
    from contextlib import contextmanager

    from school_tui.screens.registrar.board import EnrollmentBoardScreen

    @contextmanager
    def on(app):  # the app that Textual's calls below belong to (two apps in one test)
        with app._context():
            yield

    payer = verified_student(demo_school)
    name, balance, enrollment_id = payer.name, payer.balance, payer.enrollment_id
    registrar = SchoolApp(demo_school.target, prepare_server=False)
    accountant = SchoolApp(demo_school.target, prepare_server=False)
    async with registrar.run_test(size=SIZE) as pr, accountant.run_test(size=SIZE) as pa:
        with on(registrar):
            await log_in(pr, "registrar@demo.school")
            await pr.press("b")
            await wait_until(
                pr, lambda: isinstance(registrar.screen, EnrollmentBoardScreen), "the board"
            )
            board = registrar.screen
            await pr.press("3")
            board_page = BoardPage(registrar)
            table = board_page.table
            await wait_until(
                pr,
                lambda: board.status == "Payment Complete" and board_page.loaded(),
                "the Payment Complete column",
            )
            assert str(enrollment_id) not in table.rows
            complete = board.counts["Payment Complete"]
            verified = board.counts["Verified"]

        with on(accountant):
            await _open_cashier(pa)
            await _find(pa, name)
            await pa.press(*f"{balance:,.2f}", "enter", "enter")  # all of it, Cash
            await wait_until(
                pa, lambda: "Balance now ₱0.00" in CashierPage(accountant).receipt(), "paid"
            )

        with on(registrar):
            await wait_until(pr, lambda: str(enrollment_id) in table.rows, "the student, live")
            await wait_until(
                pr, lambda: board.counts["Payment Complete"] == complete + 1, "the counts"
            )
            assert board.counts["Verified"] == verified - 1
            shown = " ".join(str(cell) for cell in table.get_row(str(enrollment_id)))
            assert name.split()[-1] in shown
            assert registrar.screen is board  # no key was pressed: still the same column
    assert_ledger_invariants(demo_school.admin)


# -- type-ahead: a clerk who knows the keys types them in one go -------------------------------


async def test_a_whole_payment_typed_as_one_burst_posts_once_with_the_typed_amount(demo_school):
    """Student number, Enter, amount, Enter, Enter as one burst (a fast clerk, a slow SSH
    link): the amount waits for the account looked up in a worker, reaches the amount field
    and posts once; the next student's number typed while that posts lands in the student
    field (school_tui/textual_internals/typeahead.py)."""
    payer = verified_student(demo_school)
    student, balance, next_due, number = payer.id, payer.balance, payer.next_due, payer.number
    typed = Decimal("123.45")
    assert typed < next_due <= balance
    app = SchoolApp(demo_school.target, prepare_server=False)
    cashier = CashierPage(app)
    async with app.run_test(size=SIZE) as pilot:
        await _open_cashier(pilot)
        field = cashier.student_field
        await burst(pilot, *number, "enter", *str(typed), "enter", "enter")
        await wait_until(pilot, lambda: "OR 000" in cashier.receipt(), "the receipt")
        assert "₱123.45" in cashier.receipt()
        assert f"Balance now ₱{balance - typed:,.2f}" in cashier.receipt()
        assert "Next student" in cashier.status()
        assert app.focused is field and field.value == ""
        assert _payments(demo_school, student) == [(typed, "Cash", None)]

        # Again with the next due (Enter takes it), a third Enter while it posts, and the
        # next student's number typed right after: it waits for the post, then goes to the
        # emptied student field (the Enter before it finds that field empty: nothing more).
        await burst(pilot, *number, "enter", "enter", "enter", "enter", *number)
        await wait_until(pilot, lambda: len(_payments(demo_school, student)) == 2, "the post")
        # The payment is in the table before its answer reaches the screen (on a loaded
        # machine, noticeably so); and the field still holds this student's number from the
        # lookup, so only after the receipt does "the number again" mean the typed-ahead one.
        await wait_until(
            pilot,
            lambda: f"₱{next_due - typed:,.2f}" in cashier.receipt(),
            "the second receipt",
        )
        await wait_until(
            pilot,
            lambda: app.focused is field and field.value == number and not app.typeahead.waiting,
            "the next number, typed ahead into the emptied field",
        )
    assert _payments(demo_school, student) == [
        (typed, "Cash", None),
        (next_due - typed, "Cash", None),
    ]
    assert_ledger_invariants(demo_school.admin)


async def test_keys_typed_ahead_of_a_lookup_that_finds_nobody_are_dropped(demo_school):
    app = SchoolApp(demo_school.target, prepare_server=False)
    cashier = CashierPage(app)
    before = _payment_count(demo_school)
    async with app.run_test(size=SIZE) as pilot:
        await _open_cashier(pilot)
        await burst(pilot, *"nobody-like-this", "enter", *"100", "enter", "enter")
        await wait_until(pilot, lambda: "nobody matches" in cashier.status(), "no match")
        note = "5 keys typed ahead not used: see the message, then type again."
        await wait_until(pilot, lambda: note in notes(app), "the note")
        # Not typed into the student field, nor sent as another search.
        assert cashier.student_field.value == "nobody-like-this"
        assert app.focused is cashier.student_field
    assert _payment_count(demo_school) == before


async def test_what_the_clerk_types_is_drawn_in_the_focused_field(demo_school):
    """A focused one-line field keeps its one line for text: Input's own focus style (a tall
    border) once took that line, so the clerk typed blind until leaving the field."""
    from tests.harness import screen_lines

    number = verified_student(demo_school).number
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _open_cashier(pilot)
        await pilot.press(*number)
        assert app.focused.id == "student"
        assert any(line.startswith(" Student") and number in line for line in screen_lines(app))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.focused.id == "amount", "the amount field")
        await pilot.press(*"123.45")
        assert any(line.startswith(" Amount") and "123.45" in line for line in screen_lines(app))
