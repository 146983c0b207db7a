from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from civictext.classify import (
    ClassifierConfig,
    TextClassifier,
    build_pipeline,
    classification_metrics,
    evaluate_classifier,
    train_classifier,
)
from civictext.corpus import LabelledRecord, read_labelled
from civictext.errors import ConfigError, InputError
from civictext.features import FeatureConfig


def _rec(text: str, *labels: str) -> LabelledRecord:
    return LabelledRecord(None, text, labels, "test", 0)


def test_trains_and_predicts_calibrated_probabilities(small_train_file: Path, small_dev_file: Path) -> None:
    train, _ = read_labelled([small_train_file])
    dev, _ = read_labelled([small_dev_file])
    model, seconds = train_classifier(train)
    assert seconds > 0
    proba = model.predict_proba([r.text for r in dev])
    assert proba.shape == (len(dev), len(model.labels_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    metrics = evaluate_classifier(model, dev)
    assert set(metrics) >= {"accuracy", "macro_f1", "micro_f1", "per_class", "n"}
    # 12 texts per category are few, but far better than chance (1/14)
    assert metrics["accuracy"] > 0.4


def test_multilabel_data_trains_one_vs_rest(small_train_file: Path) -> None:
    train, _ = read_labelled([small_train_file])
    train = list(train)
    train += [
        _rec("小区停水三天物业不管,物业费照收", "water_supply", "property_management"),
        _rec("物业把二次供水水箱停了,全楼没水", "water_supply", "property_management"),
        _rec("水泵房归物业管,停水了找谁", "property_management", "water_supply"),
    ]
    model, _ = train_classifier(train)
    assert model.multilabel_
    row = model.predict_proba(["小区停水物业不管"])[0]
    labels = model.predict_labels(row)
    assert labels[0] == model.labels_[int(row.argmax())]
    assert all(row[model.labels_.index(x)] >= 0.5 for x in labels[1:])


def test_needs_two_labels_and_enough_texts_per_label() -> None:
    with pytest.raises(InputError, match="two distinct labels"):
        TextClassifier(ClassifierConfig()).fit(["a", "b", "c"], [["x"], ["x"], ["x"]])
    with pytest.raises(InputError, match="at least 3 training texts"):
        TextClassifier(ClassifierConfig()).fit(["甲", "乙", "丙", "丁"], [["x"], ["x"], ["x"], ["y"]])


@pytest.mark.parametrize("name", ["linear_svc", "logreg", "complement_nb", "sgd"])
def test_every_classifier_builds_and_clones(name: str) -> None:
    pipe = build_pipeline(ClassifierConfig(classifier=name), multilabel=False)  # type: ignore[arg-type]
    twin = clone(pipe)
    assert twin.get_params()["features__word__tokenizer"] == pipe.get_params()["features__word__tokenizer"]


def test_unknown_classifier_is_named() -> None:
    with pytest.raises(ConfigError, match="classifier.*'bert'"):
        build_pipeline(ClassifierConfig(classifier="bert"), multilabel=False)  # type: ignore[arg-type]


def test_char_only_features(small_train_file: Path) -> None:
    train, _ = read_labelled([small_train_file])
    cfg = ClassifierConfig(features=FeatureConfig(word_ngram=None))
    model, _ = train_classifier(train, cfg)
    assert "word" not in dict(model.pipeline_.named_steps["features"].transformer_list)


def test_fitted_model_pickles_round_trip(small_train_file: Path) -> None:
    train, _ = read_labelled([small_train_file])
    model, _ = train_classifier(train)
    twin = pickle.loads(pickle.dumps(model))
    texts = ["自来水发黄有异味", "孩子托育机构收费太高"]
    np.testing.assert_array_equal(model.predict_proba(texts), twin.predict_proba(texts))


def test_config_round_trips_through_dict() -> None:
    cfg = ClassifierConfig(C=2.0, features=FeatureConfig(char_ngram=(2, 4), hmm=True))
    assert ClassifierConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError):
        ClassifierConfig.from_dict({"colour": "red"})


def test_metrics_table() -> None:
    m = classification_metrics(["a", "a", "b", "c"], ["a", "b", "b", "c"])
    assert m["accuracy"] == 0.75 and m["n"] == 4
    assert m["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
