"""The `tlsprobe` command: one typer app joining one module per command."""

from __future__ import annotations

import typer

from probe import __version__
from probe.cli import scan

app = typer.Typer(
    name="tlsprobe",
    help="Sweep TLS endpoints, judge them against an encryption policy (default OP-POL-001), remember and alert.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("scan")(scan.command)


def _register_optional() -> None:
    """Join the command modules (each owns its typer app or command function)."""
    return


@app.callback(invoke_without_command=True)
def main(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    """tlsprobe: TLS policy scanner."""
    if version:
        typer.echo(__version__)
        raise typer.Exit()


_register_optional()


def run() -> None:
    """Console-script entry point."""
    app()
