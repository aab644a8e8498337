"""The district for a benchmark: a private embedded server in a temporary data directory,
filled by school_tui.server.district at a scale (1.0: about 100,000 students, 1,000,000
payments, 2,000,000 messages), and the role logins' connection strings.

Usage as a script: python benchmarks/district.py [--scale S] (generates, prints the
timings and the rows, and throws the data away).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_target(data_dir: Path):
    from school_tui.db.connect import Target
    from school_tui.server.config import load

    env = {"SCHOOL_TUI_DATA_DIR": str(data_dir)}
    return Target.from_config(load(environ=env, toml_path=data_dir / "none.toml"))


@contextlib.contextmanager
def embedded_server(prefix: str = "school-tui-bench-") -> Iterator[object]:
    """A prepared (empty) school on a private embedded server, removed afterwards."""
    from school_tui.server.provision import prepare, release

    os.environ["TZ"] = "UTC"
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    target = make_target(data_dir)
    prepare(target)
    try:
        yield target
    finally:
        release(target)
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def district_server(scale: float, parts=None) -> Iterator[tuple[object, object]]:
    """(target, District) of a generated district on its own server (`parts`: of
    school_tui.server.district.PARTS, None for all)."""
    import psycopg

    from school_tui.server import district

    with embedded_server("school-tui-bench-district-") as target:
        with psycopg.connect(target.admin(), autocommit=True) as admin:
            print(f"generating the district at scale {scale}…", flush=True)
            started = time.perf_counter()
            made = district.load(admin, scale, parts=district.PARTS if parts is None else parts)
            print(f"generated in {time.perf_counter() - started:.1f} s", flush=True)
        yield target, made


def login_conninfo(target, email: str, password: str) -> str:
    """The connection string of a person's own login (as the app derives it)."""
    import psycopg

    from school_tui.auth.passwords import derive_db_password
    from school_tui.db import people

    with psycopg.connect(target.prelogin(), autocommit=True) as pre:
        login_role, salt = people.prelogin_lookup(pre, email)
    return target.person(login_role, derive_db_password(password, salt))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.01)
    args = parser.parse_args()
    with district_server(args.scale) as (_target, made):
        for table, rows in made.rows.items():
            print(f"  {table:22} {rows:>10,}")


if __name__ == "__main__":
    main()
