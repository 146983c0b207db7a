"""``civictext classify``: categories for one text or a stream of texts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import typer

from ..pipeline import Analyzer, TextInput
from ..record import AnalysisRecord, RejectedRecord
from ._util import JsonlOpt, JsonOpt, ModelOpt, StrictOpt, app, emit_json, fail, handle_errors, stdin_lines


def _stdin_inputs(jsonl: bool) -> Iterator[TextInput | RejectedRecord]:
    for lineno, line, problem in stdin_lines():
        if problem is not None or line is None:
            yield RejectedRecord(None, lineno, "E_ENCODING", f"line {lineno}: {problem}")
            continue
        if not jsonl:
            yield TextInput(line, None, lineno)
            continue
        if not line.strip():
            yield RejectedRecord(None, lineno, "E_INPUT", f"line {lineno}: blank line, expected a JSON object")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RejectedRecord(
                None, lineno, "E_JSON", f"line {lineno}: invalid JSON ({exc.msg} at column {exc.colno})"
            )
            continue
        if not isinstance(obj, dict):
            yield RejectedRecord(None, lineno, "E_JSON", f"line {lineno}: expected a JSON object")
            continue
        rid = obj.get("id")
        meta = {k: v for k, v in obj.items() if k not in ("id", "text")}
        yield TextInput(obj.get("text"), None if rid is None else str(rid), lineno, meta or None)


def run_stream(analyzer: Analyzer, inputs: Iterator[TextInput | RejectedRecord], *, strict: bool) -> tuple[int, int]:
    """Analyse a stream, writing one JSON line per input record in order; returns (ok, rejected)."""
    ok = rejected = 0
    for result in analyzer.analyze_many(inputs):
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        if isinstance(result, RejectedRecord):
            rejected += 1
            typer.echo(f"rejected: {result.message}", err=True)
            if strict:
                raise fail(f"{result.message} (--strict)")
        else:
            ok += 1
    return ok, rejected


def print_record(rec: AnalysisRecord, top: int) -> None:
    typer.echo(f"category    {rec.category} ({rec.category_name})")
    typer.echo(f"confidence  {rec.confidence:.3f}")
    if rec.predicted_labels and list(rec.predicted_labels) != [rec.category]:
        typer.echo(f"labels      {', '.join(rec.predicted_labels)}")
    if rec.entities:
        typer.echo("entities    " + ", ".join(f"{e.text}/{e.type}" for e in rec.entities))
    typer.echo("candidates:")
    for ls in rec.labels[:top]:
        typer.echo(f"  {ls.label:<24} {ls.name:<10}\t{ls.score:.3f}")


# fmt: off
@app.command("classify")
@handle_errors
def classify_cli(
    text: str = typer.Argument(..., help="Text to classify, or '-' to read standard input (one text per line)."),
    model: Path | None = ModelOpt,
    as_json: bool = JsonOpt,
    jsonl: bool = JsonlOpt,
    strict: bool = StrictOpt,
    top: int = typer.Option(5, "--top", min=1, help="Candidate labels shown in the table."),
    backend: str = typer.Option(None, "--backend", help="Segment with this backend instead of the model's (jieba, rjieba, auto)."),  # noqa: E501
    no_entities: bool = typer.Option(False, "--no-entities", help="Skip entity extraction (faster start-up: no spaCy)."),  # noqa: E501
) -> None:
    """Classify TEXT into a governance category, with confidence and candidate labels.

    With '-' the output is JSON Lines, one record per input record in input order; a
    record that cannot be classified becomes {"id", "line", "error"} in its place, and
    the counts are printed on standard error.
    """
    # fmt: on
    analyzer = Analyzer.load(model, backend=backend, entities=not no_entities)
    if text == "-":
        ok, rejected = run_stream(analyzer, _stdin_inputs(jsonl), strict=strict)
        typer.echo(f"classify: {ok + rejected} records read, {ok} classified, {rejected} rejected", err=True)
        return
    rec = analyzer.analyze(text)
    if as_json:
        emit_json(rec.to_dict())
    else:
        print_record(rec, top)
    sys.stdout.flush()
