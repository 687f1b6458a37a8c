"""Local pods of QEMU virtual machines: hosts with a kernel of their own (``--provider qemu``)."""

from mason.providers.qemu.provider import QemuProvider

__all__ = ["QemuProvider"]
