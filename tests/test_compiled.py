"""The scikit-learn-free predictor must give the Pipeline's probabilities."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from civictext.artifacts import load_model, read_meta, save_model
from civictext.classify import ClassifierConfig, train_classifier
from civictext.compiled import CompiledClassifier
from civictext.corpus import read_labelled
from civictext.errors import ArtifactError
from civictext.features import FeatureConfig

from .conftest import corpus_records

ODD_TEXTS = [
    "",
    " ",
    "\n\n  \t",
    "a",
    "１２３４５",
    "停",
    "ＡＢＣ abc  停水\x00\u200b",
    "好好好好好好",
    "İstanbul 停水",
]


def _same(model_dir: Path, texts: list[str]) -> None:
    full = load_model(model_dir).classifier
    fast = load_model(model_dir, compiled=True).classifier
    assert isinstance(fast, CompiledClassifier)
    assert fast.labels_ == full.labels_ and fast.multilabel_ == full.multilabel_
    a, b = full.predict_proba(texts), fast.predict_proba(texts)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert (a.argmax(axis=1) == b.argmax(axis=1)).all()
    for row_a, row_b in zip(a, b, strict=True):
        assert full.predict_labels(row_a) == fast.predict_labels(row_b)


def test_default_model_compiled_matches_pipeline_on_whole_corpus(default_model_dir: Path) -> None:
    _same(default_model_dir, [r["text"] for r in corpus_records()] + ODD_TEXTS)


@pytest.mark.parametrize(
    "config",
    [
        ClassifierConfig(multilabel="off"),
        ClassifierConfig(calibration_ensemble=True, features=FeatureConfig(char_ngram=(1, 3), min_df=1)),
        ClassifierConfig(classifier="logreg", C=10.0, calibration="none"),
        ClassifierConfig(classifier="sgd", features=FeatureConfig(word_ngram=None)),
        ClassifierConfig(features=FeatureConfig(char_ngram=None, word_ngram=(1, 3))),
    ],
    ids=["multiclass", "ensemble-c13", "logreg", "sgd-char-only", "word-only"],
)
def test_compiled_matches_pipeline_for_supported_configs(
    config: ClassifierConfig, small_train_file: Path, small_dev_file: Path, tmp_path: Path
) -> None:
    records, _ = read_labelled([small_train_file])
    model, _ = train_classifier(records, config)
    save_model(model, tmp_path / "m", meta={})
    dev, _ = read_labelled([small_dev_file])
    _same(tmp_path / "m", [r.text for r in dev] + ODD_TEXTS)


def test_binary_models_compile(tmp_path: Path, small_train_file: Path) -> None:
    records, _ = read_labelled([small_train_file])
    two = [r for r in records if r.label in ("water_supply", "childcare")]
    model, _ = train_classifier(two)
    save_model(model, tmp_path / "bin", meta={})
    _same(tmp_path / "bin", [r.text for r in records[:40]])


def test_unsupported_models_fall_back_to_the_pipeline(tmp_path: Path, small_train_file: Path) -> None:
    records, _ = read_labelled([small_train_file])
    model, _ = train_classifier(records, ClassifierConfig(classifier="complement_nb"))
    save_model(model, tmp_path / "cnb", meta={})
    meta = read_meta(tmp_path / "cnb")
    assert meta["compiled_file"] is None and "not compiled" in meta["compiled_note"]
    loaded = load_model(tmp_path / "cnb", compiled=True)
    assert not isinstance(loaded.classifier, CompiledClassifier)


def test_tampered_compiled_file_is_refused(default_model_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "m"
    shutil.copytree(default_model_dir, d)
    with open(d / "compiled.pkl", "ab") as fh:
        fh.write(b"x")
    with pytest.raises(ArtifactError, match="compiled.pkl: sha256 .* refusing"):
        load_model(d, compiled=True)


def test_one_shot_classify_does_not_import_sklearn() -> None:
    code = (
        "import sys, json; from civictext.pipeline import Analyzer; "
        "r = Analyzer.load().analyze('小区停水两天了'); "
        "print(json.dumps([r.category, 'sklearn' in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    category, imported = json.loads(out.stdout)
    assert category == "water_supply" and imported is False
