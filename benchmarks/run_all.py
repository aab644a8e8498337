"""`make bench`: every benchmark at a size that finishes in minutes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "startup.py",
    "auth.py",
    "chat_latency.py",
    "registrar.py",
    "keys.py",
    # The size the ledger's metrics are compared at (payment_post_ms_p95_1m,
    # collections_report_ms_1m): a 1,000,000-payment ledger. Extrapolated from 2k and 20k
    # runs (generation ~1 s per 20k, the invariant query ~0.35 s, the report ~0.05 s), a few
    # minutes on a small machine; on a slower one, `cashier.py --payments 100000` gives the
    # same metrics named _100k.
    "cashier.py",
    # Every screen of every role on a small district (0.01: 1,000 students, ~8,000
    # payments); `python benchmarks/screens.py --scale 1` is the full district.
    "screens.py --scale 0.01",
]

if __name__ == "__main__":
    # --full: the screens on the full district (100,000 students; tens of minutes).
    full = "--full" in sys.argv[1:]
    failed = []
    for name in BENCHMARKS:
        if full and name.startswith("screens.py"):
            name = "screens.py --scale 1"
        print(f"== {name}", flush=True)
        # One failing benchmark does not stop the others; the exit status still says so.
        script, *args = name.split()
        if subprocess.run([sys.executable, str(HERE / script), *args], check=False).returncode:
            failed.append(name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")
