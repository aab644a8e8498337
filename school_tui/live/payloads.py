"""The listener's notification payloads, parsed strictly: untrusted input, never more than an id.

Every login may NOTIFY on any channel whose name it knows (PostgreSQL has no privilege for
NOTIFY), and the presence channel's name is known to every login. So a payload may be
anything: a forged one must neither crash the listener nor change what a screen shows. This
module accepts exactly `<kind>:<id>`, where kind is one of KINDS and id is 1 to 18 ASCII
digits without a leading zero (so it fits a bigint); anything else is dropped and logged
(a few lines a minute at most, so a flood of forgeries does not fill the log).

What the app does with an id is only a hint to read the row through the database's rules
(row-level security and the row's own state): `m:` reads the message, `r:` reads whether
the message is read, `p:` reads the person's status, `e:` makes the screens re-read the
enrollment row, `l:` makes the Admin's People screen re-read whether the account is locked. A forged but well-formed payload therefore costs one read and shows
nothing that is not true (docs/live-updates.md, "Untrusted payloads").
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

MESSAGE = "m"  # a message was written: m:<message id>
RECEIPT = "r"  # a message was read: r:<message id>
PRESENCE = "p"  # a person's status changed: p:<user id>
ENROLLMENT = "e"  # an enrollment moved: e:<enrollment_progress id>
LOCKOUT = "l"  # an account was locked or unlocked: l:<user id> (school_lockouts)
KINDS = (MESSAGE, RECEIPT, PRESENCE, ENROLLMENT, LOCKOUT)

# ASCII only: str.isdigit() accepts '²' and other digits int() refuses or reads differently.
_PAYLOAD = re.compile(r"([mrpel]):([1-9][0-9]{0,17})", re.ASCII)
LOG_EVERY_S = 60.0
LOG_AT_MOST = 5  # dropped payloads logged per LOG_EVERY_S; the rest are counted


@dataclass
class Parsed:
    """One batch of payloads, by kind: the ids, each once, in arrival order."""

    ids: dict[str, list[int]] = field(default_factory=lambda: {k: [] for k in KINDS})
    dropped: int = 0

    def of(self, kind: str) -> list[int]:
        return self.ids[kind]


def parse_one(payload: object) -> tuple[str, int] | None:
    """(kind, id) for a well-formed payload, else None."""
    if not isinstance(payload, str):
        return None
    match = _PAYLOAD.fullmatch(payload)
    if match is None:
        return None
    return match.group(1), int(match.group(2))


class _DropLog:
    """Logs a few dropped payloads per window and counts the rest."""

    def __init__(self) -> None:
        self.window_start = -LOG_EVERY_S
        self.logged = 0
        self.unlogged = 0
        self.total = 0  # every payload dropped since start-up (tests read it)

    def note(self, payload: object) -> None:
        self.total += 1
        now = time.monotonic()
        if now - self.window_start >= LOG_EVERY_S:
            if self.unlogged:
                log.warning("%d more malformed notification payloads dropped", self.unlogged)
            self.window_start, self.logged, self.unlogged = now, 0, 0
        if self.logged < LOG_AT_MOST:
            self.logged += 1
            log.warning("malformed notification payload dropped: %r", str(payload)[:80])
        else:
            self.unlogged += 1


dropped = _DropLog()


def parse(payloads: list[str]) -> Parsed:
    """Sort a batch of payloads by kind; the malformed ones are dropped (and logged)."""
    parsed = Parsed()
    seen: set[tuple[str, int]] = set()
    for payload in payloads:
        one = parse_one(payload)
        if one is None:
            parsed.dropped += 1
            dropped.note(payload)
            continue
        if one not in seen:
            seen.add(one)
            parsed.ids[one[0]].append(one[1])
    return parsed


def count(payloads: list[str], kind: str) -> int:
    """How many of `payloads` look like `kind` (for the listener's burst detection: cheap,
    and a wrong count only changes how a batch is gathered)."""
    prefix = kind + ":"
    return sum(isinstance(p, str) and p.startswith(prefix) for p in payloads)
