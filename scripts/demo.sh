#!/usr/bin/env bash
# The main job on the local embedded default: set everything up, then create
# (or re-check) a local 3-host pod called "demo" and show it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh"
export PATH="$here/.venv/bin:$PATH"
pod=${MASON_DEMO_POD:-demo}
mason pod create "$pod" --hosts "${MASON_DEMO_HOSTS:-3}"
mason pod show "$pod"
echo
echo "next: mason pod ssh $pod ${pod}-h1   |   mason pod destroy $pod --yes   (mason is in $here/.venv/bin)"
