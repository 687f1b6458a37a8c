"""The deploy plan: placement stable against what runs, CIS settings, addons, edges, diffs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mason.core import deploy
from mason.core.catalog import list_entries, search_path, templates
from mason.core.errors import InvalidInput
from mason.core.manifest import load_manifest
from mason.core.proxy import ADDONS_APP, backends_down

ROOT = Path(__file__).resolve().parents[3]
GUESTBOOK = ROOT / "examples" / "guestbook" / "guestbook.yml"
HOSTS = [
    deploy.PodHost(
        f"p-h{i}", f"zone-{z}", f"10.0.0.{i}", 2000, 2 * 1024**3, "manager" if i == 1 else "worker"
    )
    for i, z in ((1, "a"), (2, "b"), (3, "c"))
]
IMAGES = {
    "web": "reg/guestbook/web@sha256:" + "a" * 64,
    "addons/postgresql": "reg/pg@sha256:" + "b" * 64,
    "addons/redis": "reg/redis@sha256:" + "c" * 64,
}


@pytest.fixture(scope="module")
def entries():
    return list_entries(search_path())


@pytest.fixture(scope="module")
def app(entries):
    return load_manifest(GUESTBOOK, catalog=templates(entries), addons=list(entries))


def make(app, entries, running=(), images=IMAGES, recorded=None):
    return deploy.build_plan(
        pod="p",
        app=app,
        hosts=HOSTS,
        running=list(running),
        images=images,
        proxy_image="reg/proxy@sha256:" + "d" * 64,
        addon_entries={a: (entries[a].service, entries[a].addon) for a in app.addons},
        recorded=recorded,
    )


def survey_of(plan: deploy.DeployPlan) -> list[deploy.Running]:
    """What the hosts would report after the plan ran."""
    rows: dict[str, list[dict]] = {}
    for i in plan.instances:
        for part, name in (("service", i["container"]), ("proxy", i["proxy_container"])):
            labels = {
                **(i["service_labels"] if part == "service" else i["labels"]),
                "mason.part": part,
            }
            rows.setdefault(i["host"], []).append(
                {"name": "/" + name, "labels": labels, "state": "running"}
            )
    for e in plan.edges:
        rows.setdefault(e["host"], []).append(
            {"name": e["container"], "labels": e["labels"], "state": "running"}
        )
    return deploy.parse_survey(rows)


def test_first_deploy_places_replicas_in_two_zones_and_one_of_each_addon(app, entries):
    plan = make(app, entries)
    web = [i for i in plan.instances if i["app"] == "guestbook"]
    assert len(web) == 2 and len({i["zone"] for i in web}) == 2
    assert sorted(i["service"] for i in plan.instances if i["app"] == ADDONS_APP) == [
        "postgresql",
        "redis",
    ]
    assert {c.action for c in plan.changes} == {"new"}
    assert plan.release == 1 and plan.changes_anything
    assert len(plan.edges) == 3 and all(e["ports"] == [8080] for e in plan.edges)


def test_container_settings_follow_cis_section_5(app, entries):
    web = next(i for i in make(app, entries).instances if i["service"] == "web")
    p = web["params"]
    assert p["cap_drop"] == ["ALL"] and p["capabilities"] == []
    assert p["read_only"] is True and p["privileged"] is False and p["init"] is True
    assert p["pids_limit"] == deploy.PIDS_LIMIT and p["memory"] == str(128 * 1024**2)
    assert p["cpus"] == 0.2 and p["user"] == "guestbook"
    assert p["healthcheck"]["test"][0] == "CMD"
    assert web["service_labels"]["mason.image"] == IMAGES["web"]
    assert "mason.image" not in web["labels"]  # the sidecar's labels: identity only


def test_addon_passwords_are_placeholders_filled_only_on_the_host(app, entries):
    web = next(i for i in make(app, entries).instances if i["service"] == "web")
    url = web["env"]["MASON_POSTGRESQL_URL"]
    assert deploy.secret_token("postgresql") in url and "mason-proxy" in url
    filled = deploy.fill_secrets(web["env"], {"postgresql": "ab12", "redis": "cd34"})
    assert filled["MASON_POSTGRESQL_URL"].startswith("postgresql://guestbook:ab12@mason-proxy:")
    assert filled["MASON_REDIS_URL"].startswith("redis://guestbook:cd34@mason-proxy:")
    with pytest.raises(InvalidInput, match="no secret for addon redis"):
        deploy.fill_secrets(web["env"], {"postgresql": "ab12"})


def test_only_apps_that_use_an_addon_are_admitted_by_it(app, entries):
    plan = make(app, entries)
    pg = next(i for i in plan.instances if i["service"] == "postgresql")
    assert pg["callers"] == ["spiffe://p/guestbook/web"]
    web = next(i for i in plan.instances if i["service"] == "web")
    assert web["callers"] == ["spiffe://p/guestbook/edge"]


def test_redeploy_unchanged_keeps_everything_and_its_release(app, entries):
    first = make(app, entries)
    again = make(app, entries, survey_of(first))
    assert {c.action for c in again.changes} == {"keep"} and not again.changes_anything
    assert [i["service_labels"] for i in again.instances] == [
        i["service_labels"] for i in first.instances
    ]
    assert again.remove == []


def test_a_new_image_updates_in_place_under_a_new_release(app, entries):
    first = make(app, entries)
    images = {**IMAGES, "web": "reg/guestbook/web@sha256:" + "e" * 64}
    again = make(app, entries, survey_of(first), images)
    assert {c.action for c in again.changes} == {"update"}
    assert {i["release"] for i in again.instances if i["app"] == "guestbook"} == {2}
    # the addons did not change: they keep their release label
    assert {i["release"] for i in again.instances if i["app"] == ADDONS_APP} == {1}


def test_an_update_starts_first_where_the_host_has_room_and_the_service_no_volume(app, entries):
    from dataclasses import replace

    first = make(app, entries)
    images = {**IMAGES, "web": "reg/guestbook/web@sha256:" + "e" * 64}
    again = make(app, entries, survey_of(first), images)
    steps = [step for batch in again.batches for step in batch]
    assert steps and {s.mode for s in steps} == {"start-first"}, steps
    names = sorted(f"guestbook-web-{s.replica}" for s in steps)
    assert sorted(again.extravars()["mason_deploy"]["start_first"]) == names
    # a replica whose host has no room for a second copy stops first
    web = app.services["web"]
    big = replace(app, services={"web": replace(web, memory=2 * 1024**3 - 300 * 1024**2)})
    running = survey_of(make(big, entries))
    tight = make(big, entries, running, images)
    assert {s.mode for b in tight.batches for s in b} == {"stop-first"}
    assert tight.extravars()["mason_deploy"]["start_first"] == []
    # and so does a service that keeps data: two copies must never share its volume
    vol = next(iter(entries["postgresql"].service.volumes))
    stateful = replace(app, services={"web": replace(web, volumes=(vol,))})
    kept = make(stateful, entries, survey_of(make(stateful, entries)), images)
    assert {s.mode for b in kept.batches for s in b} == {"stop-first"}


def test_scale_down_removes_replica_and_its_proxy(app, entries):
    from dataclasses import replace

    first = make(app, entries)
    smaller = replace(app, services={"web": replace(app.services["web"], replicas=1)})
    again = make(smaller, entries, survey_of(first))
    assert [c.action for c in again.changes].count("remove") == 1
    assert {r.part for r in again.remove} == {"service", "proxy"}


def test_another_apps_public_port_is_refused(app, entries):
    first = survey_of(make(app, entries))
    other = [r for r in first if r.part == "edge"]
    taken = [deploy.Running(**{**vars(r), "app": "shop"}) for r in other]
    with pytest.raises(InvalidInput, match="public port 8080 is already held by app shop"):
        make(app, entries, taken)


def test_reserved_names(app, entries):
    from dataclasses import replace

    with pytest.raises(InvalidInput, match="reserved"):
        make(replace(app, name=ADDONS_APP), entries)


STAT = """# pxname,svname,qcur,status,x
inbound,FRONTEND,,OPEN,
service,web-1,0,UP,
link_db,db-1,0,DOWN,
link_db,db-2,0,MAINT,
public_8080,web-2,0,no check,
public_8080,BACKEND,0,UP,
"""


def test_backends_down_reads_haproxy_stats():
    assert backends_down(STAT) == ["link_db/db-1 DOWN"]
    assert backends_down("garbage")[0].startswith("unreadable")


def test_an_app_that_does_not_fit_is_reported_unplaced_not_crashed(app, entries):
    from dataclasses import replace

    huge = replace(app, services={"web": replace(app.services["web"], cpu=64_000)})
    plan = make(huge, entries)
    assert [u.service for u in plan.unplaced] == ["web", "web"]
    assert plan.edges == []


def test_the_manifests_environment_reaches_the_container_and_a_change_updates_it(app, entries):
    from dataclasses import replace

    first = make(app, entries)
    changed = replace(app, services={"web": replace(app.services["web"], env={"GREETING": "hi"})})
    again = make(changed, entries, survey_of(first))
    web = [i for i in again.instances if i["service"] == "web"]
    assert all(i["env"]["GREETING"] == "hi" for i in web)
    assert {c.action for c in again.changes} == {"update"} and len(again.batches) == 2


def _lose(app, entries, plan, lost):
    """Plan again with only the hosts left (``pod heal``): survivors' containers as found."""
    left = [h for h in HOSTS if h.name != lost]
    running = [r for r in survey_of(plan) if r.host != lost]
    return deploy.build_plan(
        pod="p",
        app=app,
        hosts=left,
        running=running,
        images=IMAGES,
        proxy_image="reg/proxy@sha256:" + "d" * 64,
        addon_entries={a: (entries[a].service, entries[a].addon) for a in app.addons},
        latest_release=1,
    )


def test_a_lost_hosts_replicas_are_placed_again_on_the_others_and_the_rest_kept(app, entries):
    first = make(app, entries)
    web = {i["host"] for i in first.instances if i["service"] == "web"}
    lost = sorted(web)[0]
    healed = _lose(app, entries, first, lost)
    assert healed.unplaced == []
    hosts = {i["host"] for i in healed.instances}
    assert lost not in hosts
    webs = [i for i in healed.instances if i["service"] == "web"]
    assert len(webs) == 2 and len({i["host"] for i in webs}) == 2  # anti-affinity holds
    actions = {c.action for c in healed.changes}
    assert "new" in actions and "remove" not in actions  # nothing to remove on a lost host
    kept = [i for i in webs if i["host"] != lost and i["host"] in web]
    assert all(i["action"] == "keep" for i in kept)


def test_a_host_back_after_heal_has_its_stale_copies_removed(app, entries):
    first = make(app, entries)
    lost = sorted({i["host"] for i in first.instances if i["service"] == "web"})[0]
    healed = _lose(app, entries, first, lost)
    # the host returns with its old containers; the healed copies run elsewhere
    back = survey_of(healed) + [r for r in survey_of(first) if r.host == lost]
    stale = deploy.stale_copies(back)
    assert stale and {r.host for r in stale} == {lost}
    again = make(app, entries, back)
    assert set(again.remove) >= set(stale)
    assert {(r.host, r.part) for r in again.remove if r.app == "guestbook"} == {
        (lost, "service"),
        (lost, "proxy"),
    }
    assert all(c.action in ("keep", "remove") for c in again.changes)


def test_a_kept_replica_whose_link_moved_is_reloaded_not_restarted(app, entries):
    first = make(app, entries)
    configs = {
        (i["host"], i["name"]): deploy.proxy_config_hash(i["haproxy_cfg"]) for i in first.instances
    }
    again = deploy.build_plan(
        pod="p",
        app=app,
        hosts=HOSTS,
        running=survey_of(first),
        images=IMAGES,
        proxy_image="reg/proxy@sha256:" + "d" * 64,
        addon_entries={a: (entries[a].service, entries[a].addon) for a in app.addons},
        proxy_configs=configs,
    )
    assert not again.changes_anything and again.reloads == []
    stale = {k: "0" * 64 for k in configs}  # every sidecar found with another configuration
    changed = deploy.build_plan(
        pod="p",
        app=app,
        hosts=HOSTS,
        running=survey_of(first),
        images=IMAGES,
        proxy_image="reg/proxy@sha256:" + "d" * 64,
        addon_entries={a: (entries[a].service, entries[a].addon) for a in app.addons},
        proxy_configs=stale,
    )
    assert changed.changes_anything and {c.action for c in changed.changes} == {"keep"}
    assert sorted(changed.reloads) == sorted(i["name"] for i in first.instances)
