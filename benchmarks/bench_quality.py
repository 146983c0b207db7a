"""Quality benchmarks on public data, printed as Markdown rows with data checksums.

Usage:
  python benchmarks/bench_quality.py thucnews [--C 1.0]        # train 45k headlines, accuracy on dev
  python benchmarks/bench_quality.py teddycup [--folds 5]      # stratified k-fold macro-F1
  python benchmarks/bench_quality.py hmm                       # HMM on/off: corpus dev + Teddy Cup 5-fold
  python benchmarks/bench_quality.py backends                  # THUCNews training time per backend
  python benchmarks/bench_quality.py candidates                # the configurations compared for the default
  python benchmarks/bench_quality.py calibration               # ECE of the shipped model on the dev split

Every configuration is a civictext ClassifierConfig; nothing trained here is shipped.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import typer

from civictext.classify import ClassifierConfig, evaluate_classifier, train_classifier
from civictext.corpus import read_labelled
from civictext.features import FeatureConfig
from civictext.segment import file_sha256

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
app = typer.Typer(add_completion=False)


def _data(rel: str) -> Path:
    p = DATA / rel
    if not p.is_file():
        raise SystemExit(f"needs ../shared/data/{rel}")
    return p


def kfold_macro_f1(path: Path, config: ClassifierConfig, folds: int, seed: int = 0) -> tuple[float, float, float]:
    """Mean and std of macro-F1 (and mean accuracy) over stratified k folds."""
    from sklearn.model_selection import StratifiedKFold

    records, _ = read_labelled([path])
    labels = [r.label for r in records]
    f1s, accs = [], []
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(records, labels):
        model, _ = train_classifier([records[i] for i in tr], config)
        m = evaluate_classifier(model, [records[i] for i in te])
        f1s.append(m["macro_f1"])
        accs.append(m["accuracy"])
    return statistics.mean(f1s), statistics.stdev(f1s), statistics.mean(accs)


CONFIGS = {
    "default: w1-2 + c1-2 (min_df 2), LinearSVC C=1, calibrated": ClassifierConfig(),
    "w1-2 + c1-3 (min_df 1), LinearSVC C=0.5, calibrated": ClassifierConfig(
        C=0.5, features=FeatureConfig(char_ngram=(1, 3), min_df=1)
    ),
}


@app.command()
def thucnews() -> None:
    tr, dv = _data("thucnews-headlines/train.jsonl"), _data("thucnews-headlines/dev.jsonl")
    train, _ = read_labelled([tr])
    dev, _ = read_labelled([dv])
    print(f"train {tr.name} sha256 {file_sha256(tr)[:16]}…, dev {dv.name} sha256 {file_sha256(dv)[:16]}…")
    print("| pipeline | dev accuracy | dev macro-F1 | training s |")
    print("|---|---:|---:|---:|")
    for name, cfg in CONFIGS.items():
        model, secs = train_classifier(train, cfg)
        m = evaluate_classifier(model, dev)
        print(f"| {name} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | {secs:.1f} |", flush=True)


@app.command()
def teddycup(folds: int = 5) -> None:
    p = _data("teddycup2020-messages/train.jsonl")
    print(f"{p.name} sha256 {file_sha256(p)[:16]}…, stratified {folds}-fold, shuffle seed 0")
    print("| pipeline | macro-F1 mean ± std | accuracy mean | seconds |")
    print("|---|---:|---:|---:|")
    for name, cfg in CONFIGS.items():
        t0 = time.perf_counter()
        mean, std, acc = kfold_macro_f1(p, cfg, folds)
        print(f"| {name} | {mean:.4f} ± {std:.4f} | {acc:.4f} | {time.perf_counter() - t0:.0f} |", flush=True)


@app.command()
def candidates() -> None:
    """The configurations compared to choose the default: corpus dev split, and our hand labels of
    real messages (never trained on) when ../shared is present."""
    import io

    import joblib

    from civictext.handlabels import TEDDYCUP_SHA256, join_hand_labels
    from civictext.training import load_corpus_split

    train, dev, _ = load_corpus_split(ROOT / "corpus")
    src = DATA / "teddycup2020-messages" / "train.jsonl"
    real = (
        join_hand_labels(ROOT / "corpus" / "teddycup2020_labels.tsv", src, expected_sha256=TEDDYCUP_SHA256)
        if src.is_file()
        else []
    )
    cands = {
        "word 1-2 + char 1-3 (min_df 1), C=0.5 (first version)": ClassifierConfig(
            C=0.5, features=FeatureConfig(char_ngram=(1, 3), min_df=1)
        ),
        "word 1-2 + char 1-2 (min_df 1), C=1": ClassifierConfig(features=FeatureConfig(min_df=1)),
        "word 1-2 + char 1-3 (min_df 2), C=0.5": ClassifierConfig(C=0.5, features=FeatureConfig(char_ngram=(1, 3))),
        "word 1-2 + char 1-2 (min_df 2), C=1 (default)": ClassifierConfig(),
        "default, single-label (multilabel off)": ClassifierConfig(multilabel="off"),
        "default features, logistic regression C=10, no calibration": ClassifierConfig(
            classifier="logreg", C=10.0, calibration="none"
        ),
        "char 1-2 only (min_df 2), C=1": ClassifierConfig(features=FeatureConfig(word_ngram=None)),
    }
    print(f"corpus: {len(train)} train / {len(dev)} dev texts; real messages: {len(real)}")
    print("| candidate | corpus dev accuracy | corpus dev macro-F1 | real accuracy | real macro-F1 | model file |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, cfg in cands.items():
        model, _ = train_classifier(train, cfg)
        d = evaluate_classifier(model, dev)
        r = evaluate_classifier(model, real) if real else {"accuracy": float("nan"), "macro_f1": float("nan")}
        buf = io.BytesIO()
        joblib.dump(model, buf, compress=3)
        print(
            f"| {name} | {d['accuracy']:.4f} | {d['macro_f1']:.4f} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} "
            f"| {len(buf.getvalue()) / 1e6:.1f} MB |",
            flush=True,
        )


@app.command()
def calibration(png: Path = Path("/tmp/civictext-calibration.png")) -> None:
    """Calibration of the shipped model's confidences on the corpus dev split (ECE and per-bin table)."""
    from civictext.artifacts import load_model
    from civictext.training import load_corpus_split
    from civictext.trust import calibration as calib

    _, dev, _ = load_corpus_split(ROOT / "corpus")
    c = calib(load_model(ROOT / "models" / "default", compiled=True).classifier, dev, png=png)
    print(f"ECE {c['ece']:.4f} over {c['n']} dev texts (accuracy {c['accuracy']:.4f}); curve: {png}")
    print("| confidence bin | texts | mean confidence | accuracy |")
    print("|---|---:|---:|---:|")
    for b in c["bins"]:
        print(f"| {b['bin'][0]:.1f}-{b['bin'][1]:.1f} | {b['n']} | {b['confidence']:.3f} | {b['accuracy']:.3f} |")


@app.command()
def backends() -> None:
    """THUCNews training time and dev accuracy of the default pipeline on each segmentation backend."""
    tr, dv = _data("thucnews-headlines/train.jsonl"), _data("thucnews-headlines/dev.jsonl")
    train, _ = read_labelled([tr])
    dev, _ = read_labelled([dv])
    print("| backend | training s (45,000 headlines) | dev accuracy |")
    print("|---|---:|---:|")
    for backend in ("jieba", "rjieba"):
        cfg = ClassifierConfig(features=FeatureConfig(backend=backend))  # type: ignore[arg-type]
        model, secs = train_classifier(train, cfg)
        m = evaluate_classifier(model, dev)
        print(f"| {backend} | {secs:.1f} | {m['accuracy']:.4f} |", flush=True)


@app.command()
def hmm(folds: int = 5) -> None:
    from civictext.training import load_corpus_split

    train, dev, _ = load_corpus_split(ROOT / "corpus")
    p = _data("teddycup2020-messages/train.jsonl")
    print("| HMM | backend | corpus dev macro-F1 | Teddy Cup 5-fold macro-F1 |")
    print("|---|---|---:|---:|")
    for flag in (False, True):
        cfg = ClassifierConfig(features=FeatureConfig(hmm=flag))
        model, _ = train_classifier(train, cfg)
        dev_f1 = evaluate_classifier(model, dev)["macro_f1"]
        mean, std, _ = kfold_macro_f1(p, cfg, folds)
        backend = "rjieba" if not flag else "jieba"
        print(f"| {'on' if flag else 'off'} | {backend} | {dev_f1:.4f} | {mean:.4f} ± {std:.4f} |", flush=True)


if __name__ == "__main__":
    app()
