"""Per-pod SSH key pairs: the only state mason keeps on the controller.

Keys live under ``$MASON_HOME`` (default ``~/.mason``): ``keys/<provider>/<pod>/``
holds ``id_ed25519`` (0600), ``id_ed25519.pub`` and ``known_hosts``. The private
key is never copied into a project, a run directory or a log.
"""

from __future__ import annotations

import os
import shutil

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mason.paths import pod_key_dir
from mason.providers.base import KeyPair


def pod_key(provider: str, pod: str, *, create: bool = True) -> KeyPair | None:
    """The pod's key pair, made on first use (ed25519, private key 0600)."""
    directory = pod_key_dir(provider, pod)
    private = directory / "id_ed25519"
    public = directory / "id_ed25519.pub"
    if not private.exists():
        if not create:
            return None
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        # Create with 0600 from the start: never a moment where the key is world-readable.
        fd = os.open(private.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        os.replace(private.with_suffix(".tmp"), private)
        pub = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        public.write_text(f"{pub.decode()} mason-{pod}\n")
    os.chmod(private, 0o600)
    return KeyPair(private_path=private, public_openssh=public.read_text().strip())


def forget_pod(provider: str, pod: str) -> None:
    """Drop the pod's key and known hosts once the pod is gone."""
    shutil.rmtree(pod_key_dir(provider, pod), ignore_errors=True)
