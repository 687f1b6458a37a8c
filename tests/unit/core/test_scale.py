"""Scaling one service: the count's checks, and a plan that keeps every other replica."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from mason.core import scale
from mason.core.errors import InvalidInput, MasonError, NotFound
from mason.core.release import Slot
from tests.unit.core.test_deploy import IMAGES, app, entries, make, survey_of  # noqa: F401


@pytest.mark.parametrize("text", ["1", "3", " 7 ", "+2", "1000", 5])
def test_a_count_is_a_whole_number_from_1_to_1000(text):
    assert scale.parse_replicas(text) == int(str(text).strip())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "must be >= 1, got 0 (to stop an app: `mason app remove`)"),
        ("-1", "must be >= 1, got -1"),
        ("2.5", "expected a whole number of replicas, got a string '2.5'"),
        ("three", "expected a whole number of replicas"),
        ("", "expected a whole number of replicas"),
        ("²", "expected a whole number of replicas"),
        ("1001", "must be <= 1000, got 1001"),
        (True, "expected an integer"),
    ],
)
def test_a_bad_count_is_one_line(value, message):
    with pytest.raises(InvalidInput) as err:
        scale.parse_replicas(value)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_scaled_changes_one_service_and_checks_it(app):  # noqa: F811
    more = scale.scaled(app, "web", 3)
    assert more.services["web"].replicas == 3 and app.services["web"].replicas == 2
    with pytest.raises(NotFound, match=r"no service 'wbe'.*did you mean 'web'"):
        scale.scaled(app, "wbe", 3)
    with pytest.raises(MasonError, match="must be >= 1"):
        scale.scaled(app, "web", 0)


def test_as_recorded_takes_each_services_count_from_the_release(app):  # noqa: F811
    placed = {"web": (Slot(1, "h1", "a"), Slot(2, "h2", "b"), Slot(3, "h3", "c"))}
    assert scale.as_recorded(app, placed).services["web"].replicas == 3
    assert scale.as_recorded(app, {}).services["web"].replicas == 2


def test_scaling_up_adds_one_replica_and_keeps_every_other_container(app, entries):  # noqa: F811
    first = make(app, entries)
    up = make(scale.scaled(app, "web", 3), entries, survey_of(first))
    actions = {(c.service, c.replica): c.action for c in up.changes}
    assert actions == {("web", 1): "keep", ("web", 2): "keep", ("web", 3): "new"}
    assert all(i["action"] == "keep" for i in up.instances if i["replica"] != 3)
    assert not up.remove
    assert [[s.replica for s in b] for b in up.batches] == [[3]]
    # the third goes to the zone that had none (anti-affinity), the others stay
    hosts = {i["replica"]: i["host"] for i in up.instances if i["service"] == "web"}
    assert len(set(hosts.values())) == 3
    down = make(app, entries, survey_of(up))
    assert {(c.service, c.replica): c.action for c in down.changes} == {
        ("web", 1): "keep",
        ("web", 2): "keep",
        ("web", 3): "remove",
    }
    assert sorted(r.part for r in down.remove) == ["proxy", "service"]
    assert not down.batches


def test_more_replicas_than_hosts_share_hosts_behind_the_edge(app, entries):  # noqa: F811
    """The edge holds the public port on every host and no replica binds it, so replicas
    of a public service may share a host, each behind its own sidecar port; ha: zone
    spreads them evenly. Only room (cpu, memory) bounds the count."""
    plan = make(scale.scaled(app, "web", 6), entries, survey_of(make(app, entries)))
    assert not plan.unplaced
    webs = [i for i in plan.instances if i["app"] == "guestbook" and i["service"] == "web"]
    assert sorted(Counter(i["host"] for i in webs).values()) == [2, 2, 2]
    ports = [(i["host"], i["proxy_port"]) for i in plan.instances]
    assert len(set(ports)) == len(ports)
    assert [len(e["backends"]["public_8080"]) for e in plan.edges] == [6, 6, 6]
    # 3 hosts of 2 CPUs hold at most 30 web replicas of 200m: 40 do not fit
    crowded = make(scale.scaled(app, "web", 40), entries, survey_of(make(app, entries)))
    assert crowded.unplaced and crowded.unplaced[0].service == "web"


def test_a_replica_placed_where_others_are_removed_gets_a_port_none_of_them_holds(app, entries):  # noqa: F811
    """Removals run last: until then the removed replicas' sidecars hold their ports, so
    a replica that lands on their host takes another. Here the service is renamed: its
    6 old replicas go, 2 of the new name are placed among them."""
    six = survey_of(make(scale.scaled(app, "web", 6), entries, survey_of(make(app, entries))))
    www = replace(app.services["web"], name="www")
    renamed = replace(app, services={"www": www})
    down = make(renamed, entries, six, images={**IMAGES, "www": IMAGES["web"]})
    held = {(r.host, r.proxy_port) for r in six if r.proxy_port}
    placed = [i for i in down.instances if i["action"] in ("new", "move")]
    assert {i["service"] for i in placed} == {"www"} and len(placed) == 2, placed
    assert len([r for r in down.remove if r.part == "service"]) == 6
    for i in placed:
        assert (i["host"], i["proxy_port"]) not in held, i["name"]


def test_scaling_down_keeps_the_spread_and_moves_nothing(app, entries):  # noqa: F811
    """6 -> 2 removes two replicas of each of two zones and one of the third's: the two
    that stay are in two zones (ha: zone) where they ran. Removing by host load alone
    kept two in one zone, and the plan moved one of them."""
    six = survey_of(make(scale.scaled(app, "web", 6), entries, survey_of(make(app, entries))))
    down = make(app, entries, six)
    actions = {c.replica: c.action for c in down.changes if c.service == "web"}
    assert sorted(actions.values()) == ["keep", "keep", "remove", "remove", "remove", "remove"]
    assert actions[1] == actions[2] == "keep", actions
    kept = [i for i in down.instances if i["service"] == "web"]
    assert len({i["zone"] for i in kept}) == 2 and not down.batches


def test_a_replica_its_newest_release_does_not_place_is_a_stale_copy(app, entries):  # noqa: F811
    """A host back after a heal runs web#2, which the newest release no longer runs (heal
    placed the lost replica as web#3 elsewhere): the plan removes web#2 and keeps the
    release's #1 and #3. Without the record it keeps #1 and #2 and removes #3."""
    three = survey_of(make(scale.scaled(app, "web", 3), entries, survey_of(make(app, entries))))
    webs = {r.replica: r.host for r in three if r.service == "web" and r.part == "service"}
    recorded = {"web": {(1, webs[1]), (3, webs[3])}}
    for record, gone in ((None, 3), (recorded, 2)):
        healed = make(app, entries, three, recorded=record)
        actions = {c.replica: c.action for c in healed.changes if c.service == "web"}
        assert actions == {1: "keep", 2: "keep", 3: "keep"} | {gone: "remove"}, (record, actions)
        removed = {(r.replica, r.part) for r in healed.remove if r.service == "web"}
        assert removed == {(gone, "service"), (gone, "proxy")}


def test_a_stale_copy_where_the_plan_places_that_replica_is_replaced_not_removed(
    app,  # noqa: F811
    entries,  # noqa: F811
):
    """The newest release ran web#2 on a host now lost; a copy of web#2 runs elsewhere
    (not where the release put it: stale). When the plan places web#2 on that copy's
    host, the new one takes its names: removing the copy last would remove it."""
    three = survey_of(make(scale.scaled(app, "web", 3), entries, survey_of(make(app, entries))))
    webs = {r.replica: r.host for r in three if r.service == "web" and r.part == "service"}
    plan = make(app, entries, three, recorded={"web": {(1, webs[1]), (2, "gone")}})
    placed = {(i["replica"], i["host"]): i for i in plan.instances if i["service"] == "web"}
    assert (2, webs[2]) in placed, placed
    assert not [r for r in plan.remove if (r.service, r.replica, r.host) == ("web", 2, webs[2])]
    # web#3's copy is removed last: its sidecar's port is not given to anything new
    held = {(r.host, r.proxy_port) for r in three if r.service == "web" and r.replica == 3}
    assert all((i["host"], i["proxy_port"]) not in held for i in plan.instances)
