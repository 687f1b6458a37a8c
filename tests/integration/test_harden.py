"""`mason harden` on a real 3-host local pod: harden, check, drift, fix, and nothing broken."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from mason.core.controls import load_catalogue
from tests.integration.conftest import mason

pytestmark = pytest.mark.integration

DROPIN = "/etc/ssh/sshd_config.d/00-mason-hardening.conf"
# libpwquality's own verdict on each password argument, with the host's settings.
PWQUALITY = """
import ctypes, sys
lib = ctypes.CDLL("libpwquality.so.1")
lib.pwquality_default_settings.restype = ctypes.c_void_p
lib.pwquality_strerror.restype = ctypes.c_char_p
settings = ctypes.c_void_p(lib.pwquality_default_settings())
assert lib.pwquality_read_config(settings, None, None) == 0
for password in sys.argv[1:]:
    aux = ctypes.c_void_p()
    rc = lib.pwquality_check(settings, password.encode(), None, b"mason", ctypes.byref(aux))
    buf = ctypes.create_string_buffer(256)
    print(lib.pwquality_strerror(buf, 256, rc, aux).decode() if rc < 0 else "ok")
"""
ACCEPTABLE = {"pass", "not-applicable", "unavailable"}
# The first of these packages that the main suite has in a version older than the one
# installed (from the security suite) is put back to that version; prints
# "package old-version installed-version". Leaf libraries and data only: downgrading
# them leaves no service running a replaced file; needrestart's hook is suspended (it
# would restart the sshd whose binary the test replaces for MSN-OS-22).
DOWNGRADE = r"""
for p in tzdata libssh2-1 libbrotli1; do
  cur=$(dpkg-query -W -f='${Version}' "$p") || continue
  old=$(apt-cache madison "$p" | awk -F' [|] ' '$3 ~ / bookworm\/main / {print $2; exit}')
  if [ -n "$old" ] && dpkg --compare-versions "$old" lt "$cur"; then
    DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 \
      apt-get install -y -q --allow-downgrades "$p=$old" \
      >/dev/null 2>&1 && echo "$p $old $cur" && exit 0
  fi
done
exit 1
"""


def dexec(container: str, *cmd: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", "exec", "-i", container, *cmd],
        input=input,
        capture_output=True,
        check=False,
        timeout=300,
    )


def ssh_banners(address: str, attempts: int) -> tuple[int, int]:
    """Open ``attempts`` new TCP connections to sshd at ``address`` one after the other,
    from this machine (the pod network's gateway: the controller's own address, which
    MSN-FW-02 admits). Returns (banners read, connections that got nothing within 1 s:
    their SYN dropped). Each is closed at once, so no retry outlives it."""
    answered = dropped = 0
    for _ in range(attempts):
        try:
            with socket.create_connection((address, 22), timeout=1) as conn:
                conn.settimeout(2)
                answered += conn.recv(64).startswith(b"SSH-2.0-")
        except OSError:
            dropped += 1
    return answered, dropped


def statuses(report: Path) -> dict[tuple[str, str], dict]:
    data = json.loads(report.read_text())
    return {(h, c["id"]): v for c in data["controls"] for h, v in c["hosts"].items()}


def ssh_as(
    host: dict, user: str, key: Path, *opts: str, command: tuple[str, ...] = ("true",)
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "ssh",
            "-p",
            str(host["ssh_port"]),
            "-i",
            str(key),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "IdentitiesOnly=yes",
            *opts,
            f"{user}@127.0.0.1",
            *command,
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def remote_journal(manager: str, tag: str, wait: float = 20.0) -> str:
    """What the manager received from other hosts under syslog tag ``tag``, once some arrived."""
    deadline = time.monotonic() + wait
    while True:
        got = dexec(
            manager, "journalctl", "-D", "/var/log/journal/remote", "-t", tag, "-o", "cat"
        ).stdout.decode()
        if got.strip() or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def test_harden_check_drift_fix(make_pod, tmp_path, mason_home):
    project = tmp_path / "proj"
    project.mkdir()
    pod = make_pod(3, project=project)
    name = pod["pod"]
    hosts = {h["name"]: h for h in pod["hosts"]}
    h1, h2, h3 = f"{name}-h1", f"{name}-h2", f"{name}-h3"
    key = mason_home / "keys" / "docker" / name / "id_ed25519"

    # 1. Harden every host, then a check finds nothing to change.
    mason("harden", name, project=project)
    report = tmp_path / "check1.json"
    proc = mason("harden", name, "--check", "--report", "json", str(report), project=project)
    found = statuses(report)
    assert len(found) == 3 * len(load_catalogue().controls)
    bad = {k: v for k, v in found.items() if v["status"] not in ACCEPTABLE}
    assert bad == {}, proc.stdout
    for host in hosts:
        # Local hosts share the machine's kernel: reported as such, never "pass".
        assert found[(host, "MSN-OS-03")]["status"] == "not-applicable"
        assert "shared kernel" in found[(host, "MSN-OS-03")]["details"][0]
        if not Path("/sys/kernel/security/apparmor").exists():
            assert found[(host, "MSN-AA-03")]["status"] == "unavailable"
        # Security updates are checked by effect (the mirror answers): a real pass here,
        # and no fix of the security suite waits (harden installed any published since
        # the host image was built).
        assert found[(host, "MSN-OS-15")]["status"] == "pass"
        assert found[(host, "MSN-OS-24")]["status"] == "pass"

    # 2. Real effects: sshd settings, password and root logins refused, firewall, Docker.
    effective = dexec(f"mason-{h1}", "sshd", "-T").stdout.decode()
    for line in (
        "permitrootlogin no",
        "passwordauthentication no",
        "allowgroups mason-ssh",
        "maxauthtries 3",
        "x11forwarding no",
        "loglevel VERBOSE",
        "maxsessions 4",
        "clientalivecountmax 2",
        "tcpkeepalive no",
        "compression no",
        "disableforwarding yes",
        "allowtcpforwarding no",
        "allowagentforwarding no",
        "banner /etc/issue.net",
    ):
        assert line in effective.splitlines(), line
    # The admin user alone may forward, locally, to the pod registry only (MSN-SSH-10).
    admin = dexec(
        f"mason-{h1}", "sshd", "-T", "-C", "user=mason,host=localhost,addr=127.0.0.1"
    ).stdout.decode()
    assert "allowtcpforwarding local" in admin.splitlines()
    assert "disableforwarding no" in admin.splitlines()
    assert any(line.startswith("permitopen 127.0.0.1:5443") for line in admin.splitlines())
    refused = ssh_as(hosts[h1], "mason", key, "-W", "127.0.0.1:22", command=())
    assert "administratively prohibited" in refused.stderr, refused.stderr
    allowed = ssh_as(hosts[h1], "mason", key, "-W", "127.0.0.1:5443", command=())
    assert "administratively prohibited" not in allowed.stderr, allowed.stderr
    assert "Connection refused" in allowed.stderr, allowed.stderr  # allowed; nothing listens yet
    # Legal banner (MSN-SSH-11): in both files and shown before login.
    for path in ("/etc/issue", "/etc/issue.net"):
        assert "Authorized access only" in dexec(f"mason-{h1}", "cat", path).stdout.decode()
    login = ssh_as(hosts[h1], "mason", key)
    assert login.returncode == 0 and "Authorized access only" in login.stderr
    # Security updates (MSN-OS-15): APT knows the security suite, unattended-upgrades takes it.
    policy = dexec(f"mason-{h1}", "apt-cache", "policy").stdout.decode()
    assert "n=bookworm-security" in policy and "n=bookworm-updates" in policy
    pattern = dexec(
        f"mason-{h1}", "apt-config", "dump", "Unattended-Upgrade::Origins-Pattern"
    ).stdout.decode()
    assert "codename=bookworm-security" in pattern
    login_defs = dict(
        line.split(None, 1)
        for line in dexec(f"mason-{h1}", "cat", "/etc/login.defs").stdout.decode().splitlines()
        if line.strip() and not line.startswith("#") and len(line.split()) > 1
    )
    assert login_defs["SHA_CRYPT_MIN_ROUNDS"].strip() == "65536"
    assert login_defs["UMASK"].strip() == "027"
    password = ssh_as(
        hosts[h1],
        "mason",
        key,
        "-o",
        "PreferredAuthentications=password,keyboard-interactive",
        "-o",
        "PubkeyAuthentication=no",
    )
    assert password.returncode == 255 and "Permission denied (publickey)" in password.stderr
    assert (
        dexec(
            f"mason-{h1}",
            "sh",
            "-c",
            "mkdir -p /root/.ssh && cp /home/mason/.ssh/authorized_keys /root/.ssh/",
        ).returncode
        == 0
    )
    root = ssh_as(hosts[h1], "root", key)
    assert root.returncode == 255 and "Permission denied" in root.stderr
    ruleset = dexec(f"mason-{h1}", "nft", "list", "chain", "inet", "mason", "input").stdout.decode()
    assert "policy drop;" in ruleset
    info = json.loads(dexec(f"mason-{h1}", "docker", "info", "--format", "{{json .}}").stdout)
    assert info["LiveRestoreEnabled"] is True and info["LoggingDriver"] == "json-file"
    # PAM (MSN-OS-17): a login gets its own temporary directory; the password rules
    # libpwquality reads refuse a short password and take a long one of 4 classes.
    tmpdir = ssh_as(hosts[h1], "mason", key, command=("sh", "-c", "'echo $TMPDIR'"))
    assert tmpdir.stdout.strip() == "/tmp/user/1000", tmpdir
    verdicts = dexec(f"mason-{h1}", "python3", "-c", PWQUALITY, "Xk7#qPz2!mW", "Xk7#qPz2!mWv9$Lr")
    assert verdicts.returncode == 0, verdicts.stderr
    short, long = verdicts.stdout.decode().splitlines()
    assert "shorter than 14 characters" in short and long == "ok"
    # Accounts (MSN-OS-16) and cron directories (MSN-OS-06).
    shells = dexec(f"mason-{h1}", "getent", "passwd", "daemon", "www-data").stdout.decode()
    assert all(line.endswith(":/usr/sbin/nologin") for line in shells.splitlines()), shells
    modes = dexec(f"mason-{h1}", "stat", "-c", "%a %n", "/home/mason", "/etc/cron.d")
    assert modes.stdout.decode().split() == ["750", "/home/mason", "700", "/etc/cron.d"]
    # Accounting (MSN-OS-18): a command that ended is on record (lastcomm), and sysstat's
    # collector, which does nothing while disabled, writes the day's activity file.
    probe = "install -m 0755 /bin/true /root/acctprobe && /root/acctprobe && rm /root/acctprobe"
    assert dexec(f"mason-{h1}", "sh", "-c", probe).returncode == 0
    assert dexec(f"mason-{h1}", "/usr/lib/sysstat/debian-sa1", "1", "1").returncode == 0
    record = dexec(f"mason-{h1}", "sh", "-c", "lastcomm; ls /var/log/sysstat").stdout.decode()
    assert "acctprobe" in record and re.search(r"^sa\d\d$", record, re.M), record
    # sudo (MSN-OS-20): from a terminal, the command gets a pseudo-terminal of its own,
    # and the use is in sudo's log (root-only).
    ttys = ssh_as(hosts[h1], "mason", key, "-tt", command=("sh", "-c", "'tty; sudo -n tty'"))
    mine, its = ttys.stdout.split()
    assert mine.startswith("/dev/pts/") and its.startswith("/dev/pts/") and mine != its, ttys
    log = dexec(f"mason-{h1}", "sh", "-c", "stat -c %a /var/log/sudo.log; cat /var/log/sudo.log")
    assert log.stdout.decode().startswith("600\n") and "COMMAND=/usr/bin/tty" in log.stdout.decode()
    # Brute force (MSN-FW-04): from one address, new SSH connections past the burst of 60
    # are dropped before sshd sees them; a minute refills 30. mason's own connection to
    # the host (ControlPersist) is an established one and is never counted.
    answered, dropped = ssh_banners(hosts[h1]["private_address"], 100)
    assert answered >= 55 and dropped >= 10, (answered, dropped)
    time.sleep(4)  # two new connections' worth
    assert ssh_banners(hosts[h1]["private_address"], 1) == (1, 0)
    # The journal off the host (MSN-OS-23): a line logged on h2 and h3 arrives on the
    # manager (h1), in a file per sender address; only the manager listens, and its
    # firewall admits the pod's hosts alone (this machine is not one of them). h2 reaches
    # it with the pinned certificate, and not with the system's CAs.
    for host in (h2, h3):
        logged = dexec(f"mason-{host}", "logger", "-t", "mason-jtest", f"sent-from-{host}")
        assert logged.returncode == 0
    received = remote_journal(f"mason-{h1}", "mason-jtest")
    assert f"sent-from-{h2}" in received and f"sent-from-{h3}" in received, received
    files = dexec(f"mason-{h1}", "ls", "/var/log/journal/remote").stdout.decode().split()
    assert f"remote-{hosts[h2]['private_address']}.journal" in files, files
    listening = dexec(f"mason-{h2}", "systemctl", "is-active", "systemd-journal-remote.socket")
    assert listening.returncode != 0
    url = f"https://{hosts[h1]['private_address']}:19532/"
    pin = "/etc/mason/journal/collector.pem"
    pinned = dexec(f"mason-{h2}", "curl", "-sS", "--cacert", pin, url)
    assert pinned.returncode == 0, pinned.stderr
    system_cas = dexec(f"mason-{h2}", "curl", "-sS", url)
    assert system_cas.returncode == 60, system_cas.stderr  # the certificate is not trusted
    with pytest.raises(OSError):
        socket.create_connection((hosts[h1]["private_address"], 19532), timeout=3).close()
    # the manager keeps what it receives in size: its timer runs the vacuum, which works
    timer = dexec(f"mason-{h1}", "systemctl", "is-active", "mason-journal-vacuum.timer")
    assert timer.returncode == 0, timer.stdout
    vacuum = dexec(f"mason-{h1}", "systemctl", "start", "mason-journal-vacuum.service")
    assert vacuum.returncode == 0, vacuum.stderr

    # 3. Re-enable root login by hand on one host: exactly that drift, exit code 8.
    changed = dexec(
        f"mason-{h2}", "sed", "-i", "s/^PermitRootLogin no$/PermitRootLogin yes/", DROPIN
    )
    assert changed.returncode == 0
    assert "PermitRootLogin yes" in dexec(f"mason-{h2}", "cat", DROPIN).stdout.decode()
    # ... give a system account a shell there; on another, remove the security source
    # and the password rules, change the banner and open the cron directory.
    assert dexec(f"mason-{h2}", "usermod", "--shell", "/bin/bash", "daemon").returncode == 0
    assert dexec(f"mason-{h3}", "rm", "/etc/apt/sources.list.d/mason-security.list").returncode == 0
    rules = "/etc/security/pwquality.conf.d/60-mason.conf"
    assert dexec(f"mason-{h3}", "rm", rules).returncode == 0
    assert dexec(f"mason-{h3}", "chmod", "0755", "/etc/cron.d").returncode == 0
    assert dexec(f"mason-{h3}", "sh", "-c", "echo Debian > /etc/issue.net").returncode == 0
    # ... turn process accounting off on one, and alter a packaged file on the other
    assert dexec(f"mason-{h2}", "systemctl", "disable", "--now", "acct").returncode == 0
    assert dexec(f"mason-{h2}", "rm", "/etc/sudoers.d/60-mason").returncode == 0
    assert dexec(f"mason-{h3}", "sh", "-c", "echo >> /usr/bin/sudoreplay").returncode == 0
    # ... drop a binary no package owns into a local path (only the integrity database
    # sees it), and replace sshd's binary under the running daemon, as an upgrade does
    # (the same bytes: the package still verifies; only what runs is stale).
    implant = "install -m 0755 /bin/true /usr/local/sbin/implant"
    assert dexec(f"mason-{h3}", "sh", "-c", implant).returncode == 0
    upgrade = "cp -a /usr/sbin/sshd /usr/sbin/sshd.new && mv /usr/sbin/sshd.new /usr/sbin/sshd"
    assert dexec(f"mason-{h2}", "sh", "-c", upgrade).returncode == 0
    # ... put back a package's version from before its security fix, as a host that missed
    # an update has it (time zone data or a leaf library: no service restarts for it)
    downgraded = dexec(f"mason-{h2}", "sh", "-c", DOWNGRADE).stdout.decode().split()
    assert len(downgraded) == 3, downgraded
    package, unfixed, fixed = downgraded
    # ... stop the journal's upload on one, and make the other trust another certificate
    assert dexec(f"mason-{h2}", "systemctl", "stop", "systemd-journal-upload").returncode == 0
    other = (
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=x"
        " -keyout /dev/null -out /etc/mason/journal/collector.pem -days 1"
    )
    assert dexec(f"mason-{h3}", "sh", "-c", other).returncode == 0
    report = tmp_path / "check2.json"
    junit = tmp_path / "check2.xml"
    proc = mason(
        "harden",
        name,
        "--check",
        "--report",
        "json",
        str(report),
        "--report",
        "junit",
        str(junit),
        project=project,
        check=False,
    )
    assert proc.returncode == 8, proc.stderr
    found = statuses(report)
    drift = {k for k, v in found.items() if v["status"] == "drift"}
    expected = {
        (h2, "MSN-SSH-03"),
        (h2, "MSN-OS-16"),
        (h2, "MSN-OS-18"),
        (h2, "MSN-OS-20"),
        (h3, "MSN-OS-06"),
        (h3, "MSN-OS-15"),
        (h3, "MSN-OS-17"),
        (h3, "MSN-SSH-11"),
        (h3, "MSN-OS-19"),
        # what changed in the integrity database's paths: root's authorized key from
        # step 2 on h1, passwd and sudoers.d on h2, sources.list.d, /etc/security,
        # cron.d and the implant on h3
        (h1, "MSN-OS-21"),
        (h2, "MSN-OS-21"),
        (h3, "MSN-OS-21"),
        (h2, "MSN-OS-22"),
        (h2, "MSN-OS-23"),
        (h3, "MSN-OS-23"),
        (h2, "MSN-OS-24"),
    }
    assert drift == expected
    assert any("PermitRootLogin" in line for line in found[(h2, "MSN-SSH-03")]["details"])
    assert any("cron.d" in line for line in found[(h3, "MSN-OS-06")]["details"])
    assert any("pwquality" in line for line in found[(h3, "MSN-OS-17")]["details"])
    assert "acct.service is not active and enabled" in found[(h2, "MSN-OS-18")]["details"]
    assert (
        "sudo: /usr/bin/sudoreplay differs from its package"
        in (found[(h3, "MSN-OS-19")]["details"])
    )
    integrity = found[(h3, "MSN-OS-21")]["details"]
    assert "added /usr/local/sbin/implant" in integrity, integrity
    assert "changed /etc/passwd" in found[(h2, "MSN-OS-21")]["details"]
    assert "added /root/.ssh/authorized_keys" in found[(h1, "MSN-OS-21")]["details"]
    stale = found[(h2, "MSN-OS-22")]["details"]
    assert stale == ["ssh.service runs a replaced binary or library"], stale
    upload = found[(h2, "MSN-OS-23")]["details"]
    assert upload == ["systemd-journal-upload is not active and enabled"], upload
    assert found[(h3, "MSN-OS-23")]["details"] == [
        "/etc/mason/journal/collector.pem is not the certificate of the collector (root 0644)"
    ]
    pending = found[(h2, "MSN-OS-24")]["details"]
    assert any(d.startswith(f"{package} {unfixed}: fixed in ") for d in pending), pending
    assert "drift on 3 host(s): " in proc.stderr
    # one line: the first six findings, then how many more
    where = sorted(f"{host} {cid}" for host, cid in expected)
    assert ", ".join(where[:6]) + f" (+{len(where) - 6} more)" in proc.stderr, proc.stderr
    assert '<failure message="drift"' in junit.read_text()

    # root's key goes again by hand (harden would take it into the new baseline)
    assert dexec(f"mason-{h1}", "rm", "/root/.ssh/authorized_keys").returncode == 0

    # 4. harden fixes them; the next check is clean again.
    mason("harden", name, "--only", "ssh", "--only", "os", project=project)
    assert "permitrootlogin no" in dexec(f"mason-{h2}", "sshd", "-T").stdout.decode().splitlines()
    daemon = dexec(f"mason-{h2}", "getent", "passwd", "daemon").stdout.decode().strip()
    assert daemon.endswith(":/usr/sbin/nologin"), daemon
    assert dexec(f"mason-{h3}", "stat", "-c", "%a", "/etc/cron.d").stdout.decode().strip() == "700"
    assert dexec(f"mason-{h2}", "systemctl", "is-active", "acct").returncode == 0
    assert "use_pty" in dexec(f"mason-{h2}", "cat", "/etc/sudoers.d/60-mason").stdout.decode()
    # the package reinstalled: its files match again, and no SUID bit came back with it
    assert dexec(f"mason-{h3}", "dpkg", "--verify", "sudo").stdout == b""
    # the security fix is back (or a newer one, published meanwhile)
    now = dexec(f"mason-{h2}", "dpkg-query", "-W", "-f=${Version}", package).stdout.decode()
    newer = dexec(f"mason-{h2}", "dpkg", "--compare-versions", now, "ge", fixed)
    assert newer.returncode == 0, (package, now, fixed)
    # sshd restarted onto its new binary; the integrity database took the hardened host
    # (the implant included: harden makes the baseline of what it finds)
    sshd = "readlink /proc/$(systemctl show -p MainPID --value ssh)/exe"
    assert dexec(f"mason-{h2}", "sh", "-c", sshd).stdout.decode().strip() == "/usr/sbin/sshd"
    aide = dexec(f"mason-{h3}", "aide", "-c", "/etc/mason/aide.conf", "--check")
    assert aide.returncode == 0, aide.stdout.decode()[-2000:]
    # both send again, h3 trusting the manager's certificate
    for host in (h2, h3):
        logged = dexec(f"mason-{host}", "logger", "-t", "mason-jtest2", f"again-{host}")
        assert logged.returncode == 0
    received = remote_journal(f"mason-{h1}", "mason-jtest2")
    assert f"again-{h2}" in received and f"again-{h3}" in received, received
    mason("harden", name, "--check", "--only", "ssh", "--only", "os", project=project)

    # 4a. An intruder hides a binary by making the integrity database anew on the host
    # (AIDE itself then finds nothing): the checksum its keeper, the manager, holds finds
    # it, in a run limited to that host (the keeper read on its own). The next harden
    # takes the database as found and keeps its checksum again.
    hide = (
        "install -m 0755 /bin/true /usr/local/sbin/implant2"
        " && aide -c /etc/mason/aide.conf --init >/dev/null"
        " && mv -f /var/lib/mason/aide.db.new /var/lib/mason/aide.db"
    )
    assert dexec(f"mason-{h3}", "sh", "-c", hide).returncode == 0
    assert dexec(f"mason-{h3}", "aide", "-c", "/etc/mason/aide.conf", "--check").returncode == 0
    report = tmp_path / "check-witness.json"
    proc = mason(
        "harden",
        name,
        "--check",
        "--only",
        "os",
        "--limit",
        "h3",
        "--report",
        "json",
        str(report),
        project=project,
        check=False,
    )
    assert proc.returncode == 8, proc.stderr
    found = statuses(report)
    assert {k for k, v in found.items() if v["status"] == "drift"} == {(h3, "MSN-OS-21")}
    witness = found[(h3, "MSN-OS-21")]["details"]
    assert any(f"its checksum differs from the one {h1} keeps" in line for line in witness), witness
    mason("harden", name, "--only", "os", "--limit", "h3", project=project)
    kept = dexec(f"mason-{h1}", "cat", f"/var/lib/mason/aide-witness/{h3}").stdout.decode().split()
    db = dexec(f"mason-{h3}", "sha256sum", "/var/lib/mason/aide.db").stdout.decode().split()[:1]
    assert kept == db, (kept, db)
    mason("harden", name, "--check", "--only", "os", project=project)

    # 4b. A security source the host cannot reach is drift, never pass.
    report = tmp_path / "check3.json"
    proc = mason(
        "harden",
        name,
        "--check",
        "--only",
        "os",
        "--limit",
        "h1",
        "--report",
        "json",
        str(report),
        "-e",
        '{"os_hardening_security_mirror": "http://127.0.0.1:9/debian-security"}',
        project=project,
        check=False,
    )
    assert proc.returncode == 8, proc.stderr
    finding = statuses(report)[(h1, "MSN-OS-15")]
    assert finding["status"] == "drift"
    assert any("not reachable" in line for line in finding["details"]), finding

    # 5. A broken sshd setting is refused by `sshd -t` and SSH keeps working.
    before = dexec(f"mason-{h1}", "cat", DROPIN).stdout
    proc = mason(
        "harden",
        name,
        "--only",
        "ssh",
        "--limit",
        "h1",
        "-e",
        '{"ssh_hardening_extra_options": {"NoSuchOption": "yes"}}',
        project=project,
        check=False,
    )
    assert proc.returncode == 6, proc.stderr
    assert "write options: failed to validate" in proc.stderr
    assert dexec(f"mason-{h1}", "cat", DROPIN).stdout == before
    assert ssh_as(hosts[h1], "mason", key).returncode == 0

    # 6. Containers still start inside every host, without new privileges.
    image = subprocess.run(
        ["docker", "save", "mason-base:bookworm"], capture_output=True, check=True, timeout=300
    ).stdout
    for host in hosts:
        assert dexec(f"mason-{host}", "docker", "load", input=image).returncode == 0
        run = dexec(
            f"mason-{host}",
            "docker",
            "run",
            "--rm",
            "mason-base:bookworm",
            "grep",
            "NoNewPrivs",
            "/proc/self/status",
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.decode().split() == ["NoNewPrivs:", "1"]

    # 7. The hardened pod can still grow.
    grown = mason("--json", "pod", "create", name, "--hosts", "4", project=project)
    data = json.loads(grown.stdout.strip().splitlines()[-1])
    assert data["created"] == [f"{name}-h4"]
