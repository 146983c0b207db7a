"""Build, train and evaluate the text classifier (a scikit-learn Pipeline).

The persisted object is a :class:`TextClassifier`: the whole fitted Pipeline (raw text in,
probabilities out) plus its label set and mode. Single-label data trains a calibrated
multi-class model; multi-label data (any record with two or more ``labels``) trains one
calibrated binary model per label (one-vs-rest), and the primary category is the label
with the highest probability.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.multiclass import OneVsRestClassifier
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC

from .corpus import LabelledRecord
from .errors import ConfigError, InputError, value_invalid_msg
from .features import FeatureConfig, build_features

ClassifierName = Literal["linear_svc", "logreg", "complement_nb", "sgd"]
CLASSIFIERS = ("linear_svc", "logreg", "complement_nb", "sgd")
MultiLabelMode = Literal["auto", "on", "off"]


@dataclass(frozen=True)
class ClassifierConfig:
    """Everything that defines a trained model, recorded in its metadata.

    Attributes
    ----------
    features : FeatureConfig
        Segmentation and vectorizer settings.
    classifier : {"linear_svc", "logreg", "complement_nb", "sgd"}
        The linear model.
    C : float
        Inverse regularisation of linear_svc / logreg (alpha for complement_nb and sgd).
    class_weight : {"balanced", None}
        Re-weight classes inversely to their frequency.
    calibration : {"sigmoid", "isotonic", "none"}
        How scores become probabilities (``none`` only for models with ``predict_proba``).
    calibration_cv : int
        Folds of ``CalibratedClassifierCV``.
    calibration_ensemble : bool
        Keep one calibrated model per fold (True) or fit calibration on cross-validated
        predictions and one final model on all the data (False: measured as accurate or
        better, and a third of the prediction cost).
    multilabel : {"auto", "on", "off"}
        ``auto``: multi-label when the training data has a record with two labels.
    label_threshold : float
        A multi-label model predicts every label whose probability reaches it.
    random_state : int
        Seed of every randomised step.
    """

    features: FeatureConfig = field(default_factory=FeatureConfig)
    classifier: ClassifierName = "linear_svc"
    C: float = 1.0
    class_weight: str | None = "balanced"
    calibration: str = "sigmoid"
    calibration_cv: int = 3
    calibration_ensemble: bool = False
    multilabel: MultiLabelMode = "auto"
    label_threshold: float = 0.5
    random_state: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClassifierConfig:
        d = dict(d)
        feats = dict(d.pop("features", {}) or {})
        for key in ("word_ngram", "char_ngram"):
            if feats.get(key) is not None:
                feats[key] = tuple(feats[key])
        try:
            return cls(features=FeatureConfig(**feats), **d)
        except TypeError as exc:
            raise ConfigError(f"invalid classifier configuration: {exc}") from None


def _base_estimator(config: ClassifierConfig) -> Any:
    if config.classifier not in CLASSIFIERS:
        raise ConfigError(value_invalid_msg("classifier", config.classifier, list(CLASSIFIERS)))
    if config.classifier == "linear_svc":
        est: Any = LinearSVC(C=config.C, class_weight=config.class_weight, random_state=config.random_state)
    elif config.classifier == "logreg":
        est = LogisticRegression(
            C=config.C, class_weight=config.class_weight, max_iter=2000, random_state=config.random_state
        )
    elif config.classifier == "complement_nb":
        est = ComplementNB(alpha=config.C)
    else:
        est = SGDClassifier(
            loss="modified_huber",
            alpha=config.C * 1e-5,
            class_weight=config.class_weight,
            random_state=config.random_state,
            max_iter=50,
            tol=1e-4,
        )
    if config.calibration == "none":
        if not hasattr(est, "predict_proba"):
            raise ConfigError(
                f"classifier {config.classifier!r} has no predict_proba; use calibration 'sigmoid' or 'isotonic'"
            )
        return est
    if config.calibration not in ("sigmoid", "isotonic"):
        raise ConfigError(value_invalid_msg("calibration", config.calibration, ["sigmoid", "isotonic", "none"]))
    return CalibratedClassifierCV(
        est, method=config.calibration, cv=config.calibration_cv, ensemble=config.calibration_ensemble
    )


def build_pipeline(config: ClassifierConfig, *, multilabel: bool) -> Pipeline:
    """Unfitted ``Pipeline([("features", ...), ("clf", ...)])`` for ``config``."""
    clf = _base_estimator(config)
    if multilabel:
        clf = OneVsRestClassifier(clf)
    return Pipeline([("features", build_features(config.features)), ("clf", clf)])


class TextClassifier:
    """A fitted pipeline with its label set: texts in, label probabilities out.

    Attributes
    ----------
    pipeline_ : sklearn.pipeline.Pipeline
        The fitted pipeline.
    labels_ : list of str
        Labels in the column order of :meth:`predict_proba`.
    multilabel_ : bool
        One-vs-rest model with independent per-label probabilities.
    config : ClassifierConfig
        The configuration it was trained with.
    """

    def __init__(self, config: ClassifierConfig) -> None:
        self.config = config

    def fit(self, texts: Sequence[str], labels: Sequence[Sequence[str]]) -> TextClassifier:
        if len(texts) != len(labels):
            raise InputError(f"{len(texts)} texts but {len(labels)} label lists")
        primaries = [ls[0] for ls in labels]
        distinct = sorted(set(primaries))
        if len(distinct) < 2:
            raise InputError(f"training needs at least two distinct labels, found {distinct}")
        mode = self.config.multilabel
        self.multilabel_ = mode == "on" or (mode == "auto" and any(len(ls) > 1 for ls in labels))
        cv = self.config.calibration_cv
        if self.config.calibration != "none":
            pool = [x for ls in labels for x in ls] if self.multilabel_ else primaries
            counts = {lab: pool.count(lab) for lab in sorted(set(pool))}
            small = {k: v for k, v in counts.items() if v < cv}
            if small:
                raise InputError(
                    f"calibration uses {cv}-fold cross-validation, so every label needs at least {cv} "
                    f"training texts; too few for {small}"
                )
        self.pipeline_ = build_pipeline(self.config, multilabel=self.multilabel_)
        if self.multilabel_:
            self.binarizer_ = MultiLabelBinarizer()
            y = self.binarizer_.fit_transform([list(ls) for ls in labels])
            self.pipeline_.fit(list(texts), y)
            self.labels_ = [str(c) for c in self.binarizer_.classes_]
        else:
            self.pipeline_.fit(list(texts), primaries)
            self.labels_ = [str(c) for c in self.pipeline_.classes_]
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, shape (n_texts, n_labels), columns in ``labels_`` order."""
        if not hasattr(self, "pipeline_"):
            raise ConfigError("TextClassifier is not fitted; call fit() or load a model directory")
        return np.asarray(self.pipeline_.predict_proba(list(texts)), dtype=np.float64)

    def predict(self, texts: Sequence[str]) -> list[str]:
        proba = self.predict_proba(texts)
        return [self.labels_[i] for i in proba.argmax(axis=1)]

    def predict_labels(self, proba_row: np.ndarray) -> list[str]:
        """Labels predicted from one probability row (all above threshold for multi-label)."""
        best = int(proba_row.argmax())
        if not self.multilabel_:
            return [self.labels_[best]]
        order = np.argsort(-proba_row)
        chosen = [self.labels_[i] for i in order if proba_row[i] >= self.config.label_threshold]
        return chosen or [self.labels_[best]]


def train_classifier(
    records: Sequence[LabelledRecord], config: ClassifierConfig | None = None
) -> tuple[TextClassifier, float]:
    """Fit a :class:`TextClassifier` on labelled records; returns it and the seconds it took."""
    if not records:
        raise InputError("no training records")
    cfg = config or ClassifierConfig()
    t0 = time.perf_counter()
    model = TextClassifier(cfg).fit([r.text for r in records], [r.labels for r in records])
    return model, time.perf_counter() - t0


def classification_metrics(
    gold: Sequence[str], pred: Sequence[str], *, labels: Sequence[str] | None = None
) -> dict[str, Any]:
    """accuracy, macro/micro F1 and a per-class table for single-label predictions."""
    if not gold:
        raise InputError("no records to evaluate")
    label_list = sorted(set(labels or []) | set(gold) | set(pred))
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=label_list, zero_division=0)
    present = sorted(set(gold))
    per_class = {
        lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i, lab in enumerate(label_list)
    }
    return {
        "n": len(gold),
        "accuracy": float(accuracy_score(gold, pred)),
        # macro-F1 over the labels present in the gold data (a label the data never has
        # cannot be judged), micro-F1 over every prediction.
        "macro_f1": float(f1_score(gold, pred, labels=present, average="macro", zero_division=0)),
        "micro_f1": float(f1_score(gold, pred, labels=label_list, average="micro", zero_division=0)),
        "per_class": per_class,
    }


def evaluate_classifier(model: TextClassifier, records: Sequence[LabelledRecord]) -> dict[str, Any]:
    """Metrics of ``model`` on labelled records (primary labels; plus multi-label scores when gold has them)."""
    if not records:
        raise InputError("no records to evaluate")
    texts = [r.text for r in records]
    proba = model.predict_proba(texts)
    pred = [model.labels_[i] for i in proba.argmax(axis=1)]
    metrics = classification_metrics([r.label for r in records], pred, labels=model.labels_)
    unknown = sorted({r.label for r in records} - set(model.labels_))
    if unknown:
        metrics["labels_unknown_to_model"] = unknown
    if any(len(r.labels) > 1 for r in records):
        mlb = MultiLabelBinarizer(classes=sorted(set(model.labels_) | {x for r in records for x in r.labels}))
        y_true = mlb.fit_transform([list(r.labels) for r in records])
        y_pred = mlb.transform([model.predict_labels(row) for row in proba])
        metrics["multilabel"] = {
            "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
            "samples_f1": float(f1_score(y_true, y_pred, average="samples", zero_division=0)),
        }
    return metrics
