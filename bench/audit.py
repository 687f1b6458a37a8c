"""What an outside audit finds on a host before and after `mason harden`.

    .venv/bin/python bench/audit.py [--out bench/results/audit.json]

Makes one local 2-host pod ``mtaudit-<random>`` (private project directory and
MASON_HOME), installs Debian's Lynis in the worker host (h2) from the Debian mirror,
and runs ``lynis audit system --quick`` inside it twice: on the host as created, and
after `mason harden POD`. Lynis is a widely used host audit scanner; its hardening
index and findings are an outside view of the hardening, not mason's own verdicts.
Prints the index and every warning and suggestion before and after (which harden
cleared, which remain), writes them as JSON and destroys the pod. About 3 minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harden import head, out_file, run, write_json

REPO = Path(__file__).resolve().parent.parent
INSTALL = (
    "apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive "
    "apt-get install -y -q --no-install-recommends lynis >/dev/null && lynis --version"
)
AUDIT = "lynis audit system --quick --no-colors >/dev/null 2>&1; cat /var/log/lynis-report.dat"


def host_sh(container: str, script: str) -> str:
    proc = subprocess.run(
        ["docker", "exec", container, "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{container}: {script[:60]}...: {proc.stderr.strip()[-500:]}")
    return proc.stdout


def audit(container: str) -> dict:
    """Lynis' report: the hardening index, and findings as "TEST-ID text (details)"."""
    index, findings = None, {"warning": [], "suggestion": []}
    for line in host_sh(container, AUDIT).splitlines():
        key, _, value = line.partition("=")
        if key == "hardening_index":
            index = int(value)
        elif key in ("warning[]", "suggestion[]"):
            test, text, details, *_ = [*value.split("|"), "", ""]
            kind = key[:-2]
            detail = f" ({details})" if details not in ("", "-") else ""
            findings[kind].append(f"{test} {text}{detail}")
    return {"hardening_index": index, **findings}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=out_file, default=REPO / "bench" / "results" / "audit.json")
    args = parser.parse_args()
    pod = f"mtaudit-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "proj"
        project.mkdir()
        env = {**os.environ, "MASON_HOME": str(Path(tmp) / "home")}
        host = f"mason-{pod}-h2"
        try:
            run(["pod", "create", pod, "--hosts", "2"], project, env)
            version = host_sh(host, INSTALL).strip()
            before = audit(host)
            harden_seconds, _ = run(["harden", pod], project, env)
            after = audit(host)
        finally:
            run(["pod", "destroy", pod, "--yes"], project, env, allow_fail=True)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "head": head(REPO),
        "lynis": version,
        "host": "h2 of a 2-host local pod (container host: shared kernel)",
        "harden_seconds": round(harden_seconds, 1),
        "before": before,
        "after": after,
    }
    for kind in ("warning", "suggestion"):
        result[f"{kind}s_cleared"] = sorted(set(before[kind]) - set(after[kind]))
        result[f"{kind}s_new"] = sorted(set(after[kind]) - set(before[kind]))
    write_json(args.out, result)
    print(f"Lynis {version}: hardening index {before['hardening_index']} -> "
          f"{after['hardening_index']}")  # fmt: skip
    for kind in ("warning", "suggestion"):
        print(f"{kind}s: {len(before[kind])} -> {len(after[kind])}")
        for item in after[kind]:
            print(f"  remains: {item}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
