"""mason.core.proxy: link plans, instances, environment and the HAProxy config they render."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from mason.core import proxy
from mason.core.errors import InvalidInput
from tests.unit.core import proxy_plans

ADDR = {"demo-h1": "10.0.0.1", "demo-h2": "10.0.0.2", "demo-h3": "10.0.0.3"}
PLAN = {
    "apps": {
        "shop": {
            "web": {"port": 8080, "scheme": "http", "links": ["api", "db"], "hosts": ["demo-h1"]},
            "api": {"port": 9000, "scheme": "http", "hosts": ["demo-h2", "demo-h3"]},
            "db": {"port": 5432, "scheme": "postgresql", "hosts": ["demo-h2"]},
        },
        "blog": {
            "web": {"port": 8080, "links": ["api"], "hosts": ["demo-h3"]},
            "api": {"port": 8080, "hosts": ["demo-h2"]},
        },
    }
}


@pytest.fixture
def plan() -> proxy.LinkPlan:
    return proxy.plan_from_dict(PLAN, pod="demo", addresses=ADDR)


def by_name(plan) -> dict[str, proxy.Instance]:
    return {i.name: i for i in proxy.instances(plan)}


def test_proxy_ports_are_unique_per_host_and_deterministic(plan):
    ports = [(r.host, r.proxy_port) for s in plan.services for r in s.replicas]
    assert len(ports) == len(set(ports))
    assert all(p >= proxy.PROXY_PORT_BASE for _, p in ports)
    again = proxy.plan_from_dict(PLAN, pod="demo", addresses=ADDR)
    assert again == plan


def test_given_proxy_ports_are_kept_and_others_avoid_them():
    data = {"apps": {"a": {
        "x": {"port": 1, "replicas": [{"replica": 1, "host": "demo-h1", "proxy_port": 20000}]},
        "y": {"port": 1, "hosts": ["demo-h1"]},
    }}}  # fmt: skip
    built = proxy.plan_from_dict(data, pod="demo", addresses=ADDR)
    assert built.service("a", "x").replicas[0].proxy_port == 20000
    assert built.service("a", "y").replicas[0].proxy_port == 20001


def test_callers_are_only_same_app_services_that_declare_the_link(plan):
    inst = by_name(plan)
    assert [c.spiffe_id for c in inst["shop-api-1"].callers] == ["spiffe://demo/shop/web"]
    assert [c.spiffe_id for c in inst["blog-api-1"].callers] == ["spiffe://demo/blog/web"]
    assert inst["shop-web-1"].callers == ()


def test_link_env_points_at_the_local_proxy(plan):
    env = by_name(plan)["shop-web-1"].service_env()
    assert env["MASON_LINK_API_URL"] == "http://mason-proxy:15001"
    assert env["MASON_LINK_DB_URL"] == "postgresql://mason-proxy:15002"
    assert env["MASON_LINK_DB_HOST"] == "mason-proxy" and env["MASON_LINK_DB_PORT"] == "15002"
    assert env["MASON_APP"] == "shop" and env["MASON_SERVICE"] == "web"
    # Only declared links appear.
    assert not any(k.startswith("MASON_LINK_") for k in by_name(plan)["shop-api-1"].service_env())


def test_instance_names_and_networks(plan):
    i = by_name(plan)["shop-api-2"]
    assert (i.host, i.address) == ("demo-h3", "10.0.0.3")
    assert i.container == "mason-shop-api-2"
    assert i.proxy_container == "mason-proxy-shop-api-2"
    assert i.network == "mason-shop-api-2"  # private to this instance and its proxy
    assert i.edge_network == "mason-edge-shop"
    assert [x.name for x in proxy.instances(plan, "demo-h2")] == [
        "blog-api-1", "shop-api-1", "shop-db-1"
    ]  # fmt: skip


def _section(cfg: str, header: str) -> str:
    m = re.search(rf"^{re.escape(header)}\n((?:    .*\n|#.*\n)*)", cfg, re.M)
    assert m, f"no section {header!r}"
    return m.group(1)


def test_inbound_is_tls13_mutual_and_admits_only_linked_cns(plan):
    cfg = proxy.render_haproxy(by_name(plan)["shop-api-1"])
    inbound = _section(cfg, "frontend inbound")
    bind = next(line for line in inbound.splitlines() if "bind" in line)
    assert ":8443 ssl" in bind and "verify required" in bind and "ssl-min-ver TLSv1.3" in bind
    assert "ca-file /etc/haproxy/tls/ca.pem" in bind
    assert "acl subject_0 ssl_c_s_dn -m str /CN=spiffe://demo/shop/web\n" in inbound
    assert "tcp-request session reject unless { ssl_c_used } { ssl_c_verify 0 }\n" in inbound
    assert "tcp-request session reject unless subject_0 uri_0\n" in inbound
    assert "spiffe://demo/blog" not in cfg
    assert "mode http" in inbound
    assert "ssl-default-bind-options ssl-min-ver TLSv1.3" in cfg
    service = _section(cfg, "backend service")
    assert "mason-shop-api-1:9000" in service and "resolvers docker" in service


def test_inbound_authorises_on_the_uri_san_and_a_matching_single_cn():
    """Each caller needs both its exact subject (one CN) and its exact SAN extension, paired:
    a CN of one linked caller with the URI of another is not admitted."""
    from cryptography import x509

    from mason.core import pki

    data = {"apps": {"shop": {
        "web": {"port": 1, "links": ["api"], "hosts": ["demo-h1"]},
        "cron": {"port": 1, "links": ["api"], "hosts": ["demo-h1"]},
        "api": {"port": 1, "hosts": ["demo-h2"]},
    }}}  # fmt: skip
    api = by_name(proxy.plan_from_dict(data, pod="demo", addresses=ADDR))["shop-api-1"]
    inbound = _section(proxy.render_haproxy(api), "frontend inbound")
    acls = dict(re.findall(r"^    acl (\S+) (.*)$", inbound, re.M))
    cron, web = pki.Identity("demo", "shop", "cron"), pki.Identity("demo", "shop", "web")
    assert acls["subject_0"] == f"ssl_c_s_dn -m str /CN={cron.common_name}"
    assert acls["subject_1"] == f"ssl_c_s_dn -m str /CN={web.common_name}"
    for n, who in enumerate((cron, web)):
        pattern = acls[f"uri_{n}"].removeprefix("ssl_c_der,hex -m sub ")
        # The pattern is in a real leaf of that identity (HAProxy's hex is upper case) ...
        ca_key = pki.new_private_key()
        ca = pki.build_ca("demo", ca_key)
        leaf = pki.sign_csr(pki.build_csr(pki.new_private_key(), who), who, ca, ca_key)
        der = leaf.public_bytes(pki.serialization.Encoding.DER).hex().upper()
        assert pattern in der
        # ... and names that identity's URI, in the SAN extension.
        assert who.spiffe_id.encode().hex().upper() in pattern
        assert pattern.startswith("0603551D11")
        other = cron if who is web else web
        other_leaf = pki.sign_csr(pki.build_csr(pki.new_private_key(), other), other, ca, ca_key)
        assert pattern not in other_leaf.public_bytes(pki.serialization.Encoding.DER).hex().upper()
    assert "tcp-request session reject unless subject_0 uri_0 || subject_1 uri_1\n" in inbound
    assert x509  # the import documents where the DER comes from


def test_handshakes_and_silent_clients_are_bounded(plan):
    cfg = proxy.render_haproxy(
        by_name(plan)["shop-api-1"], proxy.ProxyTuning(handshake_timeout_s=7)
    )
    defaults = _section(cfg, "defaults")
    assert "    timeout client 7s\n" in defaults
    assert "    timeout tunnel 300s\n" in defaults and "    timeout server 300s\n" in defaults
    assert "timeout client 300s" not in cfg


def test_service_nobody_links_to_refuses_everyone(plan):
    inbound = _section(proxy.render_haproxy(by_name(plan)["shop-web-1"]), "frontend inbound")
    assert "    tcp-request session reject\n" in inbound
    assert "acl " not in inbound


def test_outbound_originates_mtls_to_every_replica_and_checks_them(plan):
    cfg = proxy.render_haproxy(by_name(plan)["shop-web-1"])
    front = _section(cfg, "frontend link_api")
    # Bound to the proxy's private-network address only, never the edge network's.
    assert "bind mason-proxy:15001\n" in front and "ssl" not in front
    back = _section(cfg, "backend link_api")
    servers = [line.strip() for line in back.splitlines() if line.strip().startswith("server")]
    assert [s.split()[2] for s in servers] == ["10.0.0.2:20001", "10.0.0.3:20001"]
    for s in servers:
        assert "ssl crt /etc/haproxy/tls/proxy.pem" in s
        assert "verify required" in s and "verifyhost api.shop.demo.mason" in s
        assert "ssl-min-ver TLSv1.3" in s and " check " in s
    assert "http-reuse always" in back and "retry-on conn-failure" in back
    # A non-HTTP link is proxied as TCP, with no HTTP-level reuse.
    db = _section(cfg, "backend link_db")
    assert "mode tcp" in db and "http-reuse" not in db


def test_server_addresses_match_the_target_replicas(plan):
    cfg = proxy.render_haproxy(by_name(plan)["shop-web-1"])
    api = plan.service("shop", "api")
    for r in api.replicas:
        assert f"server api-{r.replica} {r.address}:{r.proxy_port} ssl" in cfg


def test_seamless_reload_is_configured(plan):
    cfg = proxy.render_haproxy(by_name(plan)["shop-api-1"])
    assert "expose-fd listeners" in cfg and "hard-stop-after" in cfg
    assert "nbsrv(service) lt 1" in cfg  # a replica with its service down refuses: callers skip it


def test_to_dict_carries_everything_the_role_needs(plan):
    d = by_name(plan)["shop-web-1"].to_dict()
    for key in ("name", "container", "proxy_container", "network", "edge_network", "identity",
                "common_name", "dns_name", "proxy_port", "inbound_port", "env", "labels",
                "haproxy_cfg", "address"):  # fmt: skip
        assert key in d
    assert d["labels"]["mason.identity"] == "spiffe://demo/shop/web"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["apps"]["shop"]["web"].update(links=["nope"]), "not a service of shop"),
        (lambda p: p["apps"]["shop"]["web"].update(links=["web"]), "links to itself"),
        (lambda p: p["apps"]["shop"]["api"].update(hosts=["elsewhere"]), "no private address"),
        (lambda p: p["apps"]["shop"]["api"].update(port=70000), "port"),
        (lambda p: p["apps"]["shop"]["api"].update(scheme="ftp"), "scheme"),
        (lambda p: p["apps"]["shop"]["api"].update(hosts=[]), "no replicas"),
    ],
)
def test_bad_plans_are_refused_with_the_reason(change, message):
    import copy

    data = copy.deepcopy(PLAN)
    change(data)
    with pytest.raises(InvalidInput, match=message):
        proxy.plan_from_dict(data, pod="demo", addresses=ADDR)


def test_cross_app_links_are_impossible():
    data = {"apps": {"a": {"x": {"port": 1, "links": ["y"], "hosts": ["demo-h1"]}},
                     "b": {"y": {"port": 1, "hosts": ["demo-h1"]}}}}  # fmt: skip
    with pytest.raises(InvalidInput, match="not a service of a"):
        proxy.plan_from_dict(data, pod="demo", addresses=ADDR)


def test_duplicate_proxy_ports_on_a_host_are_refused():
    data = {"apps": {"a": {
        "x": {"port": 1, "replicas": [{"replica": 1, "host": "demo-h1", "proxy_port": 20000}]},
        "y": {"port": 1, "replicas": [{"replica": 1, "host": "demo-h1", "proxy_port": 20000}]},
    }}}  # fmt: skip
    with pytest.raises(InvalidInput, match="proxy port 20000"):
        proxy.plan_from_dict(data, pod="demo", addresses=ADDR)


def test_plan_from_manifests_adapter():
    port = SimpleNamespace(container=8080)
    svc = lambda links: SimpleNamespace(  # noqa: E731
        ports=(port,), links=links, image="img", command=(), env={}
    )
    apps = {"shop": SimpleNamespace(services={"web": svc(("api",)), "api": svc(())})}
    rows = [
        SimpleNamespace(app="shop", service="web", replica=1, host="demo-h1", action="new"),
        SimpleNamespace(app="shop", service="api", replica=1, host="demo-h2", action="keep"),
        SimpleNamespace(app="shop", service="api", replica=2, host="demo-h3", action="remove"),
    ]
    built = proxy_plans.plan_from_manifests("demo", apps, rows, ADDR)
    assert [r.host for r in built.service("shop", "api").replicas] == ["demo-h2"]
    assert built.callers(built.service("shop", "api"))[0].spiffe_id == "spiffe://demo/shop/web"


def test_plan_from_real_manifest_model_if_present():
    manifest = pytest.importorskip("mason.core.manifest")
    model = pytest.importorskip("mason.core.placement.model")
    web = manifest.Service(name="web", image="img", ports=(manifest.Port(8080),), links=("api",))
    api = manifest.Service(name="api", image="img", ports=(manifest.Port(9000),))
    apps = {"shop": manifest.App(name="shop", services={"web": web, "api": api})}
    rows = [
        model.Placement("shop", "web", 1, "demo-h1", "zone-a", model.NEW),
        model.Placement("shop", "api", 1, "demo-h2", "zone-b", model.NEW),
    ]
    built = proxy_plans.plan_from_manifests("demo", apps, rows, ADDR)
    web_inst = proxy.instances(built, "demo-h1")[0]
    assert web_inst.service_env()["MASON_LINK_API_URL"] == "tcp://mason-proxy:15001"
    assert "server api-1 10.0.0.2:20000 ssl" in proxy.render_haproxy(web_inst)


def test_plan_round_trips_through_its_plain_form(plan):
    again = proxy.plan_from_dict(proxy_plans.plan_to_dict(plan))
    assert again == plan
    assert proxy_plans.render_all(again) == proxy_plans.render_all(plan)


def test_sidecars_and_edges_run_with_one_set_of_container_settings():
    from mason.core.proxy import proxy_container

    params = proxy_container()
    assert params["cap_drop"] == ["ALL"] and params["read_only"] is True
    # KILL: a reloaded master must stop its old worker (docs/pki.md)
    assert params["capabilities"] == ["SETUID", "SETGID", "KILL"]
    assert proxy_container([8080])["capabilities"] == params["capabilities"]
    assert proxy_container([80, 8080])["capabilities"] == [
        *params["capabilities"],
        "NET_BIND_SERVICE",
    ]
