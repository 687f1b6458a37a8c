#!/usr/bin/env python3
"""Take an app's deploy lock on the pod's manager; print {"taken", "forced", "holder"}.

Run by roles/app_ledger (task file `lock`) as one step: a run of small tasks cost
seconds per deploy. The claim is written whole, then hard-linked to the lock's name:
a link fails when the name exists, so two runs can never both hold it and no reader
ever sees half a lock. The run that holds it takes it again; --force takes it over.

Usage: ledger_lock.py LOCKS_DIR APP CLAIM_JSON [--force]
"""

import json
import os
import sys
import tempfile


def read_holder(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            found = json.load(fh)
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def main(locks_dir: str, app: str, claim: str, force: bool) -> dict:
    run_id = json.loads(claim).get("run_id", "")
    os.makedirs(locks_dir, mode=0o700, exist_ok=True)
    os.chown(locks_dir, 0, 0)
    os.chmod(locks_dir, 0o700)
    lock = os.path.join(locks_dir, f"{app}.json")
    fd, claim_file = tempfile.mkstemp(prefix=f".{app}.", suffix=".claim", dir=locks_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:  # mkstemp: 0600, ours
            fh.write(claim + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(claim_file, lock)
            return {"taken": True, "forced": False, "holder": {}}
        except FileExistsError:
            pass
        holder = read_holder(lock)
        if run_id and holder.get("run_id") == run_id:
            return {"taken": True, "forced": False, "holder": holder, "again": True}
        if force:
            os.rename(claim_file, lock)
            return {"taken": True, "forced": True, "holder": holder}
        return {"taken": False, "forced": False, "holder": holder}
    finally:
        if os.path.exists(claim_file):
            os.unlink(claim_file)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--force"]
    print(json.dumps(main(args[0], args[1], args[2], "--force" in sys.argv[1:])))
