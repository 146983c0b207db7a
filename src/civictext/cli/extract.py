"""``civictext extract``: entities with types and character offsets."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..errors import InputError
from ..record import Entity, RejectedRecord
from ._util import JsonlOpt, JsonOpt, ModelOpt, StrictOpt, app, emit_json, fail, handle_errors
from .classify import _stdin_inputs


def _describe(e: Entity) -> str:
    n = e.normalized or {}
    if "chain" in n:
        extra = " › ".join(n["chain"]) + (f" [{n['code']}]" if n.get("code") else "")
    elif n.get("ambiguous"):
        extra = "ambiguous: " + " | ".join(" › ".join(c["chain"]) for c in n["candidates"])
    elif "office" in n:
        extra = f"office {n['office']} ({n['office_name']})"
    elif "level" in n:
        extra = f"level {n['level']}"
    else:
        extra = ""
    return f"{e.type:<9}{e.text}\t{e.start}-{e.end}\t{e.source}\t{extra}"


# fmt: off
@app.command("extract")
@handle_errors
def extract_cli(
    text: str = typer.Argument(..., help="Text, or '-' to read standard input (one text per line)."),
    model: Path | None = ModelOpt,
    as_json: bool = JsonOpt,
    jsonl: bool = JsonlOpt,
    strict: bool = StrictOpt,
) -> None:
    """Extract places (DISTRICT), organisations (ORG), people (PERSON) and phone numbers (PHONE).

    Offsets `start`/`end` (end exclusive) index the original text. With '-' the output is
    JSON Lines, one {"id", "entities"} record per input record in input order.
    """
    # fmt: on
    from ..artifacts import default_model_dir
    from ..entities import load_extractor
    from ..pipeline import check_text

    extractor = load_extractor(model if model is not None else default_model_dir())
    if text != "-":
        ents = extractor.extract(check_text(text))
        if as_json:
            emit_json({"entities": [e.to_dict() for e in ents]})
        else:
            for e in ents:
                typer.echo(_describe(e))
        return
    ok = rejected = 0
    for item in _stdin_inputs(jsonl):
        if not isinstance(item, RejectedRecord):
            try:
                ents = extractor.extract(check_text(item.text))
            except InputError as exc:
                where = f"line {item.line}" + (f" (id {item.id})" if item.id else "")
                item = RejectedRecord(item.id, item.line, "E_INPUT", f"{where}: {exc}")
            else:
                ok += 1
                typer.echo(json.dumps({"id": item.id, "entities": [e.to_dict() for e in ents]}, ensure_ascii=False))
                continue
        rejected += 1
        typer.echo(json.dumps(item.to_dict(), ensure_ascii=False))
        typer.echo(f"rejected: {item.message}", err=True)
        if strict:
            raise fail(f"{item.message} (--strict)")
    typer.echo(f"extract: {ok + rejected} records read, {ok} extracted, {rejected} rejected", err=True)
