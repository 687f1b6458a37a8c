"""Benchmark `mason harden`: first run on 3 hosts, no-op re-runs on 3 and on 6 hosts.

    .venv/bin/python bench/harden.py [--out bench/results/harden.json] [--keep]

Makes one local pod named ``mtbench-<random>`` (the ``mt`` prefix marks test pods,
`make clean-test-pods` removes leftovers), in a private project directory and
MASON_HOME, and destroys it at the end. Never more than one 6-host pod.

Measures, each with the wall-clock time of the `mason` command as a user runs it:
1. `mason harden POD` on 3 fresh hosts (first harden);
2. `mason harden POD` again (no-op apply) and `mason harden POD --check` (no-op check);
3. after `mason pod create POD --hosts 6` and `mason harden POD --limit h4,h5,h6`,
   `mason harden POD` and `mason harden POD --check` on all 6 hosts (no-op).
The machine's load average is recorded with each figure: these machines are shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

MASON = [sys.executable, "-m", "mason"]


def run(
    args: list[str],
    project: Path,
    env: dict[str, str],
    *,
    allow_fail: bool = False,
    cwd: Path | None = None,
) -> tuple[float, int]:
    """Time one `mason` command (from ``cwd``'s checkout when given: ``python -m mason``
    imports the package from the working directory first)."""
    started = time.monotonic()
    proc = subprocess.run(
        [*MASON, "--project-dir", str(project), "--no-color", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=1800,
        check=False,
    )
    elapsed = time.monotonic() - started
    if proc.returncode not in (0, 8):
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        if not allow_fail:
            raise SystemExit(f"mason {' '.join(args)} exited {proc.returncode}")
    return elapsed, proc.returncode


def out_file(text: str) -> Path:
    """argparse type of ``--out``: a file name in an existing, writable directory,
    checked before any pod is made (one line and exit 2 otherwise)."""
    path = Path(text)
    if any(ord(c) < 32 or c == "\x7f" for c in text):
        raise argparse.ArgumentTypeError(f"{text!r} holds a control character (a newline?)")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory; expected a file name")
    if path.is_symlink() and not path.exists():
        raise argparse.ArgumentTypeError(f"{text!r} is a broken or looping symlink")
    if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text!r}: no writable directory {str(path.parent)!r}")
    return path


def write_json(path: Path, data: dict) -> None:
    """Write to a temporary name beside ``path``, then rename: never half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def head(repo: Path) -> str:
    """The checkout's short commit, recorded with each benchmark's figures."""
    return subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=out_file, default=Path("bench/results/harden.json"))
    parser.add_argument("--keep", action="store_true", help="do not destroy the pod")
    args = parser.parse_args()
    pod = f"mtbench-{uuid.uuid4().hex[:6]}"
    results: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "pod": pod,
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "proj"
        project.mkdir()
        env = {**os.environ, "MASON_HOME": str(Path(tmp) / "home")}

        def measure(label: str, hosts: int, *cmd: str) -> None:
            load = os.getloadavg()[0]
            elapsed, rc = run(list(cmd), project, env)
            row = {
                "what": label,
                "hosts": hosts,
                "seconds": round(elapsed, 1),
                "exit": rc,
                "load1_before": round(load, 2),
                "command": "mason " + " ".join(cmd),
            }
            results["runs"].append(row)
            print(json.dumps(row), flush=True)

        try:
            run(["pod", "create", pod, "--hosts", "3"], project, env)
            measure("first harden", 3, "harden", pod)
            measure("no-op harden", 3, "harden", pod)
            measure("no-op check", 3, "harden", pod, "--check")
            run(["pod", "create", pod, "--hosts", "6"], project, env)
            measure("first harden of 3 new hosts", 6, "harden", pod, "--limit", "h4,h5,h6")
            measure("no-op harden", 6, "harden", pod)
            measure("no-op check", 6, "harden", pod, "--check")
        finally:
            if not args.keep:
                run(["pod", "destroy", pod, "--yes"], project, env)
    write_json(args.out, results)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
