"""The banner every screen shows while the database connection is lost."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.widgets import Static

if TYPE_CHECKING:
    from school_tui.app import SchoolApp


class ConnectionBanner(Static):
    DEFAULT_CSS = """
    ConnectionBanner {
        display: none; height: 1; background: $error; color: $text; text-style: bold; padding: 0 1;
    }
    ConnectionBanner.-lost { display: block; }
    """

    def __init__(self) -> None:
        super().__init__("! Connection to the database lost - reconnecting...")

    def on_mount(self) -> None:
        app = cast("SchoolApp", self.app)
        app.connection_signal.subscribe(self, self._on_connection, immediate=True)
        self.set_class(not app.connected, "-lost")

    def _on_connection(self, connected: bool) -> None:
        self.set_class(not connected, "-lost")
