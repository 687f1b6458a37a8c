"""Local pods for real: containers with systemd, sshd and dockerd on this machine's engine."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.conftest import ansible_env, unique_pod_name
from tests.integration.conftest import mason

pytestmark = pytest.mark.integration


def container(engine, host: str):
    return engine.containers.get(f"mason-{host}")


def in_host(engine, host: str, *cmd: str) -> str:
    code, out = container(engine, host).exec_run(list(cmd))
    assert code == 0, f"{cmd} on {host}: {out.decode(errors='replace')}"
    return out.decode()


def summary_of(stdout: str) -> dict:
    """The run summary among the JSON events `--json pod create` prints."""
    objs = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return next(o for o in objs if o.get("event") == "summary")


def pod_resources(engine, name: str) -> list[str]:
    label = {"label": f"mason.pod={name}"}
    return (
        [c.name for c in engine.containers.list(all=True, filters=label)]
        + [v.name for v in engine.volumes.list(filters=label)]
        + [n.name for n in engine.networks.list(filters=label)]
    )


def test_pod_lifecycle(engine, tmp_path, mason_home):
    name = unique_pod_name("life")
    project = tmp_path
    try:
        # -- create 2 hosts, then grow to 3 ------------------------------------------
        created = mason(
            "--json", "pod", "create", name, "--hosts", "2", "--env", "dev", project=project
        )
        pod = json.loads(created.stdout.splitlines()[-1])
        assert pod["created"] == [f"{name}-h1", f"{name}-h2"]
        hosts = {h["name"]: h for h in pod["hosts"]}
        assert [(h["zone"], h["role"]) for h in hosts.values()] == [
            ("zone-a", "manager"),
            ("zone-b", "worker"),
        ]
        labels = container(engine, f"{name}-h1").labels
        assert (labels["mason.pod"], labels["mason.environment"], labels["mason.zone"]) == (
            name,
            "dev",
            "zone-a",
        )
        before = {h: container(engine, h).attrs["State"]["StartedAt"] for h in hosts}

        grown = mason("--json", "pod", "create", name, "--hosts", "3", project=project)
        pod = json.loads(grown.stdout.splitlines()[-1])
        assert pod["created"] == [f"{name}-h3"]
        assert pod["environment"] == "dev"  # kept from the pod, not reset to default
        assert summary_of(grown.stdout)["hosts"].keys() == {f"{name}-h3"}  # only the new host ran
        for h, started in before.items():
            assert container(engine, h).attrs["State"]["StartedAt"] == started
        all_hosts = [h["name"] for h in pod["hosts"]]
        assert [h["zone"] for h in pod["hosts"]] == ["zone-a", "zone-b", "zone-c"]

        # -- a host that stops keeps its address, though another container joins the
        #    pod network while it is down (peers' firewalls and records name it) -------
        address = {h["name"]: h["private_address"] for h in pod["hosts"]}
        assert len(set(address.values())) == 3
        h2 = container(engine, f"{name}-h2")
        h2.stop(timeout=10)
        squatter = engine.containers.run(
            container(engine, f"{name}-h1").image.tags[0], ["sleep", "60"], entrypoint=[],
            detach=True,
            network=f"mason-{name}", remove=True,
        )  # fmt: skip
        try:
            squatter.reload()
            taken = squatter.attrs["NetworkSettings"]["Networks"][f"mason-{name}"]["IPAddress"]
            assert taken not in address.values()
            h2.start()
            h2.reload()
            assert (
                h2.attrs["NetworkSettings"]["Networks"][f"mason-{name}"]["IPAddress"]
                == (address[f"{name}-h2"])
            )
        finally:
            squatter.remove(force=True)
        for _ in range(60):  # sshd back before the next steps log in
            if h2.exec_run(["systemctl", "is-active", "ssh"]).exit_code == 0:
                break
            time.sleep(1)

        # -- a no-op re-run changes nothing and says so --------------------------------
        again = mason("pod", "create", name, project=project)
        assert "up to date, nothing changed" in again.stdout
        noop = json.loads(
            mason("--json", "pod", "create", name, project=project).stdout.splitlines()[-1]
        )
        assert noop["created"] == [] and noop["changed"] is False

        # -- each host made its own SSH host keys; the image ships none ------------------
        fingerprints = {
            in_host(engine, h, "cat", "/etc/ssh/ssh_host_ed25519_key.pub") for h in all_hosts
        }
        assert len(fingerprints) == 3
        image = container(engine, all_hosts[0]).image.tags[0]
        out = engine.containers.run(
            image,
            ["sh", "-c", "ls /etc/ssh/ssh_host_* 2>/dev/null | wc -l"],
            remove=True,
            entrypoint=[],
        )
        assert out.decode().strip() == "0"
        # root has no key and mason's admin user is not root
        assert (
            in_host(engine, all_hosts[0], "sh", "-c", "ls /root/.ssh 2>/dev/null | wc -l").strip()
            == "0"
        )

        # -- the pod's private key is 0600 --------------------------------------------
        key = mason_home / "keys" / "docker" / name / "id_ed25519"
        assert oct(key.stat().st_mode & 0o777) == "0o600"

        # -- Ansible through the inventory plugin ----------------------------------------
        inv = tmp_path / "pod.mason.yml"
        inv.write_text(f"plugin: mason\npods: [{name}]\n")
        graph = subprocess.run(
            ["ansible-inventory", "-i", str(inv), "--graph"],
            capture_output=True,
            text=True,
            env=ansible_env(),
            check=True,
        ).stdout
        for group in (f"pod_{name.replace('-', '_')}", "zone_zone_a", "role_manager", "env_dev"):
            assert f"@{group}:" in graph, graph
        ping = subprocess.run(
            ["ansible", "-i", str(inv), "all", "-m", "ansible.builtin.ping", "-o"],
            capture_output=True,
            text=True,
            env=ansible_env(),
            check=False,
        )
        assert ping.returncode == 0, ping.stdout + ping.stderr
        assert (
            sorted(line.split()[0] for line in ping.stdout.splitlines() if "SUCCESS" in line)
            == all_hosts
        )
        whoami = subprocess.run(
            [
                "ansible",
                "-i",
                str(inv),
                f"{name}-h1",
                "-m",
                "ansible.builtin.command",
                "-a",
                "whoami",
                "-o",
            ],
            capture_output=True,
            text=True,
            env=ansible_env(),
            check=True,
        ).stdout
        assert "(stdout) root" in whoami  # logged in as mason, became root with sudo

        # -- a container runs inside each host's own dockerd -----------------------------
        saved = subprocess.run(
            ["docker", "save", "mason-base:bookworm"], capture_output=True, check=True
        ).stdout
        for h in all_hosts:
            subprocess.run(
                ["docker", "exec", "-i", f"mason-{h}", "docker", "load"],
                input=saved,
                capture_output=True,
                check=True,
            )
            assert (
                in_host(
                    engine, h, "docker", "run", "--rm", "mason-base:bookworm", "echo", "inner-ok"
                ).strip()
                == "inner-ok"
            )

        # -- pod ssh, list, show --------------------------------------------------------
        ssh = mason("pod", "ssh", name, "2", "--", "hostname", project=project)
        assert ssh.stdout.strip() == f"{name}-h2"
        listed = json.loads(mason("--json", "pod", "list", "--env", "dev", project=project).stdout)
        assert next(p for p in listed if p["name"] == name)["hosts"] == 3
        other_env = json.loads(
            mason("--json", "pod", "list", "--env", "prod", project=project).stdout
        )
        assert name not in [p["name"] for p in other_env]
        shown = json.loads(mason("--json", "pod", "show", name, project=project).stdout)
        assert [h["name"] for h in shown["hosts"]] == all_hosts
        assert all(h["memory"] == 2**30 and h["cpu"] == 1.0 for h in shown["hosts"])

        # -- destroy refuses without --yes off a terminal, then leaves nothing -----------
        refused = mason(
            "pod", "destroy", name, project=project, check=False, stdin=subprocess.DEVNULL
        )
        assert refused.returncode == 3 and "without --yes" in refused.stderr
        assert len(pod_resources(engine, name)) == 3 + 3 + 1
    finally:
        mason("pod", "destroy", name, "--yes", project=project, check=False)
    assert pod_resources(engine, name) == []
    assert not (mason_home / "keys" / "docker" / name).exists()
    gone = mason("pod", "show", name, project=project, check=False)
    assert gone.returncode == 4
    assert (
        gone.stderr.strip()
        == f"mason: error: pod {name!r} does not exist on provider 'docker' (see `mason pod list`)"
    )


def test_host_that_never_answers_is_rolled_back(engine, tmp_path):
    name = unique_pod_name("fail")
    try:
        proc = mason(
            "pod",
            "create",
            name,
            "--hosts",
            "2",
            "--ssh-timeout",
            "0.001",
            project=tmp_path,
            check=False,
        )
        assert proc.returncode == 7
        assert proc.stderr.strip().splitlines()[-1] == (
            f"mason: error: not reachable over SSH after 0.001s: {name}-h1, {name}-h2"
        )
        assert pod_resources(engine, name) == []
    finally:
        mason("pod", "destroy", name, "--yes", project=tmp_path, check=False)


def test_host_that_cannot_start_is_rolled_back(engine, tmp_path):
    name = unique_pod_name("oom")
    try:
        # 8 MiB is too little for systemd, sshd and dockerd: the host never boots.
        proc = mason(
            "pod",
            "create",
            name,
            "--hosts",
            "1",
            "--memory",
            "8Mi",
            "--ssh-timeout",
            "15",
            project=tmp_path,
            check=False,
        )
        assert proc.returncode == 7, proc.stderr
        assert proc.stderr.strip().splitlines()[-1] == (
            f"mason: error: not reachable over SSH after 15s: {name}-h1"
        )
        assert "Traceback" not in proc.stderr
        assert pod_resources(engine, name) == []
    finally:
        mason("pod", "destroy", name, "--yes", project=tmp_path, check=False)
