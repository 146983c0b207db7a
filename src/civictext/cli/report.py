"""``civictext report``: summarise a tagged archive."""

from __future__ import annotations

from pathlib import Path

import typer

from ._util import app, handle_errors


# fmt: off
@app.command("report")
@handle_errors
def report_cli(
    tagged: Path = typer.Argument(..., help="Output of `civictext tag` (.jsonl, .csv or .parquet)."),
    out_dir: Path = typer.Option(None, "--out-dir", help="Folder for tables and charts (default: TAGGED.report/)."),
    top: int = typer.Option(10, "--top", min=1, help="Entities listed per category."),
) -> None:
    """Counts by category, district and month, top entities per category; CSV and Markdown
    tables and PNG charts (categories over time, category × district)."""
    # fmt: on
    from ..report import write_report

    target = out_dir or tagged.with_name(tagged.name + ".report")
    s = write_report(tagged, target, top=top)
    typer.echo(
        f"report: {s['records']} records; {len(s['by_category'])} categories, {len(s['by_district'])} districts, "
        f"{len(s['by_month'])} months → {target}"
    )
    for c, k in s["by_category"]:
        typer.echo(f"  {c:<26}{k}")
    if not s["charts"]:
        typer.echo(
            "  (no charts: install civictext[report] for matplotlib, or there were no dates/districts)", err=True
        )
