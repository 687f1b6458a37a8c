import stat
import subprocess

from mason.providers.keys import forget_pod, pod_key


def test_pod_key_is_ed25519_0600_and_stable(mason_home):
    key = pod_key("docker", "keytest")
    mode = stat.S_IMODE(key.private_path.stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(key.private_path.parent.stat().st_mode) == 0o700
    assert key.public_openssh.startswith("ssh-ed25519 ")
    # ssh-keygen derives the same public key from the private file: the pair is real.
    derived = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(key.private_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    assert derived == key.public_openssh.split()[1]
    again = pod_key("docker", "keytest")
    assert again.public_openssh == key.public_openssh
    forget_pod("docker", "keytest")
    assert not key.private_path.exists()
    assert pod_key("docker", "keytest", create=False) is None
