"""``civictext route``: the analysis record with its routing decision."""

from __future__ import annotations

from pathlib import Path

import typer

from ..pipeline import Analyzer
from ..record import AnalysisRecord
from ._util import JsonlOpt, JsonOpt, ModelOpt, StrictOpt, app, emit_json, handle_errors
from .classify import _stdin_inputs, run_stream


def print_route(rec: AnalysisRecord) -> None:
    r = rec.route or {}
    typer.echo(f"category    {rec.category} ({rec.category_name}), confidence {rec.confidence:.3f}")
    typer.echo(f"office      {r['office']['id']} ({r['office']['name']})")
    typer.echo(f"rule        {r['rule'] or '-'}")
    typer.echo(f"priority    {r['priority']}")
    typer.echo(f"review      {'yes: ' + '; '.join(r['review_reasons']) if r['needs_review'] else 'no'}")
    typer.echo(f"reason      {r['reason']}")


# fmt: off
@app.command("route")
@handle_errors
def route_cli(
    text: str = typer.Argument(..., help="Complaint text, or '-' to read standard input (one text per line)."),
    model: Path | None = ModelOpt,
    routes: Path | None = typer.Option(None, "--routes", help="Routing table (TOML) replacing the shipped default.", dir_okay=False),  # noqa: E501
    as_json: bool = JsonOpt,
    jsonl: bool = JsonlOpt,
    strict: bool = StrictOpt,
) -> None:
    """Route a complaint: office, rule, reason, priority and whether a person must review it.

    With '-' the output is JSON Lines of analysis records (with `route`), one per input
    record in input order; rejected records keep their place as {"id", "line", "error"}.
    """
    # fmt: on
    from ..routing import load_routing_table

    table = load_routing_table(None if routes is None else str(routes))
    analyzer = Analyzer.load(model, routes=table)
    if text == "-":
        ok, rejected = run_stream(analyzer, _stdin_inputs(jsonl), strict=strict)
        typer.echo(f"route: {ok + rejected} records read, {ok} routed, {rejected} rejected", err=True)
        return
    rec = analyzer.analyze(text)
    if as_json:
        emit_json(rec.to_dict())
    else:
        print_route(rec)
