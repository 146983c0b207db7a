"""A scikit-learn-free predictor compiled from a fitted :class:`~civictext.classify.TextClassifier`.

Importing scikit-learn (through scipy.stats) costs about 0.7 s, more than the rest of a
one-shot ``civictext classify`` call, and its per-call overhead dominates short texts. A
fitted linear pipeline is small data, though: vocabularies, IDF weights, coefficients and
sigmoid calibrators. :func:`compile_classifier` extracts them at save time;
:class:`CompiledClassifier` recomputes exactly what the Pipeline computes (the same
analyzers, sublinear TF-IDF with per-branch L2 norm, decision function, sigmoid
calibration and normalization) with numpy alone. The test suite checks that its
probabilities equal the Pipeline's (to 1e-9) on the whole corpus.

Supported: word/char TF-IDF branches, linear models with ``coef_`` (LinearSVC, logistic
regression, SGD) under sigmoid calibration (any number of calibrated folds), logistic
regression without calibration, and one-vs-rest over those. Anything else is not compiled
(:class:`NotCompilable`) and the Pipeline is used.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .normalize import normalize
from .segment import Segmenter

_WHITE_SPACES = re.compile(r"\s\s+")  # as sklearn's VectorizerMixin._white_spaces


class NotCompilable(Exception):
    """The fitted pipeline uses a component the compiled predictor does not reproduce."""


@dataclass
class _Branch:
    kind: str  # "word" or "char"
    ngram: tuple[int, int]
    vocab: dict[str, int]
    idf: np.ndarray
    sublinear: bool
    offset: int
    segmenter: Segmenter | None

    def grams(self, text: str) -> list[str]:
        lo, hi = self.ngram
        if self.kind == "word":
            assert self.segmenter is not None
            toks = self.segmenter.cut(text)
            out = list(toks) if lo == 1 else []
            n_tok = len(toks)
            for n in range(max(lo, 2), min(hi + 1, n_tok + 1)):
                out.extend(" ".join(toks[i : i + n]) for i in range(n_tok - n + 1))
            return out
        s = _WHITE_SPACES.sub(" ", text)
        out = list(s) if lo == 1 else []
        n_chr = len(s)
        for n in range(max(lo, 2), min(hi + 1, n_chr + 1)):
            out.extend(s[i : i + n] for i in range(n_chr - n + 1))
        return out

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts = Counter(map(self.vocab.get, self.grams(text)))
        counts.pop(None, None)
        if not counts:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        idx = np.fromiter(counts.keys(), np.int64, len(counts))
        val = np.fromiter(counts.values(), np.float32, len(counts))
        if self.sublinear:
            np.log(val, out=val)
            val += np.float32(1.0)
        val *= self.idf[idx]  # float32 in place, as TfidfTransformer does on float32 counts
        norm = np.sqrt(np.dot(val, val, out=None))
        if norm > 0:
            val /= norm
        return idx + self.offset, val


@dataclass
class _Head:
    """One calibrated linear model: decision = X·coef + intercept, then per-column calibration.

    ``rows`` is where its decision columns sit in the classifier's stacked weight matrix.
    """

    coef: np.ndarray  # (n_columns, n_features)
    intercept: np.ndarray  # (n_columns,)
    kind: str  # "sigmoid" or "softmax"
    a: np.ndarray | None  # sigmoid a_, per column
    b: np.ndarray | None
    columns: np.ndarray  # class index of each decision column
    n_classes: int
    rows: slice = field(default_factory=lambda: slice(0, 0))

    def proba_from_decision(self, df: np.ndarray) -> np.ndarray:
        n = self.n_classes
        if self.kind == "softmax":
            if n == 2:
                p1 = _expit(df[0])
                return np.array([1.0 - p1, p1])
            e = np.exp(df - df.max())
            return np.asarray(e / e.sum())
        assert self.a is not None and self.b is not None
        calibrated = _expit(-(self.a * df + self.b))
        proba = np.zeros(n)
        if n == 2:
            proba[1] = calibrated[0]
            proba[0] = 1.0 - proba[1]
        else:
            proba[self.columns] = calibrated
            s = proba.sum()
            proba = proba / s if s != 0 else np.full(n, 1.0 / n)
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba


def _expit(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-x))


class CompiledClassifier:
    """numpy-only twin of a fitted TextClassifier (same ``labels_``, ``predict_proba``, ``predict_labels``)."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.labels_: list[str] = list(state["labels"])
        self.multilabel_: bool = bool(state["multilabel"])
        self.label_threshold: float = float(state["label_threshold"])
        self.segmenter_params: dict[str, Any] = dict(state["segmenter"] or {})
        self.segmenter_params.setdefault("places_dict", False)  # compiled before the gazetteer dictionary
        seg = Segmenter(**self.segmenter_params) if state["segmenter"] is not None else None
        self._branches = [
            _Branch(b["kind"], tuple(b["ngram"]), b["vocab"], b["idf"], b["sublinear"], b["offset"], seg)
            for b in state["branches"]
        ]
        # heads[k] is a list of folds (probabilities averaged), one entry per OvR label when multilabel.
        self._heads = [[_Head(**h) for h in folds] for folds in state["heads"]]
        # Stack every head's weights into one (n_features, n_rows) matrix: one gather and one
        # product per text instead of one per head.
        blocks, intercepts, start = [], [], 0
        for folds in self._heads:
            for h in folds:
                h.rows = slice(start, start + h.coef.shape[0])
                start += h.coef.shape[0]
                blocks.append(h.coef)
                intercepts.append(h.intercept)
        self._weights_t = np.ascontiguousarray(np.vstack(blocks).T)
        self._intercept = np.concatenate(intercepts)
        # Common case, vectorised: every label one binary sigmoid-calibrated fold (one-vs-rest).
        self._ovr_sigmoid = self.multilabel_ and all(
            len(folds) == 1 and folds[0].kind == "sigmoid" and folds[0].n_classes == 2 for folds in self._heads
        )
        if self._ovr_sigmoid:
            self._a = np.concatenate([folds[0].a for folds in self._heads])
            self._b = np.concatenate([folds[0].b for folds in self._heads])

    def _row(self, text: str) -> np.ndarray:
        t = normalize(text)
        parts = [b.features(t) for b in self._branches]
        idx = np.concatenate([p[0] for p in parts])
        val = np.concatenate([p[1] for p in parts]).astype(np.float64)
        df = val @ self._weights_t[idx] + self._intercept
        if self._ovr_sigmoid:
            p = _expit(-(self._a * df + self._b))
            p[(p > 1.0) & (p <= 1.0 + 1e-5)] = 1.0
            return np.asarray(p)
        if self.multilabel_:
            out = np.empty(len(self._heads))
            for k, folds in enumerate(self._heads):
                out[k] = np.mean([h.proba_from_decision(df[h.rows])[1] for h in folds])
            return out
        (folds,) = self._heads
        return np.asarray(np.mean([h.proba_from_decision(df[h.rows]) for h in folds], axis=0))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        rows = [self._row(t) for t in texts]
        return np.vstack(rows) if rows else np.zeros((0, len(self.labels_)))

    def predict_labels(self, proba_row: np.ndarray) -> list[str]:
        best = int(proba_row.argmax())
        if not self.multilabel_:
            return [self.labels_[best]]
        order = np.argsort(-proba_row)
        chosen = [self.labels_[i] for i in order if proba_row[i] >= self.label_threshold]
        return chosen or [self.labels_[best]]

    def switch_backend(self, backend: str) -> None:
        params = dict(self.segmenter_params, backend=backend)
        seg = Segmenter(**params)
        for b in self._branches:
            if b.segmenter is not None:
                b.segmenter = seg
        self.segmenter_params = params


# -- compiling (imports scikit-learn; runs at save time) ------------------------------------


def _head_from_linear(est: Any, calibrated: Any | None, n_classes: int, columns: np.ndarray) -> dict[str, Any]:
    if not hasattr(est, "coef_"):
        raise NotCompilable(f"{type(est).__name__} has no linear coef_")
    coef = np.asarray(est.coef_, dtype=np.float64)
    intercept = np.asarray(est.intercept_, dtype=np.float64).reshape(-1)
    if calibrated is None:
        return {"coef": coef, "intercept": intercept, "kind": "softmax", "a": None, "b": None,
                "columns": columns, "n_classes": n_classes}  # fmt: skip
    cals = calibrated.calibrators
    if not all(type(c).__name__ == "_SigmoidCalibration" for c in cals):
        raise NotCompilable("only sigmoid calibration is compiled")
    return {
        "coef": coef,
        "intercept": intercept,
        "kind": "sigmoid",
        "a": np.array([float(c.a_) for c in cals]),
        "b": np.array([float(c.b_) for c in cals]),
        "columns": columns,
        "n_classes": n_classes,
    }


def _heads_of(est: Any) -> list[dict[str, Any]]:
    """Folds of one (possibly calibrated) estimator as head dicts."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import LabelEncoder

    if isinstance(est, CalibratedClassifierCV):
        if est.method != "sigmoid":
            raise NotCompilable(f"calibration method {est.method!r} is not compiled")
        heads = []
        for cc in est.calibrated_classifiers_:
            n = len(cc.classes)
            cols = LabelEncoder().fit(cc.classes).transform(cc.estimator.classes_)
            if n == 2:
                cols = np.array([0])
            heads.append(_head_from_linear(cc.estimator, cc, n, np.asarray(cols)))
        return heads
    if isinstance(est, LogisticRegression):
        n = len(est.classes_)
        return [_head_from_linear(est, None, n, np.arange(n))]
    raise NotCompilable(f"{type(est).__name__} without sigmoid calibration is not compiled")


def compile_classifier(model: Any) -> dict[str, Any]:
    """The state of a :class:`CompiledClassifier` for a fitted TextClassifier (raises NotCompilable)."""
    from sklearn.multiclass import OneVsRestClassifier

    features = model.pipeline_.named_steps["features"]
    if getattr(features, "transformer_weights", None):
        raise NotCompilable("transformer_weights are not compiled")
    branches = []
    offset = 0
    seg_params = None
    for name, vec in features.transformer_list:
        if vec.norm != "l2" or not vec.use_idf or vec.binary or vec.stop_words is not None:
            raise NotCompilable(f"branch {name}: only l2-normalised idf-weighted counts are compiled")
        if vec.preprocessor is not normalize:
            raise NotCompilable(f"branch {name}: unknown preprocessor")
        if vec.analyzer == "word" and isinstance(vec.tokenizer, Segmenter):
            kind = "word"
            seg_params = vec.tokenizer.params()
        elif vec.analyzer == "char":
            kind = "char"
        else:
            raise NotCompilable(f"branch {name}: analyzer {vec.analyzer!r} is not compiled")
        branches.append(
            {
                "kind": kind,
                "ngram": tuple(vec.ngram_range),
                "vocab": {str(k): int(v) for k, v in vec.vocabulary_.items()},
                "idf": np.asarray(vec.idf_, dtype=np.float64),
                "sublinear": bool(vec.sublinear_tf),
                "offset": offset,
            }
        )
        offset += len(vec.vocabulary_)
    clf = model.pipeline_.named_steps["clf"]
    if isinstance(clf, OneVsRestClassifier):
        heads = []
        for est in clf.estimators_:
            if type(est).__name__ == "_ConstantPredictor":
                raise NotCompilable("a one-vs-rest label is constant")
            heads.append(_heads_of(est))
    else:
        heads = [_heads_of(clf)]
    return {
        "labels": list(model.labels_),
        "multilabel": bool(model.multilabel_),
        "label_threshold": float(model.config.label_threshold),
        "segmenter": seg_params,
        "branches": branches,
        "heads": heads,
    }
