"""Chat delivery latency: the sender's COMMIT -> the message in the receiver's running app.

On an embedded server of its own (a temporary data directory; its initdb sets max_connections
to 800), a teacher sends a student messages one at a time as the teacher's own login, each
awaited in the receiver's app before the next. The receiver is the real SchoolApp, headless in
this process (Textual's run_test, 120x40), logged in as the student. If the chat screen exists
it is open on the teacher's conversation, and a message counts as arrived when the screen has
handled it (the recorder is subscribed on the screen itself, after the screen's own handler,
so its MessageView holds it); otherwise when LiveChat publishes it on the UI thread.
`chat_painted_*` go on until the first screen update drawn after that (Textual paints on a
timer of at most 60 frames a second, so this adds the wait for the next frame and the
drawing; headless, only the terminal write itself is skipped): what a person would see.

Pace: after each arrival the sender leaves GAP_S of quiet before the next message, so each
one arrives at an app that has finished drawing the last (a person's messages are seconds
apart). `chat_b2b_*` at BACK_TO_BACK_AT listeners sends the next as soon as one arrived: then
each message also queues behind the drawing of the one before (app CPU per message says how
much that is).

t0 is taken just before COMMIT is sent (the message is inserted in an open transaction
first). Raw baseline in the same configuration: pg_notify in a transaction -> a bare psycopg
connection blocked in notifies(); `raw_notify_write_*` also inserts a row, so its commit waits
for the WAL flush as a message's does (a transaction that only notifies writes no commit
record). PostgreSQL before 19 wakes every listening backend of the database on every NOTIFY,
so each configuration adds raw connections LISTENing on channels of their own: 1, 50, 200 and
500 of them (`*_ms_<n>`).

rss_mb_10k: a separate process, the receiver's app alone: logged in, with a 10,000-message
conversation in the database, the chat screen open on it (if it exists) and paged back to its
window's limit (`rss_rows_loaded` rows). `chat_screen_open` / `rss_chat_screen_open` say
whether the chat screen was there (1) or the role's home was on screen instead (0).

--profile prints where the time goes: commit -> the listener thread has the notification ->
the rows are read -> LiveChat's publish runs on the UI thread -> the screen has it; the
garbage collector's pauses; the slowest messages, stage by stage.

Writes benchmarks/results/chat_latency.json.
Usage: python benchmarks/chat_latency.py [--messages N] [--listeners 1,50,200,500] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import print_table, write_results  # noqa: E402

PASSWORD = "bench-password-1"
TEACHER = "teacher@bench.school"
STUDENT = "student@bench.school"
WARMUP = 20
ARRIVAL_TIMEOUT_S = 30.0
GAP_S = 0.05  # quiet after each arrival: the app has drawn the last message (see the docstring)
BACK_TO_BACK_AT = 200  # other listeners: also measured with no gap at all
RSS_MESSAGES = 10_000


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


# -- the server and the two people ----------------------------------------------------------------


def make_target(data_dir: Path):
    from school_tui.db.connect import Target
    from school_tui.server.config import load

    env = {"SCHOOL_TUI_DATA_DIR": str(data_dir)}
    return Target.from_config(load(environ=env, toml_path=data_dir / "none.toml"))


def create_people(target) -> dict[str, int]:
    import psycopg

    from school_tui.db import people

    ids = {}
    with psycopg.connect(target.admin(), autocommit=True) as admin:
        admin.execute("CREATE TABLE bench_raw_rows (id bigserial PRIMARY KEY, payload text)")
        # the teacher sends more a minute than a person may (school.write_limits)
        admin.execute(
            "UPDATE school.write_limits SET per_minute = 1000000, chars_per_minute = NULL "
            "WHERE kind = 'chat message'"
        )
        for role, email in (("Teacher", TEACHER), ("Student", STUDENT)):
            ids[email] = people.create_person(
                admin,
                role=role,
                first_name="Bench",
                last_name=role,
                email=email,
                password=PASSWORD,
                must_change=False,
            )
    return ids


def connect_as(target, email: str, **kwargs):
    """A connection as the person's own login role, the way the app makes one."""
    import psycopg

    from school_tui.auth.passwords import derive_db_password
    from school_tui.db import people

    with psycopg.connect(target.prelogin(), autocommit=True) as pre:
        login_role, salt = people.prelogin_lookup(pre, email)
    return psycopg.connect(target.person(login_role, derive_db_password(PASSWORD, salt)), **kwargs)


class OtherListeners:
    """Raw connections LISTENing on channels nobody notifies: each NOTIFY still wakes them."""

    def __init__(self, target) -> None:
        self.target = target
        self.conns: list = []

    def grow_to(self, count: int) -> None:
        import psycopg

        while len(self.conns) < count:
            conn = psycopg.connect(self.target.admin(), autocommit=True)
            conn.execute(f"LISTEN bench_other_{len(self.conns)}")
            self.conns.append(conn)

    def close(self) -> None:
        for conn in self.conns:
            conn.close()


# -- the raw baseline: pg_notify -> a bare psycopg listener ---------------------------------------


def raw_notify_latencies(target, count: int, write: bool = False) -> list[float]:
    """pg_notify in a transaction -> a bare listener. `write`: the transaction also inserts a
    row, so its commit waits for the WAL flush as a message's does (a transaction that only
    notifies has no transaction id and writes no commit record)."""
    import psycopg

    listener = psycopg.connect(target.admin(), autocommit=True)
    listener.execute("LISTEN bench_raw")
    arrived: dict[str, float] = {}
    waiting: list[str] = [""]
    event = threading.Event()
    ready = threading.Event()

    def listen() -> None:
        ready.set()
        for note in listener.notifies():
            arrived[note.payload] = time.perf_counter()
            if note.payload == waiting[0]:
                event.set()
            if note.payload == "stop":
                return

    thread = threading.Thread(target=listen, name="raw listener", daemon=True)
    thread.start()
    ready.wait()
    samples = []
    with psycopg.connect(target.admin()) as notifier:
        for i in range(WARMUP + count):
            payload = f"n{i}"
            if write:
                notifier.execute("INSERT INTO bench_raw_rows (payload) VALUES (%s)", (payload,))
            notifier.execute("SELECT pg_notify('bench_raw', %s)", (payload,))
            event.clear()
            waiting[0] = payload
            started = time.perf_counter()
            notifier.commit()
            if not event.wait(ARRIVAL_TIMEOUT_S):
                raise TimeoutError(f"raw notification {payload} did not arrive")
            if i >= WARMUP:
                samples.append((arrived[payload] - started) * 1000)
        notifier.execute("SELECT pg_notify('bench_raw', 'stop')")
        notifier.commit()
    thread.join(10)
    listener.close()
    return samples


# -- the app -------------------------------------------------------------------------------------


class Recorder:
    """Called on the UI thread with each batch the receiver's app has handled; and, through
    `install_paint_hook`, with each screen update the compositor hands to the terminal."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.painted: dict[int, float] = {}
        self._unpainted: list[int] = []
        self.waiting: int | None = None
        self.event = threading.Event()
        self.view = None  # the chat screen's MessageView, when it is open
        self.not_in_view = 0

    def install_paint_hook(self, app) -> None:
        """`chat_painted_*`: until the first screen update drawn after the message arrived
        (App._display; headless, it skips only the terminal write itself)."""
        original = app._display

        def display(screen, renderable) -> None:
            original(screen, renderable)
            if renderable is not None and self._unpainted:
                now = time.perf_counter()
                for message_id in self._unpainted:
                    self.painted[message_id] = now
                self._unpainted = []

        app._display = display

    def __call__(self, rows) -> None:
        now = time.perf_counter()
        for row in rows:
            self.arrived[row.id] = now
            self._unpainted.append(row.id)
        if self.view is not None:
            shown = {r.id for r in self.view.rows[-len(rows) :]}
            self.not_in_view += sum(1 for row in rows if row.id not in shown)
        if self.waiting is not None and self.waiting in self.arrived:
            self.event.set()


class Stages:
    """--profile: where a message's time goes, stamped at each hand-over."""

    def __init__(self) -> None:
        self.events: dict[int, float] = {}  # listener thread: the notification handed over
        self.fetched: dict[int, float] = {}  # listener thread: rows read, into the outbox
        self.publish: dict[int, float] = {}  # UI thread: _publish runs

    def install(self) -> None:
        from school_tui.live import chat as live_chat

        original_events = live_chat.LiveChat.events
        original_hand_over = live_chat.LiveChat._hand_over
        original_publish = live_chat.LiveChat._publish
        stages = self

        def events(live, payloads):
            now = time.perf_counter()
            for payload in payloads:
                if payload.startswith("m:"):
                    stages.events.setdefault(int(payload[2:]), now)
            return original_events(live, payloads)

        def hand_over(live, fresh, *rest):
            now = time.perf_counter()
            for row in fresh:
                stages.fetched.setdefault(row.id, now)
            return original_hand_over(live, fresh, *rest)

        def publish(live, fresh, *rest):
            now = time.perf_counter()
            for row in fresh:
                stages.publish.setdefault(row.id, now)
            return original_publish(live, fresh, *rest)

        live_chat.LiveChat.events = events
        live_chat.LiveChat._hand_over = hand_over
        live_chat.LiveChat._publish = publish

    def breakdown(self, commits: dict[int, float], arrived: dict[int, float]) -> dict:
        parts = {"notify_ms": [], "fetch_ms": [], "to_ui_thread_ms": [], "ui_handlers_ms": []}
        for i, t0 in commits.items():
            if not all(i in d for d in (self.events, self.fetched, self.publish, arrived)):
                continue
            parts["notify_ms"].append(self.events[i] - t0)
            parts["fetch_ms"].append(self.fetched[i] - self.events[i])
            parts["to_ui_thread_ms"].append(self.publish[i] - self.fetched[i])
            parts["ui_handlers_ms"].append(arrived[i] - self.publish[i])
        if commits:
            slowest = sorted(commits, key=lambda i: arrived.get(i, 0) - commits[i])[-5:]
            for i in slowest:
                t0 = commits[i]
                marks = [self.events.get(i), self.fetched.get(i), self.publish.get(i), arrived[i]]
                steps, last = [], t0
                for mark in marks:
                    steps.append(f"{(mark - last) * 1000:5.1f}" if mark else "  -  ")
                    last = mark or last
                print(
                    f"      slow: id {i}: total {(arrived[i] - t0) * 1000:5.1f} = "
                    + " + ".join(steps)
                )
        out = {}
        for name, values in parts.items():
            if values:
                out[f"profile_{name}_p50"] = percentile(values, 50) * 1000
                out[f"profile_{name}_p99"] = percentile(values, 99) * 1000
        return out


def app_latencies(target, people, recorder, count, commits, gap_s: float = 0.0) -> list[float]:
    """Sender thread: one message at a time, each awaited in the receiver's app; then `gap_s`
    of quiet before the next (0: back to back)."""
    from school_tui.db import chat

    samples = []
    with connect_as(target, TEACHER) as sender:
        for i in range(WARMUP + count):
            sender.execute("SELECT 1")  # an open transaction: chat.send's block is a savepoint
            message_id = chat.send(sender, people[STUDENT], f"bench {i}", uuid.uuid4())
            recorder.event.clear()
            recorder.waiting = message_id
            started = time.perf_counter()
            sender.commit()
            if not recorder.event.wait(ARRIVAL_TIMEOUT_S):
                raise TimeoutError(f"message {message_id} did not reach the app")
            if i >= WARMUP:
                commits[message_id] = started
                samples.append((recorder.arrived[message_id] - started) * 1000)
            if gap_s:
                time.sleep(gap_s)  # the pace of the conversation, not a wait for a condition
    return samples


async def wait_for(pilot, predicate, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await pilot.pause()


async def open_receiver(target, pilot, app, people, chat_screen: bool = True) -> object | None:
    """Log the student in and open the chat on the teacher; return the chat screen, if any."""
    from school_tui.auth.login import login

    session = await asyncio.to_thread(login, target, STUDENT, PASSWORD)
    app.start_session(session)
    await wait_for(pilot, lambda: session.listener.backend_pid is not None, "the listener")
    await wait_for(pilot, lambda: app.live._horizon is not None, "the first backfill")
    if not chat_screen:
        return None
    try:
        from school_tui.screens.chat.screen import ChatScreen
    except ImportError:
        return None
    from school_tui.screens.chat.widgets import MessageView
    from school_tui.screens.homes.base import RoleHome

    await wait_for(pilot, lambda: isinstance(app.screen, RoleHome), "the home")
    screen = ChatScreen(session, people[TEACHER])
    await app.push_screen(screen)
    await wait_for(
        pilot,
        lambda: (
            screen.partner_id == people[TEACHER]
            and screen.query_one(MessageView).empty_note != "Loading…"
        ),
        "the conversation",
    )
    return screen


class GcPauses:
    """--profile: the garbage collector's pauses (they stop every thread)."""

    def __init__(self) -> None:
        import gc

        self.pauses: list[float] = []
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((time.perf_counter() - self._started) * 1000)

    def report(self) -> str:
        pauses, self.pauses = self.pauses, []
        slow = [p for p in pauses if p > 2]
        return f"gc: {len(pauses)} runs, {len(slow)} over 2 ms, max {max(pauses, default=0):.1f} ms"


async def measure_latency(target, people, args) -> dict[str, float]:
    from school_tui.app import SchoolApp

    stages = Stages()
    gc_pauses = GcPauses() if args.profile else None
    if args.profile:
        stages.install()
    results: dict[str, float] = {}
    others = OtherListeners(target)
    app = SchoolApp(target, prepare_server=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_receiver(target, pilot, app, people, not args.no_chat_screen)
            recorder = Recorder()
            recorder.install_paint_hook(app)
            if screen is not None:
                recorder.view = screen.view
                # On the screen's own queue, after the screen's handler: "the widget has it".
                app.live.messages.subscribe(screen, recorder)
            else:
                app.live.messages.subscribe(app, recorder)
            results["chat_screen_open"] = 1.0 if screen is not None else 0.0
            for count in args.listeners:
                print(f"  {count} other listeners…", flush=True)
                await asyncio.to_thread(others.grow_to, count)
                raw = await asyncio.to_thread(raw_notify_latencies, target, args.messages)
                raw_w = await asyncio.to_thread(raw_notify_latencies, target, args.messages, True)
                results[f"raw_notify_p50_ms_{count}"] = percentile(raw, 50)
                results[f"raw_notify_p99_ms_{count}"] = percentile(raw, 99)
                results[f"raw_notify_write_p50_ms_{count}"] = percentile(raw_w, 50)
                results[f"raw_notify_write_p99_ms_{count}"] = percentile(raw_w, 99)
                line = (
                    f"    raw p50 {percentile(raw, 50):.2f} p99 {percentile(raw, 99):.2f}"
                    f" | raw+write p50 {percentile(raw_w, 50):.2f} p99 {percentile(raw_w, 99):.2f}"
                )
                runs = [("", GAP_S)]
                if count == BACK_TO_BACK_AT:
                    runs.append(("b2b_", 0.0))
                for label, gap in runs:
                    commits: dict[int, float] = {}
                    cpu = time.process_time()
                    lat = await asyncio.to_thread(
                        app_latencies, target, people, recorder, args.messages, commits, gap
                    )
                    cpu_ms = (time.process_time() - cpu) * 1000 / (args.messages + WARMUP)
                    results[f"chat_{label}p50_ms_{count}"] = percentile(lat, 50)
                    results[f"chat_{label}p99_ms_{count}"] = percentile(lat, 99)
                    results[f"chat_{label}max_ms_{count}"] = max(lat)
                    painted = [
                        (recorder.painted[i] - t0) * 1000
                        for i, t0 in commits.items()
                        if i in recorder.painted
                    ]
                    if painted:
                        results[f"chat_{label}painted_p50_ms_{count}"] = percentile(painted, 50)
                        results[f"chat_{label}painted_p99_ms_{count}"] = percentile(painted, 99)
                    results[f"app_{label}cpu_ms_per_message_{count}"] = cpu_ms
                    line += (
                        f" | chat {label}p50 {percentile(lat, 50):.2f} "
                        f"p99 {percentile(lat, 99):.2f} (app CPU {cpu_ms:.1f} ms/message)"
                    )
                    if painted:
                        line += (
                            f" | painted p50 {percentile(painted, 50):.2f}"
                            f" p99 {percentile(painted, 99):.2f}"
                        )
                    if args.profile:
                        print(f"    {label or 'paced '}{gc_pauses.report()}")
                        for key, value in stages.breakdown(commits, recorder.arrived).items():
                            print(f"    {label}{key}: {value:.2f} ms", flush=True)
                print(line + " ms", flush=True)
            if screen is not None:
                results["chat_not_in_view"] = float(recorder.not_in_view)
    finally:
        others.close()
    results["messages_per_config"] = float(args.messages)
    results["gap_ms"] = GAP_S * 1000
    return results


# -- resident memory of the receiver's app (a process of its own) ----------------------------------


def load_conversation(target, people, count: int) -> None:
    import psycopg

    with psycopg.connect(target.admin(), autocommit=True) as admin:
        admin.execute(
            "INSERT INTO school.messages (sender_id, receiver_id, message) "
            "SELECT CASE WHEN g %% 2 = 0 THEN %(t)s ELSE %(s)s END, "
            "       CASE WHEN g %% 2 = 0 THEN %(s)s ELSE %(t)s END, "
            "       'history message ' || g || ' ' || repeat('lorem ipsum ', 1 + g %% 8) "
            "FROM generate_series(1, %(n)s) g",
            {"t": people[TEACHER], "s": people[STUDENT], "n": count},
        )
        admin.execute("VACUUM ANALYZE school.messages")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def rss_child(data_dir: Path, teacher_id: int) -> dict:
    """In a process of its own: the receiver's app, logged in, the big conversation open."""
    from school_tui.app import SchoolApp

    target = make_target(data_dir)
    app = SchoolApp(target, prepare_server=False)
    out = {"rss_mb_before_login": rss_mb()}
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_receiver(target, pilot, app, {TEACHER: teacher_id})
        out["chat_screen_open"] = 1.0 if screen is not None else 0.0
        if screen is not None:
            view = screen.view
            # Page back to the window's limit: the most the view ever holds.
            limit = getattr(view, "MAX_LOADED", 500)
            while view.has_older and len(view.rows) < limit:
                before = len(view.rows)
                screen.action_older()
                await wait_for(pilot, lambda b=before: len(view.rows) > b, "an older page")
            out["rss_rows_loaded"] = float(len(view.rows))
        await pilot.pause()
        out["rss_mb_10k"] = rss_mb()
    return out


def measure_rss(data_dir: Path, teacher_id: int) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(data_dir), str(teacher_id)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the RSS process failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- main ------------------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--rss-child":
        out = asyncio.run(rss_child(Path(sys.argv[2]), int(sys.argv[3])))
        print(json.dumps(out))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000, help="per configuration")
    parser.add_argument(
        "--listeners",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 50, 200, 500],
        help="other listening connections, e.g. 1,50,200,500",
    )
    parser.add_argument("--profile", action="store_true", help="stages, GC pauses (slower)")
    parser.add_argument(
        "--no-chat-screen", action="store_true", help="the home on screen, not the chat"
    )
    args = parser.parse_args()

    from school_tui.server.provision import prepare, release

    os.environ["TZ"] = "UTC"
    data_dir = Path(tempfile.mkdtemp(prefix="school-tui-bench-chat-"))
    target = make_target(data_dir)
    print("preparing an embedded server of its own…", flush=True)
    prepare(target)  # a new cluster: server/embedded.py's initdb sets max_connections (800)
    try:
        people = create_people(target)
        results = asyncio.run(measure_latency(target, people, args))
        print(f"loading a {RSS_MESSAGES}-message conversation, measuring the app's memory…")
        load_conversation(target, people, RSS_MESSAGES)
        rss = measure_rss(data_dir, people[TEACHER])
        results["rss_mb_10k"] = rss["rss_mb_10k"]
        results["rss_mb_before_login"] = rss["rss_mb_before_login"]
        results["rss_chat_screen_open"] = rss["chat_screen_open"]
        if "rss_rows_loaded" in rss:
            results["rss_rows_loaded"] = rss["rss_rows_loaded"]
    finally:
        release(target)
        shutil.rmtree(data_dir, ignore_errors=True)
    if "chat_p99_ms_200" in results:
        results["chat_over_raw_p99_200"] = (
            results["chat_p99_ms_200"] / results["raw_notify_p99_ms_200"]
        )
    print_table("chat_latency", results)
    write_results("chat_latency", results)


if __name__ == "__main__":
    main()
