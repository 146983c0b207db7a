"""Assign the fixed dev split of corpus/ (20%, stratified by label and register).

Usage: python scripts/make_split.py [--seed 2026] [--fraction 0.2]

Writes corpus/splits/dev.txt, one text id per line. Ids already listed stay in dev and
ids already in the corpus stay out of it, so adding texts later never moves an old text
across the split: new texts (ids not seen before) are split per stratum so each stratum
keeps about `fraction` of its texts in dev.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

import typer

ROOT = Path(__file__).resolve().parents[1]
SPLIT = ROOT / "corpus" / "splits" / "dev.txt"
SEEN = ROOT / "corpus" / "splits" / "assigned.txt"


def main(seed: int = 2026, fraction: float = 0.2) -> None:
    records = []
    for path in sorted((ROOT / "corpus" / "texts").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                obj = json.loads(line)
                records.append((obj["id"], obj["label"], obj["register"]))
    dev = set(SPLIT.read_text(encoding="utf-8").split()) if SPLIT.exists() else set()
    seen = set(SEEN.read_text(encoding="utf-8").split()) if SEEN.exists() else set()
    strata: dict[tuple[str, str], list[str]] = defaultdict(list)
    totals: dict[tuple[str, str], int] = defaultdict(int)
    in_dev: dict[tuple[str, str], int] = defaultdict(int)
    for rid, label, register in records:
        key = (label, register)
        totals[key] += 1
        in_dev[key] += rid in dev
        if rid not in seen:
            strata[key].append(rid)
    rng = random.Random(seed)
    for key in sorted(strata):
        new = sorted(strata[key])
        rng.shuffle(new)
        want = round(totals[key] * fraction) - in_dev[key]
        dev.update(new[: max(0, want)])
    ids = {rid for rid, _, _ in records}
    SPLIT.parent.mkdir(parents=True, exist_ok=True)
    SPLIT.write_text("\n".join(sorted(dev & ids)) + "\n", encoding="utf-8")
    SEEN.write_text("\n".join(sorted(ids | seen)) + "\n", encoding="utf-8")
    print(f"{len(dev & ids)} of {len(ids)} texts in dev ({len(dev & ids) / max(1, len(ids)):.1%})")


if __name__ == "__main__":
    typer.run(main)
