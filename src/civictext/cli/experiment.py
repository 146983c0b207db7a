"""``civictext experiment`` and ``civictext compare``."""

from __future__ import annotations

from pathlib import Path

import typer

from ._util import app, handle_errors


# fmt: off
@app.command("experiment")
@handle_errors
def experiment_cli(
    config: Path = typer.Argument(..., help="Experiment TOML (see experiments/).", exists=False),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Where run folders are written."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=-1, help="Folds and variants trained in parallel (joblib; -1: all cores)."),  # noqa: E501
) -> None:
    """Run an experiment: every variant under the configured evaluation, into runs/<name>-<timestamp>/."""
    # fmt: on
    from ..experiments import run_experiment

    run_experiment(config, runs_dir=runs_dir, jobs=jobs, log=lambda m: typer.echo(m, err=True))


# fmt: off
@app.command("compare")
@handle_errors
def compare_cli(
    runs: list[Path] = typer.Argument(..., help="Run folders written by `civictext experiment`."),
    markdown: bool = typer.Option(False, "--markdown", help="Print a Markdown table."),
) -> None:
    """Compare runs side by side; the best value per metric is marked with *."""
    # fmt: on
    from ..experiments import compare_runs

    typer.echo(compare_runs(runs, markdown=markdown))
