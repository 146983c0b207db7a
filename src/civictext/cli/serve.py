"""``civictext serve`` and ``civictext feedback export``."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import typer

from ..errors import ConfigError
from ._util import ModelOpt, app, handle_errors

feedback_app = typer.Typer(help="Dispatcher corrections as training data.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# fmt: off
@app.command("serve")
@handle_errors
def serve_cli(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8080, "--port", help="Port."),
    db: str = typer.Option("civictext.db", "--db", help="SQLite file, or a database URL (postgresql+psycopg://...)."),
    model: Path | None = ModelOpt,
    routes: Path | None = typer.Option(None, "--routes", help="Routing table (TOML)."),
) -> None:
    """Run the complaint-intake HTTP service (OpenAPI docs at /docs). Needs civictext[service].

    Corrections require `Authorization: Bearer $CIVICTEXT_TOKEN` when that variable is set;
    binding to a non-loopback address without it is refused.
    """
    # fmt: on
    try:
        import uvicorn

        from ..service import TOKEN_ENV, create_app
    except ImportError:
        raise ConfigError("the service needs its extra: pip install 'civictext[service]'") from None
    if not _is_loopback(host) and not os.environ.get(TOKEN_ENV):
        raise ConfigError(f"refusing to bind {host} without authentication: set {TOKEN_ENV} (see the README)")
    application = create_app(db, model_dir=None if model is None else str(model), routes=None if routes is None else str(routes))
    uvicorn.run(application, host=host, port=port, log_level="info")


@feedback_app.command("export")
@handle_errors
def feedback_export_cli(
    db: str = typer.Option(..., "--db", help="The service's database (file or URL)."),
    out: Path = typer.Option(..., "--out", help="JSON Lines to write (the format `civictext train` reads)."),
) -> None:
    """Write dispatcher corrections (the latest per case) as labelled training data."""
    from ..service import export_feedback

    n = export_feedback(db, out)
    typer.echo(f"{n} corrected cases written to {out}", err=True)
