"""Placement engine: each bidder, stickiness, scaling, lost hosts, reasons, survival."""

from __future__ import annotations

import pytest

from mason.core.errors import InvalidInput
from mason.core.placement import (
    Allocation,
    Bidder,
    Constraint,
    HostSpec,
    ServiceRequest,
    plan,
    replicas_for_zone_loss,
)

GI = 1024**3


def H(name, zone="a", cpu=4000, memory=8 * GI, role="worker", **labels):
    return HostSpec(name, zone, cpu, memory, role, labels)


def R(service="web", replicas=1, cpu=100, memory=GI, app="shop", **kw):
    return ServiceRequest(app, service, replicas, cpu, memory, **kw)


def where(result, service="web"):
    return {p.replica: p.host for p in result.placements if p.service == service}


def actions(result):
    return {(p.service, p.replica): (p.action, p.host) for p in result.placements}


# --- bidders ---------------------------------------------------------------------------


def test_resources_memory_and_cpu():
    hosts = [H("h1", memory=GI), H("h2", cpu=50), H("h3", cpu=50, memory=GI)]
    result = plan(hosts, [R(memory=2 * GI)], bidders=[])
    assert result.unplaced[0].reasons == (
        "1 host: not enough cpu",
        "1 host: not enough cpu and memory",
        "1 host: not enough memory",
    )


def test_anti_affinity_and_reason_counts():
    hosts = [H("h1"), H("h2"), H("h3", memory=GI // 2)]
    result = plan(hosts, [R(replicas=3, ha=frozenset({"host"}))], bidders=[])
    assert sorted(where(result).values()) == ["h1", "h2"]
    [u] = result.unplaced
    assert u.reasons == ("2 hosts: anti-affinity", "1 host: not enough memory")


def test_without_anti_affinity_replicas_may_share_a_host():
    result = plan([H("h1")], [R(replicas=3)], bidders=[])
    assert set(where(result).values()) == {"h1"}
    assert not result.unplaced


def test_zone_spread_caps_each_zone():
    hosts = [H(f"a{i}", "a") for i in range(4)] + [H("b1", "b"), H("c1", "c")]
    result = plan(hosts, [R(replicas=6, ha=frozenset({"zone"}))], bidders=[])
    zones = sorted(p.zone for p in result.placements)
    assert zones == ["a", "a", "b", "b", "c", "c"]  # cap ceil(6/3) = 2 per zone


def test_zone_spread_counts_only_usable_zones():
    hosts = [H("a1", "a"), H("b1", "b"), H("c1", "c")]
    req = R(replicas=4, ha=frozenset({"zone"}), constraints=(Constraint.parse("zone != c"),))
    result = plan(hosts, [req], bidders=[])
    assert sorted(p.zone for p in result.placements) == ["a", "a", "b", "b"]


def test_constraints_filter_hosts():
    hosts = [H("h1", role="manager"), H("h2", disk="hdd"), H("h3", disk="ssd")]
    req = R(constraints=(Constraint.parse("role != manager"), Constraint.parse("disk == ssd")))
    assert where(plan(hosts, [req], bidders=[])) == {1: "h3"}
    req = R(constraints=(Constraint.parse("disk == nvme"),))
    assert plan(hosts, [req], bidders=[]).unplaced[0].reasons == (
        "3 hosts: constraint labels.disk == nvme",
    )


def test_public_ports_conflict():
    hosts = [H("h1"), H("h2")]
    reqs = [
        R("a", ports=((80, "tcp"),)),
        R("b", ports=((80, "tcp"),)),
        R("c", ports=((80, "tcp"),)),
    ]
    result = plan(hosts, reqs, bidders=[])
    assert len({p.host for p in result.placements}) == 2
    assert result.unplaced[0].reasons == ("2 hosts: port 80/tcp in use",)
    # a udp port of the same number does not clash
    result = plan(
        [H("h1")], [R("a", ports=((53, "tcp"),)), R("b", ports=((53, "udp"),))], bidders=[]
    )
    assert not result.unplaced


def test_spread_prefers_least_utilized_and_binpack_fills_first_host():
    hosts = [H("h1"), H("h2"), H("h3")]
    spread = plan(hosts, [R(replicas=3)], bidders=[])
    assert sorted(where(spread).values()) == ["h1", "h2", "h3"]
    binpack = plan(hosts, [R(replicas=3, strategy="binpack")], bidders=[])
    assert set(where(binpack).values()) == {"h1"}


def test_other_apps_containers_take_room():
    hosts = [H("h1", memory=2 * GI), H("h2", memory=2 * GI)]
    current = [Allocation("other", "db", 1, "h1", cpu=0, memory=2 * GI, ports=((80, "tcp"),))]
    result = plan(hosts, [R(replicas=2, ports=((80, "tcp"),))], current, bidders=[])
    assert where(result) == {1: "h2"}
    # reasons describe the final layout: h1 holds the other app's port, h2 replica 1's
    assert result.unplaced[0].reasons == ("2 hosts: port 80/tcp in use",)


class Avoid(Bidder):
    name = "avoid"

    def reject(self, ctx, host):
        return "avoided" if host.name == "h1" else None


class PreferSsd(Bidder):
    name = "prefer-ssd"
    scores = True

    def score(self, ctx, host):
        return 1 if host.labels.get("disk") == "ssd" else 0


def test_custom_filter_and_score():
    hosts = [H("h1"), H("h2"), H("h3", disk="ssd")]
    result = plan(hosts, [R(replicas=2)], bidders=[Avoid(), PreferSsd()])
    assert where(result) == {1: "h3", 2: "h3"}  # custom score outranks spreading
    result = plan(hosts, [R(replicas=2)], bidders=[Avoid()])
    assert sorted(where(result).values()) == ["h2", "h3"]
    result = plan([H("h1")], [R()], bidders=[Avoid()])
    assert result.unplaced[0].reasons == ("1 host: avoided",)


# --- stability ----------------------------------------------------------------------------


def as_current(result, req_by_service=None):
    return [
        Allocation(p.app, p.service, p.replica, p.host)
        for p in result.placements
        if p.action != "remove"
    ]


def test_replan_unchanged_moves_nothing():
    hosts = [H(f"h{i}", "abc"[i % 3]) for i in range(1, 7)]
    reqs = [R("web", 5, ha=frozenset({"host", "zone"})), R("db", 2, strategy="binpack")]
    first = plan(hosts, reqs, bidders=[])
    second = plan(hosts, reqs, as_current(first), bidders=[])
    assert {p.action for p in second.placements} == {"keep"}
    assert where(second) == where(first)


def test_scale_up_adds_only_new_replicas():
    hosts = [H(f"h{i}") for i in range(1, 5)]
    first = plan(hosts, [R(replicas=2)], bidders=[])
    second = plan(hosts, [R(replicas=4)], as_current(first), bidders=[])
    acts = actions(second)
    assert acts[("web", 1)] == ("keep", where(first)[1])
    assert acts[("web", 2)] == ("keep", where(first)[2])
    assert {acts[("web", 3)][0], acts[("web", 4)][0]} == {"new"}


def test_scale_down_removes_from_most_loaded_hosts():
    hosts = [H("h1"), H("h2"), H("h3")]
    current = [
        Allocation("shop", "web", 1, "h1"),
        Allocation("shop", "web", 2, "h2"),
        Allocation("shop", "web", 3, "h3"),
        Allocation("other", "big", 1, "h2", memory=4 * GI),
    ]
    result = plan(hosts, [R(replicas=2)], current, bidders=[])
    assert actions(result) == {
        ("web", 1): ("keep", "h1"),
        ("web", 2): ("remove", "h2"),
        ("web", 3): ("keep", "h3"),
    }


def test_lost_host_moves_only_its_replicas():
    hosts = [H(f"h{i}") for i in range(1, 5)]
    first = plan(hosts, [R(replicas=3, ha=frozenset({"host"}))], bidders=[])
    lost = where(first)[2]
    survivors = [h for h in hosts if h.name != lost]
    second = plan(survivors, [R(replicas=3, ha=frozenset({"host"}))], as_current(first), bidders=[])
    acts = actions(second)
    assert acts[("web", 1)] == ("keep", where(first)[1])
    assert acts[("web", 3)] == ("keep", where(first)[3])
    moved = next(p for p in second.placements if p.replica == 2)
    assert (moved.action, moved.previous_host) == ("move", lost)
    assert moved.host not in {lost, where(first)[1], where(first)[3]}


def test_invalid_running_container_moves_and_unknown_service_is_removed():
    hosts = [H("h1", role="manager"), H("h2")]
    current = [Allocation("shop", "web", 1, "h1"), Allocation("shop", "gone", 1, "h2")]
    req = R(constraints=(Constraint.parse("role != manager"),))
    result = plan(hosts, [req], current, bidders=[])
    assert actions(result) == {("web", 1): ("move", "h2"), ("gone", 1): ("remove", "h2")}


def test_deterministic_whatever_the_input_order():
    hosts = [H(f"h{i}", "ab"[i % 2], cpu=1000 * i) for i in range(1, 9)]
    reqs = [R(f"s{i}", i, cpu=300, strategy=("spread", "binpack")[i % 2]) for i in range(1, 6)]
    a = plan(hosts, reqs, bidders=[])
    b = plan(list(reversed(hosts)), list(reversed(reqs)), bidders=[])
    assert a.to_dict() == b.to_dict()


def test_natural_host_order_breaks_ties():
    hosts = [H("h10"), H("h2"), H("h1")]
    assert where(plan(hosts, [R(strategy="binpack")], bidders=[])) == {1: "h1"}
    result = plan(hosts, [R(replicas=3, strategy="binpack", memory=6 * GI)], bidders=[])
    assert where(result) == {1: "h1", 2: "h2", 3: "h10"}


# --- search fallback ----------------------------------------------------------------------


def test_search_finds_what_greedy_misses():
    # Greedy puts the 4Gi container (largest first) on h1, the first host with room,
    # filling it; the pair with anti-affinity then needs both hosts. The search finds
    # the layout with the big one on h2.
    hosts = [H("h1", memory=4 * GI), H("h2", memory=6 * GI)]
    reqs = [
        R("big", 1, memory=4 * GI, strategy="binpack"),
        R("pair", 2, memory=2 * GI, ha=frozenset({"host"})),
    ]
    result = plan(hosts, reqs, bidders=[])
    assert result.searched
    assert not result.unplaced
    assert where(result, "big") == {1: "h2"}
    assert sorted(where(result, "pair").values()) == ["h1", "h2"]


# --- explain, survival, errors -----------------------------------------------------------


def test_explain_gives_each_bidders_verdict():
    hosts = [H("h1"), H("h2", memory=GI // 2)]
    result = plan(hosts, [R(replicas=2, ha=frozenset({"host"}))], bidders=[], explain=True)
    second = next(e for e in result.explanations if e.replica == 2)
    verdicts = {v.bidder: dict(v.rejected) for v in second.verdicts}
    assert verdicts["anti-affinity"] == {"anti-affinity": 1}
    assert verdicts["resources"] == {"not enough memory": 1}
    assert second.host is None and second.candidates == 0


def test_survival_report():
    hosts = [H("a1", "a"), H("a2", "a"), H("b1", "b")]
    result = plan(hosts, [R(replicas=3, min_available=2, ha=frozenset({"host"}))], bidders=[])
    [s] = result.survival
    assert (s.replicas, s.after_host_loss, s.survives_host_loss) == (3, 2, True)
    assert (s.after_zone_loss, s.worst_zone, s.survives_zone_loss) == (1, "a", False)
    assert s.zones == 2 and s.replicas_for_zone_loss == 4


@pytest.mark.parametrize(
    ("need", "zones", "replicas"),
    [(4, 4, 6), (2, 3, 3), (1, 2, 2), (3, 3, 5), (0, 3, 0), (1, 1, None)],
)
def test_zone_arithmetic(need, zones, replicas):
    assert replicas_for_zone_loss(need, zones) == replicas


def test_duplicate_hosts_and_services_are_refused():
    with pytest.raises(InvalidInput, match="host 'h1' is listed twice"):
        plan([H("h1"), H("h1")], [], bidders=[])
    with pytest.raises(InvalidInput, match="service shop/web is requested twice"):
        plan([H("h1")], [R(), R()], bidders=[])


def test_json_shape():
    result = plan([H("h1")], [R(), R("db", memory=100 * GI)], bidders=[])
    data = result.to_dict()
    assert data["placements"] == [
        {"app": "shop", "service": "web", "replica": 1, "host": "h1", "zone": "a", "action": "new"}
    ]
    assert data["unplaced"] == [
        {"app": "shop", "service": "db", "replica": 1, "reasons": ["1 host: not enough memory"]}
    ]
