from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from civictext.artifacts import load_model, read_meta
from civictext.errors import ArtifactError


def test_round_trip_and_metadata(small_model_dir: Path) -> None:
    loaded = load_model(small_model_dir)
    meta = read_meta(small_model_dir)
    assert meta["labels"] == loaded.classifier.labels_
    assert meta["versions"]["scikit-learn"] and meta["versions"]["jieba"]
    assert meta["segmenter"]["resolved_backend"] in ("jieba", "rjieba")
    assert set(meta["segmenter"]["dict_sha256"]) == {"governance_dict.txt", "places_dict.txt"}
    assert loaded.version.startswith("small@")


def test_refuses_a_model_file_that_does_not_match(small_model_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "tampered"
    shutil.copytree(small_model_dir, bad)
    with open(bad / "model.joblib", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ArtifactError, match="does not match .* refusing"):
        load_model(bad)


def test_missing_and_corrupt_directories(small_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not found"):
        load_model(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match="meta.json is missing"):
        load_model(tmp_path / "empty")
    corrupt = tmp_path / "corrupt"
    shutil.copytree(small_model_dir, corrupt)
    (corrupt / "meta.json").write_text("{ not json", encoding="utf-8")
    with pytest.raises(ArtifactError, match="corrupt"):
        load_model(corrupt)
    nofile = tmp_path / "nofile"
    shutil.copytree(small_model_dir, nofile)
    (nofile / "model.joblib").unlink()
    with pytest.raises(ArtifactError, match="model.joblib is missing"):
        load_model(nofile)


def test_garbage_with_matching_checksum_is_reported(small_model_dir: Path, tmp_path: Path) -> None:
    from civictext.segment import file_sha256

    d = tmp_path / "garbage"
    shutil.copytree(small_model_dir, d)
    (d / "model.joblib").write_bytes(b"not a pickle at all")
    meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
    meta["model_sha256"] = file_sha256(d / "model.joblib")
    (d / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ArtifactError, match="cannot be loaded"):
        load_model(d)


def test_switching_backend_predicts_identically_without_hmm(small_model_dir: Path) -> None:
    import numpy as np

    from .conftest import corpus_records

    texts = [r["text"] for r in corpus_records()[:300]]
    a = load_model(small_model_dir, backend="jieba").classifier.predict_proba(texts)
    b = load_model(small_model_dir, backend="rjieba").classifier.predict_proba(texts)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_switching_backend_of_an_hmm_model_warns(tmp_path: Path, small_train_file: Path) -> None:
    from civictext.artifacts import save_model
    from civictext.classify import ClassifierConfig, train_classifier
    from civictext.corpus import read_labelled
    from civictext.errors import CivicTextWarning
    from civictext.features import FeatureConfig

    records, _ = read_labelled([small_train_file])
    model, _ = train_classifier(records, ClassifierConfig(features=FeatureConfig(hmm=True)))
    save_model(model, tmp_path / "hmm", meta={})
    assert read_meta(tmp_path / "hmm")["segmenter"]["hmm"] is True
    assert read_meta(tmp_path / "hmm")["segmenter"]["resolved_backend"] == "jieba"
    with pytest.warns(CivicTextWarning, match="HMM"):
        load_model(tmp_path / "hmm", backend="rjieba")
