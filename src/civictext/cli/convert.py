"""``civictext convert``: annotations between civictext, doccano, Label Studio, CLUENER and spaCy DocBin."""

from __future__ import annotations

from pathlib import Path

import typer

from ._util import app, handle_errors


# fmt: off
@app.command("convert")
@handle_errors
def convert_cli(
    source: Path = typer.Argument(..., help="Annotation file to read."),
    out: Path = typer.Option(..., "--out", "-o", help="File to write."),
    from_fmt: str = typer.Option(..., "--from", help="civictext, doccano, labelstudio or cluener."),
    to_fmt: str = typer.Option(..., "--to", help="civictext, doccano, labelstudio, cluener or docbin (.spacy)."),
) -> None:
    """Convert labelled data (categories and entity spans) between annotation formats."""
    # fmt: on
    from ..annotations import read_annotations, write_annotations

    records = read_annotations(source, from_fmt)
    write_annotations(records, out, to_fmt)
    spans = sum(len(r["spans"]) for r in records)
    typer.echo(f"convert: {len(records)} records ({spans} spans) from {from_fmt} to {to_fmt} → {out}", err=True)
