"""Textual's internals behind one fence (school_tui/textual_internals): on a Textual the fence
was not written for, or one missing a surface it reads, the app runs on stock Textual. Keys
go where they are typed without waiting for a settle that cannot be seen, the chat draws
with the stock compositor, and the person is told once that nothing is lost."""

from __future__ import annotations

from textual._compositor import Compositor
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

from school_tui import textual_internals
from school_tui.app import SchoolApp
from school_tui.screens.auth.login import LoginScreen
from school_tui.textual_internals import typeahead
from school_tui.textual_internals.compositor import CroppingCompositor, use_cropping_compositor
from school_tui.textual_internals.typeahead import TypeAhead
from tests.harness import DEMO_PASSWORD, burst, home_loaded, log_in, wait_until

SIZE = (80, 24)


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


def never_settles(pump) -> bool:
    """What a Textual whose message pumps type-ahead cannot read looks like to it: never
    quiet, so every key would wait out the settle limit (a second)."""
    return False


async def test_another_textual_version_runs_stock_and_keys_do_not_wait(demo_school, monkeypatch):
    monkeypatch.setattr(textual_internals, "_fence", None)  # checked again, then restored
    monkeypatch.setattr(textual_internals, "textual_version", lambda: "9.0.0")
    monkeypatch.setattr(typeahead, "_pump_quiet", never_settles)
    app = SchoolApp(demo_school.target, prepare_server=False)
    assert not app.textual_fence.ok
    assert app.textual_fence.problems == ("Textual 9.0.0, not 8.2.8",)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, LoginScreen), "the login form")
        told = textual_internals.NOTICE.format(version="9.0.0")
        await wait_until(pilot, lambda: told in notices(app), "the notice")
        email = app.screen.query_one("#email", Input)
        await wait_until(pilot, lambda: app.focused is email, "focus on the email")
        await burst(pilot, *"accounting@demo.school")
        assert app.typeahead.waiting == 0  # routed as they came, none held back
        await wait_until(pilot, lambda: email.value == "accounting@demo.school", "the email")
        await pilot.press("enter")
        password = app.screen.query_one("#password", Input)
        await wait_until(pilot, lambda: app.focused is password, "focus on the password")
        await burst(pilot, *DEMO_PASSWORD)
        assert app.typeahead.waiting == 0
        await wait_until(pilot, lambda: password.value == DEMO_PASSWORD, "the password")
        await pilot.press("enter")
        await wait_until(pilot, lambda: home_loaded(app), "the home")
        assert notices(app).count(told) == 1  # said once
    screen = Screen()
    use_cropping_compositor(screen)
    assert type(screen._compositor) is Compositor  # the chat draws as stock Textual does


def test_a_missing_surface_turns_the_fence_off(monkeypatch):
    monkeypatch.setattr(textual_internals, "_fence", None)
    assert textual_internals.check().ok  # the pinned Textual has all it reads
    monkeypatch.setattr(textual_internals, "_fence", None)
    monkeypatch.delattr(Widget, "_scroll_update")
    fence = textual_internals.check()
    assert not fence.ok
    assert fence.problems == ("Widget._scroll_update is missing",)
    assert not textual_internals.active()
    screen = Screen()
    use_cropping_compositor(screen)
    assert not isinstance(screen._compositor, CroppingCompositor)


class Form(App):
    def __init__(self) -> None:
        super().__init__()
        self.typeahead = TypeAhead(self)

    def compose(self) -> ComposeResult:
        yield Input(id="name")

    def on_mount(self) -> None:
        self.query_one("#name").focus()

    async def on_event(self, event) -> None:  # as SchoolApp.on_event
        if self.typeahead.take(event):
            return
        await super().on_event(event)


async def test_type_ahead_that_cannot_read_the_pumps_routes_keys_and_says_so(monkeypatch):
    """The check passed, but reading a pump fails in use: the keys typed still arrive, in
    order, and from then on go straight where they are typed."""
    monkeypatch.setattr(textual_internals, "_fence", None)

    def unreadable(pump) -> bool:
        raise AttributeError("'Queue' object has no attribute 'values'")

    monkeypatch.setattr(typeahead, "_pump_quiet", unreadable)
    app = Form()
    async with app.run_test() as pilot:
        field = app.query_one("#name", Input)
        await burst(pilot, *"first")
        await wait_until(pilot, lambda: field.value == "first", "the keys typed")
        assert not app.typeahead.enabled
        version = textual_internals.check().version
        assert textual_internals.NOTICE.format(version=version) in notices(app)
        await burst(pilot, *" more")
        assert app.typeahead.waiting == 0
        await wait_until(pilot, lambda: field.value == "first more", "the keys typed after")
    assert not textual_internals.active()  # until the next check (restored after the test)


# Textual's private names that school_tui's code may read only inside the fence.
TEXTUAL_PRIVATE = {
    "_callback",
    "_css_bases",
    "_css_type_name",
    "_get_default_css",
    "_callbacks",
    "_closed",
    "_closing",
    "_compositor",
    "_context",
    "_driver",
    "_is_mounted",
    "_message_queue",
    "_next_callbacks",
    "_notifications",
    "_scroll_update",
    "_waiters",
}


def test_only_the_fence_touches_textuals_private_surfaces():
    """No module outside school_tui/textual_internals imports a `textual._x` module or reads
    one of the private attributes the fence reads."""
    import ast
    from pathlib import Path

    import school_tui

    root = Path(school_tui.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root).as_posix()
        if where.startswith("textual_internals/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), where)):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.Attribute) and node.attr in TEXTUAL_PRIVATE:
                found.append(f"{where}:{node.lineno} .{node.attr}")
                continue
            else:
                continue
            found += [f"{where}:{node.lineno} {n}" for n in names if n.startswith("textual._")]
    assert found == []


def test_default_css_is_what_a_mount_adds():
    """styles.default_css reads a class's default CSS as Textual's mount does."""
    from textual.widgets import DataTable, Footer, LoadingIndicator, Static, TabbedContent
    from textual.widgets.tabbed_content import ContentTab, ContentTabs

    from school_tui.textual_internals.styles import default_css
    from school_tui.widgets.title import TitleBar

    widgets = [
        Static(),
        DataTable(),
        Footer(),
        LoadingIndicator(),
        TabbedContent(),
        ContentTabs(tabbed_content=TabbedContent()),
        ContentTab("Tab", "tab"),
        TitleBar("title"),
    ]
    for widget in widgets:
        assert list(default_css(type(widget))) == widget._get_default_css()


async def test_the_homes_css_is_parsed_while_the_login_waits(demo_school, monkeypatch):
    """The home's widgets bring no CSS of their own to parse when it is mounted, but the
    role's own lines and those of a part of the tabs that Textual keeps private; all of it
    was parsed while the key derivation ran."""
    app = SchoolApp(demo_school.target, prepare_server=False)
    before: list[set] = []
    start_session = app.start_session

    def recording_start(session) -> None:
        before.append(set(app.stylesheet.source))
        start_session(session)

    monkeypatch.setattr(app, "start_session", recording_start)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "student@demo.school")
        added = {name for _, name in set(app.stylesheet.source) - before[0]}
    assert added <= {"StudentHome.DEFAULT_CSS", "Underline.DEFAULT_CSS"}
    assert {"DataTable.DEFAULT_CSS", "RoleHome.DEFAULT_CSS"} <= {n for _, n in before[0]}
