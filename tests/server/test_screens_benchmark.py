"""The screens benchmark knows every screen: each Screen or ModalScreen class under
school_tui/screens (the homes, whose panes their `fetch` reads, included) is registered in
benchmarks/screen_registry.py or listed there as reading nothing, with the reason; and the
script runs at a tiny size, writing a figure for every registered screen."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil

import pytest
from textual.screen import Screen

import school_tui.screens
from benchmarks import screen_registry


def screen_classes() -> set[str]:
    found = set()
    for info in pkgutil.walk_packages(school_tui.screens.__path__, "school_tui.screens."):
        module = importlib.import_module(info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            # Screen covers ModalScreen; a mixin (ScreenMixin) is no screen of its own.
            if cls.__module__ == module.__name__ and issubclass(cls, Screen):
                found.add(f"{cls.__module__}:{cls.__qualname__}")
    return found


def test_every_screen_is_registered_or_reads_nothing():
    covered = {c for entry in screen_registry.SCREENS for c in entry.covers}
    classes = screen_classes()
    missing = sorted(classes - covered - set(screen_registry.READS_NOTHING))
    assert not missing, (
        f"screens the benchmark does not know: {missing}; register their reads in "
        "benchmarks/screen_registry.py (SCREENS), or list them in READS_NOTHING with why"
    )
    # A name in the registry that is no screen any more is a mistake too.
    known = classes | {"school_tui.widgets.pickers:StudentPicker"}
    stale = sorted((covered | set(screen_registry.READS_NOTHING)) - known)
    assert not stale, f"registered but no such screen: {stale}"


def test_every_home_is_registered_with_its_panes():
    """A home's entry reads through the home's own `fetch`, so every Pane it declares (and
    any added later) is in the figure."""
    from school_tui.screens.homes.base import RoleHome
    from school_tui.screens.homes.for_role import HOME_SCREENS, home_screen_class

    covered = {c for entry in screen_registry.SCREENS for c in entry.covers}
    for role in HOME_SCREENS:
        cls = home_screen_class(role)
        assert issubclass(cls, RoleHome) and cls.PANES
        assert f"{cls.__module__}:{cls.__qualname__}" in covered, role
    entries = screen_registry.by_name()
    assert len(entries) == len(screen_registry.SCREENS), "screen names are unique"


def test_registry_catches_an_unregistered_screen(monkeypatch):
    """The check can fail: a screen class nobody registered is named."""

    class Forgotten(Screen):
        pass

    Forgotten.__module__ = "school_tui.screens.chat.screen"
    import school_tui.screens.chat.screen as chat_screen

    monkeypatch.setattr(chat_screen, "Forgotten", Forgotten, raising=False)
    with pytest.raises(AssertionError, match="Forgotten"):
        test_every_screen_is_registered_or_reads_nothing()


@pytest.mark.timeout(300)
def test_the_script_measures_every_registered_screen(tmp_path):
    from benchmarks import screens

    out = tmp_path / "screens.json"
    screens.main(["--scale", "0.001", "--runs", "1", "--out", str(out)])
    results = json.loads(out.read_text())
    for entry in screen_registry.SCREENS:
        assert results[f"screen_sql_ms_p95_{entry.name}"] > 0, entry.name
        # The replay ran as the superuser with the person's identity lent and given back.
        assert results[f"psql_sql_ms_p95_{entry.name}"] >= 0, entry.name
    assert results["screen_sql_ms_p95_max"] == max(
        v
        for k, v in results.items()
        if k.startswith("screen_sql_ms_p95_") and k != "screen_sql_ms_p95_max"
    )
    assert results["district_rows_payments"] > 0
