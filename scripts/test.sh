#!/usr/bin/env bash
# Set everything up (system packages, Docker engine, virtualenv with test
# tools), then run the linters and the whole test suite, integration included.
# Extra arguments go to pytest (e.g. scripts/test.sh -m "not integration").
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
MASON_EXTRAS=test "$here/scripts/setup.sh"
export PATH="$here/.venv/bin:$PATH"

echo "==> lint: ruff" >&2
ruff check .
echo "==> lint: yamllint" >&2
yamllint -s .
echo "==> lint: ansible-lint" >&2
ANSIBLE_CONFIG="$here/ansible.cfg" ansible-lint -q

echo "==> removing test pods an interrupted run left behind (names start with mt)" >&2
leftover=$(mason --json pod list | python -c 'import json, sys; print(" ".join(p["name"] for p in json.load(sys.stdin) if p["name"].startswith("mt")))')
for pod in $leftover; do mason pod destroy "$pod" --yes; done

echo "==> host image (built once per recipe)" >&2
mason image build >/dev/null

echo "==> pytest" >&2
set +e
python -m pytest "$@"
rc=$?
set -e
# pytest's 5 means "no tests collected": a suite that runs nothing is a failure.
exit "$rc"
