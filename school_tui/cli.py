"""The `school-tui` command: the app, and the administrative commands around it.

Imports stay inside the functions so that `school-tui` reaches the login form fast and a
`db status` never loads Textual.
"""

from __future__ import annotations

import argparse
import json
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="school-tui", description="Keyboard-first school management in the terminal."
    )
    parser.add_argument("--dsn", help="PostgreSQL conninfo or URI (default: embedded server)")
    parser.add_argument("--role-prefix", help="the school's role prefix (default: school)")
    parser.add_argument(
        "--demo-if-empty", action="store_true", help="load the demo school into an empty database"
    )
    sub = parser.add_subparsers(dest="command")

    db = sub.add_parser("db", help="create, upgrade or inspect the school database")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("init", help="create roles, schema and functions (as the server's owner)")
    db_sub.add_parser("upgrade", help="apply pending migrations")
    db_sub.add_parser("status", help="show the server, schema version and people")

    demo = sub.add_parser(
        "demo", help="load the deterministic demo school (into an empty database)"
    )
    demo.add_argument(
        "--district",
        action="store_true",
        help="a district instead: 100,000 students, 1M payments, 2M messages (--scale)",
    )
    demo.add_argument(
        "--scale", type=float, default=1.0, help="the district's size (1.0 full, 0.01 small)"
    )

    user = sub.add_parser("user", help="manage people from the command line")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create a person and print a one-time password")
    add.add_argument("--role", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--first-name", required=True)
    add.add_argument("--last-name", required=True)

    server = sub.add_parser("server", help="the embedded server")
    server_sub = server.add_subparsers(dest="server_command", required=True)
    server_sub.add_parser("start", help="start it (and keep it running)")
    server_sub.add_parser("stop", help="stop it")
    server_sub.add_parser("info", help="where it lives and how to reach it with psql")
    server_sub.add_parser(
        "watch-logins",
        help="lock accounts after repeated wrong passwords, from the server's JSON log "
        "(run it as a service beside a server of your own; as a superuser)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from school_tui.server.config import ConfigError, load

    try:
        config = load(cli_dsn=args.dsn, cli_role_prefix=args.role_prefix)
    except ConfigError as exc:
        print(f"school-tui: {exc}", file=sys.stderr)
        return 2
    from school_tui.db.connect import Target

    target = Target.from_config(config)
    try:
        if args.command is None:
            return _run_app(
                target,
                args.demo_if_empty,
                config.idle_lock_minutes * 60,
                config.away_after_minutes * 60.0,
                config.money,
            )
        return _admin_command(args, target)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a message, never a traceback
        print(f"school-tui: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _run_app(
    target, demo_if_empty: bool, idle_lock_seconds: float, away_after: float, money=None
) -> int:
    from school_tui.app import SchoolApp

    app = SchoolApp(
        target,
        demo_if_empty=demo_if_empty,
        idle_lock_seconds=idle_lock_seconds,
        away_after=away_after,
        money_format=money,
    )
    try:
        app.run()
    finally:
        from school_tui.server.provision import release  # psycopg: not before the login form

        release(target)
    return app.return_code or 0


def _print_progress(text: str) -> None:
    if text:
        print(text)


def _admin_connection(target):
    import psycopg

    from school_tui.server.provision import ensure_embedded_database

    if target.embedded_server is not None:
        ensure_embedded_database(target, progress=_print_progress)
    return psycopg.connect(target.admin(), autocommit=True)


def _admin_command(args, target) -> int:
    from school_tui.db import bootstrap

    if args.command == "server" and args.server_command == "watch-logins":
        return _watch_logins(target)
    if args.command == "server":
        return _server_command(args, target)
    with _admin_connection(target) as conn:
        if args.command == "db":
            if args.db_command == "init":
                version = bootstrap.init(conn, target.roles)
                print(f"school database ready at schema version {version}")
                _print_deployment_problems(conn, target.roles)
            elif args.db_command == "upgrade":
                version = bootstrap.upgrade(conn, target.roles)
                print(f"schema version {version}")
            else:
                print(json.dumps(bootstrap.status(conn, target.roles), indent=2, default=str))
        elif args.command == "demo":
            from school_tui.server import demo

            if not demo.is_empty(conn):
                print(
                    "school-tui: the database already has people; the demo loads only into an empty one",
                    file=sys.stderr,
                )
                return 1
            if args.district:
                from school_tui.server import district

                district.load(conn, args.scale, progress=print)
                print("district loaded; log in as any of:")
                for email in district.DISTRICT_LOGINS.values():
                    print(f"  {email}  (password: {district.DISTRICT_PASSWORD})")
                return 0
            demo.load(conn, progress=_print_progress)
            print("demo school loaded; log in as any of:")
            for email in demo.DEMO_LOGINS:
                print(f"  {email}  (password: {demo.DEMO_PASSWORD})")
        elif args.command == "user":
            return _user_add(conn, args)
    return 0


def _print_deployment_problems(conn, roles) -> None:
    from school_tui.db import deployment

    problems = deployment.check(conn, roles)
    for problem in problems:
        print(f"WARNING: {problem}", file=sys.stderr)
    if not problems:
        print("server checks: passwords are checked, no other database is open to school logins")


def _user_add(conn, args) -> int:
    from school_tui.auth.passwords import temporary_password
    from school_tui.db import people

    password = temporary_password()
    user_id = people.create_person(
        conn,
        role=args.role,
        first_name=args.first_name,
        last_name=args.last_name,
        email=args.email,
        password=password,
        must_change=True,
    )
    print(f"created person {user_id} ({args.role}) {args.email}")
    print(f"one-time password (shown once; must be changed at first login): {password}")
    return 0


def _watch_logins(target) -> int:
    """Follow the server's log until interrupted (docs/security-model.md, "Lockout")."""
    import signal
    import threading

    from school_tui.db import lockout

    if target.embedded_server is not None:
        from school_tui.server.provision import ensure_embedded_database

        ensure_embedded_database(target, progress=_print_progress)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"watching logins to {target.dbname}", flush=True)
    lockout.watch(
        target.admin(),
        target.dbname or "",
        stop,
        on_lock=lambda login: print(f"locked {login}", flush=True),
    )
    return 0


def _server_command(args, target) -> int:
    server = target.embedded_server
    if server is None:
        print("school-tui: a configured server is in use; the embedded one is not", file=sys.stderr)
        return 2
    if args.server_command == "start":
        server.ensure_running()
        print(f"running: psql '{target.admin()}'")
    elif args.server_command == "stop":
        server.stop()
        print("stopped")
    else:
        print(f"data directory: {server.data_dir}")
        print(f"running: {server.is_running()}")
        print(f"owner:   psql '{target.admin()}'")
        print(f"person:  psql 'host={server.socket_dir} dbname={target.dbname} user=<login role>'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
