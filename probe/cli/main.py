"""The `tlsprobe` command: one typer app joining one module per command.

Every command module is imported at start-up to register its options, so each keeps its top-level imports
light and loads the heavy ones (sslyze, discovery, the lab, boto3, pandas...) in the command body.
"""

from __future__ import annotations

import gc
import warnings

import typer
from cryptography.utils import CryptographyDeprecationWarning

from probe import __version__
from probe.cli import bench, discover, history, lab, scan, sweep

app = typer.Typer(
    name="tlsprobe",
    help="Sweep TLS endpoints, judge them against an encryption policy (default OP-POL-001), remember and alert.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("scan")(scan.command)
app.command("diff")(history.diff_command)
app.command("report")(history.report_command)
app.command("prune")(history.prune_command)
app.command("discover")(discover.command)
app.command("sweep")(sweep.command)
app.add_typer(bench.app, name="bench", help="Benchmarks: TLS handshake overhead, KMS data-key caching.")
app.add_typer(lab.app, name="lab", help="Start, inspect and stop the local lab of TLS endpoints.")


@app.callback(invoke_without_command=True)
def main(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    """tlsprobe: TLS policy scanner."""
    if version:
        typer.echo(__version__)
        raise typer.Exit()


def run() -> None:
    """Console-script entry point."""
    # Public trust stores hold a few legacy roots that cryptography warns about on every load.
    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
    try:
        app()
    finally:
        # Every file, database and socket is closed by now. Without this the interpreter's shutdown spends
        # about 0.15 s garbage-collecting sslyze's and cryptography's objects, which the OS frees anyway.
        gc.freeze()
