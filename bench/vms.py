"""Benchmark VM pods (``--provider qemu``) beside container pods (``--provider docker``).

    .venv/bin/python bench/vms.py [--providers qemu,docker] [--out bench/results/vms.json]

Run it under the machine's pod lock (``flock /tmp/mason-pods.lock ...``). For each
provider, in a private project directory and MASON_HOME, with the disk/image
already built (built first, not timed):

1. `mason pod create` of a 1-host pod (then destroyed);
2. `mason pod create` of a 3-host pod, then on it `mason harden` (first harden),
   `mason harden` again (no-op) and `mason harden --check` (no-op check);
3. memory per host of that 3-host pod once hardened and idle: the resident size
   of each VM's QEMU process, or each host container's memory use (cgroup).

Each figure is the wall-clock time of the command as a user runs it; the load
average is recorded with it (these machines are shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import uuid
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harden import run

REPO = Path(__file__).resolve().parent.parent


def qemu_rss(pod: str) -> list[int]:
    """Resident bytes of each QEMU process of the pod (read from /proc)."""
    sizes = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
            if not argv or not argv[0].endswith(b"qemu-system-x86_64"):
                continue
            if not any(a.startswith(f"mason-{pod}-h".encode()) for a in argv):
                continue
            status = (entry / "status").read_text()
        except OSError:
            continue
        rss = next(ln for ln in status.splitlines() if ln.startswith("VmRSS:"))
        sizes.append(int(rss.split()[1]) * 1024)
    return sorted(sizes)


def container_memory(pod: str) -> list[int]:
    """Memory charged to each host container's cgroup (what it holds, page cache
    included, as a VM's resident size does). Read from the cgroup files: Docker's stats
    report 0 where the engine's cgroup driver does not match the machine's (here)."""
    import docker

    engine = docker.from_env()
    containers = engine.containers.list(filters={"label": f"mason.pod={pod}"})
    sizes = []
    for c in containers:
        candidates = (
            Path(f"/sys/fs/cgroup/memory/docker/{c.id}/memory.usage_in_bytes"),  # v1
            Path(f"/sys/fs/cgroup/system.slice/docker-{c.id}.scope/memory.current"),  # v2
            Path(f"/sys/fs/cgroup/docker/{c.id}/memory.current"),
        )
        found = next((p for p in candidates if p.exists()), None)
        usage = c.stats(stream=False)["memory_stats"].get("usage", 0)
        sizes.append(int(found.read_text()) if found else usage)
    return sorted(sizes)


def bench_provider(provider: str, tmp: Path, results: dict) -> None:
    project = tmp / provider
    project.mkdir()
    env = {**os.environ, "MASON_HOME": str(tmp / "home")}
    one, three = f"mtbench-{uuid.uuid4().hex[:6]}", f"mtbench-{uuid.uuid4().hex[:6]}"
    pods = {name: {"provider": provider} for name in (one, three)}
    (project / "mason.yml").write_text(yaml.safe_dump({"version": 1, "pods": pods}))

    def measure(label: str, hosts: int, *cmd: str) -> None:
        load = os.getloadavg()[0]
        elapsed, rc = run(list(cmd), project, env)
        row = {
            "provider": provider,
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
        measure("create", 1, "pod", "create", one, "--hosts", "1")
        run(["pod", "destroy", one, "--yes"], project, env)
        measure("create", 3, "pod", "create", three, "--hosts", "3")
        measure("first harden", 3, "harden", three)
        measure("no-op harden", 3, "harden", three)
        measure("no-op check", 3, "harden", three, "--check")
        sizes = qemu_rss(three) if provider == "qemu" else container_memory(three)
        row = {
            "provider": provider,
            "what": "memory per host (MiB), hardened and idle",
            "hosts": 3,
            "mib": [round(s / 2**20) for s in sizes],
        }
        results["runs"].append(row)
        print(json.dumps(row), flush=True)
    finally:
        for name in (one, three):
            run(["pod", "destroy", name, "--yes"], project, env, allow_fail=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--providers", default="qemu,docker")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "vms.json")
    args = parser.parse_args()
    results: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": [],
    }
    from mason.providers.docker import DockerProvider
    from mason.providers.docker.image import host_image
    from mason.providers.qemu.disk import base_disk
    from mason.providers.qemu.state import State

    client = DockerProvider().client
    host_image(client)  # built first: not what a create pays once it exists
    base_disk(client, State().images)
    with tempfile.TemporaryDirectory() as tmp:
        for provider in args.providers.split(","):
            bench_provider(provider, Path(tmp), results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
