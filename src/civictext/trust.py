"""Deciding where to trust the model: per-category review thresholds, calibration, active learning.

- :func:`find_thresholds`: for each category, the lowest confidence at which the model's
  predictions of that category reach a target precision on held-out data; routing sends
  cases below it to review. :func:`write_thresholds` puts them into a routing table.
- :func:`calibration`: reliability of the confidences (expected calibration error and a
  reliability-diagram PNG).
- :func:`suggest`: uncertainty sampling — the unlabelled texts whose labels would teach the
  model most (smallest margin between its two best labels), written as doccano JSON Lines.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .corpus import LabelledRecord
from .errors import InputError


def _predict(model: Any, texts: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    proba = model.predict_proba(list(texts))
    return proba, [model.labels_[i] for i in proba.argmax(axis=1)]


def find_thresholds(
    model: Any, records: Sequence[LabelledRecord], *, precision: float = 0.9, min_support: int = 5
) -> dict[str, dict[str, Any]]:
    """Per predicted category: the threshold reaching ``precision``, with what it keeps.

    A category whose predictions never reach the target (or that has fewer than
    ``min_support`` predictions) gets threshold 1.0: every such case goes to review.
    """
    if not records:
        raise InputError("no held-out records to choose thresholds on")
    proba, pred = _predict(model, [r.text for r in records])
    conf = proba.max(axis=1)
    gold = [r.label for r in records]
    out: dict[str, dict[str, Any]] = {}
    for label in model.labels_:
        idx = [i for i, p in enumerate(pred) if p == label]
        if len(idx) < min_support:
            out[label] = {"threshold": 1.0, "precision": None, "kept": 0, "predicted": len(idx),
                          "note": f"fewer than {min_support} predictions to judge"}  # fmt: skip
            continue
        order = sorted(idx, key=lambda i: -conf[i])
        correct = np.cumsum([gold[i] == label for i in order])
        best = None
        for k in range(len(order)):  # keep the top k+1 most confident predictions
            if k + 1 >= min_support and correct[k] / (k + 1) >= precision:
                best = k
        if best is None:
            out[label] = {"threshold": 1.0, "precision": float(correct[-1] / len(order)), "kept": 0,
                          "predicted": len(order), "note": f"precision {precision} not reached"}  # fmt: skip
        else:
            # rounded down, so the case that set it still passes it
            threshold = math.floor(float(conf[order[best]]) * 1e4) / 1e4
            out[label] = {"threshold": threshold, "precision": float(correct[best] / (best + 1)),
                          "kept": best + 1, "predicted": len(order)}  # fmt: skip
    return out


def write_thresholds(routes_text: str, thresholds: dict[str, float]) -> str:
    """The routing table text with its ``[thresholds]`` table replaced (other content kept)."""
    body = "\n".join(f"{k} = {v}" for k, v in sorted(thresholds.items()))
    section = f"[thresholds]\n# chosen by `civictext thresholds` for a target precision on held-out data\n{body}\n"
    pattern = re.compile(r"^\[thresholds\]\s*\n(?:(?!^\[).*\n?)*", re.M)
    if pattern.search(routes_text):
        return pattern.sub(section + "\n", routes_text, count=1)
    return routes_text.rstrip("\n") + "\n\n" + section


def calibration(
    model: Any, records: Sequence[LabelledRecord], *, bins: int = 10, png: str | Path | None = None
) -> dict[str, Any]:
    """Expected calibration error of the top label's confidence, and the reliability curve."""
    proba, pred = _predict(model, [r.text for r in records])
    conf = proba.max(axis=1)
    correct = np.array([p == r.label for p, r in zip(pred, records, strict=True)], dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        n = int(mask.sum())
        if n:
            acc, mean_conf = float(correct[mask].mean()), float(conf[mask].mean())
            ece += n / len(conf) * abs(acc - mean_conf)
            rows.append({"bin": [float(lo), float(hi)], "n": n, "accuracy": acc, "confidence": mean_conf})
    result = {"ece": ece, "n": len(conf), "accuracy": float(correct.mean()), "bins": rows}
    if png is not None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return result
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
        xs = [float(r["confidence"]) for r in rows]  # type: ignore[arg-type]
        ys = [float(r["accuracy"]) for r in rows]  # type: ignore[arg-type]
        ax.plot(xs, ys, marker="o", label="model")
        ax.set_xlabel("confidence of the top label")
        ax.set_ylabel("accuracy")
        ax.set_title(f"Reliability (ECE {ece:.3f}, n={len(conf)})")
        ax.legend()
        fig.tight_layout()
        fig.savefig(png, dpi=110)
        plt.close(fig)
    return result


def suggest(model: Any, texts: Sequence[tuple[str | None, str]], *, n: int = 50) -> list[dict[str, Any]]:
    """The ``n`` texts with the smallest margin between the two best labels, as doccano records."""
    if not texts:
        raise InputError("no unlabelled texts to choose from")
    proba, _ = _predict(model, [t for _, t in texts])
    top2 = np.sort(proba, axis=1)[:, -2:] if proba.shape[1] > 1 else np.hstack([np.zeros((len(proba), 1)), proba])
    margin = top2[:, 1] - top2[:, 0]
    order = np.argsort(margin, kind="stable")[:n]
    out = []
    for i in order:
        best = np.argsort(-proba[i])[:2]
        out.append({
            "text": texts[i][1],
            "label": [],
            "meta": {"id": texts[i][0], "margin": round(float(margin[i]), 4),
                     "model_suggests": [model.labels_[j] for j in best]},
        })  # fmt: skip
    return out


def dump_jsonl(rows: Sequence[dict[str, Any]], path: str | Path) -> None:
    Path(path).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
