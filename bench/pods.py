"""Benchmark: time to create a local 3-host pod from a built image, and a no-op re-run.

    .venv/bin/python bench/pods.py [--hosts 3] [--runs 3] [--out bench/results/pods.json]

Prints the figures and writes them as JSON. Each run creates a fresh pod named
``mbench-<random>`` and destroys it afterwards; the host image is built first
(not timed), so the figures are what a user pays once the image exists.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def mason(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mason", *args], check=True, capture_output=True, cwd=REPO
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "pods.json")
    args = parser.parse_args()
    mason("image", "build")
    load_before = os.getloadavg()[0]
    create, noop = [], []
    for _ in range(args.runs):
        name = f"mbench-{uuid.uuid4().hex[:6]}"
        try:
            create.append(mason("pod", "create", name, "--hosts", str(args.hosts)))
            noop.append(mason("pod", "create", name))
        finally:
            subprocess.run(
                [sys.executable, "-m", "mason", "pod", "destroy", name, "--yes"],
                capture_output=True,
                check=False,
                cwd=REPO,
            )
    result = {
        "benchmark": "pods",
        "hosts": args.hosts,
        "runs": args.runs,
        "create_seconds": {"median": statistics.median(create), "all": create},
        "noop_rerun_seconds": {"median": statistics.median(noop), "all": noop},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            # other work on the machine moves these figures: say how busy it was
            "load_average_1m": {"before": load_before, "after": os.getloadavg()[0]},
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"create a {args.hosts}-host pod: median {result['create_seconds']['median']:.1f}s "
        f"(runs: {', '.join(f'{t:.1f}' for t in create)})"
    )
    print(
        f"no-op re-run:          median {result['noop_rerun_seconds']['median']:.1f}s "
        f"(runs: {', '.join(f'{t:.1f}' for t in noop)})"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
