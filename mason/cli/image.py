"""``mason image``: the local host image (systemd + sshd + dockerd on Debian 12), and pushing
an app's images to a pod's registry."""

from __future__ import annotations

import click

from mason.cli._context import Ctx, pass_ctx
from mason.cli.app._common import app_file, catalog_entries, load_app
from mason.cli.pod._common import provider_option
from mason.operations import images
from mason.providers.docker import image as host_images
from mason.providers.docker.provider import DockerProvider


@click.group()
def image():
    """The host image local pods run on, and an app's images in a pod's registry.

    \b
    Examples:
      mason image build                     the host image (only when its recipe changed)
      mason image push shop --pod demo      shop's images into demo's registry
    """


@image.command()
@click.option("--rebuild", is_flag=True, help="Build even if the recipe has not changed.")
@click.option(
    "--ee",
    is_flag=True,
    help="Build the execution environment for AWX instead (execution-environment.yml, "
    "from a checkout; needs ansible-builder). See docs/awx.md.",
)
@pass_ctx
def build(ctx: Ctx, rebuild: bool, ee: bool) -> None:
    """Build the host image now (pod create builds it on first use).

    The base is debian:bookworm when it can be pulled, else a debootstrap rootfs
    (set MASON_OFFLINE=1 to skip the pull attempt). The tag carries a hash of the
    recipe: an unchanged recipe is never rebuilt. The image gets the security
    fixes Debian has published at build time; --rebuild takes newer ones in (new
    hosts then start with none pending; mason harden installs them on running
    hosts either way).

    \b
    Examples:
      mason image build                  prints the tag, e.g. mason-host:5f3dd889de16
      mason image build --rebuild        after a Debian point release or security fixes
      MASON_OFFLINE=1 mason image build  skip the debian:bookworm pull attempt
      mason image build --ee             the AWX execution environment, e.g. mason-ee:0c1d...
    """
    client = DockerProvider().client
    if ee:
        from mason.providers.docker.ee import ee_image

        tag = ee_image(client, ctx.say, rebuild=rebuild)
    else:
        tag = host_images.host_image(client, ctx.say, rebuild=rebuild)
    if ctx.json:
        ctx.emit_json({"image": tag, "id": client.images.get(tag).id})
    else:
        ctx.console.print(tag)


@image.command()
@click.argument("app")
@click.option("--pod", "pod", required=True, help="The pod whose registry receives the images.")
@provider_option
@pass_ctx
def push(ctx: Ctx, app: str, pod: str, provider_name: str | None) -> None:
    """Build APP's images and push them to the registry of POD, by digest.

    APP is an app name (apps/APP.yml) or a manifest path. The images are built on
    this machine's engine from mason's Debian base (catalog entries, build:
    directories; an image: must already be here), the pod registry is set up on
    the pod's manager if needed, and the push goes through an SSH forwarded port.
    Prints each image's reference by digest, the one the pod's hosts pull.

    \b
    Examples:
      mason image push guestbook --pod demo
      mason image push apps/shop.yml --pod demo --json
    """
    path = app_file(ctx, app)
    manifest = load_app(ctx, path)
    refs = images.push_app(
        ctx.session(),
        pod,
        manifest,
        manifest=path,
        entries=catalog_entries(ctx),
        provider_name=provider_name,
    )
    if ctx.json:
        ctx.emit_json({"app": manifest.name, "pod": pod, "images": refs})
        return
    width = max(len(k) for k in refs)
    for key, ref in refs.items():
        ctx.console.print(f"{key:<{width}}  {ref}", markup=False)
