"""The repair: what greedy placement misses, running containers, proofs, limits, explanations."""

from __future__ import annotations

import math
import random
from collections import Counter

from mason.core.placement import Allocation, Bidder, HostSpec, ServiceRequest, plan

GI = 1024**3
MI = 1024**2


def H(name, zone="a", cpu=4000, memory=8 * GI, **labels):
    return HostSpec(name, zone, cpu, memory, "worker", labels)


def R(service, replicas=1, cpu=100, memory=GI, **kw):
    return ServiceRequest("shop", service, replicas, cpu, memory, **kw)


def actions(result):
    return {(p.service, p.replica): (p.action, p.host) for p in result.placements}


def overfull(hosts, reqs, result) -> list[str]:
    """Hosts over capacity and anti-affinity broken, recounted here from the plan."""
    by_name = {h.name: h for h in hosts}
    by_service = {r.service: r for r in reqs}
    cpu, memory, pairs = Counter(), Counter(), Counter()
    for p in result.placements:
        if p.action == "remove":
            continue
        r = by_service[p.service]
        cpu[p.host] += r.cpu
        memory[p.host] += r.memory
        pairs[(p.service, p.host)] += 1
    bad = [f"{n}: cpu" for n in cpu if cpu[n] > by_name[n].cpu]
    bad += [f"{n}: memory" for n in memory if memory[n] > by_name[n].memory]
    bad += [
        f"{s} twice on {n}" for (s, n), k in pairs.items() if k > 1 and "host" in by_service[s].ha
    ]
    return bad


def planted(n_hosts: int, seed: int, slack: float = 0.1):
    """Hosts sized to a random layout plus ``slack``: an app known to fit."""
    rng = random.Random(seed)
    load = {f"h{i}": [0, 0] for i in range(1, n_hosts + 1)}
    reqs = []
    for i in range(2 * n_hosts):
        replicas = rng.randint(1, 4)
        ha = frozenset({"host"}) if rng.random() < 0.3 else frozenset()
        cpu, memory = rng.randrange(100, 2001, 50), rng.randrange(128, 4097, 64) * MI
        for name in rng.sample(sorted(load), replicas):
            load[name][0] += cpu
            load[name][1] += memory
        reqs.append(R(f"s{i}", replicas, cpu, memory, ha=ha))
    hosts = [
        H(name, "abc"[int(name[1:]) % 3], math.ceil(c * (1 + slack)), math.ceil(m * (1 + slack)))
        for name, (c, m) in load.items()
    ]
    return hosts, reqs


# --- what greedy misses --------------------------------------------------------------------


def test_repair_places_a_planted_app_greedy_leaves_unplaced():
    hosts, reqs = planted(30, seed=3)
    greedy = plan(hosts, reqs, bidders=[], time_limit=0)
    assert greedy.unplaced and greedy.repair is None  # the case this is about
    result = plan(hosts, reqs, bidders=[])
    assert result.unplaced == []
    assert overfull(hosts, reqs, result) == []
    assert result.repair.outcome == "placed"
    assert result.repair.unplaced_before == len(greedy.unplaced)
    assert result.repair.unplaced_after == 0
    assert result.to_dict()["repair"]["outcome"] == "placed"


def test_fast_path_has_no_repair():
    result = plan([H("h1"), H("h2")], [R("web", 2)], bidders=[])
    assert result.repair is None and "repair" not in result.to_dict()


def test_repair_is_deterministic_whatever_the_input_order():
    hosts, reqs = planted(30, seed=5)
    a = plan(hosts, reqs, bidders=[])
    assert a.repair.outcome == "placed"
    b = plan(list(reversed(hosts)), list(reversed(reqs)), bidders=[])
    assert a.to_dict() == b.to_dict()
    # the every-host evaluation gives the same plan as the index, repair included
    assert plan(hosts, reqs, bidders=[], fast=False).to_dict() == a.to_dict()


def test_a_few_left_over_are_fixed_with_few_moves():
    # roomy pod: the ejection search from greedy's layout moves a handful, no rebuild
    hosts, reqs = planted(30, seed=2, slack=0.2)
    greedy = plan(hosts, reqs, bidders=[], time_limit=0)
    result = plan(hosts, reqs, bidders=[])
    assert 0 < len(greedy.unplaced) <= 8
    assert result.unplaced == [] and overfull(hosts, reqs, result) == []
    before, after = actions(greedy), actions(result)
    moved = sum(1 for key, (_, host) in before.items() if after[key][1] != host)
    assert moved == result.repair.moved
    assert moved <= 5 * len(greedy.unplaced)


# --- running containers --------------------------------------------------------------------


def _pod_with_one_small_everywhere(n):
    hosts = [H(f"h{i}", memory=4 * GI) for i in range(1, n + 1)]
    current = [Allocation("shop", "small", i, f"h{i}") for i in range(1, n + 1)]
    reqs = [R("small", n, memory=GI), R("big", 2, memory=3 * GI + GI // 2, ha=frozenset({"host"}))]
    return hosts, current, reqs


def test_running_containers_stay_without_rebalance():
    hosts, current, reqs = _pod_with_one_small_everywhere(10)
    result = plan(hosts, reqs, current, bidders=[])
    assert {a for a, _ in actions(result).values() if a != "new"} == {"keep"}
    assert all(actions(result)[("small", i)] == ("keep", f"h{i}") for i in range(1, 11))
    assert [u.service for u in result.unplaced] == ["big", "big"]
    assert result.repair.outcome == "no-layout"
    assert (
        result.repair.verdict == "no layout exists: no host can take big, whatever the repair moves"
    )


def test_rebalance_moves_running_containers_to_make_room():
    hosts, current, reqs = _pod_with_one_small_everywhere(10)
    result = plan(hosts, reqs, current, bidders=[], rebalance=True)
    assert result.unplaced == []
    assert overfull(hosts, reqs, result) == []
    acts = actions(result)
    moves = [p for p in result.placements if p.action == "move"]
    assert len(moves) == 2  # exactly the two hosts the big replicas need
    assert {p.previous_host for p in moves} == {acts[("big", 1)][1], acts[("big", 2)][1]}
    assert all(p.host != p.previous_host for p in moves)
    assert sum(1 for a, _ in acts.values() if a == "keep") == 8


def test_rebalance_on_a_tiny_pod_moves_only_what_it_must():
    hosts = [H("h1", memory=4 * GI), H("h2", memory=4 * GI)]
    current = [Allocation("shop", "small", 1, "h1"), Allocation("shop", "small", 2, "h2")]
    reqs = [R("small", 2, memory=GI), R("big", 1, memory=3 * GI + GI // 2)]
    assert plan(hosts, reqs, current, bidders=[]).unplaced  # stays put without --rebalance
    result = plan(hosts, reqs, current, bidders=[], rebalance=True)
    assert result.unplaced == []
    acts = actions(result)
    assert sorted(a for a, _ in acts.values()) == ["keep", "move", "new"]
    big_host = acts[("big", 1)][1]
    moved = next(p for p in result.placements if p.action == "move")
    assert moved.previous_host == big_host and moved.host != big_host


# --- verdicts ------------------------------------------------------------------------------


def test_anti_affinity_shortfall_is_proven_and_the_rest_placed():
    hosts = [H("h1", memory=4 * GI), H("h2", memory=6 * GI)]
    reqs = [
        R("big", 1, memory=4 * GI, strategy="binpack"),
        R("pair", 3, memory=2 * GI, ha=frozenset({"host"})),
    ]
    result = plan(hosts, reqs, bidders=[])
    # greedy put big on h1 and placed one pair; the repair places two of three
    assert len(result.unplaced) == 1
    assert result.repair.outcome == "no-layout"
    assert result.repair.verdict == (
        "no layout exists: room for 2 of the 3 pair replicas to place (one per host)"
    )
    assert result.unplaced[0].reasons == ("2 hosts: anti-affinity",)  # per host, as before


def test_zone_spread_shortfall_is_proven():
    hosts = [H("a1", "a"), H("a2", "a"), H("b1", "b", memory=GI // 2)]
    result = plan(hosts, [R("web", 4, ha=frozenset({"zone"}))], bidders=[])
    assert len(result.unplaced) == 2
    assert result.repair.verdict == (
        "no layout exists: room for 2 of the 4 web replicas to place "
        "(zone spread allows 2 per zone)"
    )


def test_exhaustive_search_proves_no_layout():
    # every bound passes (one big per host, 8Gi asked of 8Gi), yet mid fits nowhere
    hosts = [H("h1", memory=4 * GI), H("h2", memory=4 * GI)]
    reqs = [R("big", 2, memory=3 * GI, ha=frozenset({"host"})), R("mid", 1, memory=2 * GI)]
    result = plan(hosts, reqs, bidders=[])
    assert len(result.unplaced) == 1
    assert result.repair.verdict == "no layout exists: an exhaustive search tried every layout"
    # and the ports puzzle greedy can leave over is proven by counting
    reqs = [R(s, ports=((80, "tcp"),)) for s in ("a", "b", "c")]
    result = plan([H("h1"), H("h2")], reqs, bidders=[])
    assert result.repair.verdict == (
        "no layout exists: 3 containers need public port 80/tcp, 2 hosts can offer it"
    )


def test_total_room_proof():
    hosts = [H(f"h{i}", memory=4 * GI) for i in range(1, 11)]
    reqs = [R(f"s{i}", 2, memory=3 * GI) for i in range(1, 8)]  # 42Gi asked, 40Gi there
    result = plan(hosts, reqs, bidders=[], time_limit=0.2)
    assert result.unplaced
    assert result.repair.verdict == (
        "no layout exists: the containers to place need 42Gi of memory, the hosts have 40Gi free"
    )
    # the search still places what it can: 10 of the 14 (a 4Gi host holds one 3Gi)
    assert len(result.unplaced) == 4


def test_public_port_shortfall_is_proven():
    # three services want port 80 on 9 hosts with 4 replicas each: 12 > 9
    hosts = [H(f"h{i}") for i in range(1, 10)]
    reqs = [R(s, 4, ports=((80, "tcp"),)) for s in ("a", "b", "c")]
    result = plan(hosts, reqs, bidders=[])
    assert len(result.unplaced) == 3
    assert result.repair.verdict == (
        "no layout exists: 12 containers need public port 80/tcp, 9 hosts can offer it"
    )


def test_room_shortfall_names_cpu_and_memory():
    result = plan([H("h1", memory=GI)], [R("web", 2)], bidders=[])
    assert result.repair.verdict == (
        "no layout exists: room for 1 of the 2 web replicas to place (cpu and memory)"
    )


def test_undecided_search_says_it_stopped():
    # Nine 3Gi+1Gi pairs on 9 hosts of 4Gi would fit only one way each; a 2Gi
    # service spread over them leaves no bound short (one per host, total room
    # fine) but no layout: none of the bounds sees it, the pod is too big for
    # the exhaustive search, so the search runs out of time.
    hosts = [H(f"h{i}", memory=4 * GI) for i in range(1, 10)]
    reqs = [
        R("big", 9, memory=3 * GI, ha=frozenset({"host"})),
        R("mid", 3, memory=2 * GI, ha=frozenset({"host"})),
    ]
    result = plan(hosts, reqs, bidders=[], time_limit=0.05)
    assert len(result.unplaced) == 3
    assert result.repair.outcome == "stopped"
    assert result.repair.verdict == (
        "search stopped after 0.05 s: no layout found, none proven impossible"
    )
    assert result.to_dict()["repair"]["time_limit"] == 0.05


class Drain(Bidder):
    name = "drain"

    def reject(self, ctx, host):
        return "host drained" if host.labels.get("drain") == "true" else None


def test_custom_bidders_hold_and_their_refusal_is_not_searched():
    hosts = [H(f"h{i}", drain="true") for i in range(1, 4)]
    result = plan(hosts, [R("web")], bidders=[Drain()])
    assert result.unplaced[0].reasons == ("3 hosts: host drained",)
    assert result.repair.outcome == "blocked" and result.repair.verdict == ""


def test_custom_filters_hold_through_the_repair():
    hosts, reqs = planted(30, seed=3)
    drained = {h.name for h in hosts[:3]}
    hosts = [
        HostSpec(h.name, h.zone, h.cpu * 2, h.memory * 2, "worker", {"drain": "true"})
        if h.name in drained
        else h
        for h in hosts
    ]
    result = plan(hosts, reqs, bidders=[Drain()])
    assert not any(p.host in drained for p in result.placements)
    assert result.repair is not None


def test_explain_marks_containers_the_repair_placed():
    hosts, reqs = planted(30, seed=3)
    result = plan(hosts, reqs, bidders=[], explain=True)
    assert result.unplaced == []
    notes = [v.note for e in result.explanations for v in e.verdicts if v.note]
    assert any("placed by the repair" in n for n in notes)
    assert len(result.explanations) == sum(r.replicas for r in reqs)
    for e in result.explanations:
        assert e.host is not None and e.candidates >= 1
