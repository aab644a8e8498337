"""What the way to the login form imports, seen in `sys.modules` of a fresh interpreter.

`school-tui` shows its login form in about the time Textual needs to show one Input
(benchmarks/startup.py) because nothing else heavy is imported before the form is drawn:
psycopg and argon2 come with the server's preparation, which starts once the form is on the
screen; the pool, the live chat and the homes come with the login; documents, charts and
the role's screens when they are opened. Each of those is a deferral inside a function,
which the static import graph cannot see; a fresh interpreter that runs the real code can.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from school_tui.screens.homes.for_role import HOME_SCREENS, SESSION_MODULES

REPO = Path(__file__).resolve().parents[2]

# Third-party packages the login form must not wait for.
HEAVY_PACKAGES = (
    "psycopg",
    "psycopg_pool",
    "argon2",
    "zxcvbn",
    "fpdf",
    "plotext",
    "textual_plotext",
)
# Our own modules that belong after the login (db.connect only builds conninfo strings).
AFTER_LOGIN = (
    "school_tui.auth.login",
    "school_tui.runtime.session",
    "school_tui.server.provision",
    "school_tui.server.demo",
    "school_tui.live",
    "school_tui.output",
    "school_tui.screens.homes",
    "school_tui.screens.admin",
    "school_tui.screens.accounting",
    "school_tui.screens.registrar",
    "school_tui.screens.guidance",
    "school_tui.screens.chat",
)

# The embedded server's target, built as `school-tui` builds it; nothing is started.
TARGET = """
import sys, tempfile
from pathlib import Path
from school_tui.server.config import load
from school_tui.db.connect import Target
data = Path(tempfile.mkdtemp())
config = load(environ={"SCHOOL_TUI_DATA_DIR": str(data)}, toml_path=data / "none.toml")
target = Target.from_config(config)
assert target.embedded_server is not None
"""

# Up to the login form on the screen (headless), without preparing the server.
TO_THE_LOGIN_FORM = (
    TARGET
    + """
import asyncio
from school_tui.app import SchoolApp
from school_tui.screens.auth.login import LoginScreen

async def show_the_form():
    app = SchoolApp(target, prepare_server=False)
    async with app.run_test(size=(80, 24)) as pilot:
        while not isinstance(app.screen, LoginScreen):
            await pilot.pause()
        await pilot.pause()
        assert app.screen.query_one("#email").has_focus

asyncio.run(show_the_form())
"""
)


def _loaded(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code`."""
    probe = "import sys\n" + code + "\nprint(' '.join(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def _heavy(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_building_the_target_imports_neither_psycopg_nor_textual():
    """`school-tui` builds the embedded server's conninfo before anything else; `db status`
    and the other administrative commands never load Textual."""
    loaded = _loaded("import school_tui.cli\n" + TARGET)
    assert _heavy(loaded, ("psycopg", "textual", "rich", "school_tui.server.provision")) == []


@pytest.fixture(scope="module")
def at_the_login_form() -> set[str]:
    return _loaded(TO_THE_LOGIN_FORM)


def test_the_login_form_is_drawn_without_the_heavy_packages(at_the_login_form):
    assert "textual.app" in at_the_login_form  # the probe did get as far as the form
    assert _heavy(at_the_login_form, HEAVY_PACKAGES) == []


def test_the_login_form_is_drawn_without_what_comes_after_the_login(at_the_login_form):
    assert _heavy(at_the_login_form, AFTER_LOGIN) == []


def test_the_login_preloads_modules_that_exist():
    """The login imports these on the side (screens/homes/for_role.py `preload`), skipping
    any that fail; a name left behind by a move would silently preload nothing."""
    for name in (*SESSION_MODULES, *(module for module, _ in HOME_SCREENS.values())):
        assert importlib.util.find_spec(name) is not None, name


def test_what_the_login_preloads_leaves_no_home_of_another_role():
    loaded = _loaded(
        "from school_tui.screens.homes.for_role import preload\npreload()\npreload('Student')\n"
    )
    assert "school_tui.screens.homes.student" in loaded
    assert {"school_tui.live.chat", "school_tui.screens.homes.base"} <= loaded
    others = [module for role, (module, _) in HOME_SCREENS.items() if role != "Student"]
    assert sorted(set(others) & loaded) == []
    # Nor the heavy output and chart packages: they come with the screens that use them.
    assert _heavy(loaded, ("fpdf", "plotext", "textual_plotext", "zxcvbn")) == []
