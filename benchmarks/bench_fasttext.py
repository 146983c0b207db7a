"""THUCNews: civictext pipelines beside fastText trained on the same training file, same session.

Usage: python benchmarks/bench_fasttext.py [--epoch 25] [--word-ngrams 2]

fastText (the `fasttext` package) gets the headlines segmented by our Segmenter (space-joined
tokens), `__label__<class>` prefixes, one thread (deterministic). Prints a Markdown table of dev
accuracy and training time. Needs ../shared/data/thucnews-headlines and `pip install fasttext`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import typer

from civictext.classify import ClassifierConfig, evaluate_classifier, train_classifier
from civictext.corpus import read_labelled
from civictext.features import FeatureConfig
from civictext.normalize import normalize
from civictext.segment import Segmenter

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "thucnews-headlines"


def main(epoch: int = 25, word_ngrams: int = 2, lr: float = 0.5) -> None:
    import fasttext

    train, _ = read_labelled([DATA / "train.jsonl"])
    dev, _ = read_labelled([DATA / "dev.jsonl"])
    seg = Segmenter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        path.write_text(
            "".join(f"__label__{r.label} {' '.join(seg.cut(normalize(r.text)))}\n" for r in train), encoding="utf-8"
        )
        t0 = time.perf_counter()
        model = fasttext.train_supervised(
            str(path), epoch=epoch, lr=lr, wordNgrams=word_ngrams, minCount=1, thread=1, verbose=0
        )
        secs = time.perf_counter() - t0
        # the low-level predict: fasttext 0.9.3's wrapper calls np.array(copy=False), which numpy 2 refuses
        pred = [model.f.predict(" ".join(seg.cut(normalize(r.text))), 1, 0.0, "strict")[0][1].removeprefix("__label__")
                for r in dev]  # fmt: skip
        acc = sum(p == r.label for p, r in zip(pred, dev, strict=True)) / len(dev)
        rows.append((f"fastText (epoch {epoch}, wordNgrams {word_ngrams}, lr {lr}, 1 thread) on our tokens", acc, secs))
    for name, cfg in {
        "civictext default: word 1-2 + char 1-2, calibrated LinearSVC C=1": ClassifierConfig(),
        "civictext char 1-2 only": ClassifierConfig(features=FeatureConfig(word_ngram=None)),
    }.items():
        m, secs = train_classifier(train, cfg)
        rows.append((name, evaluate_classifier(m, dev)["accuracy"], secs))
    print("| pipeline | THUCNews dev accuracy | training s |")
    print("|---|---:|---:|")
    for name, acc, secs in rows:
        print(f"| {name} | {acc:.4f} | {secs:.1f} |")


if __name__ == "__main__":
    typer.run(main)
