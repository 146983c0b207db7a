"""Train the shipped default model, models/default, from corpus/.

Usage: python scripts/train_default.py [--out models/default] [--check]

Trains on every corpus/texts/*.jsonl text not listed in corpus/splits/dev.txt, evaluates
on the listed ones, and writes the model directory with the dev metrics, the corpus
checksums and the configuration in meta.json; then trains the entity model (statistical
NER on the same split) into models/default/entities with its dev scores in
entities/civictext_meta.json. `--check` retrains into a temporary
directory and compares its dev metrics with the shipped model's (exit 1 if they differ).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import typer

from civictext.segment import file_sha256
from civictext.training import DEFAULT_CONFIG, train_default_entities, train_default_model

ROOT = Path(__file__).resolve().parents[1]


def main(
    out: Path = ROOT / "models" / "default",
    check: bool = False,
    entities: bool = typer.Option(True, "--entities/--no-entities", help="Also train the entity model."),
) -> None:
    if check:
        shipped = json.loads((out / "meta.json").read_text(encoding="utf-8"))
        with tempfile.TemporaryDirectory() as tmp:
            meta = train_default_model(ROOT / "corpus", Path(tmp) / "default", config=DEFAULT_CONFIG)
        a, b = shipped["dev"]["metrics"], meta["dev"]["metrics"]
        same = all(abs(a[k] - b[k]) < 1e-9 for k in ("accuracy", "macro_f1", "micro_f1"))
        print(f"shipped macro_f1 {a['macro_f1']:.6f}, retrained {b['macro_f1']:.6f}: {'same' if same else 'DIFFERENT'}")
        sys.exit(0 if same else 1)
    meta = train_default_model(ROOT / "corpus", out, config=DEFAULT_CONFIG)
    if entities:
        ent = train_default_entities(ROOT / "corpus", out)
        micro, rules = ent["dev"]["micro"]["f1"], ent["dev_rules_only"]["micro"]["f1"]
        dropped = ent["training"]["gold_spans_dropped_unaligned"]
        print(
            f"entities: dev micro-F1 {micro:.4f} (rules only {rules:.4f}), "
            f"{dropped} gold spans off token boundaries, {ent['training']['seconds']} s"
        )
    m = meta["dev"]["metrics"]
    print(
        f"trained on {meta['training']['records']} texts; dev n={m['n']} accuracy {m['accuracy']:.4f} "
        f"macro_f1 {m['macro_f1']:.4f}; model sha256 {file_sha256(out / 'model.joblib')[:16]}…"
    )


if __name__ == "__main__":
    typer.run(main)
