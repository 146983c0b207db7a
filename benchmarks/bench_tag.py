"""Archive tagging throughput, workers speed-up, peak memory and the Dask engine's overhead.

Usage: python benchmarks/bench_tag.py [--mb 100] [--entity-mb 5] [--workdir /tmp/civictext-bench-tag]

Generates an archive of JSON Lines files from corpus/ texts (repeated until `--mb`
megabytes of UTF-8 text; never committed), then, in one session:
1. bare `jieba.lcut` over the same texts (the baseline, in this process);
2. `civictext tag --no-entities` with 1 and 2 workers over the whole archive (classification);
3. `civictext tag` (classification + entities + routing) with 1 and 2 workers over the first
   `--entity-mb` megabytes, with bare jieba on that subset as its baseline;
4. the Dask engine (LocalCluster, 2 workers) against the local engine on that subset.
Each tag run is a separate process; its peak memory is the largest resident set among it and
its workers (getrusage of children). Prints a Markdown table.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import typer

ROOT = Path(__file__).resolve().parents[1]


def make_archive(workdir: Path, mb: float, files: int = 20) -> tuple[list[Path], list[str]]:
    texts = [
        json.loads(x)["text"]
        for f in sorted((ROOT / "corpus" / "texts").glob("*.jsonl"))
        for x in f.read_text(encoding="utf-8").splitlines()
    ]
    target = int(mb * 1e6)
    workdir.mkdir(parents=True, exist_ok=True)
    paths = [workdir / f"archive-{i:02d}.jsonl" for i in range(files)]
    handles = [open(p, "w", encoding="utf-8") for p in paths]
    size, n, out_texts = 0, 0, []
    while size < target:
        t = texts[n % len(texts)]
        handles[n % files].write(
            json.dumps({"id": f"r{n}", "text": t, "date": f"2024-{n % 12 + 1:02d}-01"}, ensure_ascii=False) + "\n"
        )
        out_texts.append(t)
        size += len(t.encode("utf-8"))
        n += 1
    for h in handles:
        h.close()
    return paths, out_texts


def run_tag(args: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS MB of the tag process and its workers)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "civictext", "tag", *args], check=True, capture_output=True)
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return secs, max(peak, before) / 1024


def main(mb: float = 100.0, entity_mb: float = 5.0, workdir: Path = Path("/tmp/civictext-bench-tag")) -> None:
    import jieba

    shutil.rmtree(workdir, ignore_errors=True)
    paths, texts = make_archive(workdir / "big", mb)
    small_paths, small_texts = make_archive(workdir / "small", entity_mb, files=4)
    total_mb = sum(len(t.encode()) for t in texts) / 1e6
    small_mb = sum(len(t.encode()) for t in small_texts) / 1e6
    print(f"archive: {len(texts):,} records, {total_mb:.1f} MB of text in {len(paths)} files; "
          f"entity subset: {len(small_texts):,} records, {small_mb:.1f} MB in {len(small_paths)} files\n")  # fmt: skip
    jieba.setLogLevel(60)
    jieba.initialize()
    t0 = time.perf_counter()
    for t in texts:
        jieba.lcut(t)
    base = time.perf_counter() - t0
    t0 = time.perf_counter()
    for t in small_texts:
        jieba.lcut(t)
    base_small = time.perf_counter() - t0
    rows = [("bare jieba.lcut, whole archive", base, total_mb, len(texts), base, None)]
    big = [str(p) for p in paths]
    small = [str(p) for p in small_paths]
    for w in (1, 2):
        secs, rss = run_tag([*big, "--out", str(workdir / f"cls-{w}.jsonl"), "--workers", str(w), "--no-entities"])
        rows.append((f"tag --no-entities, {w} worker(s)", secs, total_mb, len(texts), base, rss))
    rows.append(("bare jieba.lcut, entity subset", base_small, small_mb, len(small_texts), base_small, None))
    for w in (1, 2):
        secs, rss = run_tag([*small, "--out", str(workdir / f"full-{w}.jsonl"), "--workers", str(w)])
        rows.append(
            (f"tag (classify + entities + route), {w} worker(s)", secs, small_mb, len(small_texts), base_small, rss)
        )
    secs, rss = run_tag([*small, "--out", str(workdir / "dask"), "--engine", "dask", "--workers", "2"])
    rows.append(("tag --engine dask (LocalCluster, 2 workers)", secs, small_mb, len(small_texts), base_small, rss))
    print("| run | seconds | records/s | MB/s | speed vs bare jieba.lcut on the same texts | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, secs, size, n, baseline, rss in rows:
        print(f"| {name} | {secs:.1f} | {n / secs:,.0f} | {size / secs:.2f} | {baseline / secs:.2f}× | "
              f"{'' if rss is None else f'{rss:.0f}'} |")  # fmt: skip
    print("\n(peak RSS: the largest single process among the tag run and its workers; wall times include start-up.)")


if __name__ == "__main__":
    typer.run(main)
