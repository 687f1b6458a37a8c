"""mason: build, harden and run pods of Docker hosts with Ansible."""

__version__ = "0.1.0"
