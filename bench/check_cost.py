"""What the nightly `mason harden --check` costs, side by side on one pod: this checkout,
an earlier one (``--before REF``: did a change make the check slower?) and this checkout
under Mitogen's strategy (``--mitogen DIR``).

    .venv/bin/python bench/check_cost.py [--before REF] [--mitogen DIR] [--hosts 3]
        [--rounds 3] [--out bench/results/check-cost.json]

Makes one local pod ``mtbench-<random>`` with this checkout (create, first harden), in
a private project directory and MASON_HOME, then runs `mason harden POD --check` in
rounds, each variant once per round in turn (so a load change hits them alike), and
destroys the pod. ``REF`` is checked out in a temporary git worktree and run from
there (its own mason package, roles and host image) against a pod of its own that it
created and hardened itself: checking hosts another checkout hardened finds drift and
times the report of it, not the nightly no-op. ``DIR`` holds Mitogen's ``ansible_mitogen``
package (e.g. the unpacked ``mitogen`` wheel): the variant sets ANSIBLE_STRATEGY to
``mitogen_linear``. Each check writes a JSON report; the verdicts of every variant are
compared with this checkout's (a faster run that sees something else is no gain).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harden import head, out_file, run, write_json

REPO = Path(__file__).resolve().parent.parent


def verdicts(report: Path) -> dict[str, str]:
    """``h1 MSN-SSH-01 -> pass``: hosts by their number, so pods of two checkouts compare."""
    data = json.loads(report.read_text())
    return {
        f"{h.rsplit('-', 1)[-1]} {c['id']}": v["status"]
        for c in data["controls"]
        for h, v in c["hosts"].items()
    }


def is_commit(ref: str) -> bool:
    """Whether ``ref`` names a commit here (checked before a pod is made)."""
    found = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    return found.returncode == 0 and not ref.startswith("-")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="a git ref to compare with (run from a worktree)")
    parser.add_argument("--mitogen", type=Path, help="a directory holding ansible_mitogen")
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--out", type=out_file, default=REPO / "bench" / "results" / "check-cost.json"
    )
    args = parser.parse_args()
    if args.mitogen and not (args.mitogen / "ansible_mitogen" / "plugins" / "strategy").is_dir():
        parser.error(f"--mitogen {args.mitogen}: no ansible_mitogen/plugins/strategy in it")
    if args.before and not is_commit(args.before):
        parser.error(f"--before {args.before}: not a commit of {REPO}")
    if not 1 <= args.hosts <= 20 or not 1 <= args.rounds <= 20:
        parser.error("--hosts and --rounds: expected 1 to 20")
    pod = f"mtbench-{uuid.uuid4().hex[:6]}"
    results: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "pod": pod,
        "hosts": args.hosts,
        "head": head(REPO),
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "proj"
        project.mkdir()
        env = {**os.environ, "MASON_HOME": str(Path(tmp) / "home")}
        # variant -> (checkout to run from, environment, project directory, pod)
        variants: dict[str, tuple[Path, dict[str, str], Path, str]] = {
            "this checkout": (REPO, env, project, pod)
        }
        if args.before:
            tree = Path(tmp) / "before"
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), args.before],
                check=True, capture_output=True,
            )  # fmt: skip
            (Path(tmp) / "proj-before").mkdir()
            variants[f"before ({args.before})"] = (tree, env, Path(tmp) / "proj-before", f"{pod}b")
        if args.mitogen:
            mitogen = {
                **env,
                "ANSIBLE_STRATEGY": "mitogen_linear",
                "ANSIBLE_STRATEGY_PLUGINS": str(args.mitogen / "ansible_mitogen/plugins/strategy"),
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(args.mitogen), env.get("PYTHONPATH", "")) if p
                ),
            }
            variants["this checkout, Mitogen"] = (REPO, mitogen, project, pod)
        # each pod made and hardened once, by the checkout that owns it
        own = {(tree, proj, name) for tree, _, proj, name in variants.values()}
        try:
            for tree, proj, name in sorted(own, key=lambda o: o[2]):
                results.setdefault("setup", []).append(
                    {
                        "pod": name,
                        "create_seconds": round(
                            run(
                                ["pod", "create", name, "--hosts", str(args.hosts)],
                                proj,
                                env,
                                cwd=tree,
                            )[0],
                            1,
                        ),
                        "harden_seconds": round(run(["harden", name], proj, env, cwd=tree)[0], 1),
                    }
                )
            reference: dict[str, str] = {}
            for n in range(1, args.rounds + 1):
                for label, (tree, venv, proj, name) in variants.items():
                    report = Path(tmp) / "report.json"
                    report.unlink(missing_ok=True)
                    load = os.getloadavg()[0]
                    cmd = ["harden", name, "--check", "--report", "json", str(report)]
                    # a variant that fails (Mitogen on an Ansible it does not support) is
                    # a figure too: its exit code, and no verdicts
                    elapsed, rc = run(cmd, proj, venv, cwd=tree, allow_fail=True)
                    seen = verdicts(report) if report.exists() else {}
                    if label == "this checkout":
                        reference = seen
                    row = {
                        "variant": label,
                        "round": n,
                        "seconds": round(elapsed, 1),
                        "exit": rc,
                        "load1_before": round(load, 2),
                        # an earlier checkout knows fewer controls: compare those it has
                        "same_verdicts": bool(seen)
                        and all(reference.get(k, v) == v for k, v in seen.items()),
                        "controls": len(seen) // args.hosts,
                    }
                    results["runs"].append(row)
                    print(json.dumps(row), flush=True)
        finally:
            for tree, proj, name in own:
                run(["pod", "destroy", name, "--yes"], proj, env, cwd=tree, allow_fail=True)
            if args.before:
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                    check=False, capture_output=True,
                )  # fmt: skip
    results["median_seconds"] = {
        label: statistics.median(r["seconds"] for r in results["runs"] if r["variant"] == label)
        for label in variants
    }
    write_json(args.out, results)
    print(json.dumps(results["median_seconds"], indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
