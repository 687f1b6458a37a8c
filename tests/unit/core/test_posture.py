"""Security posture: what a release ran with, and every kind of weakening a plan can bring."""

from __future__ import annotations

import copy

import pytest

from mason.core import posture, release
from mason.core.errors import InvalidInput
from mason.core.manifest import parse_manifest

WEB = {
    "capabilities": ["NET_BIND_SERVICE"],
    "read_only": True,
    "user": "guestbook",
    "apparmor": "mason-default",
    "public": [8080],
    "links": ["addon:postgresql", "db"],
}
RUNNING = {"web": WEB}


def planned(**change) -> dict:
    web = {**copy.deepcopy(WEB), **change}
    return {"web": web}


def verdicts(changes):
    return [(c.what, c.before, c.after, c.verdict) for c in changes]


def test_the_posture_of_an_app_comes_from_its_manifest():
    app = parse_manifest(
        {
            "name": "shop",
            "addons": ["redis"],
            "services": {
                "web": {
                    "image": "x",
                    "ports": ["8080:8080"],
                    "links": ["api"],
                    "security": {"capabilities": ["chown"], "user": "app"},
                },
                "api": {"image": "y", "security": {"read_only": False}},
            },
        },
        "shop.yml",
    )
    got = posture.of_app(app)
    assert got["web"] == {
        "capabilities": ["CHOWN"],
        "read_only": True,
        "user": "app",
        "apparmor": "mason-default",
        "public": [8080],
        "links": ["addon:redis", "api"],
    }
    assert got["api"]["read_only"] is False and got["api"]["public"] == []
    assert posture.check(got) == got


def test_nothing_changed_is_no_change():
    assert posture.diff(RUNNING, planned()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"capabilities": ["NET_BIND_SERVICE", "SETUID"]},
            [("capability", "", "SETUID", "weaker")],
        ),
        ({"read_only": False}, [("root filesystem", "read-only", "writable", "weaker")]),
        ({"user": ""}, [("user", "guestbook", "(the image's)", "weaker")]),
        (
            {"apparmor": "docker-default"},
            [("AppArmor profile", "mason-default", "docker-default", "weaker")],
        ),
        (
            {"apparmor": "unconfined"},
            [("AppArmor profile", "mason-default", "unconfined", "weaker")],
        ),
        ({"apparmor": "made-up"}, [("AppArmor profile", "mason-default", "made-up", "weaker")]),
        ({"public": [8080, 9090]}, [("public port", "", "9090", "weaker")]),
        (
            {"links": ["addon:postgresql", "addon:redis", "db"]},
            [("link", "", "addon:redis", "weaker")],
        ),
        ({"links": ["addon:postgresql", "cache", "db"]}, [("link", "", "cache", "weaker")]),
    ],
    ids=[
        "capability-added",
        "root-writable",
        "user-dropped",
        "apparmor-docker-default",
        "apparmor-unconfined",
        "apparmor-unknown",
        "public-port-opened",
        "addon-link-added",
        "service-link-added",
    ],
)
def test_every_kind_of_weakening_is_found(change, expected):
    changes = posture.diff(RUNNING, planned(**change))
    assert verdicts(changes) == expected
    assert posture.weakenings(changes) == changes
    assert all(c.service == "web" for c in changes)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"capabilities": []}, [("capability", "NET_BIND_SERVICE", "", "stronger")]),
        ({"public": []}, [("public port", "8080", "", "stronger")]),
        ({"links": ["db"]}, [("link", "addon:postgresql", "", "stronger")]),
        ({"user": "other"}, [("user", "guestbook", "other", "changed")]),
    ],
)
def test_narrowing_is_stronger_and_a_renamed_user_only_changed(change, expected):
    changes = posture.diff(RUNNING, planned(**change))
    assert verdicts(changes) == expected and posture.weakenings(changes) == []


def test_stronger_the_other_way():
    weak = planned(read_only=False, user="", apparmor="docker-default")["web"]
    changes = posture.diff({"web": weak}, RUNNING)
    assert {c.verdict for c in changes} == {"stronger"}


def test_a_new_service_is_compared_with_the_strictest_and_a_removed_one_is_stronger():
    changes = posture.diff(RUNNING, {**planned(), "admin": {**WEB, "links": []}})
    assert verdicts(changes) == [
        ("service", "", "admin", "changed"),
        ("capability", "", "NET_BIND_SERVICE", "weaker"),
        ("public port", "", "8080", "weaker"),
    ]
    strict = dict(posture.STRICTEST)
    assert posture.weakenings(posture.diff(RUNNING, {**planned(), "quiet": strict})) == []
    gone = posture.diff({**RUNNING, "old": WEB}, planned())
    assert verdicts(gone) == [("service", "old", "", "stronger")]


def test_a_change_reads_as_one_line():
    (c,) = posture.diff(RUNNING, planned(capabilities=["NET_BIND_SERVICE", "SETUID"]))
    assert c.describe() == "web: capability SETUID added (weaker)"
    assert c.to_dict()["verdict"] == "weaker"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "posture: expected a mapping of service to posture, got a list"),
        ({"web": {**WEB, "extra": 1}}, "posture.web.extra: unknown key"),
        ({"web": {k: v for k, v in WEB.items() if k != "user"}}, "posture.web.user: required"),
        ({"web": {**WEB, "read_only": "yes"}}, "posture.web.read_only: expected true or false"),
        ({"web": {**WEB, "public": ["8080"]}}, "posture.web.public: expected a list of int"),
        ({"web": {**WEB, "apparmor": 5}}, "posture.web.apparmor: expected a string"),
    ],
)
def test_a_recorded_posture_is_checked(data, message):
    with pytest.raises(InvalidInput, match=message.replace(".", r"\.")):
        posture.check(data)


FIELDS = {
    "app": "guestbook",
    "kind": "deploy",
    "manifest_hash": "a" * 64,
    "images": {"web": "reg/web@sha256:" + "b" * 64},
    "placement": {"web": [{"replica": 1, "host": "h1", "zone": "a"}]},
    "who": "alice@laptop",
}


def test_a_record_keeps_its_posture_under_its_hash_and_older_records_still_verify():
    first = release.make_record(None, **FIELDS)
    assert "posture" not in first.to_dict()  # as records written before postures existed
    second = release.make_record(first, **FIELDS, posture=RUNNING)
    assert second.posture == RUNNING and second.to_dict()["posture"] == RUNNING
    read = release.from_dict(second.to_dict())
    assert read == second and release.verify([first, read]) == []
    edited = second.to_dict()
    edited["posture"]["web"]["capabilities"] = []
    assert "edited" in release.verify([first, release.from_dict(edited)])[0]
    bad = {**second.to_dict(), "posture": {"web": {"user": 1}}}
    with pytest.raises(InvalidInput, match=r"posture: posture\.web"):
        release.from_dict(bad)
