"""Training the default model from our corpus with its fixed dev split."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

from .artifacts import save_model
from .classify import ClassifierConfig, TextClassifier, evaluate_classifier, train_classifier
from .corpus import LabelledRecord, ReadReport, iter_records
from .errors import InputError
from .segment import file_sha256

#: The configuration of the shipped default model, chosen by corpus dev macro-F1 among the
#: candidates in BENCHMARKS.md: word 1-2-grams + character 1-2-grams (min_df 2), calibrated
#: LinearSVC with C=1 (it is also ClassifierConfig's default).
DEFAULT_CONFIG = ClassifierConfig()


def corpus_files(corpus_dir: str | os.PathLike[str]) -> list[Path]:
    files = sorted(Path(corpus_dir, "texts").glob("*.jsonl"))
    if not files:
        raise InputError(f"no corpus files in {Path(corpus_dir, 'texts')}")
    return files


def load_corpus_split(
    corpus_dir: str | os.PathLike[str],
) -> tuple[list[LabelledRecord], list[LabelledRecord], ReadReport]:
    """(train, dev) records of our corpus; dev is the fixed list in ``splits/dev.txt``."""
    split_file = Path(corpus_dir, "splits", "dev.txt")
    if not split_file.is_file():
        raise InputError(f"dev split list not found: {split_file} (run scripts/make_split.py)")
    dev_ids = set(split_file.read_text(encoding="utf-8").split())
    report = ReadReport()
    train: list[LabelledRecord] = []
    dev: list[LabelledRecord] = []
    for path in corpus_files(corpus_dir):
        for rec in iter_records(path, strict=True, report=report):
            (dev if rec.id in dev_ids else train).append(rec)
    return train, dev, report


def load_entity_split(corpus_dir: str | os.PathLike[str]) -> tuple[list[Any], list[Any]]:
    """(train, dev) entity examples of our corpus, split by the same dev list as classification."""
    from .entities import read_entity_examples

    dev_ids = set(Path(corpus_dir, "splits", "dev.txt").read_text(encoding="utf-8").split())
    train: list[Any] = []
    dev: list[Any] = []
    for path in corpus_files(corpus_dir):
        examples, problems = read_entity_examples(path, fmt="jsonl")
        if problems:
            raise InputError(problems[0])
        for ex in examples:
            (dev if ex.id in dev_ids else train).append(ex)
    return train, dev


#: Passes over the corpus for the default entity model (see BENCHMARKS.md).
ENTITY_EPOCHS = 15


def train_default_entities(
    corpus_dir: str | os.PathLike[str], out: str | os.PathLike[str], *, epochs: int = ENTITY_EPOCHS
) -> dict[str, Any]:
    """Train the statistical NER on the corpus train split, evaluate the full extractor on dev,
    save it to ``out/entities``; returns its metadata."""
    from .entities import ENTITY_DIR, EntityExtractor, evaluate_extractor, save_entity_model, train_entity_model

    train, dev = load_entity_split(corpus_dir)
    t0 = time.perf_counter()
    nlp, report = train_entity_model(train, epochs=epochs)
    seconds = time.perf_counter() - t0
    files = corpus_files(corpus_dir)
    meta = {
        "training": {"corpus_sha256": corpus_checksum(files), "seconds": round(seconds, 1), **report},
        "dev": evaluate_extractor(EntityExtractor(nlp), dev),
        "dev_rules_only": evaluate_extractor(EntityExtractor.rules_only(), dev),
    }
    save_entity_model(nlp, Path(out) / ENTITY_DIR, meta=meta)
    return meta


def corpus_checksum(files: list[Path]) -> str:
    """One sha256 over the corpus files' names and contents."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(bytes.fromhex(file_sha256(f)))
    return h.hexdigest()


def train_default_model(
    corpus_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    config: ClassifierConfig = DEFAULT_CONFIG,
) -> dict[str, Any]:
    """Train on the corpus train split, evaluate on dev, save to ``out``; returns the metadata."""
    train, dev, report = load_corpus_split(corpus_dir)
    model, seconds = train_classifier(train, config)
    metrics = evaluate_classifier(model, dev)
    meta = {
        "training": {**_corpus_meta(corpus_dir), "records": len(train), "seconds": round(seconds, 2)},
        "dev": {"records": len(dev), "metrics": metrics},
    }
    save_model(model, out, meta=meta)
    from .artifacts import read_meta

    return read_meta(out)


def _corpus_meta(corpus_dir: str | os.PathLike[str]) -> dict[str, Any]:
    files = corpus_files(corpus_dir)
    return {
        "corpus_sha256": corpus_checksum(files),
        "files": [{"path": f"corpus/texts/{f.name}", "sha256": file_sha256(f)} for f in files],
        "split": "corpus/splits/dev.txt",
        "split_sha256": file_sha256(Path(corpus_dir, "splits", "dev.txt")),
    }


def retrain_with_feedback(
    corpus_dir: str | os.PathLike[str],
    feedback: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    base_model: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """A new model from the corpus train split plus dispatcher feedback (``feedback export``).

    The base model (default: the shipped one) gives the configuration and the entity pipeline,
    which is copied unchanged (reviews correct categories and offices, not entities). A
    feedback text equal to a corpus text replaces that text's label; a feedback text equal to a
    dev-split text is left out of training, so the dev metrics stay honest. The new model and the
    base model are both evaluated on the corpus dev split; both results go into ``meta.json``.
    """
    import shutil

    from .artifacts import default_model_dir, load_model, read_meta
    from .entities import ENTITY_DIR

    base_dir = Path(base_model) if base_model is not None else default_model_dir()
    base = load_model(base_dir, compiled=False)
    if Path(out).resolve() == base_dir.resolve():
        raise InputError(f"--out {out} is the base model's directory; write the new model elsewhere")
    train, dev, _ = load_corpus_split(corpus_dir)
    read = ReadReport()
    fb = list(iter_records(feedback, fmt="jsonl", report=read))
    if not fb:
        raise InputError(f"{feedback}: no usable feedback records ({read.summary()})")
    unknown = sorted({lab for r in fb for lab in r.labels} - set(base.classifier.labels_))
    if unknown:
        raise InputError(f"{feedback}: labels the base model does not know: {unknown}")
    dev_texts = {r.text for r in dev}
    usable = [r for r in fb if r.text not in dev_texts]
    relabelled = {r.text for r in usable}
    kept = [r for r in train if r.text not in relabelled]
    model, seconds = train_classifier(kept + usable, ClassifierConfig.from_dict(base.meta["config"]))
    assert isinstance(base.classifier, TextClassifier)
    meta = {
        "training": {
            **_corpus_meta(corpus_dir),
            "records": len(kept) + len(usable),
            "seconds": round(seconds, 2),
            "base_model": base.version,
            "feedback": {
                "path": str(feedback),
                "sha256": file_sha256(Path(feedback)),
                "read": read.summary(),
                "used": len(usable),
                "replaced_corpus_labels": len(train) - len(kept),
                "left_out_in_dev": len(fb) - len(usable),
            },  # fmt: skip
        },
        "dev": {"records": len(dev), "metrics": evaluate_classifier(model, dev)},
        "dev_base_model": {"version": base.version, "metrics": evaluate_classifier(base.classifier, dev)},
    }
    save_model(model, out, meta=meta)
    if (base_dir / ENTITY_DIR).is_dir():
        shutil.rmtree(Path(out) / ENTITY_DIR, ignore_errors=True)
        shutil.copytree(base_dir / ENTITY_DIR, Path(out) / ENTITY_DIR)
    return read_meta(out)
