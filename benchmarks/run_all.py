"""`make bench`: every benchmark at a size that finishes in minutes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["startup.py", "auth.py", "chat_latency.py", "cashier.py --payments 100000"]

if __name__ == "__main__":
    failed = []
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        # One failing benchmark does not stop the others; the exit status still says so.
        script, *args = name.split()
        if subprocess.run([sys.executable, str(HERE / script), *args], check=False).returncode:
            failed.append(name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")
