#!/usr/bin/env python3
"""Print an app's release records as JSON: [{"name", "content", "mode", "uid"}, ...].

Run on the pod's manager by roles/app_ledger (tasks `read`, `record`). Reads only the
files named NNNNNN.json in the directory given; prints [] when it does not exist.
"""

import json
import os
import re
import stat
import sys

MAX_BYTES = 1 << 20
NAME = re.compile(r"[0-9]{6}\.json")


def main(directory: str) -> None:
    out = []
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        names = []
    for name in names:
        if not NAME.fullmatch(name):
            continue
        path = os.path.join(directory, name)
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            content = ""
        else:
            with open(path, "rb") as handle:
                content = handle.read(MAX_BYTES).decode("utf-8", errors="replace")
        out.append(
            {
                "name": name,
                "content": content,
                "mode": f"{stat.S_IMODE(info.st_mode):04o}",
                "uid": info.st_uid,
            }
        )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
