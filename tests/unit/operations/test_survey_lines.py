"""survey.yml's one task per host prints container rows, sidecar digests and the hardened
line together; each reader takes only its own lines (the pod tests run the real play)."""

from __future__ import annotations

import json

from mason.operations.survey import HARDENED, _hardened, _proxy_configs, _rows

ROW = {"name": "/mason-shop-web-1", "labels": {"mason.app": "shop"}, "state": "running"}
DIGEST = "a" * 64


def host_output(*extra: str) -> dict:
    return {"stdout_lines": [json.dumps(ROW), f"{DIGEST}  shop-web-1/haproxy.cfg", *extra]}


def test_rows_are_the_json_lines_only():
    assert _rows(host_output(HARDENED, "WARNING: docker said something")) == [ROW]


def test_digests_are_the_sha256sum_lines_only():
    # a container row whose text holds two spaces is not a digest line
    odd = {"stdout_lines": ['{"name":  "x"}' + " " * 2 + "y/haproxy.cfg", HARDENED]}
    assert _proxy_configs({"h1": host_output(HARDENED), "h2": odd}) == {
        ("h1", "shop-web-1"): DIGEST
    }


def test_hardened_is_read_from_its_own_line():
    found = _hardened({"h1": host_output(HARDENED), "h2": host_output("hardened: no"), "h3": {}})
    assert found == {"h1": True, "h2": False, "h3": False}
