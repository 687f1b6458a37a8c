"""Rolling-update batches: failure domains, max_parallel, start-first or stop-first."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mason.core.errors import InvalidInput
from mason.core.rollout import START_FIRST, STOP_FIRST, Move, Step, batches, describe

ZONES = {"h1": "zone-a", "h2": "zone-a", "h3": "zone-b", "h4": "zone-c"}


def in_place(replica: int, host: str) -> Move:
    return Move(replica, host, host, ZONES[host])


def test_one_zone_per_batch_and_max_parallel():
    moves = [in_place(1, "h1"), in_place(2, "h3"), in_place(3, "h2"), in_place(4, "h4")]
    plan = batches(moves, max_parallel=2, room={"h1": True, "h2": True}, service="web")
    assert [[(s.replica, s.host) for s in b] for b in plan] == [
        [(1, "h1"), (3, "h2")],
        [(2, "h3")],
        [(4, "h4")],
    ]
    assert [s.mode for s in plan[0]] == [START_FIRST, START_FIRST]
    assert plan[1][0].mode == STOP_FIRST  # h3 has no room for both


def test_ha_host_keeps_one_host_per_batch():
    moves = [in_place(1, "h1"), in_place(2, "h2"), in_place(3, "h1")]
    plan = batches(moves, ha={"host"}, max_parallel=5, service="web")
    assert [[(s.replica, s.host) for s in b] for b in plan] == [[(1, "h1"), (3, "h1")], [(2, "h2")]]


def test_a_move_between_hosts_is_start_first_and_alone_with_ha_host():
    moves = [Move(1, "h1", "h2", "zone-a"), in_place(2, "h2"), Move(3, "", "h2", "zone-a")]
    plan = batches(moves, ha={"host", "zone"}, max_parallel=3, room={}, service="api")
    assert plan == [
        (
            Step("api", 2, "h2", "zone-a", STOP_FIRST, "h2"),
            Step("api", 3, "h2", "zone-a", START_FIRST, ""),
        ),
        (Step("api", 1, "h2", "zone-a", START_FIRST, "h1"),),
    ]
    assert len(batches(moves, max_parallel=3, service="api")) == 1  # without ha: host


def test_describe():
    moves = [Move(1, "demo-h1", "demo-h1", "zone-a"), Move(2, "demo-h2", "demo-h3", "zone-b")]
    plan = batches(moves, room={"demo-h1": True}, service="web")
    assert describe(plan) == [
        "batch 1: web#1 on demo-h1 (zone-a, start-first)",
        "batch 2: web#2 on demo-h3 from demo-h2 (zone-b, start-first)",
    ]
    two = batches(
        [*moves[:1], Move(3, "demo-h1", "demo-h1", "zone-a")], max_parallel=2, service="web"
    )
    assert describe(two) == [
        "batch 1: web#1 on demo-h1 (zone-a, stop-first), web#3 on demo-h1 (zone-a, stop-first)"
    ]
    assert describe([]) == []


@pytest.mark.parametrize(
    ("kwargs", "moves", "message"),
    [
        ({"max_parallel": 0}, [], "max_parallel: must be between 1 and 1000, got 0"),
        ({"max_parallel": True}, [], "max_parallel: expected an integer, got True"),
        ({"ha": {"rack"}}, [], "ha: unknown mode 'rack' (modes: host, zone)"),
        ({}, [in_place(1, "h1"), in_place(1, "h2")], "rollout: replica 1 is listed twice"),
        ({}, [Move(1, "h1", "", "zone-a")], "rollout: replica 1 has no host or zone to go to"),
    ],
)
def test_bad_input(kwargs, moves, message):
    with pytest.raises(InvalidInput) as info:
        batches(moves, **kwargs)
    assert str(info.value) == message


# -- properties -------------------------------------------------------------------------------
HOSTS = [f"h{i}" for i in range(1, 7)]
HOST_ZONE = {h: f"zone-{'abc'[i % 3]}" for i, h in enumerate(HOSTS)}


@st.composite
def rollouts(draw):
    n = draw(st.integers(0, 12))
    numbers = draw(st.lists(st.integers(1, 50), min_size=n, max_size=n, unique=True))
    moves = []
    for r in numbers:
        new = draw(st.sampled_from(HOSTS))
        old = draw(
            st.sampled_from([new, new, "", *[h for h in HOSTS if HOST_ZONE[h] == HOST_ZONE[new]]])
        )
        moves.append(Move(r, old, new, HOST_ZONE[new]))
    ha = draw(st.sets(st.sampled_from(["host", "zone"])))
    room = draw(st.dictionaries(st.sampled_from(HOSTS), st.booleans()))
    return moves, frozenset(ha), draw(st.integers(1, 5)), room


@settings(max_examples=300, deadline=None)
@given(rollouts())
def test_property_rules_hold(case):
    moves, ha, max_parallel, room = case
    plan = batches(moves, ha=ha, max_parallel=max_parallel, room=room, service="web")
    steps = [s for b in plan for s in b]
    assert sorted(s.replica for s in steps) == sorted(m.replica for m in moves)  # each once
    by_replica = {m.replica: m for m in moves}
    for batch in plan:
        assert 1 <= len(batch) <= max_parallel
        assert len({s.zone for s in batch}) == 1
        if "host" in ha and len(batch) > 1:
            touched = set().union(*(by_replica[s.replica].hosts for s in batch))
            assert len(touched) == 1
        for s in batch:
            m = by_replica[s.replica]
            assert s.host == m.new_host and s.old_host == m.old_host
            expect = (
                START_FIRST if (m.old_host != m.new_host or room.get(m.new_host)) else STOP_FIRST
            )
            assert s.mode == expect
    # deterministic, whatever order the replicas come in
    again = batches(
        list(reversed(moves)), ha=ha, max_parallel=max_parallel, room=room, service="web"
    )
    assert again == plan
    assert len(describe(plan)) == len(plan)
