"""Garbage collection while logged in: the heap as it is once the home is drawn is frozen
(`freeze_heap`), and the collections that live batches make due run at quiet moments
(`collect_quietly`), not inside a message's way to the screen (docs/chat-drawing.md)."""

from __future__ import annotations

GC_YOUNG = 700  # allocations that make a young collection due (CPython's default threshold)
GC_OLDER = 10  # collections of one generation that make one of the next due (the same)
GC_BURST = 50_000  # the automatic threshold: it collects only where no quiet moment came


def freeze_heap() -> None:
    """Once the home is drawn after login: what exists now (modules, the app, its CSS, the
    home) lives about as long as the session. Frozen (gc.freeze), a full collection no longer
    walks it; that walk was the longest pause of the UI thread, a message's worst delay (in
    benchmarks/chat_latency.py: full collections of ~150 ms on a loaded machine, ~15 ms
    frozen). Unfrozen first, so what an earlier session left is collected, not kept.

    From then on the collector runs at quiet moments (`collect_quietly`); the automatic one,
    which runs wherever allocations cross its threshold (that is, while a message is being
    read, handed over or drawn, stopping every thread), only in a burst of GC_BURST."""
    import gc

    gc.unfreeze()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_BURST, GC_OLDER, GC_OLDER)


def collect_quietly() -> None:
    """Run, after the screen has drawn a live batch, the collection that its allocations
    made due (the generations and counts of CPython's own schedule), so that it does not
    fall inside the next message's way to the screen."""
    import gc

    young, older, oldest = gc.get_count()
    if young < GC_YOUNG:
        return
    gc.collect(2 if oldest >= GC_OLDER else 1 if older >= GC_OLDER else 0)
