from mason.core.inventory import groups_of, host_vars
from mason.providers.base import Host


def host(**kw) -> Host:
    base = dict(
        name="demo-h2",
        pod="demo",
        provider="docker",
        environment="dev",
        zone="zone-b",
        role="worker",
        index=2,
        address="127.0.0.1",
        ssh_port=32770,
        ssh_user="mason",
        cpu=1.0,
        memory=2**30,
        labels={"disk": "ssd"},
        private_address="172.20.0.3",
    )
    base.update(kw)
    return Host(**base)


def test_groups_per_pod_zone_role_environment_provider():
    assert groups_of(host()) == [
        "pod_demo",
        "zone_zone_b",
        "role_worker",
        "env_dev",
        "provider_docker",
    ]


def test_connection_variables_use_the_pods_key_and_known_hosts(mason_home):
    hv = host_vars(host())
    key_dir = mason_home / "keys" / "docker" / "demo"
    assert hv["ansible_host"] == "127.0.0.1"
    assert hv["ansible_port"] == 32770
    assert hv["ansible_user"] == "mason"
    assert hv["ansible_become"] is True
    assert hv["ansible_ssh_private_key_file"] == str(key_dir / "id_ed25519")
    assert f"UserKnownHostsFile={key_dir}/known_hosts" in hv["ansible_ssh_common_args"]
    assert "StrictHostKeyChecking=accept-new" in hv["ansible_ssh_common_args"]
    assert hv["mason_labels"] == {"disk": "ssd"}
    assert hv["mason_memory"] == 2**30


def test_root_login_does_not_become():
    assert host_vars(host(ssh_user="root"))["ansible_become"] is False
