"""Shared fixtures: small training data cut from our corpus, a small trained model, paths to ../shared."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"


def shared_file(relative: str) -> Path:
    """A file under ../shared/data, or skip the test with the reason (a user's clone has no ../shared)."""
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"needs ../shared/data/{relative}, which only the project's CI and developers have")
    return path


def corpus_records() -> list[dict]:
    out = []
    for path in sorted((CORPUS / "texts").glob("*.jsonl")):
        out.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return out


@pytest.fixture(scope="session")
def small_train_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 12 texts per category from our corpus (train split only), as JSON Lines."""
    dev = set((CORPUS / "splits" / "dev.txt").read_text(encoding="utf-8").split())
    per_label: dict[str, int] = collections.Counter()
    rows = []
    for rec in corpus_records():
        if rec["id"] in dev or per_label[rec["label"]] >= 12:
            continue
        per_label[rec["label"]] += 1
        rows.append({"id": rec["id"], "text": rec["text"], "label": rec["label"]})
    rows = [r for r in rows if per_label[r["label"]] >= 6]
    path = tmp_path_factory.mktemp("data") / "small_train.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def small_dev_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 5 dev-split texts per category."""
    dev = set((CORPUS / "splits" / "dev.txt").read_text(encoding="utf-8").split())
    per_label: dict[str, int] = collections.Counter()
    rows = []
    for rec in corpus_records():
        if rec["id"] not in dev or per_label[rec["label"]] >= 5:
            continue
        per_label[rec["label"]] += 1
        rows.append({"id": rec["id"], "text": rec["text"], "label": rec["label"]})
    path = tmp_path_factory.mktemp("data") / "small_dev.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def small_model_dir(tmp_path_factory: pytest.TempPathFactory, small_train_file: Path) -> Path:
    from civictext.artifacts import save_model
    from civictext.classify import train_classifier
    from civictext.corpus import read_labelled

    records, _ = read_labelled([small_train_file])
    model, _ = train_classifier(records)
    out = tmp_path_factory.mktemp("models") / "small"
    save_model(model, out, meta={"training": {"records": len(records)}})
    return out


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    path = ROOT / "models" / "default"
    assert (path / "meta.json").is_file(), "the shipped default model models/default is missing"
    return path
