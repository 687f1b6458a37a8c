"""``mason init``: scaffold a project directory."""

from __future__ import annotations

import os
from pathlib import Path

import click

from mason.cli._context import Ctx, pass_ctx
from mason.core import files
from mason.core.errors import InvalidInput
from mason.core.names import check_pod_name
from mason.core.project import PROJECT_FILE

MASON_YML = """\
# mason project: the pods this project runs on. Options given to
# `mason pod create` override what is written here.
version: 1
pods:
  {pod}:
    provider: docker        # the local embedded default; also: aws, rackspace, static
    environment: dev        # dev, staging, prod, ...
    hosts: 3
    zones: [zone-a, zone-b, zone-c]
    cpu: 1                  # cores per host (local hosts: the container's limit)
    memory: 1Gi             # per host
    labels: {{}}              # host labels that placement constraints can match
"""

INVENTORY = """\
# Ansible inventory source for every mason pod (the `mason` inventory plugin).
#   ansible-inventory -i inventory/pods.mason.yml --graph
# In AWX: an inventory source "Sourced from a Project" pointing at this file.
plugin: mason
# pods: [{pod}]
# environment: dev
providers: [docker]
"""

GITIGNORE = """\
# mason's run artifacts (never committed: they are per-machine)
.mason/
"""


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--pod", "pod_name", default="local", show_default=True, help="Name of the pod to define."
)
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@pass_ctx
def init(ctx: Ctx, directory: Path | None, pod_name: str, force: bool) -> None:
    """Scaffold a project in DIRECTORY (default: the project dir).

    Writes mason.yml (a local pod), apps/, inventory/pods.mason.yml and a .gitignore.
    Existing files are kept unless --force. Every path is checked before anything is
    written, and each file is written whole (a temporary file, then a rename).

    \b
    Examples:
      mason init                       here (or in -C DIR)
      mason init shop --pod demo       a new directory shop/ defining pod demo
      mason --json init --force        rewrite the scaffold, report as JSON
    """
    check_pod_name(pod_name)
    root = Path(os.path.abspath(directory or ctx.project_dir))
    texts = {
        PROJECT_FILE: MASON_YML.format(pod=pod_name),
        "inventory/pods.mason.yml": INVENTORY.format(pod=pod_name),
        ".gitignore": GITIGNORE,
        "apps/.gitkeep": "",
    }
    # Every target is checked before the first is written: nothing is ever half-made.
    if files.exists(root) and not root.is_dir():
        raise InvalidInput(f"{root}: not a directory")
    written, kept = [], []
    for rel in texts:
        path = files.check_output_path(root / rel)
        (kept if files.exists(path) and not force else written).append(rel)
    for rel in written:
        files.write_text(root / rel, texts[rel])
    if ctx.json:
        ctx.emit_json({"project": str(root), "written": written, "kept": kept})
        return
    for rel in written:
        ctx.console.print(f"wrote {root / rel}")
    for rel in kept:
        ctx.console.print(f"kept  {root / rel} (exists; --force overwrites)")
    ctx.console.print(f"next: cd {root} && mason pod create {pod_name}")
