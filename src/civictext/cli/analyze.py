"""``civictext analyze``: the main job — analyse text files with a model and print the records."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import InputError
from ..pipeline import Analyzer, TextInput
from ..record import AnalysisRecord, RejectedRecord
from ._util import ModelOpt, app, emit_json, handle_errors


def _read_file(path: Path) -> TextInput | RejectedRecord:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return RejectedRecord(path.name, None, "E_IO", f"{path}: cannot read ({exc.strerror})")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return RejectedRecord(
            path.name, None, "E_ENCODING", f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start})"
        )
    return TextInput(text, path.name, None, {"source": str(path), "chars": len(text)})


# fmt: off
@app.command("analyze")
@handle_errors
def analyze_cli(
    files: list[Path] = typer.Argument(..., help="UTF-8 text files; each file is one text."),
    model: Path | None = ModelOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON Lines, one analysis record per file."),
    top: int = typer.Option(3, "--top", min=1, help="Candidate labels shown per file."),
) -> None:
    """Analyse text files (a complaint, a newspaper page...): category, entities and route, one record per file."""
    # fmt: on
    from ..routing import load_routing_table

    analyzer = Analyzer.load(model, routes=load_routing_table())
    ok = rejected = 0
    for result in analyzer.analyze_many(_read_file(p) for p in files):
        if isinstance(result, RejectedRecord):
            rejected += 1
            typer.echo(f"rejected {result.id}: {result.message}", err=True)
            if as_json:
                emit_json(result.to_dict())
            continue
        ok += 1
        if as_json:
            emit_json(result.to_dict())
        else:
            _print(result, top)
    typer.echo(f"analyze: {ok + rejected} files read, {ok} analysed, {rejected} rejected", err=True)
    if ok == 0:
        raise InputError("no file could be analysed")


def _print(rec: AnalysisRecord, top: int) -> None:
    typer.echo(f"== {rec.meta.get('source', rec.id)} ({rec.meta.get('chars')} characters)")
    typer.echo(f"   category   {rec.category} ({rec.category_name}), confidence {rec.confidence:.3f}")
    others = ", ".join(f"{ls.label} {ls.score:.3f}" for ls in rec.labels[1:top])
    typer.echo(f"   next       {others}")
    if len(rec.predicted_labels) > 1:
        typer.echo(f"   labels     {', '.join(rec.predicted_labels)}")
    by_type: dict[str, list[str]] = {}
    for e in rec.entities:
        by_type.setdefault(e.type, [])
        if e.text not in by_type[e.type]:
            by_type[e.type].append(e.text)
    for etype, texts in by_type.items():
        more = f" (+{len(texts) - 8} more)" if len(texts) > 8 else ""
        typer.echo(f"   {etype:<10} {'、'.join(texts[:8])}{more}")
    if rec.route:
        r = rec.route
        review = "needs review" if r["needs_review"] else "no review"
        typer.echo(f"   route      {r['office']['name']} ({r['priority']}, {review})")
    typer.echo(f"   model      {rec.model.get('version')}")
