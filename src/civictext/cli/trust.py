"""``civictext thresholds`` and ``civictext suggest``: where to trust the model, what to label next."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..corpus import read_labelled
from ._util import JsonOpt, ModelOpt, app, emit_json, handle_errors, resolve_model_dir


# fmt: off
@app.command("thresholds")
@handle_errors
def thresholds_cli(
    data: list[Path] = typer.Option(..., "--data", "-d", help="Held-out labelled data (not used to train the model)."),
    model: Path | None = ModelOpt,
    precision: float = typer.Option(0.9, "--precision", min=0.0, max=1.0, help="Target precision per category."),
    min_support: int = typer.Option(5, "--min-support", min=1, help="Fewest predictions a threshold is judged on."),
    routes: Path | None = typer.Option(None, "--routes", help="Routing table to start from (default: the shipped one)."),  # noqa: E501
    out: Path | None = typer.Option(None, "--out", help="Write the routing table with these review thresholds here."),
    plot: Path | None = typer.Option(None, "--plot", help="Write a calibration (reliability) curve PNG here."),
    as_json: bool = JsonOpt,
) -> None:
    """Per category, the confidence threshold reaching --precision on held-out data; routing sends
    cases below it to review. Also reports the calibration error (ECE) of the confidences."""
    # fmt: on
    from importlib import resources

    from ..artifacts import load_model
    from ..routing import parse_routing_table
    from ..trust import calibration, find_thresholds, write_thresholds
    from .train import report_reads

    clf = load_model(resolve_model_dir(model), compiled=True).classifier
    records, report = read_labelled(data)
    report_reads(report)
    found = find_thresholds(clf, records, precision=precision, min_support=min_support)
    calib = calibration(clf, records, png=plot)
    if out is not None:
        text = (routes.read_text(encoding="utf-8") if routes else
                resources.files("civictext").joinpath("data").joinpath("routes.toml").read_text(encoding="utf-8"))
        new = write_thresholds(text, {k: v["threshold"] for k, v in found.items()})
        parse_routing_table(new, str(out))  # validate before writing
        out.write_text(new, encoding="utf-8")
    if as_json:
        emit_json({"thresholds": found, "calibration": calib})
        return
    typer.echo(f"{'category':<26}{'threshold':>10}{'precision':>11}{'kept':>7}{'predicted':>10}")
    for label, row in found.items():
        p = "-" if row["precision"] is None else f"{row['precision']:.3f}"
        counts = f"{row['kept']:>7}{row['predicted']:>10}"
        typer.echo(f"{label:<26}{row['threshold']:>10.3f}{p:>11}{counts}  {row.get('note', '')}")
    typer.echo(f"\ncalibration: ECE {calib['ece']:.4f} over {calib['n']} texts (accuracy {calib['accuracy']:.4f})")
    if out is not None:
        typer.echo(f"routing table with these thresholds written to {out}")


# fmt: off
@app.command("suggest")
@handle_errors
def suggest_cli(
    data: Path = typer.Option(..., "--data", "-d", help="Unlabelled texts: JSON Lines with 'text' (and 'id'), or CSV."),
    model: Path | None = ModelOpt,
    n: int = typer.Option(50, "--n", min=1, help="How many texts to pick."),
    out: Path | None = typer.Option(None, "--out", help="doccano JSON Lines to write (default: standard output)."),
) -> None:
    """Pick the texts whose labels would teach the model most (smallest margin between its two
    best labels), as doccano text-classification JSON Lines to import and label."""
    # fmt: on
    from ..artifacts import load_model
    from ..corpus import ReadReport, iter_records
    from ..trust import dump_jsonl, suggest
    from .train import report_reads

    clf = load_model(resolve_model_dir(model), compiled=True).classifier
    report = ReadReport()
    texts = [(r.id, r.text) for r in iter_records(data, labelled=False, report=report)]
    report_reads(report)
    rows = suggest(clf, texts, n=n)
    if out is None:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
    else:
        dump_jsonl(rows, out)
        typer.echo(f"{len(rows)} texts written to {out}", err=True)
