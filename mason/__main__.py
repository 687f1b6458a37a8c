"""``python -m mason``: the same as the ``mason`` command."""

from mason.cli import main

main(prog_name="mason")
