"""Benchmark delivering an app: image build + push, deploy onto a hardened pod, no-op.

    .venv/bin/python bench/deliver.py [--out bench/results/deliver.json] [--keep]

Run it under the machine's pod lock (``flock /tmp/mason-pods.lock ...``). Makes one
hardened local pod of 3 hosts with `mason up` (the sample guestbook; not timed here:
bench/deploy.py times `mason up`), in a private project directory and MASON_HOME, then
times what a platform engineer does every day with an app on a pod that exists:

1. `mason image push` of the guestbook with nothing changed (every image already in
   the pod registry: the check alone);
2. `mason image push` after a change to the web service's source (the image is built
   again on this machine's engine, warm build cache, and its new layers pushed);
3. `mason app remove`, then `mason app deploy` of the guestbook onto the hardened pod
   (its images already in the registry: pull by digest, certificates, sidecars,
   replicas, edges, readiness gate);
4. `mason app deploy` again with nothing changed (the no-op redeploy).

Each figure is the command's wall-clock time as a user runs it, with the load average
before it (these machines are shared). The pod is destroyed at the end (unless --keep).
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploy import Bench, finish, manifest, start  # bench/ is not a package: beside this file


def main() -> int:
    args, pod, results = start("bench/results/deliver.json", "mtdeliver")
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "proj"
        apps = project / "apps"
        apps.mkdir(parents=True)
        env = {**os.environ, "MASON_HOME": str(Path(tmp) / "home")}
        bench = Bench(project, env, pod)
        try:
            _, up, _ = bench.mason("up", "--pod", pod)
            assert up is not None and up.get("deployed"), up
            # the sample app as a project of its own: 2 web replicas, as `mason up` runs it
            app = manifest(apps, "guestbook", **{"replicas: 6": "replicas: 2"})
            push = ("image", "push", str(app), "--pod", pod)
            bench.measure("image push, nothing changed", [], *push)
            with (apps / "web" / "guestbook.py").open("a") as f:
                f.write(f"\n# bench {uuid.uuid4().hex}\n")  # a source change: a new image
            bench.measure("image build + push, web changed", [], *push)
            bench.mason("app", "remove", "guestbook", "--pod", pod, "--yes")
            deploy = ("app", "deploy", str(app), "--pod", pod, "--yes")
            bench.measure("deploy onto the hardened pod", [], *deploy)
            again = bench.measure("deploy again (no-op)", [], *deploy)
            assert again is not None, again
        finally:
            if not args.keep:
                bench.mason("pod", "destroy", pod, "--yes", ok=(0, 4))
    return finish(args, results, bench)


if __name__ == "__main__":
    raise SystemExit(main())
