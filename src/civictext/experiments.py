"""Reproducible experiments: compare pipeline variants on labelled data, write a run folder.

An experiment is a TOML file::

    name = "corpus-quick"
    seed = 0

    [data]
    train = ["../corpus/texts/*.jsonl"]   # paths or globs, relative to the config file
    format = "auto"                       # auto, jsonl, csv, thucnews
    dev = []                              # for evaluation.method = "holdout" (else a split of train)

    [evaluation]
    method = "cv"                         # "cv" (stratified k-fold) or "holdout"
    folds = 5
    test_size = 0.2                       # holdout without dev files
    learning_curve = [0.25, 0.5, 1.0]     # fractions of the training part

    [search]                              # optional: every variant × every candidate
    method = "grid"                       # or "random" with n_iter
    params = { C = [0.5, 1.0, 2.0], "features.char_ngram" = [[1, 2], [1, 3]] }

    [[variant]]
    name = "default"                      # every other key is a ClassifierConfig field

    [[variant]]
    name = "char-only"
    features = { word_ngram = [] }        # [] stands for None (no word branch)

Each run writes ``runs/<name>-<timestamp>/`` with the resolved config, data checksums,
library versions and seeds (``run.json``), ``metrics.json`` (accuracy, macro/micro F1 and
per-class P/R/F1 per variant, mean and standard deviation across folds), a classification
report and the most confidently wrong examples per variant, a confusion matrix PNG per
variant and a learning-curve PNG (with matplotlib). The same config on the same data gives
the same numbers: folds and models are seeded.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import statistics
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .artifacts import library_versions
from .classify import ClassifierConfig, TextClassifier, classification_metrics, train_classifier
from .corpus import LabelledRecord, read_labelled
from .errors import ConfigError
from .segment import file_sha256


@dataclass(frozen=True)
class Experiment:
    name: str
    seed: int
    train_files: list[Path]
    dev_files: list[Path]
    fmt: str
    method: str
    folds: int
    test_size: float
    learning_curve: list[float]
    variants: list[tuple[str, ClassifierConfig]]
    save_model: bool
    raw: dict[str, Any]


def _none_for_empty(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if v == [] else v) for k, v in d.items()}


def load_experiment(path: str | Path) -> Experiment:
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read experiment {p}: {exc}") from None
    base = p.parent

    def files(key: str) -> list[Path]:
        out: list[Path] = []
        for pattern in raw.get("data", {}).get(key, []):
            full = pattern if Path(pattern).is_absolute() else str(base / pattern)
            matches = sorted(glob.glob(full))
            if not matches:
                raise ConfigError(f"{p}: data.{key} pattern {pattern!r} matches no file")
            out += [Path(m) for m in matches]
        return out

    ev = raw.get("evaluation", {})
    method = ev.get("method", "cv")
    if method not in ("cv", "holdout"):
        raise ConfigError(f"{p}: evaluation.method must be 'cv' or 'holdout', got {method!r}")
    variants = []
    for i, v in enumerate(raw.get("variant", []), 1):
        v = dict(v)
        name = str(v.pop("name", f"variant-{i}"))
        if "features" in v:
            v["features"] = _none_for_empty(dict(v["features"]))
        variants.append((name, ClassifierConfig.from_dict(v)))
    if "search" in raw:
        variants = _expand_search(p, variants, raw["search"], int(raw.get("seed", 0)))
    if not variants:
        raise ConfigError(f"{p}: no [[variant]] to run")
    train = files("train")
    if not train:
        raise ConfigError(f"{p}: data.train lists no files")
    return Experiment(
        name=str(raw.get("name", p.stem)),
        seed=int(raw.get("seed", 0)),
        train_files=train,
        dev_files=files("dev"),
        fmt=str(raw.get("data", {}).get("format", "auto")),
        method=method,
        folds=int(ev.get("folds", 5)),
        test_size=float(ev.get("test_size", 0.2)),
        learning_curve=[float(x) for x in ev.get("learning_curve", [])],
        variants=variants,
        save_model=bool(raw.get("save_model", False)),
        raw=raw,
    )


def _expand_search(
    path: Path, variants: list[tuple[str, ClassifierConfig]], search: dict[str, Any], seed: int
) -> list[tuple[str, ClassifierConfig]]:
    """Every variant × every candidate of ``[search]`` (scikit-learn's ParameterGrid or
    ParameterSampler over ClassifierConfig fields; ``features.x`` reaches feature settings)."""
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    params = search.get("params")
    if not isinstance(params, dict) or not params:
        raise ConfigError(f"{path}: [search] needs a 'params' table of lists")
    grid = {k: [None if v == [] else v for v in vals] for k, vals in params.items()}
    method = search.get("method", "grid")
    if method == "grid":
        candidates = list(ParameterGrid(grid))
    elif method == "random":
        candidates = list(ParameterSampler(grid, n_iter=int(search.get("n_iter", 10)), random_state=seed))
    else:
        raise ConfigError(f"{path}: search.method must be 'grid' or 'random', got {method!r}")
    out = []
    for name, cfg in variants:
        for cand in candidates:
            d = cfg.to_dict()
            for key, value in sorted(cand.items()):
                target = d
                *parents, leaf = key.split(".")
                for part in parents:
                    target = target[part]
                if leaf not in target:
                    raise ConfigError(f"{path}: search parameter {key!r} is not a ClassifierConfig field")
                target[leaf] = value
            label = ",".join(f"{k}={v}" for k, v in sorted(cand.items()))
            out.append((f"{name}[{label}]", ClassifierConfig.from_dict(d)))
    return out


def _splits(
    records: list[LabelledRecord], exp: Experiment, dev: list[LabelledRecord]
) -> list[tuple[list[int], list[int]]]:
    from sklearn.model_selection import StratifiedKFold, train_test_split

    labels = [r.label for r in records]
    idx = list(range(len(records)))
    if exp.method == "cv":
        skf = StratifiedKFold(exp.folds, shuffle=True, random_state=exp.seed)
        return [(list(a), list(b)) for a, b in skf.split(idx, labels)]
    if dev:
        return [(idx, [])]  # the dev records are the test part
    a, b = train_test_split(idx, test_size=exp.test_size, random_state=exp.seed, stratify=labels)
    return [(sorted(a), sorted(b))]


def _fit_predict(
    cfg: ClassifierConfig, train: list[LabelledRecord], test: list[LabelledRecord]
) -> tuple[list[str], np.ndarray, list[str]]:
    model, _ = train_classifier(train, cfg)
    proba = model.predict_proba([r.text for r in test])
    return model.labels_, proba, [model.labels_[i] for i in proba.argmax(axis=1)]


def _job(cfg: ClassifierConfig, train: list[LabelledRecord], test: list[LabelledRecord]) -> dict[str, Any]:
    labels, proba, pred = _fit_predict(cfg, train, test)
    return {"labels": labels, "proba": proba, "pred": pred, "gold": [r.label for r in test]}


def run_experiment(
    path: str | Path,
    *,
    runs_dir: str | Path = "runs",
    jobs: int = 1,
    log: Callable[[str], None] = print,
    timestamp: str | None = None,
) -> Path:
    """Run every variant with the configured evaluation; returns the run folder."""
    from joblib import Parallel, delayed

    exp = load_experiment(path)
    records, report = read_labelled(exp.train_files, fmt=exp.fmt)  # type: ignore[arg-type]
    dev, dev_report = read_labelled(exp.dev_files, fmt=exp.fmt) if exp.dev_files else ([], None)  # type: ignore[arg-type]
    splits = _splits(records, exp, dev)
    stamp = timestamp or dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(runs_dir) / f"{exp.name}-{stamp}"
    out.mkdir(parents=True, exist_ok=False)
    log(f"experiment {exp.name}: {len(records)} records, {len(exp.variants)} variants, "
        f"{f'{exp.folds}-fold CV' if exp.method == 'cv' else 'held-out split'} → {out}")  # fmt: skip
    tasks = []
    for vname, cfg in exp.variants:
        for k, (a, b) in enumerate(splits):
            train = [records[i] for i in a]
            test = dev if (exp.method == "holdout" and dev) else [records[i] for i in b]
            tasks.append((vname, k, cfg, train, test))
    t0 = time.perf_counter()
    # joblib reports progress (tasks done, elapsed) on standard error
    results = Parallel(n_jobs=jobs, verbose=10 if len(tasks) > 1 else 0)(
        delayed(_job)(cfg, train, test) for _, _, cfg, train, test in tasks
    )
    log(f"trained {len(tasks)} models in {time.perf_counter() - t0:.1f} s")
    metrics: dict[str, Any] = {"variants": {}}
    for vname, cfg in exp.variants:
        folds = [(t, r) for t, r in zip(tasks, results, strict=True) if t[0] == vname]
        per_fold = [classification_metrics(r["gold"], r["pred"], labels=r["labels"]) for _, r in folds]
        summary: dict[str, Any] = {"config": cfg.to_dict(), "folds": len(per_fold)}
        for key in ("accuracy", "macro_f1", "micro_f1"):
            values = [m[key] for m in per_fold]
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            summary[key] = {"mean": statistics.mean(values), "std": std, "folds": values}
        gold = [g for _, r in folds for g in r["gold"]]
        pred = [p for _, r in folds for p in r["pred"]]
        pooled = classification_metrics(gold, pred)
        summary["per_class"] = pooled["per_class"]
        metrics["variants"][vname] = summary
        _write_variant_files(out, vname, folds, records, dev, splits, exp)
        log(f"  {vname:<30} macro-F1 {summary['macro_f1']['mean']:.4f} ± {summary['macro_f1']['std']:.4f}  "
            f"accuracy {summary['accuracy']['mean']:.4f}")  # fmt: skip
    best = max(metrics["variants"], key=lambda v: metrics["variants"][v]["macro_f1"]["mean"])
    metrics["best_variant"] = best
    (out / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    run_info = {
        "name": exp.name,
        "config_file": str(path),
        "config": exp.raw,
        "seeds": {"split": exp.seed, "models": {v: c.random_state for v, c in exp.variants}},
        "data": [{"path": str(f), "sha256": file_sha256(f)} for f in exp.train_files + exp.dev_files],
        "records": len(records),
        "rejected": report.rejected + (dev_report.rejected if dev_report else 0),
        "versions": library_versions(),
    }
    (out / "run.json").write_text(json.dumps(run_info, ensure_ascii=False, indent=2), encoding="utf-8")
    if exp.learning_curve:
        _learning_curve(out, exp, records, dev, splits, jobs)
    if exp.save_model:
        from .artifacts import save_model

        cfg = dict(exp.variants)[best]
        model, _ = train_classifier(records, cfg)
        save_model(model, out / "model", meta={"experiment": exp.name, "variant": best})
    log(f"best: {best}; wrote {out}")
    return out


def _write_variant_files(
    out: Path, vname: str, folds: list[Any], records: list[LabelledRecord], dev: list[LabelledRecord],
    splits: list[Any], exp: Experiment,
) -> None:  # fmt: skip
    from sklearn.metrics import classification_report, confusion_matrix

    gold, pred, wrong = [], [], []
    for (_, k, _, _, test), r in folds:
        for rec, g, p, row in zip(test, r["gold"], r["pred"], r["proba"], strict=True):
            gold.append(g)
            pred.append(p)
            if g != p:
                wrong.append({"confidence": float(row.max()), "gold": g, "predicted": p, "fold": k,
                              "source": rec.source, "line": rec.line, "text": rec.text[:300]})  # fmt: skip
    safe = vname.replace("/", "_").replace(" ", "_")
    (out / f"report-{safe}.txt").write_text(classification_report(gold, pred, zero_division=0), encoding="utf-8")
    wrong.sort(key=lambda w: -w["confidence"])
    with open(out / f"wrong-{safe}.jsonl", "w", encoding="utf-8") as fh:
        for w in wrong[:50]:
            fh.write(json.dumps(w, ensure_ascii=False) + "\n")
    labels = sorted(set(gold) | set(pred))
    cm = confusion_matrix(gold, pred, labels=labels)
    (out / f"confusion-{safe}.json").write_text(json.dumps({"labels": labels, "matrix": cm.tolist()}), encoding="utf-8")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    from matplotlib import font_manager

    has_cjk = any(k in f.name for f in font_manager.fontManager.ttflist for k in ("CJK", "Hei", "Song", "WenQuanYi"))
    # without a CJK font, Chinese label names would be boxes: number them (the JSON beside keeps the names)
    ticks = labels if has_cjk or all(x.isascii() for x in labels) else [f"L{i + 1}" for i in range(len(labels))]
    fig, ax = plt.subplots(figsize=(max(5, len(labels) * 0.55), max(4, len(labels) * 0.5)))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), ticks, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(labels)), ticks, fontsize=7)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=6,
                        color="white" if cm[i, j] > cm.max() / 2 else "black")  # fmt: skip
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(f"{exp.name}: {vname}")
    fig.tight_layout()
    fig.savefig(out / f"confusion-{safe}.png", dpi=110)
    plt.close(fig)


def _learning_curve(out: Path, exp: Experiment, records: list[LabelledRecord], dev: list[LabelledRecord],
                    splits: list[Any], jobs: int) -> None:  # fmt: skip
    """Macro-F1 against training size on the first split, per variant."""
    from joblib import Parallel, delayed
    from sklearn.model_selection import train_test_split

    a, b = splits[0]
    test = dev if (exp.method == "holdout" and dev) else [records[i] for i in b]
    points: dict[str, list[tuple[int, float]]] = {}
    tasks = []
    for vname, cfg in exp.variants:
        for frac in exp.learning_curve:
            if frac >= 1.0:
                part = list(a)
            else:
                part, _ = train_test_split(list(a), train_size=frac, random_state=exp.seed,
                                           stratify=[records[i].label for i in a])  # fmt: skip
            tasks.append((vname, [records[i] for i in part], cfg))
    results = Parallel(n_jobs=jobs)(delayed(_job)(cfg, tr, test) for _, tr, cfg in tasks)
    for (vname, tr, _), r in zip(tasks, results, strict=True):
        m = classification_metrics(r["gold"], r["pred"], labels=r["labels"])
        points.setdefault(vname, []).append((len(tr), m["macro_f1"]))
    (out / "learning_curve.json").write_text(json.dumps(points), encoding="utf-8")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for vname, pts in points.items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=vname)
    ax.set_xlabel("training texts")
    ax.set_ylabel("macro-F1")
    ax.set_title(f"{exp.name}: learning curve")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "learning_curve.png", dpi=110)
    plt.close(fig)


def compare_runs(runs: Sequence[str | Path], *, markdown: bool = False) -> str:
    """A table of every variant of every run side by side; the best value per metric is marked ``*``."""
    rows: list[tuple[Any, ...]] = []
    for r in runs:
        p = Path(r)
        try:
            m = json.loads((p / "metrics.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{p} is not a run folder (metrics.json: {exc})") from None
        for vname, v in m["variants"].items():
            rows.append((p.name, vname, v["accuracy"], v["macro_f1"], v["micro_f1"], v["folds"]))
    if not rows:
        raise ConfigError("no runs to compare")
    best = {k: max(row[k]["mean"] for row in rows) for k in (2, 3, 4)}

    def cell(row: Any, k: int) -> str:
        mark = "*" if row[k]["mean"] == best[k] else ""
        return f"{row[k]['mean']:.4f} ± {row[k]['std']:.4f}{mark}"

    header = ["run", "variant", "accuracy", "macro-F1", "micro-F1", "folds"]
    body = [[row[0], row[1], cell(row, 2), cell(row, 3), cell(row, 4), str(row[5])] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---|---|---:|---:|---:|---:|"]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join(lines) + "\n\n`*` best per metric."
    widths = [max(len(x) for x in col) for col in zip(header, *body, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header)] + [fmt.format(*b) for b in body] + ["* best per metric"])


__all__ = ["Experiment", "TextClassifier", "compare_runs", "load_experiment", "run_experiment"]
