"""``civictext keywords``: TF-IDF and TextRank keywords of a text or a file."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..errors import InputError
from ._util import JsonOpt, app, emit_json, handle_errors


# fmt: off
@app.command("keywords")
@handle_errors
def keywords_cli(
    text: str = typer.Argument(..., help="A text, or the path of a UTF-8 text file."),
    method: str = typer.Option("both", "--method", help="tfidf, textrank or both."),
    top: int = typer.Option(10, "--top", min=1, help="Keywords per method."),
    idf_corpus: list[Path] = typer.Option([], "--idf-corpus", help="JSON Lines with 'text' to fit the IDF on (default: the checkout's corpus/)."),  # noqa: E501
    as_json: bool = JsonOpt,
) -> None:
    """Keywords over our segmenter: TF-IDF (IDF fitted on a corpus) and TextRank (co-occurrence graph)."""
    # fmt: on
    from ..artifacts import repo_root
    from ..keywords import KeywordExtractor

    if method not in ("tfidf", "textrank", "both"):
        raise InputError(f"invalid value for --method: {method!r}; allowed: tfidf, textrank, both")
    p = Path(text)
    if len(text) < 4096 and p.is_file():
        try:
            text = p.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"{p}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    if not text.strip():
        raise InputError("empty text")
    ex = KeywordExtractor()
    out: dict[str, list[dict[str, object]]] = {}
    if method in ("tfidf", "both"):
        files = list(idf_corpus)
        if not files:
            root = repo_root()
            if root is None:
                raise InputError("no corpus to fit the IDF on: pass --idf-corpus FILE (JSON Lines with 'text')")
            files = sorted((root / "corpus" / "texts").glob("*.jsonl"))
        lines = [line for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
        texts = [json.loads(line)["text"] for line in lines]
        out["tfidf"] = [{"word": k.word, "score": k.score} for k in ex.fit(texts).tfidf(text, top=top)]
    if method in ("textrank", "both"):
        out["textrank"] = [{"word": k.word, "score": k.score} for k in ex.textrank(text, top=top)]
    if as_json:
        emit_json(out)
        return
    for name, kws in out.items():
        typer.echo(f"{name:<9} " + "  ".join(f"{k['word']}({k['score']})" for k in kws))
