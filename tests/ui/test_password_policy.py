"""The password policy: NIST SP 800-63B for a single-factor password.

Lengths at the edges (14, 15, 64, 256, 257), common and breached passwords, the person's own
names and email, no composition rules, and a long passphrase pasted into the real form.
"""

from __future__ import annotations

import pytest
from textual import events

from school_tui.app import SchoolApp
from school_tui.auth.passwords import temporary_password
from school_tui.auth.policy import MAX_LENGTH, MIN_LENGTH, check_password, context_words
from school_tui.db import people
from school_tui.screens.auth.change_password import ChangePasswordScreen
from tests.harness import home_loaded, submit_login, wait_until
from tests.pages import PasswordPage

ADA = {"first_name": "Ada", "last_name": "Reyes", "email": "ada.reyes@demo.school"}
# Random-looking text (no words, no patterns): only its length decides.
RANDOM = "q7Vx2mKp9TzR4wLd8NbF3hJs6YcG1eUa5XoE0iWtZrQvMnBkPjHgDfSaLzXcVbNmQwErTy" * 4


def check(password: str, **person) -> str | None:
    return check_password(password, **(person or ADA))


@pytest.mark.parametrize("length", [MIN_LENGTH - 1, 1, 0])
def test_too_short_says_the_field_the_rule_and_the_count(length):
    assert check(RANDOM[:length]) == (f"New password: at least 15 characters (you typed {length}).")


@pytest.mark.parametrize("length", [15, 16, 64, 65, 200, 256])
def test_every_length_from_15_to_256_is_accepted(length):
    assert check(RANDOM[:length]) is None


def test_257_characters_is_one_too_many():
    assert check(RANDOM[:257]) == "New password: at most 256 characters (you typed 257)."


def test_the_limits_are_what_nist_asks():
    assert MIN_LENGTH == 15  # SP 800-63B: at least 15 for a password used alone
    assert MAX_LENGTH >= 64  # and at least 64 allowed


def test_the_field_name_is_the_callers():
    assert check_password("short", field="Repeat").startswith("Repeat: at least 15")


def test_each_character_counts_once_whatever_its_bytes():
    # 15 characters, 45 bytes in UTF-8: long enough; 14 of them are not.
    thai = "ภาษาไทยเป็นภาษาที่สวยงามมาก"
    assert check(thai[:15]) is None
    assert check(thai[:14]) == "New password: at least 15 characters (you typed 14)."


@pytest.mark.parametrize(
    "password",
    [
        "passwordpassword",
        "password12345678",
        "iloveyouiloveyou",
        "qwertyuiopasdfghjkl",
        "1234567890123456",
        "abcdefghijklmnop",
        "aaaaaaaaaaaaaaaa",
        "trustno1trustno1",
        "monkey123monkey123",
        "dragon1234567890",
        "P@ssw0rdP@ssw0rd",
    ],
)
def test_common_passwords_are_refused(password):
    message = check(password)
    assert message is not None and message.startswith("New password: too easy to guess")
    assert "common password" in message


@pytest.mark.parametrize(
    "password",
    [
        "ada.reyes@demo.school",
        "Ada.Reyes@demo.school!",
        "AdaReyes2026School!",
        "reyesada12345678",
        "Reyes-Ada-2026-2027",
        "adareyesadareyes",
        "mydemoschoolpassword",
        "school-tui-school-tui",
        "Ada Reyes is my name",
    ],
)
def test_passwords_built_from_the_persons_names_email_or_school_are_refused(password):
    message = check(password)
    assert message is not None and message.startswith("New password: too easy to guess")
    if password != "adareyesadareyes":  # zxcvbn names that one a repeat first
        assert "your name, your email or the school's name" in message


def test_the_same_text_is_fine_for_someone_else():
    """It is the person's own words that make these weak, not the letters."""
    other = {"first_name": "Tomas", "last_name": "Garcia", "email": "tgarcia@north.example"}
    for password in ("AdaReyes2026School!", "Reyes-Ada-2026-2027", "adareyes-demo-2026"):
        assert check(password, **other) is None
        assert "your name" in check(password)


def test_context_words_cover_names_email_and_school():
    words = context_words("Ada", "Reyes", "ada.reyes@demo.school")
    assert {"ada", "reyes", "adareyes", "ada.reyes", "ada.reyes@demo.school", "demo"} <= set(words)
    assert "school" in words


@pytest.mark.parametrize(
    "password",
    [
        "xkqvbemtrzplwhdnfgcs",  # 20 lowercase letters: no digit, capital or symbol needed
        "correct horse battery staple",
        "lanterns over the quiet harbour at dusk",
        "1a2b3c-4d5e6f-7a8b9c-0d1e2f",
        "purple monkey dishwasher",
        "Ada likes purple monkey dishwashers",  # a name inside a strong phrase is fine
    ],
)
def test_no_composition_rules(password):
    assert check(password) is None


def test_generated_temporary_passwords_pass_the_policy():
    for _ in range(20):
        assert check(temporary_password()) is None


# -- the form: paste, and a passphrase of any length up to 256 -------------------------------


@pytest.mark.needs_passwords
async def test_a_long_pasted_passphrase_is_accepted(password_school):
    school = password_school
    user_id = school.add_person(
        "Guidance", email="paz@test.school", first_name="Paz", last_name="Ocampo", password=None
    )
    temporary = people.reset_password(school.admin, user_id)
    phrase = (
        "When the monsoon rains come early, the river by the old mill carries leaves, "
        "lanterns and the occasional bewildered heron past the bakery on Calle Real, "
        "and nobody in town remembers who planted the tamarind trees."
    )
    assert 200 < len(phrase) <= MAX_LENGTH
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await submit_login(pilot, "paz@test.school", temporary)
        await wait_until(
            pilot, lambda: isinstance(app.screen, ChangePasswordScreen), "the password form"
        )
        form = PasswordPage(app)
        for name in ("new", "repeat"):
            field = form.field(name)
            await wait_until(pilot, lambda name=name: form.focused(name), name)
            field.post_message(events.Paste(phrase))  # a terminal's bracketed paste
            await wait_until(pilot, lambda field=field: field.value == phrase, "the paste")
            await pilot.press("enter")
        await wait_until(pilot, lambda: home_loaded(app), "the home")
        assert app.screen.ROLE == "Guidance"
    with school.connect_as(user_id, phrase) as conn:  # nothing was cut off
        assert conn.execute("SELECT school.my_role()").fetchone()[0] == "Guidance"


@pytest.mark.needs_passwords
async def test_the_repeat_must_match(password_school):
    school = password_school
    user_id = school.add_person("Registrar", email="rio@test.school", password=None)
    temporary = people.reset_password(school.admin, user_id)
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await submit_login(pilot, "rio@test.school", temporary)
        await wait_until(
            pilot, lambda: isinstance(app.screen, ChangePasswordScreen), "the password form"
        )
        form = PasswordPage(app)
        form.fill("velvet thunder over quiet lakes", "velvet thunder over quiet lake")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not form.checking(), "the check")
        status = form.status()
        assert status == "Repeat the new password: it does not match the new password."
        assert form.focused("repeat")
    assert school.admin.execute(
        "SELECT must_change_password FROM school.users WHERE id = %s", (user_id,)
    ).fetchone()[0]


# -- the current password: asked for, and checked by the database ----------------------------


@pytest.mark.needs_passwords
async def test_a_wrong_current_password_is_refused_under_its_field(password_school):
    """A person changing a password that is not temporary gives the current one; the
    database refuses a wrong one (nothing changes) and the form says so; the right one
    changes it."""
    school = password_school
    email = "noor@test.school"
    user_id = school.add_person("Teacher", email=email, password="my good old passphrase here")
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=(80, 30)) as pilot:
        await submit_login(pilot, email, "my good old passphrase here")
        await wait_until(pilot, lambda: home_loaded(app), "the home")
        screen = ChangePasswordScreen(app.session, temporary=False)
        await app.push_screen(screen)
        await wait_until(pilot, lambda: app.screen is screen, "the password form")
        form = PasswordPage(app)
        current = form.field("current")
        await wait_until(pilot, lambda: form.focused("current"), "the current password field")

        async def submit(current_password: str) -> None:
            current.value = current_password
            form.fill("copper kettles sing at noon")
            await pilot.press("enter")

        await submit("not my passphrase at all, no")
        await wait_until(pilot, lambda: not form.checking(), "the check")
        assert form.status() == "Current password: it is not right."
        assert app.focused is current and current.value == ""
        with school.connect_as(user_id, "my good old passphrase here") as conn:
            assert conn.execute("SELECT school.my_role()").fetchone()[0] == "Teacher"

        await submit("my good old passphrase here")
        await wait_until(pilot, lambda: home_loaded(app) and app.screen is not screen, "the home")
    with school.connect_as(user_id, "copper kettles sing at noon") as conn:
        assert conn.execute("SELECT school.my_role()").fetchone()[0] == "Teacher"


@pytest.mark.needs_passwords
async def test_the_current_password_is_required(password_school):
    school = password_school
    email = "ravi@test.school"
    school.add_person("Registrar", email=email, password="a registrar's own passphrase")
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=(80, 30)) as pilot:
        await submit_login(pilot, email, "a registrar's own passphrase")
        await wait_until(pilot, lambda: home_loaded(app), "the home")
        screen = ChangePasswordScreen(app.session, temporary=False)
        await app.push_screen(screen)
        await wait_until(pilot, lambda: app.screen is screen, "the password form")
        form = PasswordPage(app)
        form.fill("copper kettles sing at noon")
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: form.status() == "Current password: required.", "the message"
        )
        assert form.focused("current")
