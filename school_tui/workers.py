"""How the UI runs database work: always in a named thread worker that never kills the app.

`exit_on_error=False` hands a failed worker to SchoolApp.on_worker_state_changed, the one
place that turns errors into a modal or the connection banner.
"""

from __future__ import annotations

from textual import work


def db_work(*, name: str, group: str = "db", exclusive: bool = False):
    return work(thread=True, exit_on_error=False, name=name, group=group, exclusive=exclusive)
