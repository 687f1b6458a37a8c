"""``mason image``: the local host image (systemd + sshd + dockerd on Debian 12)."""

from __future__ import annotations

import click

from mason.cli._context import Ctx, pass_ctx
from mason.providers.docker import image as host_images
from mason.providers.docker.provider import DockerProvider


@click.group()
def image():
    """The host image local pods run on, built by mason itself."""


@image.command()
@click.option("--rebuild", is_flag=True, help="Build even if the recipe has not changed.")
@pass_ctx
def build(ctx: Ctx, rebuild: bool) -> None:
    """Build the host image now (pod create builds it on first use).

    The base is debian:bookworm when it can be pulled, else a debootstrap rootfs
    (set MASON_OFFLINE=1 to skip the pull attempt). The tag carries a hash of the
    recipe: an unchanged recipe is never rebuilt.

    \b
    Examples:
      mason image build                  prints the tag, e.g. mason-host:5f3dd889de16
      mason image build --rebuild        after a Debian point release
      MASON_OFFLINE=1 mason image build  skip the debian:bookworm pull attempt
    """
    client = DockerProvider().client
    tag = host_images.host_image(client, ctx.say, rebuild=rebuild)
    if ctx.json:
        ctx.emit_json({"image": tag, "id": client.images.get(tag).id})
    else:
        ctx.console.print(tag)
