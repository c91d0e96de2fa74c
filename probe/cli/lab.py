"""`tlsprobe lab up | status | down`: the local lab of TLS endpoints with known ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from probe.cli.common import fail_from
from probe.errors import TlsProbeError
from probe.extras import MissingExtra, require
from probe.lab.cloud_control import start_cloud_daemon, stop_cloud_daemon, sweep_hint
from probe.lab.paths import DEFAULT_DEFINITION, DEFAULT_STATE_DIR

if TYPE_CHECKING:
    from probe.lab.manager import EndpointStatus

# probe.lab.manager (pydantic models, certificate issuing) is imported in each command: `tlsprobe`
# registers this module's commands at start-up, and a scan should not pay for loading the lab.

app = typer.Typer(
    help="Start, inspect and stop the local lab of TLS endpoints (the definition shipped in probe/lab/definitions/).",
    no_args_is_help=True,
)

StateDir = Annotated[Path, typer.Option("--state-dir", help="Where certificates, logs and state.json live.")]
_out = Console()
_err = Console(stderr=True)


def _status_table(rows: list[EndpointStatus], title: str) -> Table:
    table = Table(title=title)
    for column in ("name", "address:port", "host", "status"):
        table.add_column(column)
    colours = {"up": "green", "not listening": "yellow", "down": "red"}
    for row in rows:
        status = f"[{colours[row.status]}]{row.status}[/]"
        table.add_row(row.name, f"{row.address}:{row.port}", row.host, status)
    return table


def _fail(exc: TlsProbeError) -> typer.Exit:
    _err.print(f"tlsprobe lab: {exc}", markup=False, highlight=False)
    return typer.Exit(exc.exit_code)


@app.command()
def up(
    state_dir: StateDir = DEFAULT_STATE_DIR,
    only: Annotated[str | None, typer.Option("--only", help="Comma-separated endpoint names (default: all).")] = None,
    definition: Annotated[
        Path, typer.Option("--definition", help="Lab definition file (default: the one shipped with tlsprobe).")
    ] = DEFAULT_DEFINITION,
    cloud: Annotated[
        bool,
        typer.Option("--cloud", help="Also emulate AWS (moto), Azure and GCP estates whose endpoints are the lab's."),
    ] = False,
) -> None:
    """Start the lab endpoints and write state.json, ca.pem and targets.csv to the state directory."""
    try:
        require("lab")  # status and down need nothing beyond the core: a lab can always be inspected and stopped
    except MissingExtra as exc:
        fail_from(exc)
    from probe.lab.manager import lab_status, start_lab

    names = [n.strip() for n in only.split(",") if n.strip()] if only else None
    try:
        state = start_lab(state_dir, names, definition)
        rows = lab_status(state_dir)
        emulated = start_cloud_daemon(state_dir) if cloud else None
    except TlsProbeError as exc:
        raise _fail(exc) from exc
    _out.print(_status_table(rows, f"tlsprobe lab: {len(state.endpoints)} endpoints up"))
    _out.print(f"lab CA: {state.ca_file}\ntargets: {state.targets_csv}\nstate: {Path(state.state_dir) / 'state.json'}")
    if emulated is not None:
        _out.print(
            f"emulated clouds: AWS at {emulated['endpoint_url']} (regions {', '.join(emulated['regions'])}); "
            f"sweep it with: {sweep_hint(state_dir)}",
            soft_wrap=True,
        )


@app.command()
def status(state_dir: StateDir = DEFAULT_STATE_DIR) -> None:
    """Show each endpoint of the lab and whether it is up."""
    from probe.lab.manager import lab_status

    try:
        rows = lab_status(state_dir)
    except TlsProbeError as exc:
        raise _fail(exc) from exc
    _out.print(_status_table(rows, "tlsprobe lab"))


@app.command()
def down(state_dir: StateDir = DEFAULT_STATE_DIR) -> None:
    """Stop every endpoint process of the lab."""
    from probe.lab.manager import stop_lab

    try:
        stop_cloud_daemon(state_dir)
        stopped = stop_lab(state_dir)
    except TlsProbeError as exc:
        raise _fail(exc) from exc
    _out.print(f"tlsprobe lab: stopped {len(stopped)} endpoint(s)" + (f": {', '.join(stopped)}" if stopped else ""))
