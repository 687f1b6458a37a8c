"""The release ledger: records, their chain, verification, lookup and diffs."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mason.core import release as R
from mason.core.errors import InvalidInput, NotFound

WHEN = "2026-12-03T07:00:00Z"


def fields(n: int = 1, **over: Any) -> dict[str, Any]:
    base = {
        "app": "shop",
        "kind": "deploy",
        "manifest_hash": f"{n:064x}",
        "images": {"web": f"reg/shop/web@sha256:{n:064x}", "api": "reg/api@sha256:" + "a" * 64},
        "placement": {
            "web": [
                {"replica": 1, "host": "p-h1", "zone": "zone-a"},
                {"replica": 2, "host": f"p-h{1 + n % 3}", "zone": "zone-b"},
            ],
            "api": [{"replica": 1, "host": "p-h3", "zone": "zone-c"}],
        },
        "who": "alice@laptop",
        "when": WHEN,
        "run_id": f"run-{n}",
        "note": "",
    }
    base.update(over)
    return base


def chain(n: int) -> list[R.Release]:
    out: list[R.Release] = []
    for i in range(1, n + 1):
        out.append(R.make_record(out[-1] if out else None, **fields(i)))
    return out


def test_make_record_numbers_and_chains():
    a, b, c = chain(3)
    assert (a.number, b.number, c.number) == (1, 2, 3)
    assert a.previous == "" and b.previous == a.hash and c.previous == b.hash
    assert a.hash == R.digest({k: v for k, v in a.to_dict().items() if k != "hash"})
    assert len(a.hash) == 64 and a.file_name == "000001.json"
    assert R.verify([a, b, c]) == []


def test_hash_is_over_canonical_json_without_hash():
    a = chain(1)[0]
    body = a.to_dict()
    del body["hash"]
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert a.hash == hashlib.sha256(text.encode()).hexdigest()


def test_round_trip_through_json():
    for r in chain(3):
        again = R.from_dict(json.loads(json.dumps(r.to_dict())), "000001.json")
        assert again == r and again.computed_hash() == r.hash


def test_when_defaults_to_now_in_utc():
    r = R.make_record(None, **{k: v for k, v in fields().items() if k != "when"})
    assert r.when.endswith("Z") and R.verify([r]) == []


def test_a_record_keeps_its_manifest_and_the_hash_covers_it():
    manifest = {"services": {"web": {"image": "nginx:1.27", "replicas": 2}}}
    record = R.make_record(None, **fields(1, manifest_hash=R.manifest_hash(manifest)),
                           manifest=manifest)  # fmt: skip
    again = R.from_dict(json.loads(json.dumps(record.to_dict())), "000001.json")
    assert again.manifest == manifest and R.verify([again]) == []
    edited = {**record.to_dict(), "manifest": {"services": {}}}
    with pytest.raises(InvalidInput, match="manifest: does not hash to manifest_hash"):
        R.from_dict(edited, "000001.json")
    # records written before the manifest was kept read as they were
    assert R.from_dict(chain(1)[0].to_dict()).manifest == {}


def test_make_record_refuses_fields_the_ledger_sets_and_other_apps():
    with pytest.raises(InvalidInput, match="number is set by the ledger"):
        R.make_record(None, number=4, **fields())
    first = chain(1)[0]
    with pytest.raises(InvalidInput, match="does not follow a record of app 'shop'"):
        R.make_record(first, **fields(2, app="blog"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"number": "2"}, "000002.json: number: expected an integer, got a string '2'"),
        ({"number": 0}, "000002.json: number: must be between 1 and 999999, got 0"),
        ({"kind": "deploi"}, "000002.json: kind: expected one of deploy, rollback, revert"),
        ({"app": "Shop"}, "000002.json: app: invalid app name 'Shop'"),
        ({"manifest_hash": "abc"}, "000002.json: manifest_hash: expected a sha256"),
        ({"previous": "xyz"}, "000002.json: previous: expected a sha256"),
        ({"when": "noon"}, "000002.json: when: expected an ISO 8601 UTC time"),
        ({"when": "2026-12-03T07:00:00+02:00"}, "000002.json: when: must be in UTC"),
        ({"who": ""}, "000002.json: who: must not be empty"),
        ({"who": "a\nb"}, "000002.json: who: must be printable text on one line"),
        ({"images": ["web"]}, "000002.json: images: expected a mapping of service to image"),
        ({"images": {"web": 3}}, "000002.json: images.web: expected an image reference"),
        ({"images": {"web": "a b"}}, "000002.json: images.web: an image reference has no spaces"),
        ({"placement": {"web": {}}}, "000002.json: placement.web: expected a list of replicas"),
        (
            {"placement": {"web": [{"replica": 1, "host": "h"}]}},
            "000002.json: placement.web[0].zone: required",
        ),
        (
            {"placement": {"web": [{"replica": 1, "host": "h", "zone": "z", "rack": 2}]}},
            "000002.json: placement.web[0].rack: unknown key",
        ),
        (
            {"placement": {"web": [{"replica": True, "host": "h", "zone": "z"}]}},
            "000002.json: placement.web[0].replica: expected an integer, got a boolean",
        ),
        (
            {"placement": {"web": [{"replica": 1, "host": "h", "zone": "z"}] * 2}},
            "000002.json: placement.web: replica 1 is listed twice",
        ),
        ({"extra": 1}, "000002.json: extra: unknown key"),
        ({"manifest": ["web"]}, "000002.json: manifest: expected the app's manifest"),
        ({"manifest": {"services": {}}}, "000002.json: manifest: does not hash to manifest_hash"),
    ],
)
def test_from_dict_one_line_naming_file_and_field(change, message):
    data = {**chain(2)[1].to_dict(), **change}
    with pytest.raises(InvalidInput) as info:
        R.from_dict(data, "000002.json")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_from_dict_missing_fields_and_not_a_mapping():
    data = chain(1)[0].to_dict()
    del data["who"], data["hash"]
    with pytest.raises(InvalidInput, match=r"^f.json: who: required \(also missing: hash\)$"):
        R.from_dict(data, "f.json")
    with pytest.raises(
        InvalidInput, match=r"^f.json: expected a release record \(a mapping\), got a list"
    ):
        R.from_dict([], "f.json")


def test_verify_finds_an_edited_record():
    a, b, c = chain(3)
    edited = R.from_dict({**b.to_dict(), "who": "mallory@elsewhere"})
    assert R.verify([a, edited, c]) == [
        f"release 2: edited (its content no longer matches its hash {b.short})"
    ]


def test_verify_finds_a_rewritten_record_through_the_next_one():
    a, b, c = chain(3)
    body = {**b.to_dict(), "images": {"web": "evil@sha256:" + "f" * 64}}
    del body["hash"]
    rewritten = R.from_dict({**body, "hash": R.digest(body)})
    problems = R.verify([a, rewritten, c])
    assert problems == [
        f"release 3: broken chain (it follows {b.short}, release 2 is {rewritten.short})"
    ]


def test_verify_finds_gaps_repeats_and_a_false_first():
    a, b, c, d = chain(4)
    assert R.verify([a, c, d]) == ["release(s) missing: 2"]
    assert R.verify([c, d]) == ["release(s) missing: 1-2"]
    assert R.verify([a, b, b, c]) == ["release number(s) written more than once: 2"]
    other = chain(2)[1]  # number 2, chained to another ledger's first: same here
    assert R.verify([a, other]) == []
    stray = R.make_record(R.make_record(None, **fields(9)), **fields(9))
    assert any("broken chain" in p for p in R.verify([a, stray]))


def test_verify_refuses_records_of_two_apps():
    a = chain(1)[0]
    b = R.make_record(None, **fields(1, app="blog"))
    assert "records of more than one app: blog, shop" in R.verify([a, b])


def test_find():
    recs = chain(4)
    assert R.find(recs, "3") is recs[2]
    assert R.find(recs, "#2") is recs[1]
    assert R.find(recs, "latest") is recs[3]
    assert R.find(recs, "previous") is recs[2]
    assert R.find(recs, recs[0].hash[:10]) is recs[0]
    assert R.find(recs, recs[1].hash.upper()) is recs[1]
    with pytest.raises(NotFound, match=r"release 7 is not recorded \(releases: 1-4\)"):
        R.find(recs, "7")
    with pytest.raises(NotFound, match="no recorded release has a hash starting with it"):
        R.find(recs, "ffffff" if not any(r.hash.startswith("ffffff") for r in recs) else "eeeeee")
    with pytest.raises(InvalidInput, match="expected a number, 'latest', 'previous'"):
        R.find(recs, "abc")
    with pytest.raises(NotFound, match="has only one recorded release"):
        R.find(recs[:1], "previous")
    with pytest.raises(NotFound, match="the app has no recorded release"):
        R.find([], "latest")


def test_find_ambiguous_prefix():
    recs = chain(3)
    # six-digit prefixes hardly ever collide; fake one
    twin = R.Release(**{**recs[0].__dict__, "number": 41, "hash": recs[0].hash[:6] + "0" * 58})
    with pytest.raises(InvalidInput, match="matches releases 1, 41"):
        R.find([*recs, twin], recs[0].hash[:6])


def test_diff():
    a, b = chain(2)
    changes = R.diff(a, b)
    assert [c.service for c in changes] == ["web"]
    (web,) = changes
    assert web.image_changed and web.placement_changed
    assert web.added == (R.Slot(2, "p-h3", "zone-b"),)
    assert web.removed == (R.Slot(2, "p-h2", "zone-b"),)
    assert web.describe().startswith("web: image reg/shop/web@sha256:")
    assert "placed #2 on p-h3 (zone-b); gone #2 on p-h2 (zone-b)" in web.describe()
    assert R.diff(a, a) == []
    first = R.diff(None, a)
    assert [c.service for c in first] == ["api", "web"]
    assert all(c.image_before == "" for c in first)
    gone = R.make_record(b, **fields(3, images={"web": b.images["web"]}, placement={}))
    api = next(c for c in R.diff(b, gone) if c.service == "api")
    assert api.image_after == "" and api.to_dict()["removed"] == [
        {"replica": 1, "host": "p-h3", "zone": "zone-c"}
    ]


def test_manifest_hash_ignores_key_order():
    assert R.manifest_hash({"a": 1, "b": [1, 2]}) == R.manifest_hash({"b": [1, 2], "a": 1})
    assert R.manifest_hash({"a": 1}) != R.manifest_hash({"a": 2})


# -- properties -------------------------------------------------------------------------------
NAMES = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
TEXT = st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), min_size=1).filter(
    lambda s: s.strip() and s.isprintable() and len(s) < 60
)
SLOTS = st.lists(
    st.builds(R.Slot, st.integers(1, 30), NAMES, NAMES), unique_by=lambda s: s.replica, max_size=4
)
FIELDS = st.fixed_dictionaries(
    {
        "app": st.just("shop"),
        "kind": st.sampled_from(R.KINDS),
        "manifest_hash": st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
        "images": st.dictionaries(NAMES, TEXT.filter(lambda s: " " not in s), max_size=3),
        "placement": st.dictionaries(NAMES, SLOTS, max_size=3),
        "who": TEXT,
        "when": st.just(WHEN),
        "run_id": TEXT,
        "note": st.one_of(st.just(""), TEXT),
    }
)


def build(all_fields: list[dict[str, Any]]) -> list[R.Release]:
    out: list[R.Release] = []
    for f in all_fields:
        out.append(R.make_record(out[-1] if out else None, **f))
    return out


def _mutations(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """Edits of one field that keep the record readable but change what it says."""
    out: list[tuple[str, Any]] = [
        ("number", data["number"] + 1),
        ("kind", next(k for k in R.KINDS if k != data["kind"])),
        ("manifest_hash", "0" * 64 if data["manifest_hash"] != "0" * 64 else "1" * 64),
        ("images", {**data["images"], "zz": "evil@sha256:" + "e" * 64}),
        ("placement", {**data["placement"], "zz": [{"replica": 1, "host": "x", "zone": "y"}]}),
        ("who", data["who"] + "x"),
        ("when", "2020-01-01T00:00:00Z"),
        ("run_id", data["run_id"] + "x"),
        ("previous", "f" * 64 if data["previous"] != "f" * 64 else "e" * 64),
        ("note", data["note"] + "x"),
    ]
    for svc, ref in data["images"].items():
        out.append(("images", {**data["images"], svc: ref + "x"}))
    for svc, slots in data["placement"].items():
        if slots:
            moved = [{**slots[0], "host": slots[0]["host"] + "x"}, *slots[1:]]
            out.append(("placement", {**data["placement"], svc: moved}))
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(FIELDS, min_size=1, max_size=5), st.data())
def test_property_any_edit_anywhere_is_caught(all_fields, data):
    records = build(all_fields)
    assert R.verify(records) == []
    i = data.draw(st.integers(0, len(records) - 1), label="record")
    original = records[i].to_dict()
    key, value = data.draw(st.sampled_from(_mutations(original)), label="edit")
    edited = {**original, key: value}
    rehash = data.draw(st.booleans(), label="rehash")
    if rehash:
        edited["hash"] = R.digest(R.from_dict({**edited, "hash": "0" * 64}).body())
    tampered = [*records[:i], R.from_dict(edited), *records[i + 1 :]]
    caught = R.verify(tampered)
    if rehash and i == len(records) - 1 and key not in ("number", "previous"):
        # The newest record, rewritten with its hash recomputed: only its own hash
        # guards it, and the editor recomputed that (see the module's docstring).
        assert caught == []
    else:
        assert caught, f"edit of {key} in record {i + 1} not caught"


@settings(max_examples=40, deadline=None)
@given(st.lists(FIELDS, min_size=2, max_size=6), st.data())
def test_property_a_lost_or_reordered_record_is_caught(all_fields, data):
    records = build(all_fields)
    i = data.draw(st.integers(0, len(records) - 2), label="dropped")
    assert R.verify(records[:i] + records[i + 1 :])
    assert R.verify(list(reversed(records))) == []  # order of reading does not matter


@settings(max_examples=60, deadline=None)
@given(st.lists(FIELDS, min_size=1, max_size=4))
def test_property_round_trip_and_find(all_fields):
    records = build(all_fields)
    for r in records:
        assert R.from_dict(json.loads(json.dumps(r.to_dict()))) == r
        assert R.find(records, str(r.number)) is r
        assert R.find(records, r.hash[:16]) is r
    assert R.diff(records[-1], records[-1]) == []


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids),
        max_leaves=12,
    )
)
def test_property_from_dict_returns_or_raises_invalid_input(value):
    base = chain(1)[0].to_dict()
    for data in (value, {**base, "placement": value}, {**base, "images": value}):
        try:
            R.from_dict(data, "f.json")
        except InvalidInput as exc:
            assert str(exc).startswith("f.json: ") and "\n" not in str(exc)


def test_replicas_at_is_where_the_release_runs_each_replica():
    record = R.make_record(None, **fields(2))
    assert R.replicas_at(record) == {"web": {(1, "p-h1"), (2, "p-h3")}, "api": {(1, "p-h3")}}
    assert R.replicas_at(None) is None
