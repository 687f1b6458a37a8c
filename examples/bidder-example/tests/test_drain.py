"""The example bidder, tested through mason's engine like any user of it would."""

from __future__ import annotations

from mason_bidder_drain import Drain

from mason.core.placement import Allocation, HostSpec, ServiceRequest, plan

GI = 1024**3


def hosts(drained: set[str]) -> list[HostSpec]:
    return [
        HostSpec(n, "a", 2000, 4 * GI, labels={"drain": "true"} if n in drained else {})
        for n in ("h1", "h2", "h3")
    ]


def test_drained_hosts_get_no_container():
    result = plan(
        hosts({"h1", "h2"}), [ServiceRequest("app", "web", 3, 100, GI)], bidders=[Drain()]
    )
    assert {p.host for p in result.placements} == {"h3"}


def test_running_container_moves_off_a_drained_host():
    current = [Allocation("app", "web", 1, "h1")]
    result = plan(
        hosts({"h1"}), [ServiceRequest("app", "web", 1, 100, GI)], current, bidders=[Drain()]
    )
    [p] = result.placements
    assert (p.action, p.previous_host) == ("move", "h1")
    assert p.host != "h1"


def test_reason_when_every_host_is_drained():
    result = plan(
        hosts({"h1", "h2", "h3"}), [ServiceRequest("app", "web", 1, 100, GI)], bidders=[Drain()]
    )
    assert result.unplaced[0].reasons == ("3 hosts: host drained",)
