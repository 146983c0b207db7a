"""``civictext tag``: batch-tag archives (pages, JSON Lines, CSV, Parquet) into analysis records."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import typer

from ._util import ModelOpt, app, emit_json, handle_errors


def _progress_printer() -> tuple[object, object, object]:
    """(update, close, set_total): a tqdm bar with throughput and ETA on a terminal, else a log
    line every 5 s (records, throughput, ETA against the estimated total)."""
    total = [0]
    if sys.stderr.isatty():
        import shutil

        from tqdm import tqdm

        # a pty may report a 0×0 screen, and tqdm hides bars below the last row: give it a size
        size = shutil.get_terminal_size((100, 20))
        bar = tqdm(unit="rec", file=sys.stderr, ncols=max(size.columns, 60), nrows=max(size.lines, 5), mininterval=0.2)
        last = [0]

        def set_total(n: int) -> None:
            bar.total = n
            bar.refresh()

        def update(read: int, written: int, secs: float) -> None:
            if read > (bar.total or 0):
                bar.total = read
            bar.update(read - last[0])
            last[0] = read
            bar.set_postfix(written=written)

        return update, bar.close, set_total
    state = {"t": 0.0}

    def set_total_log(n: int) -> None:
        total[0] = n

    def log(read: int, written: int, secs: float) -> None:
        if secs - state["t"] >= 5:
            state["t"] = secs
            rate = read / max(secs, 1e-9)
            eta = max(total[0] - read, 0) / rate if rate else 0
            typer.echo(
                f"tag: {read}/{max(total[0], read)} records (estimated), {written} written, {rate:.1f} records/s, "
                f"ETA {eta:.0f} s",
                err=True,
            )

    return log, lambda: None, set_total_log


# fmt: off
@app.command("tag")
@handle_errors
def tag_cli(
    inputs: list[str] = typer.Argument(..., help="Files, directories or globs: .txt pages, .jsonl, .csv, .parquet (optionally .gz)."),  # noqa: E501
    out: Path = typer.Option(..., "--out", "-o", help="Output file (.jsonl, .csv or .parquet)."),
    fmt: str = typer.Option(None, "--format", help="jsonl, csv or parquet (default: from --out's extension)."),
    text_field: str = typer.Option("text", "--text-field", help="Field holding the text in JSON Lines / CSV / Parquet."),  # noqa: E501
    split_pages: bool = typer.Option(None, "--split-pages/--no-split-pages", help="Split .txt pages into articles (default: on)."),  # noqa: E501
    workers: int = typer.Option(os.cpu_count() or 1, "--workers", "-w", min=1, help="Worker processes (each loads the model once)."),  # noqa: E501
    chunk_size: int = typer.Option(64, "--chunk-size", min=1, help="Records per unit of work (and of resumption)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run into the same --out."),
    entities: bool = typer.Option(True, "--entities/--no-entities", help="Extract entities and route (slower)."),
    routes: Path = typer.Option(None, "--routes", help="Routing table (TOML).", dir_okay=False),
    model: Path = ModelOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the final summary as JSON."),
    engine: str = typer.Option("local", "--engine", help="local (worker processes) or dask (partitioned output in --out as a folder)."),  # noqa: E501
    scheduler: str = typer.Option(None, "--scheduler", help="With --engine dask: address of an existing scheduler (default: a LocalCluster)."),  # noqa: E501
    stop_after_chunks: int = typer.Option(None, "--stop-after-chunks", hidden=True),
) -> None:
    """Tag archives: one analysis record per article or input record, with provenance.

    Rejected records (empty text, bad encoding, malformed lines) go to OUT.errors.jsonl with
    their source and line; the summary always satisfies read = written + rejected.
    """
    # fmt: on
    from ..batch import tag, tag_dask
    from ..errors import ConfigError

    if engine not in ("local", "dask"):
        raise ConfigError(f"invalid value for --engine: {engine!r}; allowed: local, dask")
    if engine == "dask":
        summary = tag_dask(
            inputs, out, scheduler=scheduler, model_dir=None if model is None else str(model),
            routes=None if routes is None else str(routes), text_field=text_field, split_pages=split_pages,
            entities=entities, chunk_size=chunk_size, n_workers=workers,
        )  # fmt: skip
        if as_json:
            emit_json(summary.to_dict())
        typer.echo(f"tag (dask): {summary.read} records read, {summary.written} written, {summary.rejected} rejected "
                   f"in {summary.seconds:.1f} s → {out}/part-*.jsonl", err=True)  # fmt: skip
        return
    update, close, set_total = _progress_printer()
    t0 = time.perf_counter()
    try:
        summary = tag(
            inputs, out, model_dir=None if model is None else str(model),
            routes=None if routes is None else str(routes),
            fmt=fmt, text_field=text_field, split_pages=split_pages, workers=workers, chunk_size=chunk_size,
            resume=resume, entities=entities, progress=update, stop_after_chunks=stop_after_chunks,  # type: ignore[arg-type]
            on_total=set_total,  # type: ignore[arg-type]
        )  # fmt: skip
    finally:
        close()  # type: ignore[operator]
    d = summary.to_dict()
    if as_json:
        emit_json(d)
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(summary.reasons.items())) or "none"
    finished = stop_after_chunks is None
    typer.echo(
        f"tag: {summary.read} records read, {summary.written} written, {summary.rejected} rejected ({reasons}) "
        f"in {time.perf_counter() - t0:.1f} s" + ("" if finished else " — stopped early; run again with --resume"),
        err=True,
    )
