#!/usr/bin/env bash
# The main job on the local embedded default: set everything up, then `mason up`:
# a local 3-host pod "demo", hardened, running the sample guestbook app (2 replicas
# in 2 zones, PostgreSQL and Redis addons, every connection through mTLS proxies),
# and call it. Run again: nothing changes.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh"
export PATH="$here/.venv/bin:$PATH"
cd "$here"
pod=${MASON_DEMO_POD:-demo}
mason up --pod "$pod" --hosts "${MASON_DEMO_HOSTS:-3}"
url=$(mason --json app status guestbook --pod "$pod" >/dev/null && \
      mason --json pod show "$pod" | python3 -c 'import json,sys; print("http://%s:8080/" % json.load(sys.stdin)["hosts"][0]["private_address"])')
echo "\$ curl $url"
curl -s --max-time 10 "$url"
echo
echo "next: mason app status guestbook --pod $pod | mason app logs guestbook --pod $pod | mason down --pod $pod --yes"
echo "(mason is in $here/.venv/bin)"
