"""Segmentation and classification throughput, as ratios to bare ``jieba.lcut`` in the same process.

Usage: python benchmarks/bench_classify.py [--data FILE] [--rounds 3] [--startup-runs 5]
       python benchmarks/bench_classify.py --startup-only

Default data: ../shared/data/teddycup2020-messages/train.jsonl (real citizen messages)
if present, else our corpus. Each contender first runs on a few texts (dictionary loading
is excluded and measured separately), then over all texts; the best of `--rounds`
rounds is kept, since this machine is noisy. Prints a Markdown table.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import typer

ROOT = Path(__file__).resolve().parents[1]


def load_texts(data: Path | None) -> tuple[list[str], str]:
    if data is None:
        shared = ROOT.parent / "shared" / "data" / "teddycup2020-messages" / "train.jsonl"
        data = shared if shared.is_file() else None
    if data is None:
        files = sorted((ROOT / "corpus" / "texts").glob("*.jsonl"))
    else:
        files = [data]
    texts = [json.loads(line)["text"] for f in files for line in f.read_text(encoding="utf-8").splitlines() if line]
    return texts, ", ".join(str(f.relative_to(ROOT.parent)) if f.is_relative_to(ROOT.parent) else str(f) for f in files)


def best_time(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(
    data: Path | None = None,
    rounds: int = 3,
    startup_runs: int = 5,
    model: Path = ROOT / "models" / "default",
) -> None:
    import jieba

    from civictext.artifacts import load_model
    from civictext.pipeline import Analyzer, TextInput
    from civictext.segment import Segmenter

    texts, source = load_texts(data)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"data: {source}: {len(texts)} texts, {mb:.2f} MB UTF-8; best of {rounds} rounds\n")

    t0 = time.perf_counter()
    jieba.setLogLevel(60)
    jieba.initialize()
    load = {"bare jieba": time.perf_counter() - t0}
    segs = {}
    for backend in ("jieba", "rjieba"):
        t0 = time.perf_counter()
        segs[backend] = Segmenter(backend=backend, hmm=False).load()
        load[f"Segmenter({backend})"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    analyzer = Analyzer(load_model(model, compiled=True), entities=False)
    analyzer.analyze("预热")
    load["Analyzer, classification only (compiled model + segmenter)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = Analyzer(load_model(model, compiled=True), entities=True)
    full.analyze("预热")
    load["Analyzer with entities (+ spaCy pipeline)"] = time.perf_counter() - t0
    exact = Analyzer(load_model(model), entities=False)

    contenders: dict[str, Callable[[], object]] = {
        "bare jieba.lcut (HMM on, its default)": lambda: [jieba.lcut(t) for t in texts],
        "bare jieba.lcut(HMM=False)": lambda: [jieba.lcut(t, HMM=False) for t in texts],
        "civictext Segmenter, jieba backend": lambda: [segs["jieba"].cut(t) for t in texts],
        "civictext Segmenter, rjieba backend": lambda: [segs["rjieba"].cut(t) for t in texts],
        "civictext classify path, scikit-learn Pipeline (normalize+segment+features+model)": lambda: list(
            exact.analyze_many(TextInput(t) for t in texts)
        ),
        "civictext classify path, compiled predictor (the default)": lambda: list(
            analyzer.analyze_many(TextInput(t) for t in texts)
        ),
        "civictext classify + entities (what `classify`/`tag` return)": lambda: list(
            full.analyze_many(TextInput(t) for t in texts)
        ),
        "civictext entities alone (EntityExtractor.extract_many)": lambda: full.extractor.extract_many(texts),
    }
    results = {name: best_time(fn, rounds) for name, fn in contenders.items()}
    base = results["bare jieba.lcut (HMM on, its default)"]
    print("| contender | texts/s | MB/s | speed vs bare jieba.lcut |")
    print("|---|---:|---:|---:|")
    for name, secs in results.items():
        print(f"| {name} | {len(texts) / secs:,.0f} | {mb / secs:.2f} | {base / secs:.2f}× |")
    print("\nload times (s): " + ", ".join(f"{k} {v:.2f}" for k, v in load.items()))

    startup(startup_runs)


def startup(runs: int = 5) -> None:
    """Median wall time of one-shot CLI calls (each a fresh process), and of `python -c pass`."""

    def run_cmd(cmd: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        return time.perf_counter() - t0

    text = "小区三号楼停水两天了,物业也不管,希望水务集团尽快处理"
    py = [sys.executable, "-c", "pass"]
    py_t = statistics.median(run_cmd(py) for _ in range(runs))
    print(f"\nbare `python -c pass`: median {py_t:.2f} s over {runs} runs")
    for args in (["classify", text, "--no-entities"], ["classify", text], ["extract", text]):
        cmd = [sys.executable, "-m", "civictext", *args]
        run_cmd(cmd)  # warm the OS file cache and jieba's cache
        t = statistics.median(run_cmd(cmd) for _ in range(runs))
        shown = " ".join('"…"' if a == text else a for a in args)
        print(f"one-shot `civictext {shown}`: median {t:.2f} s over {runs} runs")


if __name__ == "__main__":
    if sys.argv[1:] == ["--startup-only"]:
        startup()
    else:
        typer.run(main)
