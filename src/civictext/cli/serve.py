"""``civictext serve`` and ``civictext feedback export``."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from pathlib import Path
from typing import Any

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
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes (each loads the model once)."),
) -> None:
    """Run the complaint-intake HTTP service (OpenAPI docs at /docs). Needs civictext[service].

    Reviews, corrections and status changes require `Authorization: Bearer $CIVICTEXT_TOKEN` when
    that variable is set; binding to a non-loopback address without it is refused. With --workers N,
    N processes share the port and the database (counters in /metrics are per process).
    """
    # fmt: on
    try:
        import uvicorn

        from ..service import SERVE_CONFIG_ENV, TOKEN_ENV, create_app, make_engine
    except ImportError:
        raise ConfigError("the service needs its extra: pip install 'civictext[service]'") from None
    if not _is_loopback(host) and not os.environ.get(TOKEN_ENV):
        raise ConfigError(f"refusing to bind {host} without authentication: set {TOKEN_ENV} (see the README)")
    settings: dict[str, Any] = {"db": db, "model_dir": None if model is None else str(model),
                                "routes": None if routes is None else str(routes)}  # fmt: skip
    if workers == 1:
        uvicorn.run(create_app(**settings), host=host, port=port, log_level="info")
        return
    make_engine(db).dispose()  # create the schema once, before the workers race to
    os.environ[SERVE_CONFIG_ENV] = json.dumps(settings)
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("civictext.service:app_from_env", factory=True, workers=workers, host=host, port=port,
                            log_level="info")  # fmt: skip
    Multiprocess(config, sockets=[_tcp_socket(host, port)]).run()


def _tcp_socket(host: str, port: int) -> socket.socket:
    """The listening socket the workers share, made with an explicit IPPROTO_TCP: asyncio sets
    TCP_NODELAY only on connections accepted from such a socket, and uvicorn's own (protocol 0)
    left every keep-alive response waiting ~40 ms on Nagle and delayed ACKs (measured)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot bind {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@feedback_app.command("export")
@handle_errors
def feedback_export_cli(
    db: str = typer.Option(..., "--db", help="The service's database (file or URL)."),
    out: Path = typer.Option(..., "--out", help="JSON Lines to write (the format `civictext train` reads)."),
) -> None:
    """Write dispatchers' reviews (the latest per case; confirmations count) as labelled training data."""
    from ..service import export_feedback

    n = export_feedback(db, out)
    typer.echo(f"{n} reviewed cases written to {out}", err=True)


@feedback_app.command("retrain")
@handle_errors
def feedback_retrain_cli(
    db: str = typer.Option(..., "--db", help="The service's database (file or URL)."),
    out: Path = typer.Option(..., "--out", help="New model directory to write."),
    corpus: Path | None = typer.Option(None, "--corpus", help="Corpus directory (default: corpus/ of this checkout)."),
    model: Path | None = ModelOpt,
    keep_feedback: Path | None = typer.Option(None, "--keep-feedback", help="Also keep the exported feedback here."),
) -> None:
    """Export the dispatchers' reviews and train a new model on the corpus plus them, in one step.

    The new model takes the base model's (--model, default the shipped one) configuration and entity
    pipeline; both are evaluated on the corpus dev split and printed side by side. Serve the new
    directory with `civictext serve --model OUT`: each case records the model version that decided it.
    """
    import tempfile

    from ..artifacts import repo_root
    from ..service import export_feedback
    from ..training import retrain_with_feedback

    corpus_dir = corpus if corpus is not None else (repo_root() or Path.cwd()) / "corpus"
    if not (corpus_dir / "texts").is_dir():
        raise ConfigError(f"no corpus at {corpus_dir}: pass --corpus DIR (a directory with texts/ and splits/)")
    with tempfile.TemporaryDirectory(prefix="civictext-feedback-") as tmp:
        fb = keep_feedback if keep_feedback is not None else Path(tmp) / "feedback.jsonl"
        n = export_feedback(db, fb)
        typer.echo(f"{n} reviewed cases exported from {db}", err=True)
        meta = retrain_with_feedback(corpus_dir, fb, out, base_model=model)
    f = meta["training"]["feedback"]
    typer.echo(f"trained on {meta['training']['records']} texts ({f['used']} from feedback, "
               f"{f['replaced_corpus_labels']} corpus labels replaced, {f['left_out_in_dev']} left out as dev texts) "
               f"in {meta['training']['seconds']} s", err=True)  # fmt: skip
    new, old = meta["dev"]["metrics"], meta["dev_base_model"]["metrics"]
    typer.echo(f"corpus dev ({meta['dev']['records']} texts)   accuracy   macro-F1", err=True)
    for tag, version, m in (
        ("base", meta["dev_base_model"]["version"], old),
        ("new ", f"{meta['name']}@{meta['model_sha256'][:12]}", new),
    ):
        typer.echo(f"  {tag} {version:<28}{m['accuracy']:.4f}     {m['macro_f1']:.4f}", err=True)
    typer.echo(f"model written to {out}; serve it with: civictext serve --model {out}", err=True)
