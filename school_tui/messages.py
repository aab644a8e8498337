"""Typed messages that workers post back to the UI thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class ServerReady(Message):
    """The database (embedded or configured) is reachable for logins."""


@dataclass
class ServerFailed(Message):
    error: str


@dataclass
class LoginSucceeded(Message):
    session: Any  # school_tui.session.Session


@dataclass
class LoginRefused(Message):
    message: str


@dataclass
class HomeLoaded(Message):
    data: dict


@dataclass
class ConnectionRestored(Message):
    """The lost database connection works again; screens reload what they show."""
