"""Benchmark operating an app: rolling update, automatic revert, rollback, heal.

    .venv/bin/python bench/deploy.py [--out bench/results/deploy.json] [--keep]

Makes one hardened local pod of 6 hosts (3 zones) named ``mtbench-<random>`` with
`mason up` (the sample guestbook), in a private project directory and MASON_HOME,
scales the guestbook's web service to 6 replicas, then measures, while a client calls
the public port of every host in a loop (to the pod's own addresses only):

0. `mason up` itself, from nothing and again (the no-op);
1. a rolling update of the 6 replicas (a new environment value);
2. a release whose healthcheck fails: the rollout stops and reverts by itself;
3. `mason app rollback` to the first 6-replica release (recorded images, no build);
4. `mason pod heal` after a worker host is stopped (time from the heal command's start,
   the loss being detected by it, to every replica placed and ready again), then the
   host started again and `mason pod heal` removing the copies it still ran.

For each: the command's wall-clock time, requests served and failed, and the client's
p50/p99 latency during it. The pod is destroyed at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

MASON = [sys.executable, "-m", "mason"]
REPO = Path(__file__).resolve().parents[1]
GUESTBOOK = REPO / "examples" / "guestbook"


class Client(threading.Thread):
    """Calls the endpoints in turn until stopped, recording failures and latencies."""

    def __init__(self, urls: list[str], limit: float = 1800) -> None:
        super().__init__(daemon=True)
        self.urls, self.limit = urls, limit
        self.ok = self.failed = 0
        self.errors: list[str] = []
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        end, n = time.monotonic() + self.limit, 0
        while not self.stop.is_set() and time.monotonic() < end:
            url = self.urls[n % len(self.urls)]
            n += 1
            started = time.monotonic()
            try:
                with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310
                    json.loads(resp.read())
                self.ok += 1
                self.latencies.append(time.monotonic() - started)
            except Exception as exc:  # every kind of failure counts
                self.failed += 1
                self.errors.append(f"{url}: {exc!r}"[:160])
            time.sleep(0.02)

    def figures(self) -> dict:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1) if lat else None

        return {
            "requests_ok": self.ok,
            "requests_failed": self.failed,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "first_errors": self.errors[:3],
        }


class Bench:
    def __init__(self, project: Path, env: dict[str, str], pod: str) -> None:
        self.project, self.env, self.pod = project, env, pod
        self.rows: list[dict] = []

    def mason(self, *args: str, ok: tuple[int, ...] = (0,)) -> tuple[float, dict | None, int]:
        started = time.monotonic()
        proc = subprocess.run(
            [*MASON, "--project-dir", str(self.project), "--no-color", "--json", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=3600,
            check=False,
        )
        elapsed = time.monotonic() - started
        if proc.returncode not in ok:
            sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
            raise SystemExit(f"mason {' '.join(args)} exited {proc.returncode}")
        lines = proc.stdout.strip().splitlines()
        try:
            data = json.loads(lines[-1]) if lines else None
        except ValueError:
            data = None
        return elapsed, data, proc.returncode

    def measure(self, label: str, urls: list[str], *args: str, ok=(0,)) -> dict | None:
        """Time one mason command; while it runs, a client calls ``urls`` (none: no client)."""
        load = os.getloadavg()[0]
        client = Client(urls)
        if urls:
            client.start()
            time.sleep(1)
        elapsed, data, rc = self.mason(*args, ok=ok)
        client.stop.set()
        if urls:
            client.join()
        row = {
            "what": label,
            "seconds": round(elapsed, 1),
            "exit": rc,
            **(client.figures() if urls else {}),
            "load1_before": round(load, 2),
            "command": "mason " + " ".join(args),
        }
        self.rows.append(row)
        print(json.dumps(row), flush=True)
        return data


def manifest(root: Path, name: str, **replace: str) -> Path:
    """The guestbook with 6 web replicas and ``replace`` applied, beside its web service."""
    if not (root / "web").exists():
        shutil.copytree(GUESTBOOK / "web", root / "web")
    text = (GUESTBOOK / "guestbook.yml").read_text().replace("replicas: 2", "replicas: 6")
    for old, new in replace.items():
        text = text.replace(old, new)
    path = root / f"{name}.yml"
    path.write_text(text)
    return path


def start(out: str, prefix: str) -> tuple[argparse.Namespace, str, dict]:
    """The command line (--out, --keep), a fresh pod name and the results' skeleton."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path(out))
    parser.add_argument("--keep", action="store_true", help="do not destroy the pod")
    args = parser.parse_args()
    pod = f"{prefix}-{uuid.uuid4().hex[:6]}"
    machine = {"cpus": os.cpu_count(), "python": platform.python_version()}
    return args, pod, {"machine": machine, "pod": pod, "runs": []}


def finish(args: argparse.Namespace, results: dict, bench: Bench) -> int:
    """Write the figures (--out) and print them."""
    results["runs"] = bench.rows
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


def main() -> int:
    args, pod, results = start("bench/results/deploy.json", "mtbench")
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "proj"
        (project / "apps").mkdir(parents=True)
        env = {**os.environ, "MASON_HOME": str(Path(tmp) / "home")}
        bench = Bench(project, env, pod)
        try:
            # 6 hosts over 3 zones, one web replica on each: the spread a production
            # pod would have (replicas may share a host: the edge holds the public port)
            up_s, up, _ = bench.mason("up", "--pod", pod, "--hosts", "6")
            assert up is not None
            bench.rows.append(
                {"what": "mason up (create, harden, deploy)", "seconds": round(up_s, 1)}
            )
            again_s, again, _ = bench.mason("up", "--pod", pod, "--hosts", "6")
            assert again is not None and again.get("deployed") is False, again
            bench.rows.append({"what": "mason up again (no-op)", "seconds": round(again_s, 1)})
            urls = up["endpoints"]
            six = manifest(project / "apps", "guestbook")
            bench.measure(
                "scale web 2 -> 6", urls, "app", "deploy", "guestbook", "--pod", pod, "--yes"
            )
            six.write_text(
                six.read_text().replace(
                    "    security:\n", '    env:\n      GUESTBOOK_VERSION: "2"\n    security:\n', 1
                )
            )
            bench.measure(
                "rolling update of 6 replicas",
                urls,
                "app",
                "deploy",
                "guestbook",
                "--pod",
                pod,
                "--yes",
            )
            bad = manifest(
                Path(tmp),
                "bad",
                **{
                    "test: [python3, /app/guestbook.py, --check]": (
                        "test: [python3, -c, 'raise SystemExit(1)']"
                    )
                },
            )
            bench.measure(
                "failed health gate, reverted by itself",
                urls,
                "app",
                "deploy",
                str(bad),
                "--pod",
                pod,
                "--yes",
                ok=(6,),
            )
            _, ledger, _ = bench.mason("app", "releases", "guestbook", "--pod", pod, ok=(0, 8))
            six_first = next(
                r["number"] for r in ledger["releases"] if len(r["placement"].get("web", [])) == 6
            )
            manifest(project / "apps", "guestbook")  # the manifest of that release again
            bench.measure(
                f"rollback to release {six_first}",
                urls,
                "app",
                "rollback",
                "guestbook",
                "--pod",
                pod,
                "--to",
                str(six_first),
                "--yes",
            )
            heal(bench, up, urls)
        finally:
            if not args.keep:
                bench.mason("pod", "destroy", pod, "--yes", ok=(0, 4))
    return finish(args, results, bench)


def heal(bench: Bench, up: dict, urls: list[str]) -> None:
    """Stop the worker with the most web replicas and no addon; heal; start it; heal."""
    hosts = {h["name"]: h for h in up["hosts"]}
    victim = sorted(n for n, h in hosts.items() if h["role"] == "worker")[-1]
    left = [u for u in urls if hosts[victim]["private_address"] not in u]
    subprocess.run(["docker", "stop", "-t", "5", f"mason-{victim}"], check=True, timeout=120)
    try:
        data = bench.measure(
            f"heal after losing {victim}",
            left,
            "pod",
            "heal",
            bench.pod,
            "--yes",
            "--move-stateful",
            ok=(0, 8),
        )
        if data:
            bench.rows[-1]["healed"] = data.get("healed")
    finally:
        subprocess.run(["docker", "start", f"mason-{victim}"], check=True, timeout=120)
    time.sleep(20)  # its own containers come back with its engine
    bench.measure(
        f"heal after {victim} came back (stale copies removed)",
        urls,
        "pod",
        "heal",
        bench.pod,
        "--yes",
    )


if __name__ == "__main__":
    raise SystemExit(main())
