"""``civictext segment``: show what the model sees."""

from __future__ import annotations

from pathlib import Path

import typer

from ..segment import Segmenter
from ._util import JsonOpt, ModelOpt, app, emit_json, handle_errors


# fmt: off
@app.command("segment")
@handle_errors
def segment_cli(
    text: str = typer.Argument(..., help="Text to segment."),
    backend: str = typer.Option(None, "--backend", help="auto, jieba or rjieba (default: the model's, else auto)."),
    hmm: bool = typer.Option(None, "--hmm/--no-hmm", help="HMM new-word discovery (default: the model's, else off)."),
    mode: str = typer.Option("accurate", "--mode", help="accurate or search."),
    pos: bool = typer.Option(False, "--pos", help="Show part-of-speech tags."),
    model: Path | None = ModelOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Segment TEXT into tokens (with --json: tokens with character offsets)."""
    # fmt: on
    seg_conf: dict[str, object] = {}
    if model is not None:
        from ..artifacts import read_meta

        seg_conf = read_meta(model).get("segmenter") or {}
    seg = Segmenter(
        backend=backend or str(seg_conf.get("backend", "auto")),  # type: ignore[arg-type]
        hmm=bool(seg_conf.get("hmm", False)) if hmm is None else hmm,
        mode=mode,  # type: ignore[arg-type]
    )
    tokens = [t for t in seg.tokenize(text) if not t.text.isspace()]
    tags: dict[int, str] = {}  # token start offset -> POS flag
    if pos:
        offset = 0
        for word, flag in seg.tag(text):
            tags[offset] = flag
            offset += len(word)
    if as_json:
        emit_json(
            {
                "backend": seg.resolved_backend,
                "hmm": seg.hmm,
                "mode": seg.mode,
                "tokens": [
                    {"text": t.text, "start": t.start, "end": t.end, **({"pos": tags.get(t.start)} if pos else {})}
                    for t in tokens
                ],
            }
        )
        return
    if pos:
        typer.echo(" ".join(f"{t.text}/{tags.get(t.start, '?')}" for t in tokens))
    else:
        typer.echo(" / ".join(t.text for t in tokens))
