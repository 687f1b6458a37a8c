# Convenience targets; each is a thin wrapper over scripts/ (the README's commands).
.PHONY: setup demo test test-fast lint bench-pods bench-placement clean-test-pods

setup:
	./scripts/setup.sh

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

test-fast:  ## unit, CLI and plugin tests only (no Docker needed)
	MASON_EXTRAS=test ./scripts/setup.sh && .venv/bin/python -m pytest -m "not integration and not molecule"

lint:
	.venv/bin/ruff check . && .venv/bin/yamllint -s . && ANSIBLE_CONFIG=$(CURDIR)/ansible.cfg .venv/bin/ansible-lint -q

clean-test-pods:  ## remove pods left by interrupted test runs (names start with "mt")
	for p in $$(.venv/bin/mason --json pod list | .venv/bin/python -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin) if p["name"].startswith("mt")))'); do .venv/bin/mason pod destroy $$p --yes; done

bench-pods:  ## time to create a local 3-host pod and of a no-op re-run
	.venv/bin/python bench/pods.py

bench-placement:  ## placement engine on 5,000 hosts / 100,000 containers
	.venv/bin/python bench/placement.py
