"""``civictext train`` and ``civictext evaluate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..corpus import FORMATS, ReadReport, read_labelled
from ..errors import ConfigError, InputError
from ..segment import file_sha256
from ._util import JsonOpt, ModelOpt, app, emit_json, handle_errors, resolve_model_dir


def report_reads(report: ReadReport, *, limit: int = 20) -> None:
    for problem in report.problems[:limit]:
        typer.echo(f"skipped {problem}", err=True)
    if len(report.problems) > limit:
        typer.echo(f"... and {len(report.problems) - limit} more skipped records", err=True)
    typer.echo(report.summary(), err=True)


def _check_format(fmt: str) -> Any:
    if fmt not in FORMATS:
        raise ConfigError(f"invalid value for --format: {fmt!r}; allowed: {list(FORMATS)}")
    return fmt


def print_metrics(metrics: dict[str, Any]) -> None:
    typer.echo(f"n           {metrics['n']}")
    typer.echo(f"accuracy    {metrics['accuracy']:.4f}")
    typer.echo(f"macro_f1    {metrics['macro_f1']:.4f}")
    typer.echo(f"micro_f1    {metrics['micro_f1']:.4f}")
    if "multilabel" in metrics:
        ml = metrics["multilabel"]
        typer.echo(f"multi-label micro_f1 {ml['micro_f1']:.4f}  samples_f1 {ml['samples_f1']:.4f}")
    typer.echo(f"\n{'label':<26}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for label, row in metrics["per_class"].items():
        typer.echo(f"{label:<26}{row['precision']:>10.4f}{row['recall']:>10.4f}{row['f1']:>10.4f}{row['support']:>9d}")


# fmt: off
@app.command("train")
@handle_errors
def train_cli(
    data: list[Path] = typer.Option(..., "--data", "-d", help="Labelled data file (repeatable): JSON Lines, CSV, or THUCNews text<TAB>index with class.txt.", exists=False),  # noqa: E501
    out: Path = typer.Option(..., "--out", "-o", help="Model directory to write."),
    fmt: str = typer.Option("auto", "--format", help="Data format: auto, jsonl, csv, thucnews."),
    dev: list[Path] = typer.Option([], "--dev", help="Labelled data to evaluate on after training; metrics go into meta.json."),  # noqa: E501
    strict: bool = typer.Option(False, "--strict", help="A malformed line is fatal instead of skipped."),
    task: str = typer.Option("classify", "--task", help="What to train: classify or entities."),
    epochs: int = typer.Option(15, "--epochs", min=1, help="Entity training: passes over the data."),
    classifier: str = typer.Option("linear_svc", "--classifier", help="linear_svc, logreg, complement_nb or sgd."),
    c: float = typer.Option(1.0, "--C", help="Regularisation strength (inverse)."),
    backend: str = typer.Option("auto", "--backend", help="Segmenter backend: auto, jieba, rjieba."),
    hmm: bool = typer.Option(False, "--hmm/--no-hmm", help="jieba HMM new-word discovery."),
    multilabel: str = typer.Option("auto", "--multilabel", help="auto (multi-label if the data has two labels on a record), on, off."),  # noqa: E501
    model: Path | None = ModelOpt,
) -> None:
    """Train a classifier from labelled data and write it to a model directory.

    --model is accepted for symmetry with the other commands and ignored here (a new
    model is trained from scratch).
    """
    # fmt: on
    from ..artifacts import save_model
    from ..classify import ClassifierConfig, evaluate_classifier, train_classifier
    from ..features import FeatureConfig

    if task == "entities":
        _train_entities(data, out, fmt, dev, strict, epochs, backend, hmm)
        return
    if task != "classify":
        raise ConfigError(f"invalid value for --task: {task!r}; allowed: ['classify', 'entities']")
    config = ClassifierConfig(
        features=FeatureConfig(backend=backend, hmm=hmm),  # type: ignore[arg-type]
        classifier=classifier,  # type: ignore[arg-type]
        C=c,
        multilabel=multilabel,  # type: ignore[arg-type]
    )
    records, report = read_labelled(data, fmt=_check_format(fmt), strict=strict)
    report_reads(report)
    if not records:
        raise InputError("no usable training records in " + ", ".join(map(str, data)))
    clf, seconds = train_classifier(records, config)
    typer.echo(f"trained on {len(records)} records, {len(clf.labels_)} labels, in {seconds:.1f} s", err=True)
    meta: dict[str, Any] = {
        "training": {
            "files": [{"path": str(p), "sha256": file_sha256(p)} for p in data],
            "records": len(records),
            "rejected": report.rejected,
            "seconds": round(seconds, 2),
        }
    }
    if dev:
        dev_records, dev_report = read_labelled(dev, fmt=_check_format(fmt), strict=strict)
        report_reads(dev_report)
        metrics = evaluate_classifier(clf, dev_records)
        meta["dev"] = {
            "files": [{"path": str(p), "sha256": file_sha256(p)} for p in dev],
            "metrics": metrics,
        }
        typer.echo(f"dev accuracy {metrics['accuracy']:.4f} macro_f1 {metrics['macro_f1']:.4f}", err=True)
    save_model(clf, out, meta=meta)
    typer.echo(f"model written to {out}")


def _read_entity_files(paths: list[Path], fmt: str, strict: bool) -> list[Any]:
    from ..entities import read_entity_examples

    if fmt not in ("auto", "jsonl", "cluener"):
        raise ConfigError(f"invalid value for --format with --task entities: {fmt!r}; allowed: auto, jsonl, cluener")
    out = []
    problems: list[str] = []
    for p in paths:
        examples, probs = read_entity_examples(p, fmt=fmt)
        if probs and strict:
            raise InputError(probs[0])
        out.extend(examples)
        problems.extend(probs)
    report = ReadReport(read=len(out) + len(problems), accepted=len(out), rejected=len(problems), problems=problems)
    report_reads(report)
    if not out:
        raise InputError("no usable entity examples in " + ", ".join(map(str, paths)))
    return out


def _train_entities(
    data: list[Path], out: Path, fmt: str, dev: list[Path], strict: bool, epochs: int, backend: str, hmm: bool
) -> None:
    from ..entities import ENTITY_DIR, EntityExtractor, evaluate_extractor, save_entity_model, train_entity_model

    train = _read_entity_files(data, fmt, strict)
    nlp, report = train_entity_model(
        train, epochs=epochs, backend=backend, hmm=hmm, log=lambda m: typer.echo(m, err=True)
    )
    meta: dict[str, Any] = {
        "training": {"files": [{"path": str(p), "sha256": file_sha256(p)} for p in data], **report},
    }
    if dev:
        dev_examples = _read_entity_files(dev, fmt, strict)
        meta["dev"] = evaluate_extractor(EntityExtractor(nlp), dev_examples)
        typer.echo(f"dev entity micro-F1 {meta['dev']['micro']['f1']:.4f}", err=True)
    save_entity_model(nlp, out / ENTITY_DIR, meta=meta)
    typer.echo(f"entity model written to {out / ENTITY_DIR}")


def print_entity_metrics(metrics: dict[str, Any]) -> None:
    typer.echo(f"n           {metrics['n']}")
    typer.echo(f"\n{'type':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for label, row in list(metrics["per_type"].items()) + [("micro", metrics["micro"])]:
        scores = f"{row['precision']:>10.4f}{row['recall']:>10.4f}{row['f1']:>10.4f}"
        typer.echo(f"{label:<12}{scores}{row.get('support', ''):>9}")


# fmt: off
@app.command("evaluate")
@handle_errors
def evaluate_cli(
    data: list[Path] = typer.Option(..., "--data", "-d", help="Labelled data file (repeatable)."),
    model: Path | None = ModelOpt,
    fmt: str = typer.Option("auto", "--format", help="Data format: auto, jsonl, csv, thucnews."),
    strict: bool = typer.Option(False, "--strict", help="A malformed line is fatal instead of skipped."),
    as_json: bool = JsonOpt,
    task: str = typer.Option("classify", "--task", help="classify, or entities (exact-span P/R/F1 per type)."),
    rules: bool = typer.Option(True, "--rules/--no-rules", help="Entities: include gazetteer and pattern rules (--no-rules: the statistical model alone)."),  # noqa: E501
) -> None:
    """Evaluate a model: accuracy, macro-F1, micro-F1 and per-class precision/recall/F1.

    With --task entities: exact-span precision/recall/F1 per entity type and micro-averaged,
    on our JSON Lines (`entities` or `spans`) or CLUENER data (`--format cluener`; its types
    are mapped: address→DISTRICT, government/organization/company→ORG, name→PERSON).
    """
    # fmt: on
    if task == "entities":
        from ..entities import evaluate_extractor, load_extractor

        extractor = load_extractor(resolve_model_dir(model), rules=rules)
        examples = _read_entity_files(data, fmt, strict)
        metrics = evaluate_extractor(extractor, examples)
        if as_json:
            emit_json(metrics)
        else:
            print_entity_metrics(metrics)
        return
    if task != "classify":
        raise ConfigError(f"invalid value for --task: {task!r}; allowed: ['classify', 'entities']")
    from ..artifacts import load_model
    from ..classify import TextClassifier, evaluate_classifier

    loaded = load_model(resolve_model_dir(model))
    records, report = read_labelled(data, fmt=_check_format(fmt), strict=strict)
    report_reads(report)
    if not records:
        raise InputError("no usable records to evaluate in " + ", ".join(map(str, data)))
    assert isinstance(loaded.classifier, TextClassifier)  # load_model without compiled=True
    metrics = evaluate_classifier(loaded.classifier, records)
    metrics["model"] = loaded.version
    metrics["rejected"] = report.rejected
    if as_json:
        emit_json(metrics)
    else:
        print_metrics(metrics)
